"""Plain text output shared by the verbs."""

from __future__ import annotations

import re
from pathlib import Path

# Characters that would break a line or drive the terminal: C0 and C1 controls (tab aside),
# Unicode line and paragraph separators, and lone surrogates (undecodable bytes of a file name).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def columns(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain, left-aligned text table (no import of a rendering library on the hot path)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def shown_path(path: Path) -> str:
    """A path as people want to read it: relative to the current folder when it is inside it
    (the folder itself by its name), else absolute."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return path.name if relative == Path() else str(relative)


def one_line(text: str) -> str:
    """`text` as one printable line: line breaks, terminal controls and undecodable characters
    are shown as escapes (`\\n`, `\\x1b`, `\\udcff`)."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)
