"""A project as the packaging verbs read it: its pyproject.toml and its environment's Python."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .._errors import ProjectError
from ..runtime._discovery import read_pyproject

PYPROJECT = "pyproject.toml"
DEV_EXTRA = "dev"


@dataclass(frozen=True)
class ProjectMetadata:
    """The [project] table fields that locking and graphing need."""

    path: Path
    name: str
    requires_python: str
    dependencies: tuple[Requirement, ...]
    dev: tuple[Requirement, ...]

    @property
    def lowest_python(self) -> str:
        """The lowest Python version `requires-python` allows, e.g. "3.10"."""
        return lowest_python(self.requires_python, where=f"{self.path}: requires-python")


def read_project(project: str | os.PathLike[str]) -> ProjectMetadata:
    """Read PROJECT/pyproject.toml; a `ProjectError` names the file and field when it is unusable."""
    path = Path(project).expanduser().resolve() / PYPROJECT
    table = read_pyproject(project).get("project", {})
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(f'{path}: [project] has no name; add name = "my-model"')

    def requirements(items: object, field: str) -> tuple[Requirement, ...]:
        if not isinstance(items, list):
            raise ProjectError(f"{path}: {field} must be a list of requirement strings")
        try:
            return tuple(Requirement(item) for item in items)
        except InvalidRequirement as exc:
            raise ProjectError(f"{path}: {field}: {exc}; write a PEP 508 requirement") from None

    extras = table.get("optional-dependencies", {})
    return ProjectMetadata(
        path=path,
        name=name,
        requires_python=str(table.get("requires-python", "")),
        dependencies=requirements(table.get("dependencies", []), "[project] dependencies"),
        dev=requirements(extras.get(DEV_EXTRA, []), f"[project.optional-dependencies] {DEV_EXTRA}"),
    )


def lowest_python(requires_python: str, *, where: str = "requires-python") -> str:
    """The lowest `3.X` (or `3.X.Y`) that `requires_python` allows, e.g. ">=3.10" -> "3.10"."""
    if not requires_python.strip():
        raise ProjectError(
            f'{where} is missing; declare the Python versions, e.g. requires-python = ">=3.10"'
        )
    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier:
        raise ProjectError(
            f'{where}: {requires_python!r} is not a version specifier; write e.g. ">=3.10"'
        ) from None
    for minor in range(0, 30):
        for patch in range(0, 30):
            version = f"3.{minor}.{patch}"
            if allowed.contains(version, prereleases=True):
                return f"3.{minor}" if patch == 0 else version
    raise ProjectError(f"{where}: {requires_python!r} allows no Python 3 version; widen it")


def project_interpreter(
    project: str | os.PathLike[str],
    python: str | os.PathLike[str] | None = None,
    *,
    required: bool = False,
) -> Path:
    """The Python of PROJECT's environment: `python` when given, else PROJECT/.venv's.

    Without a .venv: this Python, or a `ProjectError` saying how to make one when `required`.
    """
    if python is not None:
        path = Path(python).expanduser()
        if not path.is_file():
            raise ProjectError(f"--python {python}: no such interpreter; give the path of a python")
        return path
    root = Path(project).expanduser().resolve()
    scripts, exe = ("Scripts", "python.exe") if sys.platform == "win32" else ("bin", "python")
    venv_python = root / ".venv" / scripts / exe
    if venv_python.is_file():
        return venv_python
    create = f"cd {root} && python -m venv .venv && .venv/bin/pip install -e '.[dev]'"
    if (root / ".venv").is_dir():  # there, but broken: its base Python was removed, say
        raise ProjectError(
            f"{root / '.venv'}: has no working python ({venv_python} is missing or a broken "
            f"link); recreate it (rm -rf .venv, then {create}), or give --python PATH"
        )
    if not required:
        return Path(sys.executable)
    raise ProjectError(
        f"{root}: no environment at .venv; create it ({create}), or give --python PATH"
    )


def reference_package(module: str, is_package: Callable[[str], bool]) -> str:
    """The package that holds an entry point's module, dotted: the module itself when
    `is_package("a/b/module")` says it is a package folder, else its parent
    (`my_model.model` -> `my_model`, `acme.models.my_model.model` -> `acme.models.my_model`)."""
    if not module:
        return ""
    parent = module.rpartition(".")[0]
    return module if not parent or is_package(module.replace(".", "/")) else parent
