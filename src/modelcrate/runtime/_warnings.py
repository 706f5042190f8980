"""Warnings as a command line shows them: one `warning: ...` line each, once per message."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .._errors import ModelcrateWarning
from ._table import one_line


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


class WarningLines:
    """A `warnings.showwarning` that writes each warning as one `warning: ...` line, once per
    distinct message: a command may read the same file more than once."""

    def __init__(self, write: Callable[[str], None] = _to_stderr) -> None:
        self.write = write
        self.shown: set[str] = set()

    def __call__(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        text = f"warning: {one_line(str(message))}"
        if text not in self.shown:
            self.shown.add(text)
            self.write(text)


def show_warning_lines(
    write: Callable[[str], None] = _to_stderr, *, always: type[Warning] = ModelcrateWarning
) -> WarningLines:
    """Show every warning from now on as one `warning: ...` line, each message once: for a
    command's entry point (a packaged model's command, its flow run as a script). Warnings of
    the class `always` are shown wherever they come from; others follow Python's filters."""
    shown = WarningLines(write)
    warnings.showwarning = shown
    warnings.simplefilter("always", always)
    return shown


@contextmanager
def warning_lines(write: Callable[[str], None] = _to_stderr) -> Iterator[WarningLines]:
    """Within the block, show every warning (of any class, from anywhere) as one
    `warning: ...` line, each message once, as the `modelcrate` command does."""
    with warnings.catch_warnings():
        yield show_warning_lines(write, always=Warning)
