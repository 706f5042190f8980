"""`modelcrate sweep PROJECT|MODEL`: evaluate a model on grids, lists and samples of its inputs,
in one process or on a Dask cluster, and store every result."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any

import click

from .._errors import InputError
from ._output import stderr
from ._progress import run_progress
from ._run import (
    RunTargets,
    _read_inputs,
    check_dask_options,
    flow_runner,
    prefect_options,
    target_option,
)

CONFIRM_ABOVE = 1_000_000
"""Sweeps with more input sets than this run only when confirmed (`--yes`, or at the prompt)."""

WARNINGS_SHOWN = 5
"""Warnings (values outside their ranges) listed after a sweep."""

FAILURES_SHOWN = 10
"""Failed input sets listed after a sweep (all of them with --json, up to the report's limit)."""

RATE_FROM = 100
"""The fewest input sets whose sweep's rate (sets per second) is printed."""


@click.command()
@click.argument("model_ref", metavar="PROJECT|MODEL", required=False)
@click.option(
    "-g",
    "--grid",
    "grids",
    multiple=True,
    metavar="NAME=START:STOP:N|NAME=a,b,c",
    help="An input on a grid: N evenly spaced values from START to STOP (both included), or "
    "the values listed (a JSON list for values with commas); repeat for several (every "
    "combination is evaluated).",
)
@click.option(
    "--sample",
    "samples",
    type=click.IntRange(0),
    default=0,
    metavar="N",
    help="N Latin hypercube samples of the --vary inputs, inside their declared ranges "
    "(combined with every grid point).",
)
@click.option(
    "--vary",
    multiple=True,
    metavar="NAME",
    help="An input to sample; repeat for several [default: every numeric input with a "
    "declared range that is not on a grid or --set].",
)
@click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), metavar="S", help="The seed of the samples."
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input's value for every set; repeat for several. Other inputs take their defaults.",
)
@target_option
@prefect_options
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help=f"Run a sweep of more than {CONFIRM_ABOVE:,} input sets without asking.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the sweep's report as JSON.")
def sweep(
    model_ref: str | None,
    grids: tuple[str, ...],
    samples: int,
    vary: tuple[str, ...],
    seed: int | None,
    settings: tuple[str, ...],
    targets: tuple[str, ...],
    prefect: bool,
    dask: str | None,
    workers: int | None,
    chunk_size: int,
    yes: bool,
    as_json: bool,
) -> None:
    """Evaluate a model on every combination of grids, lists and samples of its inputs, and
    store each result.

    Results are stored as each chunk of input sets finishes. Input sets whose result every
    target already holds (same model, version, code and inputs) are skipped, so running the
    same sweep again completes one that was interrupted. An input set whose evaluation fails is
    recorded and the sweep goes on; the exit code is then 1.

    \b
    Examples:
      modelcrate sweep my-model --grid x=0:1:101 --grid y=1,2,5 -t sqlite:///scan.db
      modelcrate sweep my-model --sample 10000 --seed 1 --dask -t sqlite:///scan.db
    """
    from .. import runtime

    model_ref = check_dask_options(model_ref, dask, workers)
    if (vary or seed is not None) and not samples:
        option = "--vary" if vary else "--seed"
        raise click.UsageError(f"{option} chooses what --sample N samples: add --sample N")
    if not grids and not samples:
        raise click.UsageError("give at least one --grid or --sample")
    model, project = runtime.find_model(model_ref)
    fixed = _read_inputs(model, None, settings)[0]
    plan = runtime.build_sweep(
        model.spec, grids=grids, samples=samples, seed=seed, vary=vary, fixed=fixed
    )
    run_targets = RunTargets.of(targets, project)
    _check_first_set(model, plan)
    stderr(f"Sweep of {model.name} {model.version}: {plan.describe()}")
    if plan.samples and seed is None:
        stderr(f"Samples drawn with seed {plan.seed} (--seed {plan.seed} repeats them)")
    _confirm(plan.size, yes)
    if prefect or dask:
        flow_targets = run_targets.for_flow(dask)
        with flow_runner(model_ref, project, dask, workers, as_json, quiet_tasks=True) as cluster:
            began = time.perf_counter()
            with run_progress(starting="starting the sweep", shown=not as_json):
                report = runtime.run_sweep_flow(
                    model_ref, plan, flow_targets, chunk_size=chunk_size,
                    task_runner=cluster.task_runner if cluster else None,
                    workers=cluster.workers if cluster else None,
                )  # fmt: skip
            report.seconds = time.perf_counter() - began
    else:
        with run_progress(shown=not as_json):
            report = runtime.run_sweep(model, plan, run_targets.opened, chunk_size=chunk_size)
    _print_report(report, run_targets.shown, plan, as_json)
    for warning in report.warnings[:WARNINGS_SHOWN]:
        stderr(f"warning: {warning}")
    if report.warned > WARNINGS_SHOWN:
        more = report.warned - WARNINGS_SHOWN
        stderr(f"warning: and {more:,} more warnings like these (--json lists the first ones)")
    if report.failed:
        raise click.exceptions.Exit(1)


def _check_first_set(model: Any, plan: Any) -> None:
    """Check one whole input set before anything starts: a required input left out, or a value
    refused only in combination, says so now rather than in every set."""
    from .._errors import MissingInputError

    try:
        model.prepare(plan.input_sets(0, 1)[0])
    except MissingInputError as exc:
        raise exc.given_by("set") from None
    except InputError as exc:
        raise InputError(f"the first input set of the sweep: {exc}") from None


def _confirm(size: int, yes: bool) -> None:
    """Ask before a sweep larger than `CONFIRM_ABOVE`; refuse it without a terminal to ask at."""
    if size <= CONFIRM_ABOVE or yes:
        return
    question = f"The sweep has {size:,} input sets (more than {CONFIRM_ABOVE:,}). Run it?"
    if sys.stdin.isatty() and sys.stderr.isatty():
        if click.confirm(question, default=False, err=True):
            return
        raise click.exceptions.Abort()
    raise InputError(
        f"the sweep has {size:,} input sets, more than {CONFIRM_ABOVE:,}: add --yes to run it, "
        "or make it smaller (fewer grid points or samples)"
    )


def _print_report(report: Any, shown: dict[str, str], plan: Any, as_json: bool) -> None:
    if as_json:
        document = asdict(report)
        document["targets"] = list(shown.values())
        document["seed"] = plan.seed
        document["sweep"] = plan.model_dump(mode="json")
        click.echo(json.dumps(document, indent=2))
        return
    rated = report.seconds > 0 and report.finished >= RATE_FROM  # a handful says nothing
    rate = f" ({report.finished / report.seconds:,.0f} sets/s)" if rated else ""
    click.echo(
        f"Sweep of {report.size:,} input sets in {report.seconds:,.1f} s{rate}: "
        f"{report.stored:,} stored, {report.skipped:,} skipped as already stored, "
        f"{report.failed:,} failed"
    )
    click.echo("Targets:")
    for given in shown.values():
        click.echo(f"  {given}")
    if report.failures:
        more = f" (the first {FAILURES_SHOWN})" if report.failed > FAILURES_SHOWN else ""
        click.echo(f"Failed input sets{more}:")
        swept = [axis.name for axis in plan.axes] + [r.name for r in plan.sampled]
        for failure in report.failures[:FAILURES_SHOWN]:
            values = ", ".join(
                f"{name}={json.dumps(failure.inputs[name])}"
                for name in swept
                if name in failure.inputs
            )
            click.echo(
                f"  set {failure.index}" + (f" ({values})" if values else "") + f": {failure.error}"
            )
