"""The tools' sections of setup.cfg as pyproject.toml tables, for the tools that read
pyproject.toml (pytest, isort, coverage, mypy); the others stay in setup.cfg and are noted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._declared import Note
from ._setup_cfg import SETUP_CFG, Section, is_setup_section

_COVERAGE_LISTS = frozenset(
    {
        "source",
        "source_pkgs",
        "omit",
        "include",
        "plugins",
        "concurrency",
        "disable_warnings",
        "debug",
        "exclude_lines",
        "exclude_also",
        "partial_branches",
        "partial_branches_always",
        "context",
    }
)
_COVERAGE_NUMBERS = frozenset({"fail_under", "precision"})
_DROPPED = {
    "bdist_wheel": "universal wheels were for Python 2; setuptools builds py3 wheels",
    "versioneer": "versions come from git tags through setuptools-scm",
    "aliases": "`setup.py` commands are not run any more",
    "egg_info": "eggs are gone; the version comes from [project] or the git tags",
    "sdist": "build the sdist with `python -m build --sdist` (MANIFEST.in still applies)",
}
_KEPT = {
    "flake8": "flake8 does not read pyproject.toml",
    "pycodestyle": "pycodestyle does not read pyproject.toml",
    "pydocstyle": "kept in setup.cfg, which pydocstyle reads",
}


@dataclass
class ToolTables:
    """What becomes of setup.cfg's tool sections: tables for pyproject.toml's `[tool]`, the
    sections that stay in setup.cfg, and notes."""

    tool: dict[str, Any] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def tool_tables(sections: list[Section]) -> ToolTables:
    """Move each section of setup.cfg that a tool reads from pyproject.toml into `[tool]`."""
    tables = ToolTables()
    for section in sections:
        name = section.name
        options = dict(section.options)
        if is_setup_section(name):
            tables.moved.append(name)
        elif name == "tool:pytest":
            tables.tool.setdefault("pytest", {})["ini_options"] = {
                k: _pytest(k, v) for k, v in options.items()
            }
            _moved(tables, section, "[tool.pytest.ini_options]")
        elif name in ("isort", "tool:isort"):
            tables.tool["isort"] = {k: _typed(v) for k, v in options.items()}
            _moved(tables, section, "[tool.isort]")
        elif name.startswith("coverage:"):
            part = name.partition(":")[2]
            coverage = tables.tool.setdefault("coverage", {})
            if part == "paths":
                coverage[part] = {k: _lines(v) for k, v in options.items()}
            else:
                coverage[part] = {k: _coverage(k, v) for k, v in options.items()}
            _moved(tables, section, f"[tool.coverage.{part}]")
        elif name == "mypy":
            tables.tool.setdefault("mypy", {}).update({k: _typed(v) for k, v in options.items()})
            _moved(tables, section, "[tool.mypy]")
        elif name.startswith("mypy-"):
            mypy = tables.tool.setdefault("mypy", {})
            override = {"module": [m.strip() for m in name[5:].split(",")]}
            override |= {k: _typed(v) for k, v in options.items()}
            mypy.setdefault("overrides", []).append(override)
            _moved(tables, section, "[[tool.mypy.overrides]]")
        elif name in _DROPPED:
            tables.moved.append(name)
            tables.notes.append(
                Note(SETUP_CFG, section.first, f"[{name}]", f"removed: {_DROPPED[name]}")
            )
        else:
            tables.kept.append(name)
            why = _KEPT.get(name, "its tool is not known to read pyproject.toml")
            tables.notes.append(
                Note(SETUP_CFG, section.first, f"[{name}]", f"kept in setup.cfg: {why}")
            )
    return tables


def _moved(tables: ToolTables, section: Section, where: str) -> None:
    tables.moved.append(section.name)
    tables.notes.append(
        Note(SETUP_CFG, section.first, f"[{section.name}]", f"moved to pyproject.toml {where}")
    )


def _pytest(key: str, value: str) -> str | list[str]:
    """A pytest option: a value of several lines as a list of them (addopts as one string)."""
    lines = [line.strip() for line in value.strip().splitlines() if line.strip()]
    if len(lines) > 1 and key != "addopts":
        return lines
    return " ".join(lines)


def _typed(value: str) -> Any:
    """An ini value as TOML wants it: booleans and whole numbers typed, the rest kept as text."""
    stripped = value.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    return stripped


def _lines(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[\n,]", value) if item.strip()]


def _coverage(key: str, value: str) -> Any:
    """A coverage option typed as coverage's TOML reader demands (lists are lists)."""
    if key in _COVERAGE_LISTS:
        return (
            _lines(value)
            if key not in ("exclude_lines", "exclude_also", "partial_branches")
            else [line.strip() for line in value.splitlines() if line.strip()]
        )
    if key in _COVERAGE_NUMBERS:
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value.strip()
    return _typed(value)
