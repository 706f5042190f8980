"""Find a packaged model (or its flow) from a project directory or an installed package's entry points."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ProjectError

if TYPE_CHECKING:
    from ..model import Model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODELS_GROUP = "modelcrate.models"
FLOWS_GROUP = "modelcrate.flows"


@dataclass(frozen=True)
class Found:
    """What a reference resolved to: the loaded object, its entry point, and the project if any."""

    obj: Any
    entry_point: str
    project: Path | None = None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pyproject(project: str | os.PathLike[str]) -> dict[str, Any]:
    """PROJECT/pyproject.toml as data; `ProjectError` when PROJECT is not a project."""
    root = Path(project).expanduser().resolve()
    pyproject = root / "pyproject.toml"
    if not root.is_dir():
        raise ProjectError(f"{root}: no such directory; give a project made by `modelcrate new`")
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"{root}: no pyproject.toml; give a project made by `modelcrate new`"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError(f"{pyproject}: cannot be read ({exc}); fix the file") from None


def project_entry_points(project: Path, group: str) -> dict[str, str]:
    """The entry points of `group` declared in a project's pyproject.toml."""
    data = read_pyproject(project)
    groups = data.get("project", {}).get("entry-points", {})
    declared = groups.get(group, {})
    if not declared:
        raise ProjectError(
            f'{project / "pyproject.toml"}: declares no [project.entry-points."{group}"]; '
            'add one pointing at your class, e.g. my-model = "my_model.model:MyModel"'
        )
    return dict(declared)


def load_object(reference: str, *, search: Path | None = None) -> Any:
    """Import `package.module:attribute`; with `search`, fall back to importing from that src dir."""
    module_name, _, attr = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if search is None or not exc.name or not module_name.startswith(exc.name.split(".")[0]):
            raise ProjectError(
                f"{reference}: cannot import {exc.name!r}; install the package that provides it"
            ) from None
        top = module_name.split(".")[0]
        if search.is_dir() and not (search / top).exists():
            here = sorted(p.parent.name for p in search.glob("*/__init__.py"))
            raise ProjectError(
                f"{reference}: there is no package {top!r} in {search} "
                f"(it has: {', '.join(here) or 'none'}); fix the entry point in pyproject.toml"
            ) from None
        sys.path.insert(0, str(search))
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc2:
            if exc2.name and module_name.startswith(exc2.name):
                raise ProjectError(
                    f"{reference}: there is no module {exc2.name!r} in {search}; "
                    "fix the entry point in pyproject.toml"
                ) from None
            raise ProjectError(
                f"{reference}: cannot import {exc2.name!r}; install the project first "
                f"(pip install -e {search.parent})"
            ) from None
    obj: Any = module
    for part in filter(None, attr.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ProjectError(
                f"{reference}: {module_name} has no attribute {part!r}; fix the entry point"
            ) from None
    return obj


def find(reference: str | Path, group: str = MODELS_GROUP) -> Found:
    """Resolve a project directory or an installed model's name to the object of `group`.

    A directory counts as a project only when it holds a pyproject.toml, so a folder that
    happens to share an installed model's name (its results folder, say) does not shadow it.
    """
    path = Path(reference)
    if (path / "pyproject.toml").is_file():
        return _from_project(path.resolve(), group)
    wanted = _normalize(str(reference))
    available = entry_points(group=group)
    for ep in available:
        dist = getattr(ep, "dist", None)
        if wanted in (_normalize(ep.name), _normalize(dist.name) if dist else None):
            return Found(load_object(ep.value), ep.value)
    if path.is_dir():
        return _from_project(path.resolve(), group)  # raises: no pyproject.toml
    names = ", ".join(sorted({ep.name for ep in available})) or "none installed"
    raise ProjectError(
        f"{reference}: neither a project directory nor an installed model ({names}); "
        "give the directory made by `modelcrate new` or install the model package"
    )


def _from_project(project: Path, group: str) -> Found:
    declared = project_entry_points(project, group)
    target = next(iter(declared.values()))
    _import_project_package(target, project / "src")
    return Found(load_object(target, search=project / "src"), target, project)


def _import_project_package(reference: str, src: Path) -> None:
    """Import the top-level package of `reference` from the project's src folder, so that the
    project's own code runs even when a package of the same name is installed (an older
    version of it, or another project that took the name)."""
    top = reference.partition(":")[0].split(".")[0].strip()
    init = src / top / "__init__.py"
    if not top or not init.is_file():
        return  # not a src layout: the import finds it as installed, or from src
    loaded = sys.modules.get(top)
    if loaded is not None:
        where = getattr(loaded, "__file__", None)
        if where is None or Path(where).resolve() != init.resolve():
            raise ProjectError(
                f"{reference}: a package {top!r} from {where or 'elsewhere'} is already imported "
                f"in this process, not the project's {init.parent}; run the project in a new "
                "process"
            )
        return
    spec = importlib.util.spec_from_file_location(
        top, init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[top]
        raise


def find_model(reference: str | Path) -> tuple[Model, Path | None]:
    """A model instance and its project directory (None for an installed model)."""
    from ..model import Model

    found = find(reference, MODELS_GROUP)
    cls = found.obj
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ProjectError(
            f"{found.entry_point}: is not a subclass of modelcrate.Model; fix the entry point"
        )
    return cls(), found.project
