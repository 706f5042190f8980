"""Running a flow's tasks on Dask, through Prefect's own integration (prefect-dask's
`DaskTaskRunner`): a local cluster of one single-threaded worker process per core, or a
cluster that already runs (a scheduler address, or the scheduler file that dask-jobqueue,
dask-mpi and `dask scheduler --scheduler-file` write).

The scheduler and the workers of a cluster that already runs must have the model package
installed: the scheduler unpickles the flow's tasks too, and one that cannot import the package
loses every chunk ("Error during deserialization of the task graph"). The local cluster's
scheduler and workers share this environment. Each worker imports the package's flow module,
and so loads the model, once. `prefect-dask` comes with modelcrate's `dask` extra.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ClusterError
from ._prefect_env import shared_local_server

DASK_HINT = "pip install 'modelcrate[dask]'"
"""How to install what `--dask` needs."""

CONNECT_TIMEOUT = 10
"""Seconds to wait for a Dask scheduler that already runs."""

MAX_SCHEDULER_FILE = 1_000_000
"""Largest scheduler file read, in bytes (one is a few hundred)."""


@dataclass(frozen=True)
class Cluster:
    """A Dask cluster a flow runs on: the task runner to give the flow, where its scheduler is,
    how many workers it has (None when unknown), and its dashboard's address if it has one."""

    task_runner: Any
    address: str
    workers: int | None
    dashboard: str | None


def local_worker_count() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def dask_cluster(
    address: str | None = None,
    *,
    workers: int | None = None,
    import_paths: Sequence[str | os.PathLike[str]] = (),
    preload: Sequence[str] = (),
) -> Iterator[Cluster]:
    """While the block runs, a Dask cluster for a flow's tasks: a local one (on 127.0.0.1, one
    single-threaded worker process per core, or `workers` of them) started here and closed at
    the end, or the one whose scheduler is at `address` (`tcp://host:8786`, `host:8786`, or a
    scheduler file), which is left running. A local cluster's workers can import from
    `import_paths` too (a project's `src` that is not installed), and report their task runs
    to this process's Prefect server (the temporary one, started before them when no server is
    configured). Every worker imports the modules of `preload` (a package's flow module) before
    the block runs, so each loads the model once, at the start, and one that cannot is found
    then. `ClusterError` says what is missing or wrong."""
    try:  # untyped packages: Any
        distributed: Any = importlib.import_module("distributed")
        DaskTaskRunner: Any = importlib.import_module("prefect_dask").DaskTaskRunner
    except ImportError as exc:
        raise ClusterError(
            f"running on Dask needs prefect-dask and distributed ({exc.name} is not installed): "
            f"{DASK_HINT}"
        ) from None
    if address is None:
        count = workers or local_worker_count()
        with contextlib.ExitStack() as stack:
            stack.enter_context(_importable(import_paths))
            stack.enter_context(shared_local_server())  # before the workers start
            try:
                cluster = distributed.LocalCluster(
                    n_workers=count,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    # A worker's heartbeat that meets the scheduler closing at the end logs
                    # an error with a traceback; what matters (a failed task, a worker that
                    # died) reaches this process through the scheduler instead.
                    silence_logs=logging.CRITICAL,
                )
            except Exception as exc:  # a worker that could not start, no free port, ...
                raise ClusterError(f"cannot start a local Dask cluster ({_reason(exc)})") from None
            stack.callback(cluster.close)
            if preload:
                with distributed.Client(cluster, set_as_default=False) as client:
                    _preload(client, preload, "its workers")
            runner = DaskTaskRunner(address=cluster.scheduler_address)
            yield Cluster(runner, cluster.scheduler_address, count, _dashboard(cluster))
        return
    if workers is not None:
        raise ClusterError(
            "--workers sets the size of a local cluster; leave it out with an address"
        )
    scheduler = _scheduler_address(address)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {scheduler} ({_reason(exc)}); check that it "
            "runs and the address, or leave the address out for a local cluster"
        ) from None
    try:
        count = len(client.scheduler_info().get("workers", {}))
        dashboard = _dashboard(client)
        _preload(client, preload, f"the workers of the cluster at {scheduler}")
    finally:
        client.close()
    yield Cluster(DaskTaskRunner(address=scheduler), scheduler, count, dashboard)


def _preload(client: Any, modules: Sequence[str], whose: str) -> None:
    """Import `modules` on every worker of `client`'s cluster (`whose` says which, in a
    message): a worker that cannot is a `ClusterError` now, rather than a lost task each."""
    for module in modules:
        try:
            client.run(importlib.import_module, module)
        except Exception as exc:
            raise ClusterError(
                f"{whose} cannot import {module} ({_reason(exc)}); install the model package "
                "where the workers run, in the environment they run in"
            ) from None


@contextmanager
def _importable(paths: Sequence[str | os.PathLike[str]]) -> Iterator[None]:
    """`paths` in front of `sys.path` while the block runs: a local cluster's worker processes
    start with this process's `sys.path` (those that replace a dead worker too)."""
    added = [os.fspath(p) for p in paths if os.fspath(p) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for path in added:
            if path in sys.path:
                sys.path.remove(path)


def _scheduler_address(given: str) -> str:
    """The scheduler's address from what the user gave: an address, or a scheduler file (a path:
    it has a `/` or ends in `.json`). A malformed address is refused here, before a client is
    made: distributed's client, failing on one, takes seconds to close itself and then prints
    a traceback."""
    given = given.strip()
    if "://" not in given and (given.endswith(".json") or "/" in given or Path(given).exists()):
        return _scheduler_file_address(given)
    if not given or any(c.isspace() for c in given):
        raise ClusterError(
            f"--dask {given!r}: give a scheduler address (tcp://host:8786) or a scheduler file"
        )
    address = given if "://" in given else f"tcp://{given}"
    try:
        comm: Any = importlib.import_module("distributed.comm")
        port = comm.get_address_host_port(address)[1]
    except Exception as exc:  # an unknown scheme, no port, a port that is no number, ...
        problem = _reason(exc)
    else:
        if isinstance(port, int) and 1 <= port <= 65535:
            return address
        problem = "the port must be between 1 and 65535"
    raise ClusterError(
        f"--dask {given!r}: {problem}; give a scheduler address (tcp://host:8786) or a "
        "scheduler file"
    )


def _scheduler_file_address(given: str) -> str:
    """The address in a scheduler file (JSON with an `address`, a few hundred bytes)."""
    path = Path(given).expanduser()
    if not path.exists():
        raise ClusterError(
            f"{given}: no such scheduler file; give the file the scheduler wrote "
            "(--scheduler-file) or its address (tcp://host:8786)"
        )
    try:
        size = path.stat().st_size
        if not path.is_file() or size > MAX_SCHEDULER_FILE:
            kind = "not a file" if not path.is_file() else f"{size / 1e6:.1f} MB"
            raise ClusterError(f"{given}: not a Dask scheduler file ({kind})")
        info = json.loads(path.read_text(encoding="utf-8"))
        address = info["address"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClusterError(
            f"{given}: not a Dask scheduler file with an address ({_reason(exc)})"
        ) from None
    if not isinstance(address, str) or not address:
        raise ClusterError(f"{given}: not a Dask scheduler file with an address")
    return address


def _dashboard(cluster_or_client: Any) -> str | None:
    """The dashboard's link, when the cluster serves one (it needs bokeh)."""
    try:
        link = cluster_or_client.dashboard_link
    except Exception:  # no dashboard service
        return None
    return str(link) if link else None


def _reason(exc: BaseException) -> str:
    """An exception's message on one line, or its type when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
