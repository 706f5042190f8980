"""Evaluating and storing input sets a chunk at a time: the unit of work of a flow's tasks, on
one process or spread over a Dask cluster.

A chunk is stored as soon as it is evaluated, so a run that dies keeps every chunk it finished;
with `skip_stored`, input sets whose result every target already holds (found by the result's
inputs key: the hash of model, version, code and inputs) are not evaluated again, so rerunning a
sweep completes what is missing. A failing input set can be recorded and the rest go on.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import ModelcrateError, SaveError, ValueWarning, VariableValueError
from ..model import Model
from ._fingerprint import code_fingerprint
from ._result import JSONValue, encode_value, inputs_key
from ._steps import Stored, make_results, resolve_targets, save_results
from ._table import one_line
from ._targets import Target

MAX_FAILURES_KEPT = 1000
"""How many failed input sets a report keeps in full (inputs and error); all are counted."""

MAX_WARNINGS_KEPT = 20
"""How many warnings (a value outside its range) a report keeps; all are counted."""

MAX_CHUNKS_PER_TASK = 10
"""The most chunks one task of a sweep flow runs (see `task_size`)."""

TASKS_PER_WORKER = 4
"""Tasks of a sweep flow per worker, at least, when the sweep is large enough (see `task_size`)."""

_ERROR_WIDTH = 300
"""The longest error text kept for one failed input set."""

_SET_FAILURES = (Exception, SystemExit)
"""What a model's `evaluate` may raise that fails one input set of a sweep: a `sys.exit()` in
a model's code too, which would otherwise end the whole sweep without a word (Ctrl-C, a
KeyboardInterrupt, still stops it)."""


@dataclass(frozen=True)
class Failure:
    """An input set that could not be evaluated or stored: its place in the run (counting from
    0), its inputs (as JSON values, arrays encoded) and the reason, on one line."""

    index: int
    inputs: dict[str, JSONValue]
    error: str


@dataclass
class ChunkReport:
    """What became of the input sets [start, start + size) of a run: how many were stored (in
    every target), skipped as already stored, or failed; `stored` holds the stored results when
    they were asked for (`keep=True`)."""

    start: int
    size: int
    done: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    stored: list[Stored] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """The first `MAX_WARNINGS_KEPT` warnings of its sets (values outside their ranges)."""
    warned: int = 0
    """How many warnings there were in all."""

    def merge(self, chunk: ChunkReport) -> None:
        """Count in the report of the chunk that follows this one (a part of a sweep run as one
        task, chunk after chunk)."""
        self.size += chunk.size
        self.done += chunk.done
        self.skipped += chunk.skipped
        self.failures.extend(chunk.failures)
        self.stored.extend(chunk.stored)
        self.warned += chunk.warned
        room = MAX_WARNINGS_KEPT - len(self.warnings)
        self.warnings.extend(chunk.warnings[: max(0, room)])

    def warn(self) -> None:
        """Warn again, in this process, of what the chunk's sets warned of where they ran (a
        Dask worker, say); the rest are counted in one more warning."""
        for message in self.warnings:
            warnings.warn(message, ValueWarning, stacklevel=2)
        if self.warned > len(self.warnings):
            more = self.warned - len(self.warnings)
            warnings.warn(f"and {more:,} more warnings like these", ValueWarning, stacklevel=2)


@dataclass
class SweepReport:
    """The summary of a sweep: sets stored, skipped as already stored, and failed (the first
    `MAX_FAILURES_KEPT` failures in full, in order of their place in the sweep)."""

    size: int
    stored: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """The first `MAX_WARNINGS_KEPT` warnings (values outside their ranges), in sweep order."""
    warned: int = 0
    seconds: float = 0.0

    @property
    def finished(self) -> int:
        """Input sets accounted for so far."""
        return self.stored + self.skipped + self.failed

    def add(self, chunk: ChunkReport) -> None:
        """Count a finished chunk."""
        self.stored += chunk.done
        self.skipped += chunk.skipped
        self.failed += len(chunk.failures)
        self._keep(chunk.failures)
        self.warned += chunk.warned
        if chunk.warnings and len(self.warnings) < MAX_WARNINGS_KEPT:
            self.warnings.extend(chunk.warnings[: MAX_WARNINGS_KEPT - len(self.warnings)])

    def lost(self, start: int, stop: int, error: BaseException | str) -> None:
        """Count the sets [start, stop) of a chunk whose task failed as a whole (its worker died
        too often, say) as failed; what the chunk stored before stays stored, and a rerun that
        skips stored sets completes it."""
        reason = _short(error if isinstance(error, str) else describe_error(error))
        self.failed += stop - start
        self._keep([Failure(start, {}, f"input sets {start}-{stop - 1} were lost: {reason}")])

    def _keep(self, failures: Sequence[Failure]) -> None:
        if failures and len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.extend(failures[: MAX_FAILURES_KEPT - len(self.failures)])
            self.failures.sort(key=lambda f: f.index)


def describe_error(exc: BaseException) -> str:
    """One line saying why an input set failed: a modelcrate error as it reads, anything the
    model's code raised with its type, which tells a model's author most."""
    text = str(exc) if isinstance(exc, ModelcrateError) else f"{type(exc).__name__}: {exc}"
    return _short(text)


def run_chunk(
    model: Model,
    input_sets: Sequence[Mapping[str, Any]],
    targets: Iterable[str | Target] | None = None,
    *,
    start: int = 0,
    skip_stored: bool = False,
    isolate: bool = False,
    keep: bool = False,
    flow_run_id: object = None,
) -> ChunkReport:
    """Prepare, evaluate and store one chunk of input sets (the sets [start, start + len) of a
    run), in one `evaluate_batch` call.

    With `skip_stored`, sets whose result every target already holds are skipped. With
    `isolate`, a set whose inputs are refused or whose evaluation raises becomes a `Failure`
    and the others are stored (a failing batch is evaluated again set by set to find which);
    without it, the first error is raised, as a single run wants. A target that cannot store
    raises `SaveError` without `isolate`, else the sets it did not store are failures.
    `keep` returns the stored results in the report (a sweep leaves them in the targets).
    Warnings of values outside their ranges are gathered in the report (see `warn`), not
    shown where the chunk runs.
    """
    report = ChunkReport(start=start, size=len(input_sets))
    opened = resolve_targets(targets)
    caught: list[warnings.WarningMessage] = []
    raised = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValueWarning)
            _run_chunk(model, input_sets, opened, report, skip_stored, isolate, keep, flow_run_id)
        raised = False
    finally:
        _gather_warnings(caught, report)
        if raised:  # the report is lost with the error: warn of what it gathered here
            report.warn()
    report.failures.sort(key=lambda f: f.index)
    return report


def _gather_warnings(caught: Sequence[warnings.WarningMessage], report: ChunkReport) -> None:
    """Count the values-outside-their-ranges warnings in the report; warn again of others."""
    for warning in caught:
        if issubclass(warning.category, ValueWarning):
            report.warned += 1
            if len(report.warnings) < MAX_WARNINGS_KEPT:
                report.warnings.append(_short(str(warning.message)))
        else:  # not ours to gather: as it came
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def _run_chunk(
    model: Model,
    input_sets: Sequence[Mapping[str, Any]],
    opened: list[Target],
    report: ChunkReport,
    skip_stored: bool,
    isolate: bool,
    keep: bool,
    flow_run_id: object,
) -> None:
    start = report.start
    sets: list[tuple[int, dict[str, Any]]] = []
    for index, inputs in enumerate(input_sets, start):
        try:
            sets.append((index, model.prepare(inputs, index=index)))
        except VariableValueError as exc:
            if not isolate:
                raise
            report.failures.append(Failure(index, _encoded(inputs), describe_error(exc)))
    if skip_stored and sets:
        sets = _not_stored(model, sets, opened, report)
    evaluated = _evaluate(model, sets, isolate, report)
    if not evaluated:
        return
    results = make_results(
        model, [inputs for _, inputs, _ in evaluated], [out for _, _, out in evaluated],
        flow_run_id=flow_run_id,
    )  # fmt: skip
    try:
        stored = save_results(results, opened)
    except SaveError as exc:
        if not isolate:
            raise
        whole = {s.result.hash for s in exc.stored if len(s.targets) == len(opened)}
        reason = _short(str(exc))
        for (index, inputs, _), result in zip(evaluated, results, strict=True):
            if result.hash not in whole:
                error = f"not stored: {reason}"
                report.failures.append(Failure(index, _encoded(inputs), error))
        report.done = len(whole)
        report.stored = [s for s in exc.stored if s.result.hash in whole] if keep else []
        return
    report.done = len(stored)
    report.stored = stored if keep else []


def _not_stored(
    model: Model,
    sets: list[tuple[int, dict[str, Any]]],
    targets: Sequence[Target],
    report: ChunkReport,
) -> list[tuple[int, dict[str, Any]]]:
    """The sets whose result some target lacks; the others are counted as skipped."""
    fingerprint = code_fingerprint(model).fingerprint
    name, version = model.name, str(model.version)
    keys = [inputs_key(name, version, inputs, fingerprint) for _, inputs in sets]
    held: set[str] | None = None
    for target in targets:
        found = target.stored_keys(keys)
        held = found if held is None else held & found
        if not held:
            return sets
    missing = [item for item, key in zip(sets, keys, strict=True) if key not in (held or set())]
    report.skipped = len(sets) - len(missing)
    return missing


def _evaluate(
    model: Model,
    sets: list[tuple[int, dict[str, Any]]],
    isolate: bool,
    report: ChunkReport,
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(index, inputs, outputs) of each set that evaluated; failures go to the report."""
    if not sets:
        return []
    try:
        outputs = model.evaluate_prepared([inputs for _, inputs in sets], start=sets[0][0])
        return [(i, inputs, out) for (i, inputs), out in zip(sets, outputs, strict=True)]
    except _SET_FAILURES as exc:
        if not isolate:
            raise
        if len(sets) == 1:  # evaluated alone already: no need to try it again
            report.failures.append(Failure(sets[0][0], _encoded(sets[0][1]), describe_error(exc)))
            return []
    evaluated = []
    for index, inputs in sets:  # find the sets that fail: one at a time
        try:
            (out,) = model.evaluate_prepared([inputs], start=index)
        except _SET_FAILURES as exc:
            report.failures.append(Failure(index, _encoded(inputs), describe_error(exc)))
            continue
        evaluated.append((index, inputs, out))
    return evaluated


def _short(text: str) -> str:
    """`text` on one line, cut to `_ERROR_WIDTH` characters."""
    text = one_line(text)
    return text if len(text) <= _ERROR_WIDTH else text[: _ERROR_WIDTH - 1] + "…"


def _encoded(inputs: Mapping[str, Any]) -> dict[str, JSONValue]:
    """Inputs as JSON values for a failure record; a value that cannot be encoded as its text."""
    encoded: dict[str, JSONValue] = {}
    for name, value in dict(inputs).items():
        try:
            encoded[str(name)] = encode_value(value)
        except (TypeError, ValueError):
            encoded[str(name)] = _short(repr(value))
    return encoded


def chunk_bounds(size: int, chunk_size: int) -> list[tuple[int, int]]:
    """The [start, stop) bounds of the chunks of a run of `size` input sets."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    return [(a, min(a + chunk_size, size)) for a in range(0, size, chunk_size)]


def task_size(size: int, chunk_size: int, workers: int | None = None) -> int:
    """Input sets per task of a sweep flow of `size` sets on `workers` workers: whole chunks,
    enough tasks that each worker gets `TASKS_PER_WORKER` of them (so they finish together),
    and at most `MAX_CHUNKS_PER_TASK` chunks per task (so progress shows and a lost task costs
    little). Each task costs the flow's orchestration tenths of a second wherever it runs
    (Prefect's task run on a Dask worker), about as much as a chunk of a cheap model: a task of
    one chunk would spend a good part of the sweep on that. A cluster with no workers yet (an
    adaptive one, which grows as work arrives: `workers` 0) gets a task per chunk, so that
    workers that join later find work."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    if workers == 0:
        return chunk_size
    chunks = math.ceil(size / chunk_size)
    per_task = chunks // (TASKS_PER_WORKER * max(1, workers or 1))
    return max(1, min(MAX_CHUNKS_PER_TASK, per_task)) * chunk_size


def run_sweep_part(
    model: Model,
    sweep: Any,
    start: int,
    stop: int,
    targets: Iterable[str | Target] | None = None,
    *,
    chunk_size: int = 1000,
    skip_stored: bool = True,
    flow_run_id: object = None,
) -> ChunkReport:
    """Run the input sets [start, stop) of a sweep (a `Sweep`) a chunk at a time, as one task
    of a sweep flow does: each chunk is stored as it finishes, failed sets are recorded, and
    (with `skip_stored`) sets already stored in every target are skipped."""
    opened = resolve_targets(targets)
    report = ChunkReport(start=start, size=0)
    for a, b in chunk_bounds(stop - start, chunk_size):
        chunk = run_chunk(
            model, sweep.input_sets(start + a, start + b), opened, start=start + a,
            skip_stored=skip_stored, isolate=True, flow_run_id=flow_run_id,
        )  # fmt: skip
        report.merge(chunk)
    return report


def run_sweep(
    model: Model,
    sweep: Any,
    targets: Iterable[str | Target] | None = None,
    *,
    chunk_size: int = 1000,
    skip_stored: bool = True,
) -> SweepReport:
    """Run a sweep (a `Sweep`) in this process, chunk after chunk: each chunk is stored as it
    finishes, failed sets are recorded and the sweep goes on, and (with `skip_stored`) sets
    already stored in every target are skipped. Progress goes to the progress listeners."""
    from ._progress import report_progress

    began = time.perf_counter()
    opened = resolve_targets(targets)
    report = SweepReport(size=sweep.size)
    report_progress("evaluate", 0, sweep.size)
    for a, b in chunk_bounds(sweep.size, chunk_size):
        chunk = run_chunk(
            model, sweep.input_sets(a, b), opened, start=a, skip_stored=skip_stored, isolate=True
        )
        report.add(chunk)
        report_progress("evaluate", report.finished, sweep.size)
    report.seconds = time.perf_counter() - began
    return report
