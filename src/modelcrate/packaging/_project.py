"""A project's layout as every packaging verb sees it: the names of its files, where its
variables file is, and its pyproject.toml read into what the verbs need."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .._errors import ProjectError
from ..runtime import FLOWS_GROUP, MODELS_GROUP, read_pyproject

PYPROJECT = "pyproject.toml"
VARIABLES_FILE = "variables.yml"
"""The variables file, in the package folder: src/PACKAGE/variables.yml (see `variables_path`)."""
ANSWERS_FILE = ".copier-answers.yml"
README = "README.md"
DOCKERFILE = "Dockerfile"
DEV_EXTRA = "dev"
"""The optional-dependencies extra of development tools (tests, linters)."""
SERVE_EXTRA = "serve"
"""The optional-dependencies extra of serving over HTTP, which the project's image installs."""

LOCK_DIR = "requirements"
DEV_LOCK = f"{LOCK_DIR}/dev.lock.txt"
RUNTIME_LOCK = f"{LOCK_DIR}/runtime.lock.txt"
DEV_DIRECT = f"{LOCK_DIR}/dev.direct.txt"
RUNTIME_DIRECT = f"{LOCK_DIR}/runtime.direct.txt"
LOCK_FILES = f"{LOCK_DIR}/*.lock.txt"
"""A glob of the hashed lock files, relative to the project."""
PIPFILE = "Pipfile"
PIPFILE_LOCK = "Pipfile.lock"

__all__ = [
    "ANSWERS_FILE",
    "DEV_DIRECT",
    "DEV_EXTRA",
    "DEV_LOCK",
    "DOCKERFILE",
    "LOCK_DIR",
    "LOCK_FILES",
    "PIPFILE",
    "PIPFILE_LOCK",
    "PYPROJECT",
    "README",
    "RUNTIME_DIRECT",
    "RUNTIME_LOCK",
    "SERVE_EXTRA",
    "VARIABLES_FILE",
    "ProjectMetadata",
    "data_patterns",
    "lowest_python",
    "project_package",
    "read_project",
    "read_pyproject",
    "reference_package",
    "variables_path",
]


def variables_path(project: Path, package_name: str) -> Path:
    """Where a project keeps its variables file (written by modelcrate, not by the template);
    `package_name` as a path (`acme/models/my_model` for a namespace package)."""
    return project / "src" / package_name / VARIABLES_FILE


@dataclass(frozen=True)
class ProjectMetadata:
    """The [project] table fields that locking and graphing need."""

    path: Path
    name: str
    requires_python: str
    dependencies: tuple[Requirement, ...]
    dev: tuple[Requirement, ...]
    serve: tuple[Requirement, ...] = ()
    """The `serve` extra: what the image installs on top of `dependencies`."""

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
        serve=requirements(
            extras.get(SERVE_EXTRA, []), f"[project.optional-dependencies] {SERVE_EXTRA}"
        ),
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


def reference_package(module: str, is_package: Callable[[str], bool]) -> str:
    """The package that holds an entry point's module, dotted: the module itself when
    `is_package("a/b/module")` says it is a package folder, else its parent
    (`my_model.model` -> `my_model`, `acme.models.my_model.model` -> `acme.models.my_model`)."""
    if not module:
        return ""
    parent = module.rpartition(".")[0]
    return module if not parent or is_package(module.replace(".", "/")) else parent


def project_package(root: Path, pyproject: dict[str, Any]) -> str | None:
    """The project's package under src/ (dotted, e.g. `my_model` or `acme.models.my_model`):
    the one holding the module its entry points name, else the one with variables.yml."""
    src = root / "src"
    groups = pyproject.get("project", {}).get("entry-points", {})
    for group in (MODELS_GROUP, FLOWS_GROUP):
        for reference in groups.get(group, {}).values():
            module = str(reference).split(":")[0].strip()
            package = reference_package(module, lambda path: (src / path).is_dir())
            if package and (src / package.replace(".", "/")).is_dir():
                return package
    candidates = (
        sorted(".".join(p.parent.relative_to(src).parts) for p in src.glob(f"**/{VARIABLES_FILE}"))
        if src.is_dir()
        else []
    )
    return candidates[0] if len(candidates) == 1 else None


def data_patterns(project: str | os.PathLike[str]) -> tuple[str, ...]:
    """`[tool.modelcrate] data` of PROJECT's pyproject.toml: glob patterns of files shipped as data."""
    pyproject = Path(project).expanduser().resolve() / PYPROJECT
    data = read_pyproject(project).get("tool", {}).get("modelcrate", {}).get("data", [])
    if not isinstance(data, list) or not all(isinstance(p, str) and p for p in data):
        raise ProjectError(
            f"{pyproject}: [tool.modelcrate] data must be a list of glob patterns of paths "
            'inside the wheel, e.g. data = ["my_model/weights/*.onnx"]'
        )
    return tuple(data)
