"""MANIFEST.in: kept as it is (setuptools still reads it), with notes on what it does for the
wheel and on the commands setuptools does not know."""

from __future__ import annotations

from pathlib import Path

from ._declared import Note

MANIFEST_IN = "MANIFEST.in"
_COMMANDS = frozenset(
    {
        "include",
        "exclude",
        "recursive-include",
        "recursive-exclude",
        "global-include",
        "global-exclude",
        "graft",
        "prune",
    }
)


def manifest_notes(root: Path, *, include_package_data: bool) -> list[Note]:
    """Notes on PROJECT/MANIFEST.in: what it adds to the wheel, and lines setuptools rejects."""
    path = root / MANIFEST_IN
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [Note(MANIFEST_IN, 0, "cannot be read", "kept as it is")]
    notes = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if words and not words[0].startswith("#") and words[0] not in _COMMANDS:
            notes.append(
                Note(
                    MANIFEST_IN,
                    number,
                    f"unknown command {words[0]!r}",
                    "kept; setuptools will warn",
                )
            )
    if include_package_data:
        instead = (
            "kept: it decides the sdist, and the package data of the wheel "
            "(include-package-data = true)"
        )
    else:
        instead = (
            "kept: it decides the sdist only (include-package-data = false, as before: "
            "the wheel's data comes from package-data)"
        )
    notes.append(Note(MANIFEST_IN, 0, "MANIFEST.in", instead))
    return notes
