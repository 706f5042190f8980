"""`modelcrate services start|status|stop|logs`: the Prefect server and process worker that
deployments run on, in the background on this machine."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._errors import ServicesError
from ._output import stderr

if TYPE_CHECKING:
    from ..deploy import ServicesSettings, ServicesStatus

PREFECT_HINT = "pip install 'modelcrate[prefect]'"


def _settings() -> ServicesSettings:
    from ..deploy import load_services_settings

    return load_services_settings()


@click.group()
def services() -> None:
    """The local services of deployments: a Prefect server on 127.0.0.1 (its database a SQLite
    file under the user data directory, or MODELCRATE_SERVICES_DATABASE) and a process worker
    on a work pool, in the background.

    \b
    Examples:
      modelcrate services start     # start them (again: nothing to do)
      modelcrate services status    # what runs, where, the worker's last heartbeat
      modelcrate services logs worker
      modelcrate services stop      # the worker, then the server; nothing is left running

    If PREFECT_API_URL names a Prefect server, deployments use that one instead and these
    services are not needed.
    """


@services.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def start(as_json: bool) -> None:
    """Start the Prefect server and the worker unless they run; wait until the server answers."""
    if importlib.util.find_spec("prefect") is None:
        raise ServicesError(f"the services need Prefect, which is not installed: {PREFECT_HINT}")
    from ..deploy import start_services

    status = start_services(_settings(), say=stderr)
    _show(status, as_json)


@services.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Say what runs and where: the API and UI addresses, the pool, the worker's heartbeat.
    Exit code 1 when the services are not (all) running."""
    from ..deploy import services_status

    found = services_status(_settings())
    _show(found, as_json)
    if not found.all_running:
        raise click.exceptions.Exit(1)


@services.command()
def stop() -> None:
    """Stop the worker (SIGINT), then the server, and every process they started."""
    from ..deploy import stop_services

    stopped = stop_services(_settings(), say=stderr)
    stderr("Stopped: " + ", ".join(stopped) + "." if stopped else "Nothing was running.")


@services.command()
@click.argument("service", type=click.Choice(["server", "worker"]), default="server")
@click.option("-n", "--lines", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep printing what is logged (Ctrl-C ends).")
def logs(service: str, lines: int, follow: bool) -> None:
    """Print the end of a service's log (server or worker)."""
    from ..deploy import service_log

    path = service_log(_settings(), service)
    if not path.exists():
        raise ServicesError(
            f"the {service} has no log yet ({path}); start it: modelcrate services start"
        )
    click.echo("".join(_tail(path, lines)), nl=False)
    if follow:
        _follow(path)


def _tail(path: Path, lines: int) -> list[str]:
    with path.open("rb") as log:
        log.seek(0, 2)
        size = log.tell()
        log.seek(max(0, size - 256 * lines))
        text = log.read().decode("utf-8", "replace")
    return text.splitlines(keepends=True)[-lines:]


def _follow(path: Path) -> None:
    with path.open("rb") as log:
        log.seek(0, 2)
        while True:
            chunk = log.read()
            if chunk:
                click.echo(chunk.decode("utf-8", "replace"), nl=False)
            else:
                time.sleep(0.5)


def _show(status: ServicesStatus, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status.to_dict(), indent=1))
        return
    state = status.state
    if state is None:
        click.echo("No services are running (start them: modelcrate services start).")
        return
    shown = status.to_dict()
    click.echo(
        f"Prefect API: {state.api_url} ({'answers' if status.api_answers else 'does not answer'})"
    )
    click.echo(f"Prefect UI:  {state.ui_url}")
    click.echo(f"Database:    {state.database}")
    click.echo(f"Work pool:   {state.pool} (process)")
    for name, process in shown["processes"].items():
        click.echo(
            f"{name.capitalize() + ':':12} PID {process['pid']}, "
            f"{'running' if process['running'] else 'not running'}; log {process['log']}"
        )
    beat = status.worker_heartbeat
    click.echo(f"Heartbeat:   {beat or 'none yet'}")
