"""`modelcrate run PROJECT|MODEL`: evaluate a model, store the results, print where they went."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._errors import InputError, MissingInputError, SaveError
from ._output import is_verbose, stderr
from ._progress import run_progress

if TYPE_CHECKING:
    from ..runtime import Cluster

LOCAL_CLUSTER = "local"
"""What `--dask` without an address stands for: a local cluster."""

target_option = click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="URI",
    help="Where to store results: a directory, file:///path, sqlite:///results.db, "
    "postgresql://user@host/db, mongodb://host/db or @name (MODELCRATE_TARGETS__NAME); "
    "repeat for several [default: $MODELCRATE_TARGET, else PROJECT/results or ./results].",
)


@dataclass(frozen=True)
class RunTargets:
    """The targets of a run: as given, opened (checked), and as shown to the user (by the name
    their results carry, password masked)."""

    given: list[str]
    opened: list[Any]

    @classmethod
    def of(cls, targets: Sequence[str], project: Path | None) -> RunTargets:
        """Open the targets given, or the default ones: relative paths given here are relative
        to the cwd; the default is PROJECT/results."""
        from .. import runtime

        given = list(targets) or runtime.default_target_uris(project)
        return cls(given, runtime.resolve_targets(given))

    @property
    def shown(self) -> dict[str, str]:
        from ..runtime import mask_uri

        return {
            t.name: mask_uri(str(uri).strip())
            for uri, t in zip(self.given, self.opened, strict=True)
        }

    def for_flow(self, dask: str | None = None) -> list[str]:
        """The targets as flow parameters: one with a password by a name (see `flow_target`),
        which a cluster that runs already (`dask` an address) is refused."""
        from ..runtime import flow_target

        remote = dask not in (None, LOCAL_CLUSTER)
        return [
            flow_target(str(uri), t, remote=remote)
            for uri, t in zip(self.given, self.opened, strict=True)
        ]


def prefect_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose how a run runs: in this process, through the package's Prefect
    flow, or with the flow's chunks spread over a Dask cluster."""
    options = [
        click.option(
            "--prefect",
            is_flag=True,
            help="Run through the package's Prefect flow instead of calling the steps directly.",
        ),
        click.option(
            "--dask",
            is_flag=False,
            flag_value=LOCAL_CLUSTER,
            default=None,
            metavar="[ADDRESS]",
            help="Run the flow's chunks on Dask (implies --prefect): alone, a local cluster of "
            "one worker process per core; with a scheduler address (tcp://host:8786) or "
            "scheduler file, a cluster that runs already and has the model installed.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 1024),
            metavar="N",
            help="Worker processes of the local Dask cluster [default: one per core].",
        ),
        click.option(
            "--chunk-size",
            type=click.IntRange(1, 10_000_000),
            default=1000,
            show_default=True,
            metavar="N",
            help="Input sets per evaluate_batch call; in a flow, per task, stored as it ends.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.argument("model_ref", metavar="PROJECT|MODEL", required=False)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input value; repeat for several.",
)
@click.option(
    "-i",
    "--inputs",
    "inputs_file",
    metavar="FILE",
    help="A JSON file of inputs (an object, or a list of objects for a batch); - reads stdin.",
)
@target_option
@prefect_options
@click.option(
    "--deployment",
    is_flag=True,
    help="Run MODEL[@VERSION]'s deployment (the live version, or the one named) on its work "
    "pool, as `modelcrate deploy` registered it, wait for the run and print what it stored.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="With --deployment: print the flow run's id and link, and do not wait for it.",
)
@click.option(
    "--pool",
    metavar="NAME",
    help="With --deployment: run the version's deployment on this work pool [default: its "
    "latest deployment].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="With --deployment: wait at most this long for the run to end (it goes on after) "
    "[default: until it ends].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored result documents as JSON.")
def run(
    model_ref: str | None,
    settings: tuple[str, ...],
    inputs_file: str | None,
    targets: tuple[str, ...],
    prefect: bool,
    dask: str | None,
    workers: int | None,
    chunk_size: int,
    deployment: bool,
    no_wait: bool,
    pool: str | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Evaluate a model and store the result.

    PROJECT is a project directory made by `modelcrate new`; MODEL is the name of an installed
    model package. Inputs not given take their defaults. Many input sets (--inputs) are
    evaluated and stored in chunks; with --dask the chunks run on a Dask cluster. With
    --deployment, MODEL[@VERSION] runs on its deployment's work pool instead (see
    `modelcrate deploy`): the model need not be installed here.
    """
    from .. import runtime

    if no_wait and not deployment:
        raise click.UsageError("--no-wait is for a run of a deployment: add --deployment")
    if pool is not None and not deployment:
        raise click.UsageError("--pool is for a run of a deployment: add --deployment")
    if timeout is not None and (no_wait or not deployment):
        raise click.UsageError(
            "--timeout is for waiting on a run of a deployment: add --deployment, leave out --no-wait"
        )
    if deployment:
        if prefect or dask or workers:
            raise click.UsageError(
                "--deployment runs on the deployment's work pool; leave out --prefect, --dask and --workers"
            )
        if model_ref is None:
            raise click.UsageError(
                "Missing argument 'MODEL' (with --deployment: MODEL or MODEL@VERSION)"
            )
        _run_deployment(
            model_ref, settings, inputs_file, targets, chunk_size, no_wait, pool, timeout, as_json
        )
        return
    model_ref = check_dask_options(model_ref, dask, workers)
    model, project = runtime.find_model(model_ref)
    input_sets = _read_inputs(model, inputs_file, settings)
    run_targets = RunTargets.of(targets, project)  # a bad URI fails before the model runs
    shown = run_targets.shown
    try:
        if prefect or dask:
            runtime.prepare_batch(model, input_sets)  # bad inputs fail before Prefect starts
            flow_targets = run_targets.for_flow(dask)
            with flow_runner(model_ref, project, dask, workers, as_json) as cluster:
                runner = cluster.task_runner if cluster else None
                stored = _run_with_prefect(
                    model_ref, input_sets, flow_targets, as_json, runner, chunk_size
                )
        else:
            with run_progress(shown=not as_json):
                stored = runtime.run(model, input_sets, run_targets.opened, chunk_size=chunk_size)
    except MissingInputError as exc:
        raise exc.given_by("set") from None
    except SaveError as exc:
        if exc.stored:
            _print_stored(exc.stored, as_json, shown)
        raise
    _print_stored(stored, as_json, shown)


def _run_deployment(
    reference: str,
    settings: tuple[str, ...],
    inputs_file: str | None,
    targets: tuple[str, ...],
    chunk_size: int,
    no_wait: bool,
    pool: str | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Run the deployment of a registered version on its work pool; print what it stored (read
    back from the targets by the flow run's id), or, with `no_wait`, the run's id and link. A
    pool no worker has polled lately is warned of: the run waits for one."""
    from .._errors import DeployError
    from ..deploy import deployed_version, idle_pool_warning, prefect_api_url, run_deployment
    from ..runtime import Stored, mask_uri, uri_secrets

    found = deployed_version(reference, pool=pool)
    input_sets = _read_inputs(found.stand_in, inputs_file, settings)
    try:
        prepared = found.check_inputs(input_sets)  # as the deployed model will, before the run
    except MissingInputError as exc:
        raise exc.given_by("set") from None
    run_targets = RunTargets.of(targets, None)  # a bad URI fails before the run starts
    for given, target in zip(run_targets.given, run_targets.opened, strict=True):
        if not given.strip().startswith("@") and uri_secrets(target.uri):
            raise InputError(
                f"{target.name}: a target with a password cannot be a flow parameter; give it "
                "as @NAME and set MODELCRATE_TARGETS__NAME=URI here and where the worker runs"
            )
    parameters = {
        "inputs": input_sets[0] if len(input_sets) == 1 else input_sets,
        "targets": run_targets.for_flow(),
        "chunk_size": chunk_size,
    }
    api = prefect_api_url()
    idle = idle_pool_warning(found.pool)
    if idle:
        stderr(f"warning: {idle}")
    if not as_json:
        stderr(f"Running {found.model} {found.version} ({found.deployment}) on {found.pool!r}...")
    outcome = run_deployment(
        found.deployment,
        parameters,
        wait=not no_wait,
        timeout=timeout,
        on_state=None if as_json else (lambda state, message: stderr(f"  {state}")),
    )
    link = f"{mask_uri(api).removesuffix('/api')}/runs/flow-run/{outcome.id}"
    if no_wait:
        click.echo(
            json.dumps({"flow_run_id": outcome.id, "url": link})
            if as_json
            else f"{outcome.id} {link}"
        )
        return
    if outcome.state != "COMPLETED":
        reason = f": {outcome.message}" if outcome.message else ""
        raise DeployError(
            f"the run {outcome.name} of {found.deployment} ended {outcome.state.lower()}{reason} ({link})"
        )
    shown = run_targets.shown
    stored = [
        Stored(result, [shown[target.name]], [target.name])
        for target in run_targets.opened
        for result in _results_of_run(target, found.model, found.version, outcome.id, prepared)
    ]
    if stored and len(stored) < len(prepared) * len(run_targets.opened):
        stderr(
            f"warning: the results of {len(prepared) * len(run_targets.opened) - len(stored)} "
            "input sets were not found in the targets; see the run's logs"
        )
    if not stored:
        raise DeployError(
            f"the run {outcome.name} completed but its results are not in {', '.join(shown.values())}"
        )
    _print_stored(stored, as_json, shown)


def _results_of_run(
    target: Any, model: str, version: str, run_id: str, input_sets: list[dict[str, Any]]
) -> list[Any]:
    """The results in `target` of a run of `model` `version` on `input_sets` (complete, as the
    model takes them), one per set: the one the run stored, else the one an earlier run of a
    deployment stored (a result is stored once: a run of the same inputs by the same code
    leaves the first one as it is), else the newest of that version on those inputs."""
    from ..runtime import encode_value

    wanted = {json.dumps(encode_value(s), sort_keys=True): i for i, s in enumerate(input_sets)}
    best: dict[int, Any] = {}
    for result in target.query(model=model):
        if result.version != version:
            continue
        index = wanted.get(json.dumps(encode_value(result.inputs), sort_keys=True))
        if index is None:
            continue
        rank = (result.flow_run_id == run_id, result.flow_run_id is not None, result.created)
        held = best.get(index)
        if held is None or rank > (held.flow_run_id == run_id, held.flow_run_id is not None,
                                   held.created):  # fmt: skip
            best[index] = result
    found: dict[str, Any] = {}
    for index in sorted(best):
        found.setdefault(best[index].id, best[index])
    return list(found.values())


def _read_inputs(
    model: Any, inputs_file: str | None, settings: tuple[str, ...]
) -> list[dict[str, Any]]:
    from ..spec import load_input_sets, parse_text

    sets: list[dict[str, Any]] = [{}] if inputs_file is None else load_input_sets(inputs_file)
    for setting in settings:
        name, sep, text = setting.partition("=")
        if not sep or not name:
            raise InputError(f"--set {setting!r}: write NAME=VALUE, e.g. --set x=2")
        try:
            variable = model.spec.input(name)
        except KeyError:
            known = ", ".join(model.spec.input_names)
            raise InputError(
                f"--set {setting}: {model.name} has no input {name!r}; its inputs are: {known}"
            ) from None
        try:
            value = parse_text(variable, text)
        except ValueError as exc:
            raise InputError(f"--set {setting}: input {name!r} {exc}") from None
        for inputs in sets:
            inputs[name] = value
    return sets


def check_dask_options(model_ref: str | None, dask: str | None, workers: int | None) -> str:
    """The PROJECT|MODEL argument, after refusing what `--dask` and `--workers` cannot mean,
    before anything starts (`--dask PROJECT` takes the project for an address: say so)."""
    if dask is not None and not dask.strip():  # not the cwd, which Path("") is
        raise click.UsageError(
            f"--dask {dask!r}: give a scheduler address (tcp://host:8786) or a scheduler file, "
            "or --dask alone for a local cluster"
        )
    if dask not in (None, LOCAL_CLUSTER) and Path(dask).is_dir():
        raise click.UsageError(
            f"--dask {dask}: that is a folder, not a scheduler address; put the PROJECT before "
            f"--dask (modelcrate ... {dask} --dask), or give an address (tcp://host:8786)"
        )
    if model_ref is None:
        raise click.UsageError("Missing argument 'PROJECT|MODEL'")
    if workers is not None and dask is None:
        raise click.UsageError("--workers sets the size of a local Dask cluster: add --dask")
    if workers is not None and dask != LOCAL_CLUSTER:
        raise click.UsageError(
            "--workers sets the size of a local Dask cluster; leave it out with an address"
        )
    return model_ref


@contextmanager
def flow_runner(
    model_ref: str,
    project: Path | None,
    dask: str | None,
    workers: int | None,
    quiet: bool,
    *,
    quiet_tasks: bool = False,
) -> Iterator[Cluster | None]:
    """While the block runs, the Dask cluster whose task runner a flow run takes (None: no
    `dask`, the flow's own runner), after Prefect is pointed at a temporary local server when
    none is configured; the cluster's address and dashboard are printed, and its workers have
    imported the flow module of `model_ref` (and so loaded the model). `quiet_tasks` keeps
    Prefect to its warnings and errors (a sweep's thousands of task runs), unless --verbose."""
    from ..runtime import FLOWS_GROUP, dask_cluster, find, prefect_home, use_local_prefect

    if quiet_tasks and not is_verbose():
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # read as Prefect starts
    local = use_local_prefect(prefect_home(project))
    if local:
        stderr(
            "Running the Prefect flow on a temporary local Prefect server (takes a few seconds)..."
        )
    if not is_verbose():
        _one_line_prefect_failures()
    if dask is None:
        yield None
        return
    address = None if dask == LOCAL_CLUSTER else dask
    paths = [project / "src"] if project is not None and (project / "src").is_dir() else []
    flow_module = find(model_ref, FLOWS_GROUP).entry_point.partition(":")[0].strip()
    with ExitStack() as stack:
        if not is_verbose():
            stack.enter_context(_dask_errors_only())
        with run_progress(starting="starting Dask", shown=not quiet):
            cluster = stack.enter_context(
                dask_cluster(address, workers=workers, import_paths=paths, preload=[flow_module])
            )
        if address is None:
            where = f"a local Dask cluster of {cluster.workers} worker processes"
        else:
            count = "" if cluster.workers is None else f" ({cluster.workers} workers)"
            where = f"the Dask cluster at {cluster.address}{count}"
        dashboard = f"; dashboard: {cluster.dashboard}" if cluster.dashboard else ""
        stderr(f"Running on {where}{dashboard}")
        yield cluster


def _run_with_prefect(
    model_ref: str,
    input_sets: list[dict[str, Any]],
    targets: list[str],
    as_json: bool,
    task_runner: Any,
    chunk_size: int,
) -> list[Any]:
    from ..runtime import run_flow

    starting = (
        "starting Prefect"
        if os.environ.get("PREFECT_API_URL") is None
        else "connecting to the Prefect server"
    )
    with run_progress(starting=starting, shown=not as_json):
        return list(
            run_flow(model_ref, input_sets, targets, task_runner=task_runner, chunk_size=chunk_size)
        )


class _NoTraceback:
    """A logging filter that keeps a record's message but drops its traceback."""

    @staticmethod
    def filter(record: Any) -> bool:
        record.exc_info = record.exc_text = None
        return True


@contextmanager
def _dask_errors_only() -> Iterator[None]:
    """Dask's own messages kept to its critical ones while the block runs (--verbose shows them
    all): its start and stop are not news, and a chunk it lost is in the report with the
    reason, which its log line repeats in its own words."""
    import contextlib
    import importlib
    import logging

    with contextlib.suppress(ImportError):  # said when the cluster is asked for
        importlib.import_module("distributed")  # its import sets its loggers' levels: first
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _one_line_prefect_failures() -> None:
    """Prefect logs a failed task or flow run with its traceback; the error line modelcrate
    prints after it says the same, so keep Prefect's line and drop the traceback (--verbose
    shows it)."""
    import logging

    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTraceback) for f in logger.filters):
            logger.addFilter(_NoTraceback())


def _print_stored(stored: list, as_json: bool, shown: dict[str, str]) -> None:
    if as_json:
        docs = [dict(item.result.to_document(), locations=item.locations) for item in stored]
        click.echo(json.dumps(docs if len(docs) > 1 else docs[0], indent=2))
        return
    from ..runtime import outputs_table

    first = stored[0].result
    if len(stored) > 1:
        click.echo(f"Stored {len(stored)} results of {first.model} {first.version} in:")
        holding = {name for item in stored for name in item.targets}
        for name, given in shown.items():
            if name in holding:
                count = sum(name in item.targets for item in stored)
                more = "" if count == len(stored) else f" ({count} of them)"
                click.echo(f"  {given}{more}")
        return
    click.echo(f"Stored result {first.hash[:12]} of {first.model} {first.version} in:")
    for location in stored[0].locations:
        click.echo(f"  {location}")
    click.echo(outputs_table(first.outputs, first.units))
