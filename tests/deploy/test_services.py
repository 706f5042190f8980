"""`modelcrate services`: a real Prefect server and process worker started in the background,
found again, restarted where one died, and stopped with nothing left running."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _projects import free_port

from modelcrate._errors import ServicesError, SettingsError
from modelcrate.deploy import load_services_settings, services_status, stop_services
from modelcrate.deploy._services import _group_alive


def _modelcrate(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelcrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def services_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    env |= {
        "MODELCRATE_SERVICES_DIR": str(tmp_path / "services"),
        "MODELCRATE_SERVICES_PORT": str(free_port()),
    }
    yield env
    with contextlib.suppress(ServicesError, SettingsError):  # stop what a test left running
        stop_services(load_services_settings(env), say=lambda line: None)


def test_settings_come_from_the_environment_with_defaults(tmp_path):
    settings = load_services_settings({"MODELCRATE_SERVICES_DIR": str(tmp_path)})
    assert (settings.port, settings.pool, settings.poll_seconds) == (4200, "modelcrate", 1.0)
    assert settings.api_url == "http://127.0.0.1:4200/api"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'prefect.db'}"
    url = "postgresql+asyncpg://prefect:pa55word@db.example/prefect"
    shown = load_services_settings(
        {"MODELCRATE_SERVICES_DIR": str(tmp_path), "MODELCRATE_SERVICES_DATABASE": url}
    )
    assert "pa55word" not in shown.shown_database and shown.database_url == url


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "MODELCRATE_SERVICES_PORT",
            "80000",
            "MODELCRATE_SERVICES_PORT: '80000' is not a whole number",
        ),
        ("MODELCRATE_SERVICES_PORT", "http", "is not a whole number from 1 to 65535"),
        (
            "MODELCRATE_WORKER_POLL_SECONDS",
            "0",
            "MODELCRATE_WORKER_POLL_SECONDS: '0' is not a number",
        ),
        (
            "MODELCRATE_SERVICES_POOL",
            "my pool; rm -rf /",
            "MODELCRATE_SERVICES_POOL: a work pool name",
        ),
        ("MODELCRATE_SERVICES_DATABASE", "mysql://u:secret@h/db", "postgresql+asyncpg://"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=f"^{name}: ") as caught:
        load_services_settings({"MODELCRATE_SERVICES_DIR": str(tmp_path), name: value})
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_only_the_server_is_given_its_database(tmp_path, monkeypatch):
    from modelcrate.deploy._services import _environment

    url = "postgresql+asyncpg://prefect:pa55word@db.example/prefect"
    monkeypatch.setenv("MODELCRATE_SERVICES_DATABASE", url)
    settings = load_services_settings(
        {"MODELCRATE_SERVICES_DIR": str(tmp_path), "MODELCRATE_SERVICES_DATABASE": url}
    )
    assert _environment(settings, "server")["PREFECT_SERVER_DATABASE_CONNECTION_URL"] == url
    worker = _environment(settings, "worker")  # flow runs (a model's code) inherit this
    assert not any("pa55word" in value for value in worker.values())


def test_no_service_sees_the_callers_python_search_path(tmp_path, monkeypatch):
    """A deployed version runs its own environment's code: a PYTHONPATH (a checkout's src, say)
    or another venv where `services start` ran must not reach the worker and its flow runs."""
    from modelcrate.deploy._deployments import _quiet_env
    from modelcrate.deploy._services import _environment

    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "src"))
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "venv"))
    monkeypatch.setenv("MODELCRATE_SERVICES_DIR", str(tmp_path))
    settings = load_services_settings({"MODELCRATE_SERVICES_DIR": str(tmp_path)})
    for env in (_environment(settings, "worker"), _environment(settings, "server"), _quiet_env()):
        assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env


def test_status_without_services_says_so_and_fails(services_env):
    done = _modelcrate(services_env, "services", "status")
    assert done.returncode == 1
    assert "No services are running" in done.stdout
    assert (
        json.loads(_modelcrate(services_env, "services", "status", "--json").stdout)["running"]
        is False
    )


def test_a_state_file_that_cannot_be_read_is_one_error_line(services_env):
    where = Path(services_env["MODELCRATE_SERVICES_DIR"])
    where.mkdir(parents=True)
    (where / "services.json").write_text('{"api_url": ')
    done = _modelcrate(services_env, "services", "status")
    assert done.returncode == 1
    assert (
        done.stderr.startswith("error: ")
        and "services.json: not a services state file" in done.stderr
    )
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "state",
    [
        {"pid": "1", "started": 1.0, "log": "x", "name": "server", "command": []},
        {"pid": 1, "started": 1.0, "log": "x", "name": "server", "command": []},
        {"pid": 10**6, "started": "soon", "log": "x", "name": "server", "command": []},
    ],
)
def test_a_state_file_naming_what_modelcrate_never_writes_is_refused(services_env, state):
    where = Path(services_env["MODELCRATE_SERVICES_DIR"])
    where.mkdir(parents=True)
    document = {"api_url": "u", "ui_url": "u", "pool": "p", "database": "d"}
    (where / "services.json").write_text(json.dumps({**document, "processes": {"server": state}}))
    for command in ("status", "stop"):
        done = _modelcrate(services_env, "services", command)
        assert done.returncode == 1, done.stderr
        assert "not a services state file" in done.stderr and "Traceback" not in done.stderr


def test_a_services_directory_that_is_a_file_is_one_error_line(services_env):
    where = Path(services_env["MODELCRATE_SERVICES_DIR"])
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text("")
    for command in ("status", "stop", "start"):
        done = _modelcrate(services_env, "services", command)
        assert done.returncode == 2, (command, done.stderr)
        assert "MODELCRATE_SERVICES_DIR" in done.stderr and "is not a directory" in done.stderr
    where.unlink()


def test_a_port_taken_by_another_program_is_refused(services_env):
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", int(services_env["MODELCRATE_SERVICES_PORT"])))
        other.listen()
        done = _modelcrate(services_env, "services", "start")
    assert done.returncode == 1
    assert "is taken by another program; set MODELCRATE_SERVICES_PORT" in done.stderr


@pytest.mark.slow
def test_a_server_that_cannot_reach_its_database_is_one_line_without_the_password(services_env):
    env = services_env | {
        "MODELCRATE_SERVICES_DATABASE": "postgresql+asyncpg://prefect:Hush-42@127.0.0.1:9/prefect",
        "MODELCRATE_SERVICES_TIMEOUT": "90",
    }
    done = _modelcrate(env, "services", "start")
    assert done.returncode == 1, done.stderr
    assert (
        "error: the Prefect server ended before it answered: ConnectionRefusedError" in done.stderr
    )
    assert "Hush-42" not in done.stderr + done.stdout
    assert "Hush-42" not in (Path(env["MODELCRATE_SERVICES_DIR"]) / "services.json").read_text()
    assert _modelcrate(env, "services", "stop").returncode == 0


@pytest.mark.slow
def test_services_start_run_are_found_again_restarted_and_stopped_without_leftovers(
    services_env, tmp_path
):
    env = services_env
    # characters a URL gives a meaning to, in the directory of the server's SQLite file
    env["MODELCRATE_SERVICES_DIR"] = str(tmp_path / "services?x=1%20#")
    started = _modelcrate(env, "services", "start", "--json")
    assert started.returncode == 0, started.stderr
    status = json.loads(started.stdout)
    assert status["running"] and status["api_answers"]
    port = env["MODELCRATE_SERVICES_PORT"]
    assert status["api_url"] == f"http://127.0.0.1:{port}/api"
    assert (tmp_path / "services?x=1%20#" / "prefect.db").is_file()
    pids = {name: p["pid"] for name, p in status["processes"].items()}
    assert set(pids) == {"server", "worker"}

    again = _modelcrate(env, "services", "start", "--json")  # what runs is reused
    assert again.returncode == 0
    assert {n: p["pid"] for n, p in json.loads(again.stdout)["processes"].items()} == pids
    assert "runs already" in again.stderr

    deadline = time.monotonic() + 60  # the worker reports to the server
    while services_status(load_services_settings(env)).worker_heartbeat is None:
        assert time.monotonic() < deadline, "the worker sent no heartbeat"
        time.sleep(1)
    shown = _modelcrate(env, "services", "status")
    assert shown.returncode == 0
    assert f"http://127.0.0.1:{port}" in shown.stdout and "Work pool:   modelcrate" in shown.stdout
    logs = _modelcrate(env, "services", "logs", "worker", "-n", "5")
    assert logs.returncode == 0 and logs.stdout

    os.kill(pids["worker"], signal.SIGKILL)  # a worker that died is started again, alone
    deadline = time.monotonic() + 10
    while services_status(load_services_settings(env)).running.get("worker"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    restarted = _modelcrate(env, "services", "start", "--json")
    assert restarted.returncode == 0, restarted.stderr
    now = {n: p["pid"] for n, p in json.loads(restarted.stdout)["processes"].items()}
    assert now["server"] == pids["server"] and now["worker"] != pids["worker"]

    stopped = _modelcrate(env, "services", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "Stopped: worker, server." in stopped.stderr
    for pid in now.values():  # each service's whole session is gone
        assert not _group_alive(pid)
    assert _modelcrate(env, "services", "status").returncode == 1
    assert _modelcrate(env, "services", "stop").stderr.strip() == "Nothing was running."


def test_logs_of_an_unknown_service_or_before_any_start(services_env):
    done = _modelcrate(services_env, "services", "logs", "worker")
    assert done.returncode == 1 and "has no log yet" in done.stderr
    with pytest.raises(ServicesError, match="no service 'ui'"):
        from modelcrate.deploy import service_log

        service_log(load_services_settings(services_env), "ui")


def test_a_start_stopped_halfway_leaves_no_process_behind(services_env, tmp_path):
    """SIGTERM (a `kill`, the end of a batch job) while `start` waits for the server: what that
    start had started is stopped again, and nothing is recorded as running."""
    env = services_env
    state = tmp_path / "services" / "services.json"
    starting = subprocess.Popen(
        [sys.executable, "-m", "modelcrate", "services", "start"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (state.is_file() and "server" in state.read_text()):
        assert time.monotonic() < deadline and starting.poll() is None, starting.stderr
        time.sleep(0.05)
    server = json.loads(state.read_text())["processes"]["server"]["pid"]
    starting.send_signal(signal.SIGTERM)
    _, err = starting.communicate(timeout=120)
    assert starting.returncode == 143 and "Terminated." in err and "Traceback" not in err
    with contextlib.suppress(ChildProcessError):
        os.waitpid(server, os.WNOHANG)
    assert not _group_alive(server)
    assert not services_status(load_services_settings(env)).running
