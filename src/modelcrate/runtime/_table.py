"""Plain text tables of results, for a terminal: what `modelcrate run` and a packaged model's own
command line print (arrays summarised by shape and range, never written out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._result import summarize


def columns(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> str:
    """A plain, left-aligned text table (no import of a rendering library on the hot path)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def outputs_table(outputs: Mapping[str, Any], units: Mapping[str, str] | None = None) -> str:
    """The outputs as an `output  value  unit` table; arrays by shape, dtype and range."""
    units = units or {}
    rows = [(name, summarize(value), units.get(name, "")) for name, value in outputs.items()]
    return columns(("output", "value", "unit"), rows)
