"""What an old project declares, as read without running anything: the keywords of its
`setup()` call (from setup.py's syntax tree or setup.cfg's sections), with values that are plain
Python data or one of the markers below for what only a build would compute, and the notes the
readers took of what they could not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict


class NoteDict(TypedDict):
    """`Note.to_dict()`."""

    file: str
    line: int
    what: str
    instead: str


@dataclass(frozen=True)
class Note:
    """One thing the migration did not carry over as it was, at `file:line`, and what it did
    instead."""

    file: str
    line: int
    what: str
    instead: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.what}; {self.instead}"

    def to_dict(self) -> NoteDict:
        return {"file": self.file, "line": self.line, "what": self.what, "instead": self.instead}


@dataclass(frozen=True)
class Unresolved:
    """A value that cannot be known without running setup.py (`source` is its code)."""

    file: str
    line: int
    source: str
    reason: str


@dataclass(frozen=True)
class FileText:
    """The text of a file of the project, read when setup.py runs (`open("README.md").read()`)."""

    path: str


LinesIdiom = Literal["split", "lines"]


@dataclass(frozen=True)
class FileLines:
    """The lines of a file of the project, read when setup.py runs: `split` for the
    `f.read().split()` idiom (which breaks a line at every space), `lines` for a read by line."""

    path: str
    idiom: LinesIdiom
    line: int = 0


@dataclass(frozen=True)
class FindPackages:
    """`find_packages(...)` or `find_namespace_packages(...)`: packages found when building."""

    where: str = "."
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    namespaces: bool = False


@dataclass(frozen=True)
class VersionFrom:
    """A version computed when building: from git tags by versioneer or setuptools-scm (with
    setuptools-scm's options), from a module's attribute, or from a file."""

    source: Literal["versioneer", "setuptools-scm", "attr", "file"]
    value: str = ""
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class VersioneerCommands:
    """`versioneer.get_cmdclass()`: build commands that stamp the version; not needed with
    setuptools-scm."""


@dataclass(frozen=True)
class Conditional:
    """A value setup.py adds to a list only when the build runs on some platform or Python
    (`if sys.version_info < (3, 9): requirements.append(...)`), with that condition as an
    environment marker (`python_version < "3.9"`)."""

    value: Any
    marker: str
    line: int


@dataclass(frozen=True)
class Extension:
    """A C extension module (`Extension(name, sources, ...)`) with its keyword arguments."""

    name: str
    options: tuple[tuple[str, Any], ...]
    line: int = 0


@dataclass
class Declared:
    """An old project's `setup()` keywords and where each came from (file, line)."""

    keywords: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def set(self, keyword: str, value: Any, file: str, line: int) -> None:
        """Declare `keyword`, read at `file:line` (a later reader overrides an earlier one)."""
        self.keywords[keyword] = value
        self.origins[keyword] = (file, line)

    def origin(self, keyword: str) -> tuple[str, int]:
        """Where `keyword` was declared: (file, line)."""
        return self.origins.get(keyword, ("setup.py", 0))

    def merged(self, later: Declared) -> Declared:
        """These keywords with `later`'s on top (setup.py's arguments win over setup.cfg's)."""
        return Declared(
            keywords={**self.keywords, **later.keywords},
            origins={**self.origins, **later.origins},
            notes=[*self.notes, *later.notes],
        )
