"""`modelcrate results list|show|export`: read stored results back from a target."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ._output import columns, stderr

_TARGET_HELP = (
    "The target to read: a directory, file:///path, sqlite:///results.db, "
    "postgresql://user@host/db, mongodb://host/db or @name "
    "[default: the first target of $MODELCRATE_TARGET, else ./results]."
)


_MAX_LIMIT = 2**31 - 1  # every target's driver takes it as a limit


def _target_option(function: Any) -> Any:
    return click.option("-t", "--target", "target", metavar="URI", help=_TARGET_HELP)(function)


def _filter_options(function: Any) -> Any:
    for option in reversed(
        (
            click.option("-m", "--model", help="Only results of this model (its name)."),
            click.option(
                "--since",
                metavar="TIME",
                help="Only results created at or after TIME: 2026-11-01, 2026-11-01T08:00, or an "
                "age such as 30m, 12h, 7d.",
            ),
            click.option("--until", metavar="TIME", help="Only results created before TIME."),
            click.option(
                "-n",
                "--limit",
                type=click.IntRange(min=1, max=_MAX_LIMIT),
                help="Only the most recent N results.",
            ),
        )
    ):
        function = option(function)
    return function


def _open(target: str | None) -> Any:
    from ..runtime import default_target_uris, open_target

    if target:
        return open_target(target)
    first, *others = default_target_uris()
    opened = open_target(first)
    if others:
        stderr(
            f"Reading {opened.name}, the first of {len(others) + 1} targets in "
            "$MODELCRATE_TARGET; give -t to read another."
        )
    return opened


def _query(
    target: Any, model: str | None, since: str | None, until: str | None, limit: int | None
) -> list:
    from ..runtime import query_results

    return query_results(target, model=model, since=since, until=until, limit=limit)


@click.group()
def results() -> None:
    """Read stored results back: list them, show one, export them as JSON or CSV."""


@results.command("list")
@_target_option
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the result documents as JSON.")
def list_results(
    target: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List stored results, oldest first, as a table."""
    from ..runtime import export_results

    opened = _open(target)
    found = _query(opened, model, since, until, limit)
    if as_json:
        click.echo(export_results(found, "json"), nl=False)
        return
    if not found:
        click.echo(f"No results in {opened.name}" + (f" of model {model}" if model else ""))
        return
    rows = [
        (r.hash[:12], r.model, r.version, _code(r), _local(r.created), _inputs_summary(r.inputs))
        for r in found
    ]
    click.echo(columns(("id", "model", "version", "code", "created", "inputs"), rows))
    click.echo(f"{len(found)} result{'s' if len(found) != 1 else ''} in {opened.name}")


@results.command("show")
@click.argument("result_id", metavar="ID")
@_target_option
@click.option("--json", "as_json", is_flag=True, help="Print the result document as JSON.")
def show_result(result_id: str, target: str | None, as_json: bool) -> None:
    """Show one stored result: ID is its id or a unique start of it (as `list` shows)."""
    from ..runtime import load_result, summarize

    opened = _open(target)
    result = load_result(opened, result_id)
    if as_json:
        click.echo(result.to_json(indent=2))
        return
    click.echo(f"result   {result.hash}")
    click.echo(f"model    {result.model} {result.version}")
    click.echo(f"code     {_code(result, full=True)}")
    click.echo(f"created  {_local(result.created)}")
    if result.flow_run_id:
        click.echo(f"flow run {result.flow_run_id}")
    click.echo(f"target   {opened.name}")
    for title, values in (("input", result.inputs), ("output", result.outputs)):
        click.echo()
        rows = [(k, summarize(v), result.units.get(k, "")) for k, v in values.items()]
        click.echo(columns((title, "value", "unit"), rows))


@results.command("export")
@_target_option
@_filter_options
@click.option(
    "-f",
    "--format",
    "format_",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="json keeps arrays exactly (dtype and shape); csv has one row per result.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (atomically) instead of standard output.",
)
def export(
    target: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    format_: str,
    output: Path | None,
) -> None:
    """Export stored results as JSON or CSV."""
    from ..runtime import export_results
    from ..spec import write_text_atomic

    opened = _open(target)
    found = _query(opened, model, since, until, limit)
    text = export_results(found, format_)
    if output is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(output, text)
    count = f"{len(found)} result{'s' if len(found) != 1 else ''}"
    stderr(f"Exported {count} from {opened.name} to {output}")


def _code(result: Any, *, full: bool = False) -> str:
    """The fingerprint of the code that made a result (12 characters, or all of it with `full`),
    marked when that code had uncommitted changes; `-` for a result stored without one."""
    if result.fingerprint is None:
        return "-" if not full else "- (stored before results recorded their code)"
    shown = result.fingerprint if full else result.fingerprint[:12]
    if result.dirty:
        return f"{shown} (uncommitted changes)" if full else f"{shown} dirty"
    return shown


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _inputs_summary(inputs: dict[str, Any], width: int = 60) -> str:
    from ..runtime import summarize

    text = ", ".join(f"{k}={summarize(v)}" for k, v in inputs.items())
    return text if len(text) <= width else text[: width - 1] + "…"
