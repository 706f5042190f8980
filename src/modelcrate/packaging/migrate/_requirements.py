"""Reading requirements files as pip does: one requirement a line, with markers, comments,
`-r` includes and VCS URLs; and noticing what the `f.read().split()` idiom made of them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from ._declared import Note

_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+")
_COMMENT = re.compile(r"(^|\s+)#.*$")


@dataclass
class RequirementsFile:
    """The requirements of a file (and of the files it includes), in order, and notes on the
    lines that are not requirements."""

    requirements: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """The files read: this one and those it includes."""


def read_requirements(
    project: Path, name: str, *, seen: frozenset[str] = frozenset()
) -> RequirementsFile:
    """The requirements of PROJECT/`name` as PEP 508 strings, following `-r` includes."""
    read = RequirementsFile(files=[Path(name).as_posix()])
    path = project / name
    if not path.resolve().is_relative_to(project.resolve()):
        read.notes.append(Note(name, 0, "is outside the project", "its requirements are left out"))
        return read
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        read.notes.append(
            Note(
                name,
                0,
                f"cannot be read ({exc.__class__.__name__})",
                "its requirements are left out",
            )
        )
        return read
    for number, raw in _logical_lines(text):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        option = re.match(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)$", line)
        if option:
            included = str(Path(name).parent / option.group(2))
            if option.group(1) in ("-c", "--constraint"):
                read.notes.append(
                    Note(
                        name,
                        number,
                        f"constraints file {option.group(2)} (pins for pip)",
                        "left out: a package's requirements are not pins",
                    )
                )
            elif included not in seen:
                inner = read_requirements(project, included, seen=seen | {name})
                read.requirements += inner.requirements
                read.notes += inner.notes
                read.files += inner.files
            continue
        if line.startswith("-"):
            read.notes.append(
                Note(
                    name,
                    number,
                    f"pip option {line!r}",
                    "left out: it is not a requirement of the package",
                )
            )
            continue
        requirement = as_requirement(line)
        if requirement is None:
            read.notes.append(
                Note(name, number, f"{line!r} is not a requirement", "left out of the dependencies")
            )
        else:
            read.requirements.append(requirement)
    return read


def as_requirement(line: str) -> str | None:
    """One requirement line as a PEP 508 string (`pkg @ git+https://...` for a VCS URL with
    `#egg=pkg`), or None when it is not one."""
    egg = _EGG.search(line)
    if _VCS.match(line) and egg:
        url = line[: egg.start()].rstrip()
        line = f"{egg.group(1)} @ {url}"
    try:
        return str(Requirement(line))
    except InvalidRequirement:
        return None


def unread_requirement_files(project: Path, read: set[str]) -> list[Note]:
    """Notes on the project's requirements files (`requirements*.txt`, `requirements/*.txt`)
    that setup.py and setup.cfg never read."""
    found = [*project.glob("requirements*.txt"), *project.glob("requirements/*.txt")]
    names = sorted({p.relative_to(project).as_posix() for p in found if p.is_file()} - read)
    return [
        Note(
            name,
            0,
            "not read by setup.py or setup.cfg",
            "kept for `pip install -r`; declare its requirements as an extra in "
            "[project.optional-dependencies] if the package should offer them",
        )
        for name in names
    ]


def split_damage(project: Path, name: str, line: int) -> list[Note]:
    """What `open(name).read().split()` (setup.py line `line`) made of PROJECT/`name`: each
    requirement line that the split broke apart, and each comment word it turned into a
    requirement."""
    if not (project / name).resolve().is_relative_to(project.resolve()):
        return []
    try:
        text = (project / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    notes = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if len(tokens) < 2:
            continue
        stripped = raw.strip()
        if stripped.startswith("#"):
            what = f"the comment {stripped!r} became the requirements {', '.join(map(repr, tokens[1:]))}"
        else:
            what = f"{stripped!r} was split into {', '.join(map(repr, tokens))}"
        notes.append(
            Note(
                name,
                number,
                f"setup.py:{line} read this file with .read().split(): {what}",
                "pyproject.toml has the requirement as the file's line says",
            )
        )
    return notes


def split_tokens(project: Path, name: str) -> frozenset[str]:
    """The tokens `open(name).read().split()` makes that are no line of PROJECT/`name`: what
    the old setup.py declared by mistake."""
    if not (project / name).resolve().is_relative_to(project.resolve()):
        return frozenset()
    try:
        text = (project / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    whole = {line.strip() for line in text.splitlines()}
    return frozenset(token for token in text.split() if token not in whole)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their numbers, a line ending in a backslash joined to the next."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append((start, pending + line))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines
