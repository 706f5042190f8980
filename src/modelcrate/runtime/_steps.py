"""The steps of a run as plain functions; a generated flow wraps the same functions as Prefect tasks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .._errors import PartialWriteError, SaveError, TargetError
from ..model import Model
from ._fingerprint import CodeFingerprint, code_fingerprint
from ._progress import ProgressListener, report_progress, reporting_progress
from ._result import Result
from ._settings import load_settings
from ._targets import Target, default_target_uris, open_target

log = logging.getLogger("modelcrate.runtime")

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 1000
"""Input sets per evaluate task when many input sets go through one flow run."""


@dataclass(frozen=True)
class Stored:
    """A result and the locations it was stored at, one per target that stored it; `targets`
    names those targets (passwords masked), in the same order."""

    result: Result
    locations: list[str]
    targets: list[str] = field(default_factory=list)


def input_sets(inputs: Any = None) -> list[dict[str, Any]]:
    """Normalise what a caller passes as inputs into a list of input mappings.

    Accepts None (all defaults), a mapping, a pydantic model of the inputs, or a list of these.
    """
    if inputs is None:
        return [{}]
    if isinstance(inputs, (list, tuple)):
        return [one for item in inputs for one in input_sets(item)]
    if hasattr(inputs, "model_dump"):  # a pydantic model built by `inputs_model`
        return [inputs.model_dump(by_alias=True)]
    if isinstance(inputs, Mapping):
        return [dict(inputs)]
    raise TypeError(f"inputs must be a mapping or a list of mappings, not {type(inputs).__name__}")


def prepare_inputs(model: Model, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill in defaults and check one input set against the model's spec."""
    return model.prepare(inputs)


def prepare_batch(model: Model, input_sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fill in defaults and check many input sets; an error names the input set."""
    if len(input_sets) == 1:
        prepared = [model.prepare(input_sets[0])]
        report_progress("prepare", 1, 1)
        return prepared
    total = len(input_sets)
    prepared = []
    for i, inputs in enumerate(input_sets):
        prepared.append(model.prepare(inputs, index=i))
        if (i + 1) % DEFAULT_CHUNK_SIZE == 0 or i + 1 == total:
            report_progress("prepare", i + 1, total)
    return prepared


def evaluate(model: Model, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate one prepared input set and check the outputs."""
    return model.check_outputs(model.evaluate(dict(inputs)))


def evaluate_batch(
    model: Model, input_sets: Sequence[dict[str, Any]], *, start: int = 0
) -> list[dict[str, Any]]:
    """Evaluate prepared input sets with the model's `evaluate_batch` and check the outputs; an
    error names the input set by its place in the batch, counting from `start`."""
    if len(input_sets) == 1 and start == 0:
        return [evaluate(model, input_sets[0])]
    return model.evaluate_prepared(input_sets, start=start)


def chunks(items: Sequence[T], size: int = DEFAULT_CHUNK_SIZE) -> list[Sequence[T]]:
    """Split `items` into consecutive chunks of at most `size`."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def make_result(
    model: Model,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    flow_run_id: object = None,
    code: CodeFingerprint | None = None,
) -> Result:
    """The result document of one evaluation, with the fingerprint of the model's code (`code`,
    else worked out once per process: see `code_fingerprint`)."""
    code = code_fingerprint(model) if code is None else code
    return Result(
        model=model.name,
        version=str(model.version),
        inputs=dict(inputs),
        outputs=dict(outputs),
        units=model.spec.units(),
        fingerprint=code.fingerprint,
        dirty=code.dirty,
        flow_run_id=None if flow_run_id is None else str(flow_run_id),
    )


def make_results(
    model: Model,
    input_sets: Sequence[Mapping[str, Any]],
    outputs: Sequence[Mapping[str, Any]],
    *,
    flow_run_id: object = None,
) -> list[Result]:
    """The result documents of many evaluations (inputs and outputs pair up in order)."""
    code = code_fingerprint(model)
    return [
        make_result(model, i, o, flow_run_id=flow_run_id, code=code)
        for i, o in zip(input_sets, outputs, strict=True)
    ]


def resolve_targets(
    targets: Iterable[str | Target] | None = None, *, base: Path | None = None
) -> list[Target]:
    """Open target URIs, all checked before any result is stored; with none given, the
    default targets (`$MODELCRATE_TARGET`, else ./results). Relative paths are under `base`."""
    settings = load_settings()
    given = list(targets or []) or default_target_uris(base, settings)
    return [
        t if isinstance(t, Target) else open_target(t, base=base, settings=settings) for t in given
    ]


def save_results(
    results: Sequence[Result], targets: Iterable[str | Target] | None = None
) -> list[Stored]:
    """Store each result in every target; return each result with its locations.

    Every target is tried even when one fails (unreachable, refusing); then a `SaveError`
    names each failure and carries what the other targets did store.
    """
    opened = resolve_targets(targets)
    stored = [Stored(result, []) for result in results]
    failures: list[str] = []
    for target in opened:
        report_progress("store", 0, len(results), target=target.name)
        try:
            found: Sequence[str | None] = target.save_many(results)
        except PartialWriteError as exc:  # some results stored, others refused
            found = exc.locations
            failures.append(str(exc))
        except TargetError as exc:
            failures.append(str(exc))
            continue
        for item, where in zip(stored, found, strict=True):
            if where is not None:
                item.locations.append(where)
                item.targets.append(target.name)
        report_progress("store", len(results), len(results), target=target.name)
    for item in stored:
        if item.locations:
            log.info(
                "stored result %s of %s in %s",
                item.result.hash[:12],
                item.result.model,
                ", ".join(item.locations),
            )
    if failures:
        raise SaveError("; ".join(failures), stored=[s for s in stored if s.locations])
    return stored


def run(
    model: Model,
    inputs: Any = None,
    targets: Iterable[str | Target] | None = None,
    *,
    on_progress: ProgressListener | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[Stored]:
    """The whole pipeline without Prefect: prepare, evaluate (in chunks of `chunk_size`), store.

    `inputs` is one input mapping, a list of them, or None for the defaults; `on_progress` is
    told how far each step is (see `Progress`).
    """
    with reporting_progress(on_progress) if on_progress else nullcontext():
        prepared = prepare_batch(model, input_sets(inputs))
        results: list[Result] = []
        for chunk in chunks(prepared, chunk_size):
            outputs = evaluate_batch(model, chunk, start=len(results))
            results += make_results(model, chunk, outputs)
            report_progress("evaluate", len(results), len(prepared))
        return save_results(results, targets)
