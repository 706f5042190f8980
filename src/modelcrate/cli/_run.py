"""`modelcrate run PROJECT|MODEL`: evaluate a model, store the results, print where they went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .._errors import InputError, MissingInputError, SaveError
from ._output import is_verbose, stderr
from ._progress import run_progress


@click.command()
@click.argument("model_ref", metavar="PROJECT|MODEL")
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
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="URI",
    help="Where to store results: a directory, file:///path, sqlite:///results.db, "
    "postgresql://user@host/db, mongodb://host/db or @name (MODELCRATE_TARGETS__NAME); "
    "repeat for several [default: $MODELCRATE_TARGET, else PROJECT/results or ./results].",
)
@click.option(
    "--prefect",
    is_flag=True,
    help="Run through the package's Prefect flow instead of calling the steps directly.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored result documents as JSON.")
def run(
    model_ref: str,
    settings: tuple[str, ...],
    inputs_file: str | None,
    targets: tuple[str, ...],
    prefect: bool,
    as_json: bool,
) -> None:
    """Evaluate a model and store the result.

    PROJECT is a project directory made by `modelcrate new`; MODEL is the name of an installed
    model package. Inputs not given take their defaults.
    """
    from .. import runtime

    model, project = runtime.find_model(model_ref)
    input_sets = _read_inputs(model, inputs_file, settings)
    # Relative paths given here are relative to the cwd; the default is PROJECT/results.
    uris = list(targets) or runtime.default_target_uris(project)
    opened = runtime.resolve_targets(uris)  # a bad URI fails before the model runs
    # each target as the user named it, password masked, by the name its results carry
    shown = {
        t.name: runtime.mask_uri(str(uri).strip()) for uri, t in zip(uris, opened, strict=True)
    }
    try:
        if prefect:
            runtime.prepare_batch(model, input_sets)  # bad inputs fail before Prefect starts
            flow_targets = [
                runtime.flow_target(str(uri), t) for uri, t in zip(uris, opened, strict=True)
            ]
            stored = _run_with_prefect(model_ref, project, input_sets, flow_targets, as_json)
        else:
            with run_progress(shown=not as_json):
                stored = runtime.run(model, input_sets, opened)
    except MissingInputError as exc:
        raise exc.given_by("set") from None
    except SaveError as exc:
        if exc.stored:
            _print_stored(exc.stored, as_json, shown)
        raise
    _print_stored(stored, as_json, shown)


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


def _run_with_prefect(
    model_ref: str,
    project: Path | None,
    input_sets: list[dict[str, Any]],
    targets: list[str],
    as_json: bool,
) -> list[Any]:
    from ..runtime import prefect_home, run_flow, use_local_prefect

    local = use_local_prefect(prefect_home(project))
    if local:
        stderr(
            "Running the Prefect flow on a temporary local Prefect server (takes a few seconds)..."
        )
    if not is_verbose():
        _one_line_prefect_failures()
    starting = "starting Prefect" if local else "connecting to the Prefect server"
    with run_progress(starting=starting, shown=not as_json):
        return list(run_flow(model_ref, input_sets, targets))


class _NoTraceback:
    """A logging filter that keeps a record's message but drops its traceback."""

    @staticmethod
    def filter(record: Any) -> bool:
        record.exc_info = record.exc_text = None
        return True


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
