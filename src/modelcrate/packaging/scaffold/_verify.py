"""Read back what `new` wrote before it reports success: every file of a project parses.

Python files parse (`ast`), TOML files load and `pyproject.toml` passes validate-pyproject,
YAML and JSON files load, and the variables file reloads to the spec the project was made from.
Other files (a converted model's artifact, a license) are not code and are left as they are.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import warnings
from pathlib import Path
from typing import Any

from ..._errors import ProjectError, SpecError
from ...spec import Spec, dump_spec, load_spec

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]


@functools.cache
def _pyproject_validator() -> Any:
    from validate_pyproject import api

    return api.Validator()


def _check_pyproject(data: dict[str, Any]) -> None:
    from validate_pyproject import errors

    try:
        _pyproject_validator()(data)
    except errors.ValidationError as exc:
        raise ValueError(exc.message) from None


def _check_file(path: Path, text: str) -> None:
    """Parse one file by its kind; raise what its parser raises."""
    import yaml

    if path.suffix == ".py":
        ast.parse(text, filename=str(path))
    elif path.suffix == ".toml":
        data = tomllib.loads(text)
        if path.name == "pyproject.toml":
            _check_pyproject(data)
    elif path.suffix in (".yml", ".yaml"):
        yaml.safe_load(text)
    elif path.suffix == ".json":
        json.loads(text)


_CHECKED = frozenset({".py", ".toml", ".yml", ".yaml", ".json"})


def verify_project(root: Path, spec: Spec, variables: Path) -> None:
    """Raise `ProjectError` naming the first file under `root` that does not parse, or the
    variables file if it does not reload to `spec`."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.suffix not in _CHECKED:
                continue
            shown = path.relative_to(root).as_posix()
            try:
                _check_file(path, path.read_text(encoding="utf-8"))
            except Exception as exc:  # any parser's error: the file is not what was meant
                raise ProjectError(
                    f"{shown}: the generated file does not parse ({_reason(exc)}); "
                    "nothing was written: please report this with the variables file and options"
                ) from exc
    try:
        with warnings.catch_warnings():  # what it warns about was said when it was first read
            warnings.simplefilter("ignore")
            same = dump_spec(load_spec(variables)) == dump_spec(spec)
    except SpecError as exc:
        same, reason = False, str(exc)
    else:
        reason = "it reloads to different variables"
    if not same:
        raise ProjectError(
            f"{variables.relative_to(root).as_posix()}: the written variables file does not "
            f"reload ({reason}); nothing was written: please report this with the variables file"
        )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or "unreadable"
