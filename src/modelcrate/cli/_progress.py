"""Progress on a terminal: bars for the steps of a run, a spinner for a tool at work.

Drawn with rich on standard error, and only when standard error is an interactive terminal
(as rich judges it: `TTY_INTERACTIVE=0` or `TERM=dumb` turn it off, `TTY_INTERACTIVE=1` with
`TTY_COMPATIBLE=1` force it on); otherwise nothing is drawn and rich is not even imported, so
piped output stays as it was. The bars and spinners vanish when their work is done.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._output import one_line

if TYPE_CHECKING:
    from rich.console import Console

    from ..runtime import Progress

_STEPS = {"prepare": "checking inputs", "evaluate": "evaluating", "store": "storing in {target}"}
"""What each step of a run is called on its bar."""


def terminal() -> Console | None:
    """A rich console on standard error when that is an interactive terminal, else None."""
    if not (sys.stderr.isatty() or os.environ.get("TTY_INTERACTIVE") == "1"):
        return None  # plainly not a terminal: spare the import of rich
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal and console.is_interactive else None


@contextmanager
def run_progress(*, starting: str | None = None, shown: bool = True) -> Iterator[None]:
    """While the block runs, a bar per step of the run (input sets done, rate, time left) on a
    terminal; before the first step reports, a spinner saying `starting` if given."""
    console = terminal() if shown else None
    if console is None:
        yield
        return
    from rich.progress import BarColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bars
    from rich.table import Column

    from ..runtime import reporting_progress

    bars = Bars(
        SpinnerColumn(),
        TextColumn(
            "{task.description}",
            markup=False,
            table_column=Column(max_width=32, no_wrap=True, overflow="ellipsis"),
        ),
        BarColumn(bar_width=24),
        _counts_column(),
        console=console,
        transient=True,
    )
    tasks: dict[tuple[str, str | None], Any] = {}
    waiting = [bars.add_task(one_line(starting), total=None)] if starting else []

    def show(progress: Progress) -> None:
        while waiting:
            bars.remove_task(waiting.pop())
        key = (progress.step, progress.target)
        if key not in tasks:
            label = _STEPS[progress.step].format(target=progress.target)
            tasks[key] = bars.add_task(one_line(label), total=progress.total)
        bars.update(tasks[key], completed=progress.done, total=progress.total)

    with bars, reporting_progress(show):
        yield


@contextmanager
def spinner(text: str, logger: str = "modelcrate.packaging") -> Iterator[None]:
    """While the block runs, a spinner on a terminal saying `text`, then the step each INFO
    record of `logger` names (its message up to the first ': ', after which come details)."""
    console = terminal()
    if console is None:
        yield
        return
    from rich.text import Text

    log = logging.getLogger(logger)
    with console.status(Text(one_line(text))) as status:

        class _Steps(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                step = (record.getMessage().split(": ", 1)[0].splitlines() or [""])[0]
                if step:
                    status.update(Text(one_line(step)))

        handler = _Steps(logging.INFO)
        level = log.level
        log.addHandler(handler)
        if not log.isEnabledFor(logging.INFO):
            log.setLevel(logging.INFO)
        try:
            yield
        finally:
            log.removeHandler(handler)
            log.setLevel(level)


def _counts_column() -> Any:
    """A column of `done/total sets rate/s time-left`, empty while the total is unknown."""
    from rich.progress import ProgressColumn, TimeRemainingColumn
    from rich.table import Column
    from rich.text import Text

    left = TimeRemainingColumn()

    class Counts(ProgressColumn):
        def render(self, task: Any) -> Text:
            if task.total is None:
                return Text("")
            speed = task.finished_speed or task.speed
            rate = f" {speed:,.0f}/s" if speed else ""
            counts = f"{int(task.completed):,}/{int(task.total):,} sets{rate} "
            return Text(counts, style="progress.download") + left.render(task)

    return Counts(table_column=Column(no_wrap=True))
