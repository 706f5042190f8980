"""What a migrated LUME-services project takes from the project template `modelcrate new`
renders, beyond its code: README.md's variable tables (as `new` and `update` write them), the CI
workflows, and the `dev` extra those workflows install."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
import yaml
from jinja2 import Environment, StrictUndefined
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..._errors import MigrateError
from ...spec import Spec
from .._escape import FILTERS, markdown_code, markdown_line
from .._options import tools_requirement
from .._project import DEV_EXTRA, README
from .._tables import variable_table
from ._declared import Note
from ._parity import requirement_key
from ._plan import FileChange

TEMPLATE = Path(__file__).parents[1] / "scaffold" / "template" / "project"
"""The project template `modelcrate new` renders: migrate renders (or copies) files from it, so
that they stay the same."""
WORKFLOWS = ".github/workflows"
_NOT_WRITTEN = frozenset({"invoke", "pre-commit"})
"""Tools of the template's dev extra for files a migrated project does not get (tasks.py,
.pre-commit-config.yaml)."""


def rendered(template: Path, **answers: Any) -> str:
    """A file of the project template rendered with `answers`, through its escaping filters."""
    environment = Environment(keep_trailing_newline=True, undefined=StrictUndefined)
    environment.filters.update(FILTERS)
    return environment.from_string(template.read_text(encoding="utf-8")).render(**answers)


def readme_change(root: Path, project: dict[str, Any], spec: Spec, variables: str) -> FileChange:
    """README.md with the inputs and outputs tables `modelcrate check` compares with the
    variables file (`spec`, at `variables` once migrated): in place of tables of the same
    columns it has, else added at its end, or in a new README.md."""
    inputs = variable_table(spec.inputs, inputs=True)
    outputs = variable_table(spec.outputs, inputs=False)
    tables = f"## Inputs\n\n{inputs}\n\n## Outputs\n\n{outputs}\n"
    path = root / README
    if path.exists() and not path.is_file():
        raise MigrateError(
            f"{path}: is not a file, and migrate writes the variable tables in it; rename it "
            "(or make it a file), then migrate again"
        )
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MigrateError(
                f"{path}: is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                f"{exc.start}), and migrate writes the variable tables in it; save it as UTF-8, "
                "then migrate again"
            ) from None
        except OSError as exc:
            raise MigrateError(
                f"{path}: cannot be read ({exc.strerror}); make it readable, then migrate again"
            ) from None
        lines = text.rstrip("\n").splitlines()
        replaced = [_replace_table(lines, table) for table in (inputs, outputs)]
        if all(replaced):
            what = "its variable tables made from the variables file"
            return FileChange(README, "modify", what, "\n".join(lines) + "\n")
        added = "\n\n".join(
            f"## {title}\n\n{table}"
            for title, table, done in (
                ("Inputs", inputs, replaced[0]),
                ("Outputs", outputs, replaced[1]),
            )
            if not done
        )
        what = "the variable tables added at its end"
        return FileChange(README, "modify", what, "\n".join(lines) + f"\n\n{added}\n")
    name = str(project.get("name", root.name))
    description = str(project.get("description", "") or "")
    lines = [f"# {markdown_line(name)}", ""]
    if description:
        lines += [markdown_line(description), ""]
    lines += [
        "Packaged with modelcrate: `modelcrate run .` runs the model and `modelcrate check .`",
        f"checks the project. Its variables are in {markdown_code(variables)}; the tables below",
        "are made from it (`modelcrate check` compares them).",
        "",
    ]
    return FileChange(
        README, "add", "the project, and its variable tables", "\n".join(lines) + "\n" + tables
    )


def _replace_table(lines: list[str], table: str) -> bool:
    """Put `table` in place of the table of `lines` headed as it is (its rows up to the first
    line that is not a row); whether there was one."""
    rows = table.splitlines()
    starts = [i for i, line in enumerate(lines) if _cells(line) == _cells(rows[0])]
    if not starts:
        return False
    end = starts[0]
    while end < len(lines) and lines[end].strip().startswith("|"):
        end += 1
    lines[starts[0] : end] = rows
    return True


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def workflow_changes(root: Path, dist: str) -> tuple[list[FileChange], list[Note]]:
    """The template's CI workflows (tests, release, image), each unless the project has a
    workflow of that name."""
    changes: list[FileChange] = []
    notes: list[Note] = []
    for template in sorted((TEMPLATE / WORKFLOWS).iterdir()):
        name = template.name.removesuffix(".jinja")
        path = f"{WORKFLOWS}/{name}"
        if (root / path).exists():
            notes.append(
                Note(path, 0, "the project's own workflow", "kept; the template's is not written")
            )
            continue
        if template.name.endswith(".jinja"):
            text = rendered(template, repo_name=dist, registry="ghcr", image="")
        else:  # copied as it is, as copier does with a file that is no template
            text = template.read_text(encoding="utf-8")
        yaml.safe_load(text)  # what is written must read back
        what = f"the template's {name.removesuffix('.yml')} workflow"
        changes.append(FileChange(path, "add", what, text))
    return changes, notes


def template_pyproject(modelcrate: str) -> dict[str, Any]:
    """The template's pyproject.toml for a project that requires `modelcrate`, as data."""
    text = rendered(
        TEMPLATE / "pyproject.toml.jinja",
        **{k: "" for k in ("repo_name", "description", "author", "email", "github_url")},
        license="none",
        cli="none",
        modelcrate_requirement=modelcrate,
        tools_requirement=tools_requirement(modelcrate),
        serve_requirement="",
        package_name="package",
        model_class="Model",
        flow_name="flow",
        requirement_is_direct=False,
        artifact_kind="",
        artifact_requirements=[],
    )
    document: dict[str, Any] = tomlkit.parse(text).unwrap()
    return document


def dev_extra(project: dict[str, Any], template: dict[str, Any]) -> tuple[list[str], Note | None]:
    """The `dev` extra of the template's pyproject.toml (`template`: the modelcrate tools,
    pytest, ruff, build) added to the project's: the requirements added, and a note."""
    wanted = template["project"]["optional-dependencies"][DEV_EXTRA]
    extras = project.setdefault("optional-dependencies", {})
    present = extras.get(DEV_EXTRA, [])
    named = {_name(r) for r in present}
    added = [r for r in wanted if _name(r) not in named | _NOT_WRITTEN]
    if not added:
        return [], None
    extras[DEV_EXTRA] = [*present, *added]
    note = Note(
        "pyproject.toml",
        0,
        f"the `{DEV_EXTRA}` extra",
        ("extended with " if present else "added, as the template has it: ")
        + ", ".join(added)
        + " (the tests workflow installs it)",
    )
    return [requirement_key(f'{r}; extra == "{DEV_EXTRA}"') for r in added], note


def _name(requirement: str) -> str:
    try:
        return str(canonicalize_name(Requirement(requirement).name))
    except InvalidRequirement:
        return requirement
