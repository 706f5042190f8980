"""A project of the LUME-services model template (2022-2024): its variables files under
PKG/files are upgraded to the current form (as `modelcrate upgrade-variables`); when its
lume-model model is found, the project is made a modelcrate project around it
(`_lume_project`), else its Prefect flow, its `orchestration` entry points and its
environment.yml are recognised and noted with the step that is left. Its packaging is migrated
like any other."""

from __future__ import annotations

import ast
import keyword
import re
import warnings
from pathlib import Path
from typing import Any

from ..._errors import ModelcrateError
from ...spec import load_spec, upgraded_text
from ._declared import Note
from ._lume_code import ADAPTER, COMPAT, FLOW, OldModel, evaluate_shape
from ._lume_files import skipped_path
from ._lume_project import ORCHESTRATION, LumeProject, lume_project, package_folder
from ._plan import FileChange

_PREFECT_1 = re.compile(r"^\s*from\s+prefect\s+import\s+.*\bFlow\b", re.MULTILINE)
_PREFECT = re.compile(r"^\s*(from\s+prefect\b|import\s+prefect\b)", re.MULTILINE)
_LUME_MODEL = re.compile(r"^class\s+(\w+)\s*\(\s*(?:\w+\.)*BaseModel\s*\)", re.MULTILINE)


def lume_changes(root: Path, project: dict[str, Any], setuptools: dict[str, Any]) -> LumeProject:
    """What migrating the LUME-services template project at `root` (its `[project]` and
    `[tool.setuptools]` tables, changed here) changes beyond its packaging: its variables files upgraded and,
    when its lume-model model and its variables file are found, the modelcrate project made
    around them (`_lume_project`); else notes on what is left to do."""
    out = LumeProject()
    variables: list[Path] = []
    for path in _files(root, "*.yml", "*.yaml"):
        if path.parent.name != "files" or path.name.startswith("environment"):
            continue
        name = path.relative_to(root).as_posix()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec = load_spec(path)
                text = upgraded_text(path)
        except ModelcrateError:
            continue
        variables.append(path)
        what = (
            f"a LUME variables file ({_count(spec.inputs, 'input')}, "
            f"{_count(spec.outputs, 'output')})"
        )
        if path.read_bytes() == text.encode("utf-8"):
            out.notes.append(Note(name, 0, what, "kept: it is already in the current form"))
            continue
        out.changes.append(FileChange(name, "modify", "upgraded to the current form", text))
        out.notes.append(
            Note(
                name,
                0,
                what,
                "upgraded to the current form (variable_class, default_value, "
                "value_range, unit), as `modelcrate upgrade-variables` does",
            )
        )
    found = _lume_model(root, variables)
    taken = _taken(root, found[1], found[2]) if found is not None else []
    for existing in taken:
        out.notes.append(
            Note(
                existing,
                0,
                "already exists",
                "so the modelcrate project is not made around the "
                "lume-model model; rename the file and migrate again",
            )
        )
    if found is not None and not taken:
        model, model_file, spec_file = found
        made = lume_project(root, project, setuptools, model, model_file, spec_file)
        out.changes += made.changes
        out.intended |= made.intended
        out.move = made.move
        out.tool = made.tool
        out.notes.append(
            Note(
                model_file,
                0,
                f"{model.name}, a lume-model BaseModel",
                f"kept; it runs behind modelcrate.Model as {model.name} of "
                f"{made.package}.{ADAPTER}, with {made.variables} as its spec",
            )
        )
        out.notes += made.notes
        return out
    for path in _files(root, "*.py"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        relative = path.relative_to(root).as_posix()
        match = _LUME_MODEL.search(text)
        if match and "lume_model" in text:
            out.notes.append(
                Note(
                    relative,
                    0,
                    f"{match.group(1)}, a lume-model BaseModel",
                    "kept as it is; no variables file under its package's files/ was found, so "
                    "putting its evaluate behind modelcrate.Model is a manual step",
                )
            )
        if _PREFECT.search(text):
            generation = "Prefect 1" if _PREFECT_1.search(text) else "Prefect"
            out.notes.append(
                Note(
                    relative,
                    0,
                    f"a {generation} flow",
                    "kept as it is; a Prefect 3 flow (as `modelcrate new` writes) is a manual "
                    "step for now",
                )
            )
    if ORCHESTRATION in project.get("entry-points", {}):
        out.notes.append(
            Note(
                "pyproject.toml",
                0,
                "the LUME-services `orchestration` entry points",
                "kept as they were; modelcrate finds models and flows through "
                "`modelcrate.models` and `modelcrate.flows`",
            )
        )
    environment = root / "environment.yml"
    if out.notes and environment.is_file():
        out.notes.append(
            Note(
                "environment.yml",
                0,
                "the conda environment",
                "kept as it is: its packages are not checked against pyproject.toml",
            )
        )
    return out


def _lume_model(root: Path, variables: list[Path]) -> tuple[OldModel, str, str] | None:
    """The first lume-model BaseModel subclass of an importable module whose package holds a
    variables file (variables.yml first): the model, its file, the variables file."""
    for path in _files(root, "*.py"):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        match = _LUME_MODEL.search(text)
        module = _module_name(path)
        if not match or "lume_model" not in text or module is None or "." not in module:
            continue
        top = path.parent  # the model's top-level package: its variables file may be anywhere in it
        while (top.parent / "__init__.py").is_file():
            top = top.parent
        inside = sorted(
            (v for v in variables if v.is_relative_to(top)),
            key=lambda v: (not v.is_relative_to(path.parent), v.name != "variables.yml", str(v)),
        )
        if not inside or not match.group(1).isidentifier() or keyword.iskeyword(match.group(1)):
            continue
        shape = evaluate_shape(tree, match.group(1))
        model = OldModel(module, match.group(1), shape)
        return model, path.relative_to(root).as_posix(), inside[0].relative_to(root).as_posix()
    return None


def _taken(root: Path, model_file: str, variables: str) -> list[str]:
    """The files the modelcrate project would add (in the package holding `model_file` and
    `variables`) that exist already."""
    folder = package_folder(root / model_file, root / variables)
    names = (f"{COMPAT}.py", f"{ADAPTER}.py", f"{FLOW}.py")
    return [(folder / n).relative_to(root).as_posix() for n in names if (folder / n).exists()]


def _module_name(path: Path) -> str | None:
    """The dotted name `path` is imported by (its packages are the folders with __init__.py),
    or None when a part is not an identifier."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts)


def _count(variables: tuple[Any, ...], noun: str) -> str:
    return f"{len(variables)} {noun}{'' if len(variables) == 1 else 's'}"


def _files(root: Path, *patterns: str) -> list[Path]:
    """The project's files matching `patterns`, outside virtual environments and builds."""
    found = []
    for pattern in patterns:
        for path in root.rglob(pattern):
            if not skipped_path(path.relative_to(root).parts) and path.is_file():
                found.append(path)
    return sorted(found)
