"""Running a packaged model's Prefect flow from outside it: where Prefect keeps its state, how
targets are passed as flow parameters, and finding and calling the flow."""

from __future__ import annotations

import inspect
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from .._errors import InputError, ProjectError
from ._chunks import task_size
from ._discovery import FLOWS_GROUP, find
from ._prefect_env import prefect_start_errors
from ._steps import DEFAULT_CHUNK_SIZE
from ._targets import TARGET_ENV, Target, uri_secrets


def prefect_home(project: Path | None) -> Path:
    """Where a local flow run keeps Prefect's state: the project's `.prefect`, or for an
    installed model a folder in the user cache directory."""
    if project is not None:
        return project / ".prefect"
    import platformdirs

    return Path(platformdirs.user_cache_dir("modelcrate")) / "prefect"


def flow_target(given: str, target: Target, *, remote: bool = False) -> str:
    """How a flow run is given a target: by a name resolved inside the run when the URI holds
    a secret (Prefect stores flow parameters), else by its URI. That name is set in this
    process's environment, which the workers of a cluster that already runs (`remote`) do not
    see: there a target with a secret must come as @name, else `InputError` says so."""
    given = given.strip()
    if given.startswith("@"):
        return given
    if not uri_secrets(target.uri):
        return target.uri
    if remote:
        raise InputError(
            f"{target.name}: a target with a password cannot be handed to a Dask cluster that "
            f"runs already (its workers do not see this environment); give it as @NAME and set "
            f"{TARGET_ENV}S__NAME=URI where the workers run"
        )
    name = f"run_{secrets.token_hex(8)}"
    os.environ[f"{TARGET_ENV}S__{name.upper()}"] = target.uri  # read when the flow resolves it
    return f"@{name}"


SWEEP_FLOW = "sweep_flow"
"""The name of a package's sweep flow in the module of its flow (`modelcrate.flows`)."""


def run_flow(
    model_ref: str,
    input_sets: list[dict[str, Any]],
    targets: list[str],
    *,
    task_runner: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Any:
    """Call the Prefect flow of `model_ref` (a project directory or an installed model) on the
    input sets, one set as one input or several as a batch, its chunks run by `task_runner`
    (the flow's own, one at a time, when None); returns what the flow returns.
    A temporary Prefect server that did not start in time raises `PrefectStartError`."""
    flow = find(model_ref, FLOWS_GROUP).obj
    if task_runner is not None:
        flow = flow.with_options(task_runner=task_runner)
    inputs = input_sets if len(input_sets) > 1 else input_sets[0]
    with prefect_start_errors():
        return flow(inputs=inputs, targets=targets, chunk_size=chunk_size)


def run_sweep_flow(
    model_ref: str,
    sweep: Any,
    targets: list[str],
    *,
    task_runner: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int | None = None,
) -> Any:
    """Call the sweep flow of `model_ref` on a `Sweep`, its tasks run by `task_runner` on
    `workers` workers (one when None), each task a few chunks (see `task_size`); returns its
    `SweepReport`. A package made before sweeps existed has no sweep flow: `ProjectError` says
    to update it."""
    found = find(model_ref, FLOWS_GROUP)
    module = sys.modules[found.entry_point.partition(":")[0].strip()]
    flow = getattr(module, SWEEP_FLOW, None)
    if flow is None or not hasattr(flow, "with_options"):
        raise ProjectError(
            f"{model_ref}: its flow module {module.__name__} has no `{SWEEP_FLOW}` (it was "
            "made before modelcrate had sweeps); bring the project up to date with "
            "`modelcrate update`, or run its input sets with `modelcrate run --inputs`"
        )
    if task_runner is not None:
        flow = flow.with_options(task_runner=task_runner)
    parameters: dict[str, Any] = {"sweep": sweep, "targets": targets, "chunk_size": chunk_size}
    if "task_size" in inspect.signature(flow.fn).parameters:  # not in the first sweep flows
        parameters["task_size"] = task_size(sweep.size, chunk_size, workers)
    with prefect_start_errors():
        return flow(**parameters)
