"""`modelcrate serve PROJECT|MODEL`: answer HTTP requests with the model's outputs."""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import json
import os
import socket
from typing import Any

import click

from .._errors import InputError, ProjectError
from ._output import stderr

SERVE_HINT = "pip install 'modelcrate[serve]'"
APP_ENV = "MODELCRATE_SERVE_APP"
"""How `--workers N` tells each worker process what to serve: the model and the options of its
app, as JSON (the token stays in its own variable)."""
GRACE_SECONDS = 30
"""How long a stop waits for the requests being answered."""


@click.command()
@click.argument("model_ref", metavar="PROJECT|MODEL")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; 0.0.0.0 for every interface (then set a token).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes, each with the model loaded.",
)
@click.option(
    "--max-body",
    type=click.IntRange(1),
    default=None,
    metavar="BYTES",
    help="The largest request body taken (default 16 MiB).",
)
@click.option(
    "--max-batch",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="The most input sets one request may carry (default 1,000).",
)
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="URI",
    help="Also store every result evaluated, in the background, in URI (a directory, "
    "sqlite:///results.db, postgresql://user@host/db, mongodb://host/db or @name); repeat for "
    "several [default: none].",
)
@click.option(
    "--batching/--no-batching",
    default=None,
    help="Gather single-set requests that arrive together into one evaluate_batch call "
    "[default: on for a model with its own (vectorised) evaluate_batch, off for one that loops].",
)
@click.option(
    "--batch-window",
    type=click.FloatRange(0, 1000),
    default=None,
    metavar="MS",
    help="Milliseconds a gathered call waits for more requests after the first (default 0: "
    "it takes those that queued while the model was busy, and waits for none).",
)
@click.option(
    "--max-gather",
    type=click.IntRange(1, 100_000),
    default=None,
    metavar="N",
    help="The most requests gathered into one call (default 64).",
)
@click.option("--access-log", is_flag=True, help="Log every request (slower).")
def serve(
    model_ref: str,
    targets: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    max_body: int | None,
    max_batch: int | None,
    batching: bool | None,
    batch_window: float | None,
    max_gather: int | None,
    access_log: bool,
) -> None:
    """Serve a model over HTTP: POST /v1/evaluate with {"inputs": {...}} (or a list of input
    sets) answers {"outputs": ...}; GET /v1/variables, /v1/schema and /openapi.json describe
    the model; /docs is a page to read its variables and try it in a browser; /metrics is for
    Prometheus; /health/live and /health/ready are for a load balancer.

    Inputs are checked as variables.yml says (a bad one is HTTP 422 naming it). With
    MODELCRATE_SERVE_TOKEN set, every route but /health/live and the docs page needs the header
    'Authorization: Bearer <token>' (the page asks for it). With --target, each result evaluated is also stored there
    (in the background: a request does not wait for it). Ctrl-C or SIGTERM stops it after the
    requests being answered (up to 30 s), with exit code 0: a signal is how a server is meant
    to end.

    \b
    Examples:
      modelcrate serve my-model
      curl -s localhost:8000/v1/evaluate -d '{"inputs": {"x": 0.5}}'
      open http://127.0.0.1:8000/docs     # the docs page, in a browser
    """
    needed = ("starlette", "uvicorn", "prometheus_client", "orjson")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise ProjectError(
            f"serving needs {' and '.join(missing)}, which are not installed: {SERVE_HINT}"
        )
    import uvicorn

    from .. import runtime
    from ..serve import (
        BATCH_WINDOW,
        MAX_BATCH,
        MAX_BODY_BYTES,
        MAX_GATHER,
        TOKEN_ENV,
        check_token,
        create_app,
        vectorised,
    )

    token = os.environ.get(TOKEN_ENV)
    if token is not None:
        try:
            token = check_token(token)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    model, _ = runtime.find_model(model_ref)  # a bad reference fails here, before binding
    opened = runtime.resolve_targets(list(targets)) if targets else []  # and a bad target
    options: dict[str, Any] = {  # of create_app, the same in every process
        "max_body": max_body or MAX_BODY_BYTES,
        "max_batch": max_batch or MAX_BATCH,
        "targets": list(targets),
        "batching": vectorised(model) if batching is None else batching,
        "batch_window": BATCH_WINDOW if batch_window is None else batch_window / 1000,
        "max_gather": max_gather or MAX_GATHER,
    }
    listening = _bind(host, port)
    address = f"http://{_url_host(host)}:{listening.getsockname()[1]}"
    if not _is_loopback(listening.getsockname()[0]) and token is None:
        stderr(
            f"warning: serving on {host} without a token: anyone who can reach this machine "
            f"can use the model; set {TOKEN_ENV}"
        )
    config_args = dict(
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=GRACE_SECONDS,
        lifespan="on",
    )
    if workers == 1:
        app = create_app(model, token=token, **{**options, "targets": opened})
        config = uvicorn.Config(app, **config_args)  # type: ignore[arg-type]
    else:  # each worker process builds its app from the environment
        os.environ[APP_ENV] = json.dumps({"model": model_ref, **options})
        config = uvicorn.Config(
            "modelcrate.cli._serve:app_from_environment",
            factory=True,
            workers=workers,
            **config_args,  # type: ignore[arg-type]
        )
    processes = f" ({workers} processes)" if workers > 1 else ""
    stderr(f"Serving {model.name} {model.version} at {address}{processes}; Ctrl-C stops it")
    stderr(f'  POST {address}/v1/evaluate  {{"inputs": {{...}}}}   GET {address}/v1/variables')
    stderr(f"  open {address}/docs in a browser to read the variables and try the model")
    if options["batching"]:
        window = options["batch_window"] * 1000
        waits = f", waiting {window:g} ms for more" if window else ""
        stderr(
            f"  requests arriving together are evaluated together (up to "
            f"{options['max_gather']}{waits})"
        )
    if opened:
        stored_in = ", ".join(runtime.mask_uri(str(uri).strip()) for uri in targets)
        stderr(f"  every result is stored in the background in: {stored_in}")
    _log_to_stderr()
    server = uvicorn.Server(config)
    try:
        if workers == 1:
            server.run(sockets=[listening])
        else:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[listening]).run()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (Terminated), raised again after the stop
        pass
    finally:
        listening.close()
    stderr("Stopped.")


def _log_to_stderr() -> None:
    """The app's log lines (a model's traceback, a request left unanswered) on standard error,
    as `LEVEL: message`, beside uvicorn's own."""
    import logging

    logger = logging.getLogger("modelcrate.serve")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def app_from_environment() -> object:
    """The app of one server process of `serve --workers N` (see `APP_ENV`)."""
    from .. import runtime
    from ..serve import TOKEN_ENV, create_app

    _log_to_stderr()
    options = json.loads(os.environ[APP_ENV])
    model, _ = runtime.find_model(options.pop("model"))
    return create_app(model, token=os.environ.get(TOKEN_ENV), **options)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one `error:` line saying why there is none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(
            f"--host {host!r}: not an address of this machine ({reason}); give 127.0.0.1, "
            "0.0.0.0 or an address of one of its interfaces"
        ) from None
    family, kind, proto, _, where = infos[0]
    listening = socket.socket(family, kind, proto)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(where)
        listening.listen(2048)
        listening.set_inheritable(True)
    except OSError as exc:
        listening.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is in use (another server?): choose another with --port"
            ) from None
        raise InputError(
            f"cannot listen on {_url_host(host)}:{port} ({exc.strerror or exc}); give 127.0.0.1, "
            "0.0.0.0 or an address of one of this machine's interfaces"
        ) from None
    return listening


def _is_loopback(address: str) -> bool:
    """Whether a bound socket's address is a loopback one (127.1 and localhost included)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
