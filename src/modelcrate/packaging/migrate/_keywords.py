"""Taking the keywords of an old project's `setup()` one by one for pyproject.toml: each value
that only a build could compute, or that has no literal form, is noted (with its file and line)
instead of written. The base of the translation in `_pyproject` and `_setuptools_table`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._declared import Conditional, Declared, FileLines, FileText, Note, Unresolved

SETUPTOOLS = "setuptools>=77"  # license expressions (PEP 639) and [[tool.setuptools.ext-modules]]


@dataclass
class Translated:
    """The tables for pyproject.toml, the notes taken, and how the version is made."""

    build_system: dict[str, Any] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    setuptools: dict[str, Any] = field(default_factory=dict)
    scm: dict[str, Any] | None = None
    notes: list[Note] = field(default_factory=list)
    versioneer: bool = False
    kept_setup_py: bool = False
    """Whether the C extensions stay in a setup.py of their own (computed when building)."""
    conditional: set[str] = field(default_factory=set)
    """Requirements that setup.py added under a condition, written with it as their marker."""
    requirement_files: set[str] = field(default_factory=set)
    """The requirements files setup.py or setup.cfg read (and those they include)."""
    split_files: list[str] = field(default_factory=list)
    """Requirements files setup.py read with `.read().split()`."""


class KeywordReader:
    """The keywords still to translate, and the tables and notes made of them so far."""

    def __init__(self, declared: Declared, root: Path, tag_prefix: str) -> None:
        self.declared, self.root, self.tag_prefix = declared, root, tag_prefix
        self.out = Translated(notes=list(declared.notes))
        self.keywords = dict(declared.keywords)
        self.build_requires = [SETUPTOOLS]

    def note(self, keyword: str, what: str, instead: str) -> None:
        file, line = self.declared.origin(keyword)
        self.out.notes.append(Note(file, line, what, instead))

    def take(self, keyword: str) -> Any:
        """The value of `keyword` (None when absent or unresolved, which is noted)."""
        value = self.keywords.pop(keyword, None)
        if isinstance(value, Unresolved):
            self.out.notes.append(
                Note(
                    value.file,
                    value.line,
                    f"{keyword}={value.source} is {value.reason}",
                    f"left out of pyproject.toml; {_HINTS.get(keyword, 'add it by hand')}",
                )
            )
            return None
        return value

    def clean(self, keyword: str, items: Any) -> list[Any]:
        """A list's items, without (and noting) those only a build could compute."""
        if items is None:
            return []
        if not isinstance(items, list):
            items = [items]
        kept = []
        for item in items:
            if isinstance(item, Unresolved):
                self.out.notes.append(
                    Note(
                        item.file,
                        item.line,
                        f"an item of {keyword} ({item.source}) is {item.reason}",
                        f"left out of pyproject.toml; {_HINTS.get(keyword, 'add it by hand')}",
                    )
                )
            elif isinstance(item, Conditional):
                self.out.notes.append(
                    Note(
                        "setup.py",
                        item.line,
                        f"{item.value!r} is added to {keyword} only when {item.marker}",
                        "left out of pyproject.toml: only requirements can carry a condition",
                    )
                )
            else:
                kept.append(item)
        return kept

    def text(self, value: Any) -> Any:
        """A `file:` value as the file's text (as setuptools reads it), else the value."""
        if isinstance(value, FileText):
            return _read(self.root, value.path)
        return value

    def lines(self, value: Any) -> Any:
        """A list read from files (`classifiers = file: classifiers.txt`) as their lines."""
        if isinstance(value, (FileText, FileLines)):
            value = [value]
        if not isinstance(value, list) or not any(
            isinstance(v, (FileText, FileLines)) for v in value
        ):
            return value
        found: list[Any] = []
        for item in value:
            if isinstance(item, (FileText, FileLines)):
                text = _read(self.root, item.path)
                found += [
                    line.strip()
                    for line in text.splitlines()
                    if line.strip() and not line.strip().startswith("#")
                ]
            else:
                found.append(item)
        return found

    def plain(self, table: dict[str, Any], where: list[str]) -> None:
        """Take out (and note) any value that TOML cannot hold: what the readers could not
        make plain data of."""
        for key in list(table):
            value = table[key]
            if isinstance(value, dict):
                self.plain(value, [*where, key])
                if not value:  # emptied: nothing left to declare
                    del table[key]
            elif not _is_plain(value):
                del table[key]
                self.out.notes.append(
                    Note(
                        self.declared.origin(key)[0],
                        0,
                        f"{'.'.join([*where, key])} has no literal value",
                        "left out of pyproject.toml; add it by hand",
                    )
                )


_HINTS = {
    "install_requires": "write the requirements in [project] dependencies (a condition such as a "
    'platform is an environment marker: `pkg; sys_platform == "win32"`)',
    "extras_require": "write each extra in [project.optional-dependencies] (a condition is an "
    "environment marker)",
    "entry_points": "write the entry points in [project.entry-points.GROUP] (one for every "
    "platform: the code can check the platform when it runs)",
    "version": "versions now come from git tags (setuptools-scm)",
}


def _is_plain(value: Any) -> bool:
    """Whether TOML can hold `value` (strings, numbers, booleans, lists and tables of them)."""
    if isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _read(root: Path, name: str) -> str:
    """A file of the project read as setuptools' `file:` does ("" when it cannot be)."""
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
