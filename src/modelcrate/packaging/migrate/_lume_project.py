"""A LUME-services template project made a modelcrate project: its lume-model model behind the
`Model` contract (`lume_compat.py`, `modelcrate_model.py`, the model's lume_model imports
pointed at `lume_compat`), a Prefect 3 flow (with the old flow's plain tasks, `_lume_tasks`) and
a Dockerfile rendered from the project template, `modelcrate.models` and `modelcrate.flows`
entry points in place of `orchestration`, requirements and environment.yml on modelcrate and
Prefect 3, a test through `modelcrate run`, README tables, CI workflows and the dev extra
(`_lume_template`), the package's move under src/ planned (`_lume_layout`), and notes on what
is left and on files the code names that are not there."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ...spec import parse_spec, upgraded_text
from .._git import git_available, git_toplevel
from .._options import default_modelcrate_requirement, serve_requirement
from .._project import VARIABLES_FILE
from ._declared import Note
from ._lume_code import (
    ADAPTER,
    COMPAT,
    COMPAT_NAMES,
    COMPAT_SOURCE,
    FLOW,
    OldModel,
    adapter_source,
    manual_step,
    tests_source,
)
from ._lume_files import missing_files, missing_in_manifest, package_modules
from ._lume_layout import SrcMove, plan_move
from ._lume_tasks import old_flows
from ._lume_template import (
    TEMPLATE,
    dev_extra,
    readme_change,
    rendered,
    template_pyproject,
    workflow_changes,
)
from ._parity import requirement_key
from ._plan import FileChange

ORCHESTRATION = "orchestration"
ENVIRONMENT = "environment.yml"
REQUIRES_PYTHON = ">=3.10"
_REPLACED = frozenset({"lume-model", "prefect", "lume-services"})
_RUNTIME = ("numpy>=1.24", "prefect>=3.9,<4")

_TEMPLATE_FLOW = TEMPLATE / "src" / "{{ package_name }}"
DOCKERFILE = "Dockerfile"
PREFECT_YAML = "prefect.yaml"
REQUIREMENTS = "requirements.txt"
ENTRYPOINT = "_entrypoint.sh"


@dataclass
class LumeProject:
    """What the migration of a LUME-services project adds: file changes, notes, and the
    differences between the old and the new wheel it means (kind, old, new)."""

    changes: list[FileChange] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    intended: set[tuple[str, str, str]] = field(default_factory=set)
    package: str = ""
    """The package the new modules are in."""
    move: SrcMove | None = None
    """The package's move under src/, when it is made."""
    variables: str = ""
    """The variables file's path after the migration."""
    tool: dict[str, Any] = field(default_factory=dict)
    """[tool] tables from the template, for pyproject.toml unless it has its own."""


def lume_project(
    root: Path,
    project: dict[str, Any],
    setuptools: dict[str, Any],
    model: OldModel,
    model_file: str,
    variables: str,
) -> LumeProject:
    """Make the LUME project at `root` (its `[project]` and `[tool.setuptools]` tables, changed
    here) a modelcrate project around `model` (defined in `model_file`), whose spec is
    `variables`. Paths are those of the old layout; `move` says how `relocate` moves them."""
    package_dir = package_folder(root / model_file, root / variables)
    depth = len((root / model_file).parent.relative_to(package_dir).parts)
    package = ".".join(model.module.split(".")[: -1 - depth])
    out = LumeProject(package=package)
    dist = str(project["name"])
    wheel_dir = package.replace(".", "/")
    moved = plan_move(root, package_dir, root / variables, setuptools)
    out.move = moved if isinstance(moved, SrcMove) else None
    inside = (root / variables).relative_to(package_dir).parts
    source_dir = package_dir.relative_to(root).as_posix()
    final_dir = source_dir
    out.variables = variables
    if out.move is not None:
        inside, final_dir, out.variables = (
            (VARIABLES_FILE,),
            f"src/{source_dir}",
            out.move.new_variables,
        )
    flow = flow_source(package, model.name, dist)
    written = (f"{FLOW}.py", f"{ADAPTER}.py", f"{COMPAT}.py")
    flow, flow_notes = old_flows(
        root, package_dir, f"{final_dir}/{FLOW}.py", flow, model.name, written
    )
    for name, text, what in (
        (COMPAT, COMPAT_SOURCE, "the old lume-model's BaseModel, variables and reader, on modelcrate"),
        (ADAPTER, adapter_source(package, model, inside, dist), f"{model.name} as a modelcrate.Model"),
        (FLOW, flow, "the Prefect 3 flow, as `modelcrate new` writes it"),
    ):  # fmt: skip
        out.changes.append(FileChange(f"{source_dir}/{name}.py", "add", what, text))
        out.intended.add(("module", "", f"{wheel_dir}/{name}.py"))
    test = "tests/test_modelcrate_model.py"
    if not (root / test).exists():
        out.changes.append(
            FileChange(
                test,
                "add",
                "the model on its defaults, and through modelcrate run",
                tests_source(package, model, dist),
            )
        )
    if model.shape == "unknown":
        out.notes.append(Note(f"{source_dir}/{ADAPTER}.py", 0, "a manual step", manual_step(model)))
    _point_imports(root, package_dir, package, out)
    _entry_points(project, dist, package, model, out)
    _requirements(project, out)
    _requirements_file(root, project, out)
    _image(root, dist, project, out)
    _deployments(root, dist, package, final_dir, out)
    _environment(root, project, out)
    _ci(root, dist, project, variables, out)
    out.notes += flow_notes
    out.notes += missing_files(root, package_dir)
    out.notes += missing_in_manifest(root)
    image = any(change.path == DOCKERFILE for change in out.changes)
    left = moved if isinstance(moved, str) else None
    out.notes.append(
        _check_note(
            source_dir,
            final_dir,
            variables,
            project,
            image=image,
            unmoved=left,
            shape=model.shape,
            repository=git_available() and git_toplevel(root) == root,
        )
    )
    return out


def _ci(root: Path, dist: str, project: dict[str, Any], variables: str, out: LumeProject) -> None:
    """README.md's variable tables, the template's CI workflows and the dev extra they install."""
    spec = parse_spec(upgraded_text(root / variables), source=variables)
    out.changes.append(readme_change(root, project, spec, out.variables))
    workflows, notes = workflow_changes(root, dist)
    out.changes += workflows
    out.notes += notes
    modelcrate = next(
        (r for r in project.get("dependencies", []) if _name(r) == "modelcrate"),
        default_modelcrate_requirement(),
    )
    template = template_pyproject(modelcrate)
    added, note = dev_extra(project, template)
    out.intended |= {("requirement", "", r) for r in added}
    out.notes += [note] if note is not None else []
    out.tool = {"ruff": template["tool"]["ruff"], "pytest": template["tool"]["pytest"]}
    out.notes.append(
        Note(
            "pyproject.toml",
            0,
            "[tool.ruff] and [tool.pytest.ini_options]",
            "the template's, unless the project has its own: the tests workflow runs "
            "`ruff check .` and `pytest`; the kept code is not reformatted, so run "
            "`ruff check --fix .` before the first push",
        )
    )


def _check_note(
    source_dir: str,
    final_dir: str,
    variables: str,
    project: dict[str, Any],
    *,
    image: bool,
    unmoved: str | None,
    shape: str,
    repository: bool,
) -> Note:
    """Which checks of `modelcrate check` the migrated project passes, which it leaves to the
    user, and why."""
    passing = ["entry-points", "flow"]
    left = []
    if unmoved is None:
        passing = ["variables", *passing]
    else:
        left.append(
            f"variables and readme (they read src/PACKAGE/variables.yml, and {source_dir} was not "
            f"moved under src/: {unmoved}; move it there with {variables} as its variables.yml)"
        )
    if shape == "unknown":
        left.append(f"evaluate (until the manual step noted on {final_dir}/{ADAPTER}.py is done)")
    else:
        passing.append("evaluate")
    if unmoved is None:
        passing.append("readme")
    if image:
        passing.append("dockerfile")
    else:
        left.append("dockerfile (the project's own Dockerfile is kept as it is)")
    if repository:
        passing.append("version")
    else:
        left.append(
            "version (setuptools-scm reads the tags of the project's git repository, and the "
            "project is not the top of one: `git init` it, or set [tool.setuptools_scm] root)"
        )
    if any("file:" in str(r) for r in project.get("dependencies", [])):
        left.append(
            "portable (modelcrate is required by a path of this machine, as this modelcrate "
            "was installed; require a release or a git URL before CI or an image builds it)"
        )
    said = ", ".join(passing[:-1]) + f" and {passing[-1]} pass"
    return Note(
        "pyproject.toml",
        0,
        "`modelcrate check`",
        said + ("; left to you: " + "; ".join(left) if left else ""),
    )


def package_folder(model_file: Path, variables: Path) -> Path:
    """The innermost package folder holding both the model's module and its variables file:
    where the new modules go, so that the variables file is one of its resources."""
    folder = model_file.parent
    while not variables.is_relative_to(folder):
        folder = folder.parent
    return folder


def flow_source(package: str, model_class: str, dist: str) -> str:
    """The template's flow.py for `model_class` of `package`.modelcrate_model."""
    text = rendered(
        _TEMPLATE_FLOW / "flow.py.jinja",
        project_name=dist,
        repo_name=dist,
        package_name=package,
        model_class=model_class,
        flow_name=f"{package.replace('.', '_')}_flow",
    )
    run = f"python -m {package}.{FLOW}"
    text = text.replace(f"python src/{package}/flow.py", run)
    if any(len(line) > 100 and run in line for line in text.splitlines()):  # main's docstring
        text = text.replace("` (inputs\n    as a JSON object", "`\n    (inputs as a JSON object")
    return text.replace(f"from {package}.model import", f"from {package}.{ADAPTER} import")


def _point_imports(root: Path, package_dir: Path, package: str, out: LumeProject) -> None:
    """Point each `from lume_model... import NAME` of the package at lume_compat, when it
    provides every name; note the rest."""
    for path, text, tree in package_modules(root, package_dir):
        if "lume_model" not in text:
            continue
        relative = path.relative_to(root).as_posix()
        lines = text.splitlines(keepends=True)
        changed = False
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lume_model"):
                names = {alias.name for alias in node.names}
                if names <= COMPAT_NAMES and node.end_lineno == node.lineno:
                    imported = ", ".join(
                        a.name + (f" as {a.asname}" if a.asname else "") for a in node.names
                    )
                    line = lines[node.lineno - 1]
                    indent = line[: len(line) - len(line.lstrip())]
                    lines[node.lineno - 1] = f"{indent}from {package}.{COMPAT} import {imported}\n"
                    changed = True
                    continue
            if isinstance(node, (ast.Import, ast.ImportFrom)) and _imports_lume(node):
                out.notes.append(
                    Note(
                        relative,
                        node.lineno,
                        "an import of lume-model that lume_compat does not provide",
                        "kept; install a lume-model that has it, or "
                        "rewrite it on modelcrate by hand",
                    )
                )
        if changed:
            new = "".join(lines)
            out.changes.append(
                FileChange(relative, "modify", f"its lume_model imports now from {COMPAT}", new)
            )
            out.notes.append(
                Note(
                    relative,
                    0,
                    "imports of lume-model 0.x (which no longer installs beside modelcrate)",
                    f"pointed at {package}.{COMPAT}; the code is kept as it was",
                )
            )


def _imports_lume(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("lume_model")
    return any(alias.name.startswith("lume_model") for alias in node.names)


def _entry_points(
    project: dict[str, Any], dist: str, package: str, model: OldModel, out: LumeProject
) -> None:
    """`orchestration` out; `modelcrate.models` and `modelcrate.flows` in."""
    groups = project.setdefault("entry-points", {})
    old = groups.pop(ORCHESTRATION, {})
    for name, target in old.items():
        out.intended.add(("entry point", f"[{ORCHESTRATION}] {name} = {target}", ""))
    added = {
        "modelcrate.models": f"{package}.{ADAPTER}:{model.name}",
        "modelcrate.flows": f"{package}.{FLOW}:{package.replace('.', '_')}_flow",
    }
    for group, target in added.items():
        groups[group] = {dist: target}
        out.intended.add(("entry point", "", f"[{group}] {dist} = {target}"))
    if old:
        out.notes.append(
            Note(
                "pyproject.toml",
                0,
                "the LUME-services `orchestration` entry points",
                "replaced by `modelcrate.models` and `modelcrate.flows`, through which "
                "modelcrate finds the model and its flow",
            )
        )


def _requirements(project: dict[str, Any], out: LumeProject) -> None:
    """lume-model and Prefect 1/2 out; modelcrate, numpy and Prefect 3 in; Python 3.10 at least."""
    if "dependencies" in project.get("dynamic", []):
        out.notes.append(
            Note(
                "pyproject.toml",
                0,
                "dependencies read from a file when building",
                "kept; replace lume-model and Prefect 1/2 there with modelcrate and "
                "prefect>=3.9,<4 by hand",
            )
        )
        return
    kept: list[str] = []
    dropped: list[str] = []
    for text in project.get("dependencies", []):
        try:
            name = str(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            name = ""
        (dropped if name in _REPLACED else kept).append(text)
    present = {_name(t) for t in kept}
    added = [r for r in (default_modelcrate_requirement(), *_RUNTIME) if _name(r) not in present]
    project["dependencies"] = [*kept, *added]
    out.intended |= {("requirement", requirement_key(r), "") for r in dropped}
    out.intended |= {("requirement", "", requirement_key(r)) for r in added}
    if dropped:
        out.notes.append(
            Note(
                "pyproject.toml",
                0,
                "requirements " + ", ".join(dropped),
                "replaced by " + ", ".join(added) + " (the model runs on lume_compat, the "
                "flow on Prefect 3)",
            )
        )
    old = str(project.get("requires-python", ""))
    try:
        too_old = not old or SpecifierSet(old).contains("3.9")
    except InvalidSpecifier:
        too_old = False
    if too_old:
        project["requires-python"] = REQUIRES_PYTHON
        out.intended.add(("requires-python", old or "(any)", REQUIRES_PYTHON))
        out.notes.append(
            Note(
                "pyproject.toml",
                0,
                f"requires-python {old or '(any)'}",
                f"now {REQUIRES_PYTHON}, as modelcrate needs",
            )
        )


def _requirements_file(root: Path, project: dict[str, Any], out: LumeProject) -> None:
    """requirements.txt (which the old setup.py read, and `pip install -r` still may) on the
    same requirements as pyproject.toml: lume-model and Prefect 1/2 lines out, the new ones in."""
    path = root / REQUIREMENTS
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    except (OSError, UnicodeDecodeError):
        return
    kept = [line for line in lines if _name(line.split("#")[0]) not in _REPLACED]
    if len(kept) == len(lines):
        return
    named = {_name(line.split("#")[0]) for line in kept}
    added = [r for r in project.get("dependencies", []) if _name(r) not in named]
    text = "\n".join([*kept, *added]) + "\n"
    what = "lume-model and Prefect 1/2 out, as in pyproject.toml"
    out.changes.append(FileChange(REQUIREMENTS, "modify", what, text))


def _image(root: Path, dist: str, project: dict[str, Any], out: LumeProject) -> None:
    """The template's Dockerfile and image entry point (unless the project has its own), and
    the `serve` extra the image installs."""
    if (root / DOCKERFILE).exists() or (root / ENTRYPOINT).exists():
        out.notes.append(
            Note(
                DOCKERFILE,
                0,
                "the project's own image files",
                "kept; the template's "
                "Dockerfile and _entrypoint.sh are not written (`modelcrate new` shows them)",
            )
        )
    else:
        text = rendered(TEMPLATE / f"{DOCKERFILE}.jinja", repo_name=dist)
        what = "the template's: builds the wheel, installs it as a non-root user"
        out.changes.append(FileChange(DOCKERFILE, "add", what, text))
        entry = (TEMPLATE / ENTRYPOINT).read_text(encoding="utf-8")
        out.changes.append(
            FileChange(ENTRYPOINT, "add", "the image's modes: run, serve, worker, help", entry)
        )
    extras = project.setdefault("optional-dependencies", {})
    modelcrate = next((r for r in project.get("dependencies", []) if _name(r) == "modelcrate"), "")
    if modelcrate and "serve" not in extras:
        extras["serve"] = [serve_requirement(modelcrate)]
        marked = f'{extras["serve"][0]}; extra == "serve"'
        out.intended.add(("requirement", "", requirement_key(marked)))


def _deployments(root: Path, dist: str, package: str, source_dir: str, out: LumeProject) -> None:
    """The template's prefect.yaml (local, sweep and Kubernetes deployments), its entry points
    on the migrated flow module; the project's own is kept."""
    if (root / PREFECT_YAML).exists():
        out.notes.append(Note(PREFECT_YAML, 0, "the project's own deployments", "kept as they are"))
        return
    flow_name = f"{package.replace('.', '_')}_flow"
    text = rendered(
        TEMPLATE / f"{PREFECT_YAML}.jinja",
        project_name=dist,
        repo_name=dist,
        package_name=package,
        flow_name=flow_name,
        image="",
        registry="ghcr",
    )
    text = text.replace(f"src/{package}/flow.py:", f"{source_dir}/{FLOW}.py:")
    text = text.replace(f"{package}.flow:", f"{package}.{FLOW}:")
    entrypoints = {d["entrypoint"] for d in yaml.safe_load(text)["deployments"]}
    if entrypoints != {
        f"{source_dir}/{FLOW}.py:{flow_name}",
        f"{source_dir}/{FLOW}.py:sweep_flow",
        f"{package}.{FLOW}:{flow_name}",
    }:  # the template changed: better none than a wrong one
        out.notes.append(Note(PREFECT_YAML, 0, "not written", "write it as `modelcrate new` does"))
        return
    what = "the template's deployments: local process, sweep, Kubernetes"
    out.changes.append(FileChange(PREFECT_YAML, "add", what, text))


def _environment(root: Path, project: dict[str, Any], out: LumeProject) -> None:
    """environment.yml kept, its packages on modelcrate: lume-model and Prefect 1/2 out,
    Python 3.11, and pip installing what pyproject.toml requires."""
    path = root / ENVIRONMENT
    if not path.is_file():
        return
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("dependencies"), list):
        out.notes.append(
            Note(
                ENVIRONMENT,
                0,
                "a conda environment that cannot be read",
                "kept as it is; align it with pyproject.toml by hand",
            )
        )
        return
    conda: list[Any] = []
    pip: list[Any] = []
    for item in document["dependencies"]:
        if isinstance(item, dict) and isinstance(item.get("pip"), list):
            pip += [p for p in item["pip"] if _name(p) not in _REPLACED]
        elif isinstance(item, str) and _name(item) in _REPLACED | {"python"}:
            continue
        elif item != "pip":
            conda.append(item)
    named = {_name(p) for p in pip}
    pip += [r for r in project["dependencies"] if _name(r) not in named]
    document["dependencies"] = ["python=3.11", *conda, "pip", {"pip": pip}]
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    yaml.safe_load(text)  # what is written must read back
    out.changes.append(
        FileChange(ENVIRONMENT, "modify", "kept, its packages on modelcrate and Prefect 3", text)
    )
    out.notes.append(
        Note(
            ENVIRONMENT,
            0,
            "the conda environment",
            "kept; lume-model and Prefect 1/2 taken "
            "out, python=3.11, and pip installs what pyproject.toml requires",
        )
    )


def _name(item: Any) -> str:
    """The canonical package name of a conda or pip dependency line ("" when there is none)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(item))
    return canonicalize_name(match.group(1)) if match else ""
