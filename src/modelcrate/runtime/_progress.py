"""How far the long steps of a run are, told to whoever listens (the command line draws it on a
terminal); with no listener, reporting costs one check and shows nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeAlias

ProgressStep: TypeAlias = Literal["prepare", "evaluate", "store"]
"""prepare: fill defaults and check inputs; evaluate: evaluate and make the result documents;
store: save the results in one target."""


@dataclass(frozen=True)
class Progress:
    """`done` of `total` input sets have been through `step`; a store step names its `target`
    (password masked)."""

    step: ProgressStep
    done: int
    total: int
    target: str | None = None


ProgressListener: TypeAlias = Callable[[Progress], None]
"""Called with each `Progress` report; it must return quickly and not raise."""

_listeners: list[ProgressListener] = []


@contextmanager
def reporting_progress(listener: ProgressListener) -> Iterator[None]:
    """Send `listener` the progress of every run in this process while the block runs, the
    tasks of a Prefect flow called in it included."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def report_progress(
    step: ProgressStep, done: int, total: int, *, target: str | None = None
) -> None:
    """Tell the listeners that `done` of `total` input sets have been through `step`."""
    if _listeners:
        progress = Progress(step, done, total, target)
        for listener in tuple(_listeners):
            listener(progress)
