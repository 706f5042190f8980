"""A project of the LUME-services model template (2022-2024): its variables files under
PKG/files are upgraded to the current form (as `modelcrate upgrade-variables`); its Prefect
flow, its `orchestration` entry points and its environment.yml are recognised and noted with
the step that is left. Its packaging is migrated like any other."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from ..._errors import ModelcrateError
from ...spec import load_spec, upgraded_text
from ._declared import Note
from ._plan import FileChange

ORCHESTRATION = "orchestration"
_PREFECT_1 = re.compile(r"^\s*from\s+prefect\s+import\s+.*\bFlow\b", re.MULTILINE)
_PREFECT = re.compile(r"^\s*(from\s+prefect\b|import\s+prefect\b)", re.MULTILINE)
_LUME_MODEL = re.compile(r"^class\s+(\w+)\s*\(\s*(?:\w+\.)*BaseModel\s*\)", re.MULTILINE)
_SKIPPED = frozenset({".git", ".venv", "venv", "build", "dist", "node_modules", "__pycache__"})


def lume_changes(root: Path, entry_points: dict[str, Any]) -> tuple[list[FileChange], list[Note]]:
    """What migrating the LUME-services template project at `root` changes beyond its
    packaging (its variables files upgraded), and notes on what makes it one."""
    changes: list[FileChange] = []
    notes: list[Note] = []
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
        what = (
            f"a LUME variables file ({_count(spec.inputs, 'input')}, "
            f"{_count(spec.outputs, 'output')})"
        )
        if path.read_bytes() == text.encode("utf-8"):
            notes.append(Note(name, 0, what, "kept: it is already in the current form"))
            continue
        changes.append(FileChange(name, "modify", "upgraded to the current form", text))
        notes.append(
            Note(
                name,
                0,
                what,
                "upgraded in place to the current form (variable_class, default_value, "
                "value_range, unit), as `modelcrate upgrade-variables` does",
            )
        )
    for path in _files(root, "*.py"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        relative = path.relative_to(root).as_posix()
        model = _LUME_MODEL.search(text)
        if model and "lume_model" in text:
            notes.append(
                Note(
                    relative,
                    0,
                    f"{model.group(1)}, a lume-model BaseModel",
                    "kept as it is; putting its evaluate behind modelcrate.Model is a manual "
                    "step for now",
                )
            )
        if _PREFECT.search(text):
            generation = "Prefect 1" if _PREFECT_1.search(text) else "Prefect"
            notes.append(
                Note(
                    relative,
                    0,
                    f"a {generation} flow",
                    "kept as it is; a Prefect 3 flow (as `modelcrate new` writes) is a manual "
                    "step for now",
                )
            )
    if ORCHESTRATION in entry_points:
        notes.append(
            Note(
                "pyproject.toml",
                0,
                "the LUME-services `orchestration` entry points",
                "kept as they were; modelcrate finds models and flows through "
                "`modelcrate.models` and `modelcrate.flows`",
            )
        )
    environment = root / "environment.yml"
    if notes and environment.is_file():
        notes.append(
            Note(
                "environment.yml",
                0,
                "the conda environment",
                "kept as it is: its packages are not checked against pyproject.toml",
            )
        )
    return changes, notes


def _count(variables: tuple[Any, ...], noun: str) -> str:
    return f"{len(variables)} {noun}{'' if len(variables) == 1 else 's'}"


def _files(root: Path, *patterns: str) -> list[Path]:
    """The project's files matching `patterns`, outside virtual environments and builds."""
    found = []
    for pattern in patterns:
        for path in root.rglob(pattern):
            if not _SKIPPED.intersection(path.relative_to(root).parts) and path.is_file():
                found.append(path)
    return sorted(found)
