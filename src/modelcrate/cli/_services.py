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
from ._registry import registry_option

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
      modelcrate services shared-env accel -r my-model/requirements/runtime.lock.txt

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


@services.command("shared-env")
@click.argument("name")
@click.argument("versions", nargs=-1, metavar="[MODEL[@VERSION]]...")
@click.option(
    "-r",
    "--requirements",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A requirements file or lock (a project's requirements/runtime.lock.txt); repeatable.",
)
@registry_option
def shared_env(
    name: str, versions: tuple[str, ...], files: tuple[Path, ...], url: str | None
) -> None:
    """Make the shared environment NAME, or bring it up to date: one environment holding the
    dependencies of a body of models, for `modelcrate deploy --shared-env NAME`. It installs,
    resolved together with what it holds already, the requirements of FILEs and those the
    registry keeps of the versions named (MODEL: its live version); with neither, those of
    every live version. Two models that need different versions of one package are refused,
    with the conflict, and the environment is left as it was.

    \b
    Examples:
      modelcrate services shared-env accel -r my-model/requirements/runtime.lock.txt
      modelcrate services shared-env accel injector-surrogate@1.2.0 bunch-compressor
      modelcrate services shared-env accel        # every live version's requirements
    """
    from ..deploy import shared_requirements, update_shared_environment

    lines = shared_requirements(versions, files, registry=url, everything=not (versions or files))
    shared = update_shared_environment(name, lines, say=stderr)
    click.echo(
        f"The shared environment {name!r} is up to date in {shared.path}. Deploy into it with:\n"
        f"  modelcrate deploy PROJECT --shared-env {name}"
    )
