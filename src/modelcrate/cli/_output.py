"""Plain text output shared by the verbs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from .._errors import ExitCode
from ..runtime._table import columns as columns  # shared with the packaged model's CLI
from ..runtime._table import one_line as one_line


def shown_path(path: Path) -> str:
    """A path as people want to read it: relative to the current folder when it is inside it
    (the folder itself by its name), else absolute."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return path.name if relative == Path() else str(relative)


def stderr(message: str) -> None:
    """Print a line to standard error (warnings, errors, progress notes). When its reader has
    left (`2>&1 | head -1`) the line is dropped: the command goes on and keeps its exit code."""
    try:
        click.echo(message, err=True)
    except BrokenPipeError:
        _drop_stderr()


def _drop_stderr() -> None:
    """Send what is left for standard error to the null device, so that no later line (nor the
    interpreter's last flush) fails again on the closed pipe."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stderr.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # not a real file (captured by a caller)
        pass


def is_verbose() -> bool:
    """Whether `-v/--verbose` was given (as click parsed it for the running command)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("verbose"))


def exit_failed() -> NoReturn:
    """End a verb whose printed report shows a failure (a failed check, conflicts, a wheel that
    lacks an essential) with the run-time failure code."""
    raise click.exceptions.Exit(ExitCode.FAILURE)
