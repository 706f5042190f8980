"""Plain text output shared by the verbs."""

from __future__ import annotations

from pathlib import Path


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
