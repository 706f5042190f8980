"""Settings for running a Prefect flow locally, in-process, with no server started by hand."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._errors import PrefectStartError

STARTUP_TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
"""Prefect's setting: how long a flow run waits for its temporary local server to answer."""

_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"
"""How Prefect's RuntimeError begins when its temporary server did not answer in time."""

LOCAL_PREFECT_SETTINGS = {
    STARTUP_TIMEOUT: "90",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def use_local_prefect(home: Path) -> bool:
    """Point Prefect at a private home and a patient temporary server, unless one is configured.

    Returns False (and changes nothing) when `PREFECT_API_URL` names a server to use instead.
    Call it before Prefect is imported.
    """
    if os.environ.get("PREFECT_API_URL"):
        return False
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    for key, value in LOCAL_PREFECT_SETTINGS.items():
        os.environ.setdefault(key, value)
    return True


@contextmanager
def shared_local_server() -> Iterator[str | None]:
    """While the block runs, Prefect's temporary local server (started now when no server is
    configured) is the server of this process and, through `PREFECT_API_URL`, of the processes
    started in the block, such as a local Dask cluster's workers. Without it each worker starts
    a temporary server of its own at its first task (10-40 s each, competing for the cores,
    and its task runs never reach the flow's server). Prefect sends its settings with each task
    run, so they change too. Yields the address; None when a server is configured."""
    if _configured_api_url():
        yield None
        return
    from prefect.settings import temporary_settings

    with prefect_start_errors():
        address = _start_temporary_server()
    os.environ["PREFECT_API_URL"] = address  # for processes started in the block
    try:
        with temporary_settings(updates={"api.url": address}):  # sent with each task run
            yield address
    finally:
        if os.environ.get("PREFECT_API_URL") == address:
            del os.environ["PREFECT_API_URL"]


def _configured_api_url() -> str | None:
    """The Prefect server that is configured (environment or profile), if any."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def _start_temporary_server() -> str:
    """Start Prefect's temporary local server (the one a flow call starts, started at most once
    per process) and return its API address."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return str(server.api_url)


def prefect_start_error(exc: BaseException) -> PrefectStartError | None:
    """The `PrefectStartError` to report when `exc` (or what caused it) is Prefect's failure to
    start its temporary local server in time; None for any other exception."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, RuntimeError) and str(cause).startswith(_TIMED_OUT):
            seconds = _startup_timeout()
            return PrefectStartError(
                f"the temporary local Prefect server did not start within {seconds} s (the "
                f"machine may be busy); run again, raise {STARTUP_TIMEOUT} (now {seconds}), or "
                "start a server with `prefect server start` and set PREFECT_API_URL to the "
                "address it prints"
            )
        cause = cause.__cause__ or cause.__context__
    return None


@contextmanager
def prefect_start_errors() -> Iterator[None]:
    """Within the block, Prefect's failure to start its temporary server in time is raised as
    one `PrefectStartError` (exit code 1) rather than its RuntimeError and traceback."""
    try:
        yield
    except Exception as exc:
        error = prefect_start_error(exc)
        if error is None:
            raise
        raise error from None


def _startup_timeout() -> str:
    """The startup timeout Prefect used, in seconds: from its settings, else the environment."""
    try:
        from prefect.settings import get_current_settings

        return str(get_current_settings().server.ephemeral.startup_timeout_seconds)
    except Exception:  # an older or broken Prefect: say what the environment says
        return os.environ.get(STARTUP_TIMEOUT, "20")
