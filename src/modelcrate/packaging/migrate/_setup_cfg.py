"""Reading setup.cfg: its `[metadata]` and `[options*]` sections as `setup()` keywords (the
`file:`, `attr:` and `find:` directives as markers, never run), and its other sections (the
tools' tables) with their lines, for `_tool_tables`."""

from __future__ import annotations

import ast
import configparser
import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..._errors import MigrateError
from ._declared import Declared, FileLines, FileText, FindPackages, Note, VersionFrom

SETUP_CFG = "setup.cfg"

_LISTS = frozenset(
    {
        "classifiers",
        "keywords",
        "platforms",
        "license_files",
        "provides",
        "obsoletes",
        "install_requires",
        "setup_requires",
        "tests_require",
        "packages",
        "py_modules",
        "scripts",
        "eager_resources",
        "dependency_links",
        "namespace_packages",
    }
)
_BOOLEANS = frozenset({"zip_safe", "include_package_data"})
_DICT_SECTIONS = {
    "options.extras_require": "extras_require",
    "options.package_data": "package_data",
    "options.exclude_package_data": "exclude_package_data",
    "options.entry_points": "entry_points",
    "options.data_files": "data_files",
}
_SETUP_SECTIONS = frozenset({"metadata", "options", "options.packages.find", *_DICT_SECTIONS})
_HEADER = re.compile(r"^\[([^\]]+)\]")


@dataclass(frozen=True)
class Section:
    """A section of setup.cfg: its name, its options and the lines it spans (1-based, end
    exclusive) for removing it from the file."""

    name: str
    options: tuple[tuple[str, str], ...]
    first: int
    end: int


def read_setup_cfg(project: Path) -> tuple[Declared, list[Section]]:
    """PROJECT/setup.cfg's `setup()` keywords, and all of its sections."""
    path = project / SETUP_CFG
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=", ":"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case of keys
    try:
        text = path.read_text(encoding="utf-8")
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None) or _first_error_line(exc)
        where = f"{path}:{line}" if line else str(path)
        message = _problem(exc)
        raise MigrateError(
            f"{where}: not a valid setup.cfg ({message}); fix it, then migrate again"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrateError(
            f"{path}: cannot be read ({exc}); make it a readable UTF-8 file"
        ) from None
    sections = _sections(text, parser)
    lines = {section.name: section.first for section in sections}
    declared = Declared()
    for name in ("metadata", "options"):
        if parser.has_section(name):
            for key, value in parser.items(name):
                line = _line_of(text, lines[name], key)
                declared.set(key, _value(key, value, project, line), SETUP_CFG, line)
    if "packages" in declared.keywords and parser.has_section("options.packages.find"):
        found = dict(parser.items("options.packages.find"))
        packages = declared.keywords["packages"]
        if isinstance(packages, FindPackages):
            declared.keywords["packages"] = FindPackages(
                where=found.get("where", ".").strip() or ".",
                include=tuple(_list(found.get("include", ""))),
                exclude=tuple(_list(found.get("exclude", ""))),
                namespaces=packages.namespaces,
            )
    for name, keyword in _DICT_SECTIONS.items():
        if parser.has_section(name):
            table = {key: _mapping_value(keyword, value) for key, value in parser.items(name)}
            declared.set(keyword, table, SETUP_CFG, lines[name])
    for section in sections:
        if section.name.startswith("options.") and section.name not in _SETUP_SECTIONS:
            declared.notes.append(
                Note(
                    SETUP_CFG,
                    section.first,
                    f"[{section.name}] is not a setuptools section",
                    "left out of pyproject.toml",
                )
            )
    return declared, sections


def is_setup_section(name: str) -> bool:
    """Whether setup.cfg's section `name` declares the package (and moves to [project])."""
    return name in _SETUP_SECTIONS or name.startswith("options.")


def _sections(text: str, parser: configparser.ConfigParser) -> list[Section]:
    """The sections of setup.cfg with the lines each spans."""
    starts: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            starts.append((match.group(1).strip(), number))
    total = len(text.splitlines()) + 1
    found = []
    for index, (name, first) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else total
        options = tuple(parser.items(name)) if parser.has_section(name) else ()
        found.append(Section(name, options, first, end))
    return found


def _line_of(text: str, start: int, key: str) -> int:
    """The line of option `key` in the section starting at line `start`."""
    pattern = re.compile(rf"^{re.escape(key)}\s*[=:]")
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if pattern.match(line):
            return number
    return start


def _problem(exc: configparser.Error) -> str:
    """What is wrong, in words that do not repeat the file's name."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return "it does not start with a [section] line"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{exc.option!r} is given twice in [{exc.section}]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"the section [{exc.section}] is given twice"
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        first = exc.errors[0]
        text = str(first[1]) if isinstance(first, tuple) else ""
        with contextlib.suppress(ValueError, SyntaxError):
            text = repr(str(ast.literal_eval(text)).strip())  # configparser gives its repr
        return f"{text} is neither `key = value` nor a [section]"
    return str(exc).splitlines()[0].rstrip(":")


def _first_error_line(exc: configparser.Error) -> int | None:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        return first[0] if isinstance(first, tuple) else getattr(first, "lineno", None)
    return None


def _list(value: str) -> list[str]:
    """A setup.cfg list: one item a line, or separated by commas (or `;` for requirements)."""
    if "\n" in value.strip():
        items = value.strip().splitlines()
    else:
        items = re.split(r"[,;]", value) if "," in value or ";" not in value else value.split(";")
    return [item.strip() for item in items if item.strip() and not item.strip().startswith("#")]


def _value(key: str, value: str, project: Path, line: int) -> object:
    """One option of [metadata] or [options] as `setup()` would take it."""
    stripped = value.strip()
    if stripped.startswith("file:"):
        files = [f.strip() for f in stripped[5:].split(",") if f.strip()]
        if key == "version":
            return VersionFrom("file", files[0] if files else "")
        if key in _LISTS:
            return [FileLines(f, "lines", line) for f in files]
        return FileText(files[0]) if len(files) == 1 else [FileText(f) for f in files]
    if stripped.startswith("attr:") and key == "version":
        return VersionFrom("attr", stripped[5:].strip())
    if key == "packages" and stripped in ("find:", "find_namespace:"):
        return FindPackages(namespaces=stripped == "find_namespace:")
    if key == "package_dir":
        return _package_dir(stripped)
    if key in _BOOLEANS:
        return stripped.lower() in ("1", "true", "yes", "on")
    if key in ("install_requires", "setup_requires", "tests_require") and "\n" not in value:
        return [item.strip() for item in stripped.split(";") if item.strip()]
    if key in _LISTS:
        return _list(value)
    if key == "project_urls":
        return dict(_pair(item) for item in _list(value))
    return stripped


def _package_dir(value: str) -> dict[str, str]:
    """`package_dir = =src` (or one `name = dir` a line) as a mapping."""
    mapping = {}
    for item in _list(value):
        name, _, folder = item.partition("=")
        mapping[name.strip()] = folder.strip()
    return mapping


def _pair(item: str) -> tuple[str, str]:
    name, _, value = item.partition("=")
    return name.strip(), value.strip()


def _mapping_value(keyword: str, value: str) -> object:
    """A value of the [options.*] mapping sections: entry point lines, requirement lines,
    package data globs."""
    if keyword == "extras_require" and "\n" not in value:
        items = value.split(";")  # setuptools splits a one-line list at semicolons
        return [item.strip() for item in items if item.strip() and not item.strip().startswith("#")]
    if keyword in ("extras_require", "entry_points"):
        lines = (line.strip() for line in value.strip().splitlines())
        return [line for line in lines if line and not line.startswith("#")]
    return _list(value)
