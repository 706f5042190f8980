"""The local services a deployment runs on: a Prefect server (its database a SQLite file under
the user data directory, or PostgreSQL by URL) on 127.0.0.1 and a process worker polling a work
pool, started in the background and stopped on request (`modelcrate services`).

Each service is a process of its own session (so that stopping it reaches its children too),
recorded with its PID, the time it started (a PID the system gave to another process since is
not ours) and its log file, in `services.json` under the services directory. Starting what runs
already starts nothing; starting beside a dead record cleans the record up first. A lock file
keeps two `start`s or `stop`s from interleaving.

Settings (environment): `MODELCRATE_SERVICES_DIR` (where state, logs and the SQLite database
live), `MODELCRATE_SERVICES_PORT` (4200), `MODELCRATE_SERVICES_DATABASE` (the Prefect server's
database URL; a password stays in the environment, never in the state file or a message),
`MODELCRATE_SERVICES_POOL` (`modelcrate`), `MODELCRATE_WORKER_POLL_SECONDS` (1: Prefect's 10 s
default makes every deployed run wait up to 10 s before it starts), and
`MODELCRATE_SERVICES_TIMEOUT` (seconds to wait for the server to answer, 120).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .._errors import ServicesError, SettingsError
from ..runtime import mask_secrets, mask_uri

SERVER, WORKER = "server", "worker"
STATE_FILE = "services.json"
FOREIGN_PYTHON = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"})
"""Variables that would make another Python's environment leak into a version's: never passed
to the services (and so to the flow runs) nor to a version's Python."""
_POOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_POOL_RULE = (
    "a work pool name is letters, digits, '.', '_' and '-' (at most 63), starting with a letter "
    "or digit"
)


def check_pool_name(pool: str) -> str:
    """`pool` if it is a work pool name modelcrate makes and takes, else a `DeployError`."""
    if not _POOL_NAME.match(pool):
        from .._errors import DeployError

        raise DeployError(f"--pool {pool[:70]!r}: {_POOL_RULE}")
    return pool


_STOP_GRACE = 20.0
"""Seconds a service is given to end after its signal before it is killed."""


@dataclass(frozen=True)
class ServicesSettings:
    """Where the services keep their state and how they are started (from `MODELCRATE_*`)."""

    directory: Path
    port: int = 4200
    database: str | None = None
    """The Prefect server's database URL; None: a SQLite file in `directory`."""
    pool: str = "modelcrate"
    poll_seconds: float = 1.0
    timeout: float = 120.0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def database_url(self) -> str:
        """The URL the server is given (with its password: never show it, see `shown_database`).
        The SQLite file's path is escaped: a `?` or `%` in a directory's name is the name's."""
        from urllib.parse import quote

        path = quote(str(self.directory / "prefect.db"), safe="/")
        return self.database or f"sqlite+aiosqlite:///{path}"

    @property
    def shown_database(self) -> str:
        return mask_uri(self.database_url)


def load_services_settings(environ: Mapping[str, str] | None = None) -> ServicesSettings:
    """The services' settings from the environment; a `SettingsError` names the variable."""
    env = os.environ if environ is None else environ
    directory = env.get("MODELCRATE_SERVICES_DIR", "").strip()
    if directory:
        where = Path(directory).expanduser()
    else:
        import platformdirs

        where = Path(platformdirs.user_data_dir("modelcrate")) / "services"
    if where.exists() and not where.is_dir():
        raise SettingsError(
            f"MODELCRATE_SERVICES_DIR: {where} is not a directory; name a directory"
        )
    pool = env.get("MODELCRATE_SERVICES_POOL", "modelcrate").strip()
    if not _POOL_NAME.match(pool):
        raise SettingsError(f"MODELCRATE_SERVICES_POOL: {_POOL_RULE}")
    database = env.get("MODELCRATE_SERVICES_DATABASE", "").strip() or None
    if database is not None and not re.match(r"(sqlite|postgresql)(\+\w+)?://", database):
        raise SettingsError(
            "MODELCRATE_SERVICES_DATABASE: give a sqlite+aiosqlite:/// or "
            "postgresql+asyncpg:// URL for the Prefect server's database"
        )
    return ServicesSettings(
        directory=where.resolve(),
        port=int(_number(env, "MODELCRATE_SERVICES_PORT", 4200, 1, 65535, integer=True)),
        database=database,
        pool=pool,
        poll_seconds=_number(env, "MODELCRATE_WORKER_POLL_SECONDS", 1.0, 0.1, 3600),
        timeout=_number(env, "MODELCRATE_SERVICES_TIMEOUT", 120.0, 1, 3600),
    )


def _number(
    env: Mapping[str, str], name: str, default: float, lo: float, hi: float, integer: bool = False
) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
        raise SettingsError(f"{name}: {text[:40]!r} is not {kind} from {lo:g} to {hi:g}")
    return value


@dataclass
class Service:
    """A service process: what it is, its PID and start time, its log file and command line."""

    name: str
    pid: int
    started: float
    """When the process started, in clock ticks since boot (from /proc): its identity with `pid`."""
    log: str
    command: list[str]

    def running(self) -> bool:
        """Whether this process still runs (and is not another that got its PID since)."""
        return _start_ticks(self.pid) == self.started


@dataclass
class ServicesState:
    """What `start` recorded: the server's addresses, the pool, and the processes."""

    api_url: str
    ui_url: str
    pool: str
    database: str
    """The database URL as shown (password masked)."""
    processes: dict[str, Service] = field(default_factory=dict)


@dataclass
class ServicesStatus:
    """What runs, as `status` shows it."""

    state: ServicesState | None
    running: dict[str, bool]
    api_answers: bool
    worker_heartbeat: str | None
    """The time of the worker's last heartbeat the server has (ISO 8601), if any."""

    @property
    def all_running(self) -> bool:
        return bool(self.state) and all(self.running.values()) and self.api_answers

    def to_dict(self) -> dict[str, Any]:
        state = self.state
        return {
            "running": self.all_running,
            "api_url": state.api_url if state else None,
            "ui_url": state.ui_url if state else None,
            "pool": state.pool if state else None,
            "database": state.database if state else None,
            "api_answers": self.api_answers,
            "worker_heartbeat": self.worker_heartbeat,
            "processes": {
                name: {"pid": p.pid, "running": self.running.get(name, False), "log": p.log}
                for name, p in (state.processes.items() if state else ())
            },
        }


def start_services(settings: ServicesSettings, *, say: Any = print) -> ServicesStatus:
    """Start the Prefect server and the process worker unless they run; `say` gets a line per
    step. A `ServicesError` says what did not start and where its log is."""
    settings.directory.mkdir(parents=True, exist_ok=True)
    with _locked(settings.directory):
        state = _read_state(settings.directory)
        if state is not None:
            for name, process in list(state.processes.items()):
                if not process.running():
                    del state.processes[name]
            if state.api_url != settings.api_url or state.pool != settings.pool:
                if state.processes:
                    raise ServicesError(
                        f"services run already with other settings (API {state.api_url}, pool "
                        f"{state.pool}); stop them first: modelcrate services stop"
                    )
                state = None
        if state is None:
            state = ServicesState(
                api_url=settings.api_url,
                ui_url=settings.api_url.removesuffix("/api"),
                pool=settings.pool,
                database=settings.shown_database,
            )
        started: list[str] = []  # by this call: stopped again if it is interrupted or fails
        try:
            if SERVER in state.processes:
                say(f"The Prefect server runs already: {state.api_url}")
            else:
                _refuse_taken_port(settings.port)
                state.processes[SERVER] = _spawn(SERVER, _server_command(settings), settings)
                started.append(SERVER)
                _write_state(settings.directory, state)
                say(f"Starting the Prefect server on {state.ui_url} (database {state.database})...")
            _wait_for_api(state, settings.timeout, settings.database_url)
            started_at = datetime.now(timezone.utc)
            if WORKER in state.processes:
                say(f"The worker of pool {state.pool!r} runs already.")
            else:
                state.processes[WORKER] = _spawn(WORKER, _worker_command(settings), settings)
                started.append(WORKER)
                _write_state(settings.directory, state)
                say(f"Starting a process worker on pool {state.pool!r}...")
            _wait_for_worker(
                state, settings.timeout, since=started_at if WORKER in started else None
            )
        except BaseException:
            for name in reversed(started):
                _stop(
                    state.processes.pop(name), signal.SIGINT if name == WORKER else signal.SIGTERM
                )
            _write_state(settings.directory, state)
            raise
        _write_state(settings.directory, state)
    return services_status(settings)


def services_status(settings: ServicesSettings) -> ServicesStatus:
    """What runs: each recorded process, whether the API answers, the worker's last heartbeat."""
    state = _read_state(settings.directory)
    if state is None:
        return ServicesStatus(None, {}, False, None)
    running = {name: p.running() for name, p in state.processes.items()}
    answers = running.get(SERVER, False) and _api_answers(state.api_url)
    heartbeat = _worker_heartbeat(state) if answers else None
    return ServicesStatus(state, running, answers, heartbeat)


def stop_services(settings: ServicesSettings, *, say: Any = print) -> list[str]:
    """Stop the worker (SIGINT, as Prefect's workers expect), then the server, each with its
    children; forget them. Returns the names of the services that were running."""
    with _locked(settings.directory):
        state = _read_state(settings.directory)
        if state is None:
            return []
        stopped = []
        for name in (WORKER, SERVER):
            process = state.processes.get(name)
            if process is None:
                continue
            if process.running():
                say(f"Stopping the {name} (PID {process.pid})...")
                _stop(process, signal.SIGINT if name == WORKER else signal.SIGTERM)
                stopped.append(name)
            del state.processes[name]
            _write_state(settings.directory, state)
        (settings.directory / STATE_FILE).unlink(missing_ok=True)
    return stopped


def service_log(settings: ServicesSettings, name: str) -> Path:
    """The log file of `name` (server or worker)."""
    if name not in (SERVER, WORKER):
        raise ServicesError(f"no service {name!r}; the services are {SERVER} and {WORKER}")
    return settings.directory / "logs" / f"{name}.log"


def running_api_url(settings: ServicesSettings | None = None) -> str | None:
    """The API of the local services if they run and answer, else None."""
    status = services_status(settings or load_services_settings())
    return status.state.api_url if status.state and status.api_answers else None


def _server_command(settings: ServicesSettings) -> list[str]:
    return [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", "127.0.0.1", "--port", str(settings.port), "--no-background",
    ]  # fmt: skip


def _worker_command(settings: ServicesSettings) -> list[str]:
    return [
        sys.executable, "-m", "prefect", "worker", "start",
        "--pool", settings.pool, "--type", "process",
        "--name", f"modelcrate-{socket.gethostname()}-{settings.pool}"[:100],
        "--install-policy", "never",
    ]  # fmt: skip


def _environment(settings: ServicesSettings, name: str) -> dict[str, str]:
    """A service's environment: a Prefect home of their own, the API, no telemetry, the
    worker's poll interval, and for the server its database. The database URL (and its
    password) is passed here, never on a command line that `ps` shows, and only to the server:
    the worker's flow runs (a model's own code) never see it. Nor do they see the caller's
    Python search path (`PYTHONPATH`, ...): a deployed version runs its own environment's code
    and nothing else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_")
        and k != "MODELCRATE_SERVICES_DATABASE"
        and k not in FOREIGN_PYTHON
    }
    if name == SERVER:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = settings.database_url
    env.update(
        {
            "PREFECT_HOME": str(settings.directory / "prefect-home"),
            "PREFECT_API_URL": settings.api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(settings.port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_WORKER_QUERY_SECONDS": f"{settings.poll_seconds:g}",
            "PREFECT_WORKER_HEARTBEAT_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _spawn(name: str, command: list[str], settings: ServicesSettings) -> Service:
    """Start `command` in a session of its own, its output appended to its log file."""
    log = service_log(settings, name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting the {name}\n".encode())
        out.flush()
        # posix_spawn rather than Popen: the service outlives this process, and a Popen
        # object would warn, when collected, that its process still runs
        pid = os.posix_spawn(
            command[0],
            command,
            _environment(settings, name),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
            ],
            setsid=True,
        )
    started = _start_ticks(pid)
    if started is None:  # gone already
        raise ServicesError(f"the {name} ended as it started; see its log: {log}")
    return Service(name, pid, started, str(log), command)


def _wait_for_api(state: ServicesState, timeout: float, database_url: str) -> None:
    """Wait until the server answers; a `ServicesError` if it ends or does not answer in time
    (quoting its log's last line, the database's password masked)."""
    server = state.processes[SERVER]
    deadline = time.monotonic() + timeout
    while not _api_answers(state.api_url):
        if not server.running():
            last = mask_secrets(_last_line(server.log), database_url)
            raise ServicesError(
                f"the Prefect server ended before it answered: {last} (log: {server.log})"
            )
        if time.monotonic() > deadline:
            raise ServicesError(
                f"the Prefect server did not answer at {state.api_url} within {timeout:g} s "
                f"(MODELCRATE_SERVICES_TIMEOUT); see its log: {server.log}"
            )
        time.sleep(0.5)


def _wait_for_worker(state: ServicesState, timeout: float, *, since: datetime | None) -> None:
    """Wait until the worker has made its pool and sent a heartbeat (after `since`, when it was
    started then: an earlier worker's of the same name does not count), so that a deploy right
    after `start` finds the pool; a `ServicesError` if it ends or is not seen in time."""
    worker = state.processes[WORKER]
    deadline = time.monotonic() + timeout
    while not _beat_since(_worker_heartbeat(state), since):
        if not worker.running():
            raise ServicesError(
                f"the worker ended before it started: {_last_line(worker.log)} (log: {worker.log})"
            )
        if time.monotonic() > deadline:
            raise ServicesError(
                f"the worker of pool {state.pool!r} was not seen by the server within "
                f"{timeout:g} s (MODELCRATE_SERVICES_TIMEOUT); see its log: {worker.log}"
            )
        time.sleep(0.25)


def _beat_since(heartbeat: str | None, since: datetime | None) -> bool:
    """Whether `heartbeat` (ISO 8601, as the server gives it) is there, and after `since`."""
    if heartbeat is None:
        return False
    if since is None:
        return True
    try:
        beat = datetime.fromisoformat(heartbeat.replace("Z", "+00:00"))
    except ValueError:
        return True  # a form this cannot read: the heartbeat is there, which is what counts
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    return beat >= since - timedelta(seconds=1)  # the server's clock is this machine's


def _api_answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def _worker_heartbeat(state: ServicesState) -> str | None:
    """The last heartbeat of a worker of the pool, as the server has it."""
    request = urllib.request.Request(
        f"{state.api_url}/work_pools/{state.pool}/workers/filter",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            workers = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    found = [w.get("last_heartbeat_time") for w in workers if isinstance(w, dict)]
    beats: list[str] = [beat for beat in found if isinstance(beat, str)]
    return max(beats) if beats else None


def _refuse_taken_port(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ServicesError(
                f"port {port} of 127.0.0.1 is taken by another program; set "
                "MODELCRATE_SERVICES_PORT to a free port"
            ) from None


def _stop(process: Service, first: signal.Signals) -> None:
    """Send `first` to the process, then end its session: SIGTERM, and SIGKILL to what is left
    after the grace period, so that no child outlives it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, first)
    if not _wait_gone(process, _STOP_GRACE):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        _wait_gone(process, _STOP_GRACE / 2)
    with contextlib.suppress(ProcessLookupError):  # children left behind, if any
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE / 2
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_gone(process: Service, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process.running():
        _reap(process.pid)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _reap(pid: int) -> None:
    """Collect the exit of a child of this process (tests start services in-process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group `pgid` still runs; an exited one that its parent (or
    init) has not collected yet does not."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc to tell an exited member from a running one
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _start_ticks(pid: int) -> float | None:
    """When process `pid` started (clock ticks since boot), or None if it does not run (a
    zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if not fields or fields[0] == "Z":
        return None
    return float(fields[19])


_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception)\b")


def _last_line(log: str) -> str:
    """What a log says went wrong: its last exception line (`ConnectionRefusedError: ...`),
    else its last line."""
    try:
        lines = Path(log).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    found = next((line for line in reversed(lines) if _EXCEPTION_LINE.match(line)), None)
    return (found or (lines[-1] if lines else "nothing logged")).strip()[:300]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One `start` or `stop` at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    flags = os.O_CREAT | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)  # never through a link
    try:
        descriptor = os.open(directory / ".lock", flags, 0o600)
    except OSError as exc:
        raise ServicesError(f"{directory / '.lock'}: cannot be opened ({exc.strerror})") from None
    with os.fdopen(descriptor, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_state(directory: Path) -> ServicesState | None:
    path = directory / STATE_FILE
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ValueError("not a regular file")
        if path.exists() and path.stat().st_size > _MAX_STATE_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        processes = {name: Service(**p) for name, p in data.pop("processes").items()}
        state = ServicesState(**data, processes=processes)
        _check_types(state)
        return state
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        raise ServicesError(
            f"{path}: not a services state file modelcrate can read; stop what runs by hand and "
            "remove the file"
        ) from None


_MAX_STATE_BYTES = 1_000_000


def _check_types(state: ServicesState) -> None:
    """A `TypeError` unless what a state file holds is what modelcrate writes: a process is
    named by a PID above 1 that leads its own session (as every service started here does)."""
    texts = (state.api_url, state.ui_url, state.pool, state.database)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("addresses, pool and database must be text")
    for name, process in state.processes.items():
        if name not in (SERVER, WORKER) or type(process.pid) is not int or process.pid <= 1:
            raise TypeError("a process must be the server or the worker, with its PID")
        if not isinstance(process.started, (int, float)) or not isinstance(process.log, str):
            raise TypeError("a process's start time and log are a number and a path")
        if process.running() and os.getsid(process.pid) != process.pid:
            raise TypeError("a recorded process does not lead its own session")


def _write_state(directory: Path, state: ServicesState) -> None:
    path = directory / STATE_FILE
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    os.replace(partial, path)
