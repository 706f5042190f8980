"""`modelcrate registry list|show|promote|retire`: the model registry, read and changed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from .._errors import InputError
from ._output import columns, one_line

REGISTRY_HELP = (
    "The registry's database: sqlite:///PATH, postgresql://USER@HOST/DB or "
    "mysql+pymysql://USER:PASSWORD@HOST/DB [default: $MODELCRATE_REGISTRY, else registry.db in "
    "the user data directory]."
)


def registry_option(function: Any) -> Any:
    """The `--registry URL` option (its value the parameter `url`) of every command that reads
    or writes the model registry."""
    return click.option("--registry", "url", metavar="URL", help=REGISTRY_HELP)(function)


def _options(function: Any) -> Any:
    function = click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (for tools) instead of a table."
    )(function)
    return registry_option(function)


def _open(url: str | None) -> Any:
    from ..deploy import open_registry

    return open_registry(url)


def _split(text: str, *, version_required: bool) -> tuple[str, str | None]:
    """MODEL@VERSION (or MODEL alone when no version is required) as (model, version)."""
    from ..deploy import split_reference

    try:
        model, version = split_reference(text, version_required=version_required)
    except InputError as exc:
        what = "MODEL@VERSION" if version_required else "MODEL or MODEL@VERSION"
        raise click.BadParameter(str(exc), param_hint=what) from None
    return model, (version or None)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group()
def registry() -> None:
    """The model registry: registered models and their versions, where each version is
    deployed, and which one is live."""


@registry.command("list")
@click.option("-m", "--model", help="Only this model's versions.")
@_options
def list_models(model: str | None, url: str | None, as_json: bool) -> None:
    """List the registered models and their versions (status, deployments), by name."""
    with _open(url) as opened:
        found = [opened.model(model)] if model else opened.models()
        if as_json:
            _echo_json({"registry": opened.name, "models": [m.to_json() for m in found]})
            return
        if not found:
            click.echo(f"No models in {opened.name}")
            return
        rows: list[tuple[str, ...]] = []
        for m in found:
            rows += [
                (m.name, v.version, v.status, _deployed(v), _local(v.created)) for v in m.versions
            ] or [(m.name, "-", "no versions", "", _local(m.created))]
        count = sum(len(m.versions) for m in found)
        click.echo(columns(("model", "version", "status", "deployed", "created"), rows))
        click.echo(f"{_plural(len(found), 'model')}, {_plural(count, 'version')} in {opened.name}")


@registry.command("show")
@click.argument("what", metavar="MODEL[@VERSION]")
@_options
def show(what: str, url: str | None, as_json: bool) -> None:
    """Show a model (its details and versions) or one version of it (its wheel, source,
    entry points, image, variables and deployments)."""
    model, version = _split(what, version_required=False)
    with _open(url) as opened:
        if version is None:
            record = opened.model(model)
            if as_json:
                _echo_json({"registry": opened.name, "model": record.to_json()})
                return
            _show_model(record, opened.name)
            return
        found = opened.version(model, version)
        if as_json:
            _echo_json({"registry": opened.name, "version": found.to_json()})
            return
        _show_version(found, opened.name)


@registry.command("promote")
@click.argument("what", metavar="MODEL@VERSION")
@_options
def promote(what: str, url: str | None, as_json: bool) -> None:
    """Make a version the live one of its model (the live one before stops being live).
    A retired version cannot be promoted."""
    model, version = _split(what, version_required=True)
    with _open(url) as opened:
        outcome = opened.promote(model, version or "")
        _report(outcome, opened.name, as_json)


@registry.command("retire")
@click.argument("what", metavar="MODEL@VERSION")
@_options
def retire(what: str, url: str | None, as_json: bool) -> None:
    """Retire a version for good: it can no longer be promoted or deployed. Retiring the live
    version leaves its model with no live version."""
    model, version = _split(what, version_required=True)
    with _open(url) as opened:
        outcome = opened.retire(model, version or "")
        _report(outcome, opened.name, as_json)


def _report(outcome: Any, name: str, as_json: bool) -> None:
    if as_json:
        _echo_json({"registry": name, **outcome.to_json()})
    else:
        click.echo(one_line(outcome.message))


def _show_model(record: Any, name: str) -> None:
    live = record.live
    fields = [
        ("model", record.name),
        ("live", live.version if live else "none"),
        ("description", record.description),
        ("author", record.author),
        ("laboratory", record.laboratory),
        ("facility", record.facility),
        ("beampath", record.beampath),
        ("created", _local(record.created)),
        ("updated", _local(record.updated)),
        ("registry", name),
    ]
    _fields(fields)
    click.echo()
    if not record.versions:
        click.echo("No versions registered yet.")
        return
    rows = [
        (v.version, v.status, _deployed(v), v.wheel_sha256[:12], _local(v.created))
        for v in record.versions
    ]
    click.echo(columns(("version", "status", "deployed", "wheel", "created"), rows))


def _show_version(v: Any, name: str) -> None:
    fields = [
        ("model", v.model),
        ("version", v.version),
        ("status", v.status + (f" ({_local(v.retired_at)})" if v.retired_at else "")),
        ("package", v.package),
        ("wheel", f"sha256 {v.wheel_sha256}"),
        ("sdist", f"sha256 {v.sdist_sha256}" if v.sdist_sha256 else None),
        ("source", " ".join(p for p in (v.source_url, v.source_commit) if p) or None),
        ("image", v.image),
        ("created", _local(v.created)),
        ("registry", name),
    ]
    _fields(fields)
    points = [(g, n, target) for g, names in v.entry_points.items() for n, target in names.items()]
    if points:
        click.echo()
        click.echo(columns(("entry point group", "name", "object"), points))
    click.echo()
    variables = list(v.variables)
    click.echo(f"variables ({len(variables)}): " + (", ".join(variables) or "-"))
    click.echo()
    if not v.deployments:
        click.echo("Not deployed.")
        return
    rows = [(d.name, d.work_pool, d.deployment_id, _local(d.created)) for d in v.deployments]
    click.echo(columns(("deployment", "work pool", "id", "created"), rows))


def _fields(fields: list[tuple[str, str | None]]) -> None:
    width = max(len(key) for key, _ in fields)
    for key, value in fields:
        click.echo(f"{key.ljust(width)}  {one_line(value) if value else '-'}")


def _deployed(version: Any) -> str:
    return ", ".join(f"{d.name} ({d.work_pool})" for d in version.deployments) or "-"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
