"""pyproject.toml as a document: read with tomlkit (an existing file's tables and comments
kept), written with [build-system], [project] and [tool] in that order, checked against the
pyproject schemas; and every rewritten file parsed back before anything is written."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path
from typing import Any

import tomlkit
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..._errors import MigrateError
from .._escape import one_line
from .._project import PYPROJECT
from ._declared import Note
from ._keywords import Translated
from ._plan import FileChange
from ._tool_tables import ToolTables


def read_pyproject_document(root: Path) -> tomlkit.TOMLDocument:
    path = root / PYPROJECT
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except tomlkit.exceptions.ParseError as exc:
        raise MigrateError(
            f"{path}:{exc.line}: not valid TOML ({exc}); fix it, then migrate again"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrateError(f"{path}: cannot be read ({exc})") from None


def parse_back(root: Path, changes: list[FileChange]) -> None:
    """Parse every rewritten Python file, setup.cfg, TOML and YAML file before anything is
    written."""
    for change in changes:
        if change.text is None:
            continue
        try:
            if change.path.endswith(".py"):
                ast.parse(change.text)
            elif change.path.endswith(".cfg"):
                configparser.ConfigParser(interpolation=None).read_string(change.text)
            elif change.path.endswith(".toml"):
                tomlkit.parse(change.text)
            elif change.path.endswith((".yml", ".yaml")):
                yaml.safe_load(change.text)
        except (SyntaxError, ValueError, configparser.Error, yaml.YAMLError) as exc:
            raise MigrateError(
                f"{root / change.path}: cannot be rewritten without breaking it "
                f"({one_line(str(exc))}); migrate with the file edited by hand"
            ) from None


def keep_build_requires(existing: tomlkit.TOMLDocument, translated: Translated) -> None:
    """Add the build requirements of an existing [build-system] (numpy, Cython) that are not
    the backend's own."""
    table = existing.get("build-system")
    old = table.get("requires", []) if isinstance(table, dict) else []
    requires = translated.build_system["requires"]
    names = {_requirement_name(r) for r in requires}
    for requirement in old:
        name = _requirement_name(str(requirement))
        if name not in names and name not in _BACKEND:
            requires.append(str(requirement))
            names.add(name)


_BACKEND = frozenset({"setuptools", "wheel", "setuptools-scm", "versioneer"})


def _requirement_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return text


def pyproject_text(
    existing: tomlkit.TOMLDocument, translated: Translated, tools: ToolTables, notes: list[Note]
) -> str:
    """pyproject.toml: [build-system], [project], then [tool] (the existing tables kept), then
    the existing document's other tables."""
    document = tomlkit.document()
    document["build-system"] = _item(translated.build_system)
    document["project"] = _item(translated.project)
    tool = existing.get("tool")
    tool_table = tool if isinstance(tool, dict) else tomlkit.table(is_super_table=True)
    if "setuptools" in tool_table:
        notes.append(Note(PYPROJECT, 0, "[tool.setuptools] was there already", "replaced"))
    tool_table["setuptools"] = _item(translated.setuptools)
    if translated.scm is not None and "versioneer" in tool_table:
        del tool_table["versioneer"]
        notes.append(
            Note(PYPROJECT, 0, "[tool.versioneer]", "removed: setuptools-scm makes the versions")
        )
    if translated.scm is not None and "setuptools_scm" not in tool_table:
        tool_table["setuptools_scm"] = _item(translated.scm)
    for name, table in tools.tool.items():
        if name in tool_table:
            notes.append(
                Note(
                    PYPROJECT,
                    0,
                    f"[tool.{name}] was there already",
                    "kept; setup.cfg's is dropped",
                )
            )
        else:
            tool_table[name] = _item(table)
    document["tool"] = tool_table
    for key, value in existing.items():
        if key not in ("build-system", "project", "tool"):
            document[key] = value
    return tomlkit.dumps(document)


_INLINE = frozenset({"readme", "license", "version"})


def _item(value: Any, key: str = "") -> Any:
    """`value` as tomlkit items: tables for mappings, inline tables for small ones (a readme,
    a person), arrays on several lines when long."""
    if isinstance(value, dict):
        if key in _INLINE or (key in ("readme", "license") and isinstance(value, dict)):
            inline = tomlkit.inline_table()
            inline.update({k: _item(v, k) for k, v in value.items()})
            return inline
        table = tomlkit.table()
        for k, v in value.items():
            table[k] = _item(v, k)
        return table
    if isinstance(value, list):
        if (
            value
            and all(isinstance(v, dict) for v in value)
            and key not in ("authors", "maintainers")
        ):
            aot = tomlkit.aot()
            for v in value:
                aot.append(_item(v))
            return aot
        array = tomlkit.array()
        for v in value:
            if isinstance(v, dict):
                inline = tomlkit.inline_table()
                inline.update(v)
                array.append(inline)
            else:
                array.append(_item(v))
        if len(value) > 2 or sum(len(str(v)) for v in value) > 60:
            array.multiline(True)
        return array
    return value


def check_pyproject(path: Path, text: str) -> None:
    """Parse the written pyproject.toml back and validate it against the pyproject schemas."""
    from validate_pyproject import api, errors

    try:
        api.Validator()(tomlkit.parse(text).unwrap())
    except (tomlkit.exceptions.ParseError, errors.ValidationError) as exc:
        message = getattr(exc, "message", str(exc))
        raise MigrateError(
            f"{path}: the pyproject.toml made from the old files is not valid ({message}); "
            "fix the value in setup.py or setup.cfg, then migrate again"
        ) from None


def pyproject_summary(translated: Translated, tools: ToolTables) -> str:
    """One line on what pyproject.toml declares, for the plan."""
    dynamic = translated.setuptools.get("dynamic", {}).get("version", {})
    if translated.scm is not None:
        version = "versions from git tags (setuptools-scm)"
    elif dynamic:
        source, value = next(iter(dynamic.items()))
        version = f"version from {source} {value}"
    else:
        version = f"version {translated.project.get('version', '?')}"
    parts = [f"[project] {translated.project.get('name', '?')}", "setuptools backend", version]
    moved = sorted(f"[tool.{name}]" for name in tools.tool)
    if moved:
        parts.append("from setup.cfg: " + ", ".join(moved))
    return "; ".join(parts)
