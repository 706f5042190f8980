"""The steps of a run as plain functions; a generated flow wraps the same functions as Prefect tasks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._errors import TargetError
from ..model import Model
from ._result import Result
from ._targets import Target, default_target_uri, open_target

log = logging.getLogger("modelcrate.runtime")

DEFAULT_CHUNK_SIZE = 1000
"""Input sets per batch task when many input sets go through one flow run."""


def prepare_inputs(model: Model, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill in defaults and check the inputs against the model's spec."""
    return model.prepare(inputs)


def evaluate(model: Model, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate prepared inputs and check the outputs."""
    return model.check_outputs(model.evaluate(dict(inputs)))


def evaluate_batch(model: Model, input_sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Prepare, evaluate (with the model's `evaluate_batch`) and check many input sets."""
    return model.batch(input_sets)


def chunks(items: Sequence[Any], size: int = DEFAULT_CHUNK_SIZE) -> list[Sequence[Any]]:
    """Split `items` into consecutive chunks of at most `size`."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def make_result(
    model: Model,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    flow_run_id: str | None = None,
) -> Result:
    """The result document of one evaluation."""
    return Result(
        model=model.name,
        version=str(model.version),
        inputs=dict(inputs),
        outputs=dict(outputs),
        units=model.spec.units(),
        flow_run_id=None if flow_run_id is None else str(flow_run_id),
    )


def resolve_targets(targets: Iterable[str | Target] | None = None) -> list[Target]:
    """Open target URIs; with none given, the default target (`$MODELCRATE_TARGET` or ./results)."""
    given = list(targets or []) or [default_target_uri()]
    return [t if isinstance(t, Target) else open_target(t) for t in given]


def save_results(results: Sequence[Result], targets: Iterable[str | Target] | None = None) -> list[list[str]]:
    """Store each result in every target; return, per result, where it was stored.

    Every target is tried even when one fails; then a `TargetError` names each failure.
    """
    opened = resolve_targets(targets)
    locations: list[list[str]] = [[] for _ in results]
    failures: dict[str, str] = {}
    for target in opened:
        try:
            for i, result in enumerate(results):
                locations[i].append(target.save(result))
        except TargetError as exc:
            failures[target.uri] = str(exc)
    for i, result in enumerate(results):
        log.info("stored result %s of %s in %s", result.hash[:12], result.model, ", ".join(locations[i]))
    if failures:
        raise TargetError("; ".join(failures.values()))
    return locations


def save_result(result: Result, targets: Iterable[str | Target] | None = None) -> list[str]:
    """Store one result in every target; return where it was stored."""
    return save_results([result], targets)[0]


def run(
    model: Model,
    inputs: Mapping[str, Any] | None = None,
    targets: Iterable[str | Target] | None = None,
) -> tuple[Result, list[str]]:
    """The whole pipeline without Prefect: prepare, evaluate, store. Returns the result and its locations."""
    prepared = prepare_inputs(model, inputs)
    outputs = evaluate(model, prepared)
    result = make_result(model, prepared, outputs)
    return result, save_result(result, targets)
