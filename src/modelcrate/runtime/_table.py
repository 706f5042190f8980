"""Plain text tables of results, for a terminal: what `modelcrate run` and a packaged model's own
command line print (arrays summarised by shape and range, never written out)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._result import summarize

# Characters that would break a line or drive the terminal: C0 and C1 controls (tab aside),
# Unicode line and paragraph separators, and lone surrogates (undecodable bytes of a file name).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """`text` as one printable line: line breaks, terminal controls and undecodable characters
    are shown as escapes (`\\n`, `\\x1b`, `\\udcff`)."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)


def columns(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> str:
    """A plain, left-aligned text table (no import of a rendering library on the hot path);
    each cell on one line (see `one_line`)."""
    lines = [tuple(one_line(str(cell)) for cell in line) for line in (header, *rows)]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def outputs_table(outputs: Mapping[str, Any], units: Mapping[str, str] | None = None) -> str:
    """The outputs as an `output  value  unit` table; arrays by shape, dtype and range."""
    units = units or {}
    rows = [(name, summarize(value), units.get(name, "")) for name, value in outputs.items()]
    return columns(("output", "value", "unit"), rows)
