"""`modelcrate serve` as a user runs it: a generated project served by a real uvicorn server in a
subprocess, asked over HTTP on loopback, and stopped with SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _projects import EXAMPLE_MODEL, http_json, serving

from modelcrate.runtime import open_target

pytestmark = pytest.mark.slow

TOKEN = "Tk7-serving-secret"


@pytest.fixture(scope="module")
def project(make_project) -> Path:
    return make_project(project_name="injector-surrogate", model=EXAMPLE_MODEL)  # not installed


def test_a_served_project_answers_as_modelcrate_run_does_and_stops_on_sigterm(project, tmp_path):
    inputs = {"laser_radius": 0.7, "bunch_charge": 120.0}
    ran = subprocess.run(
        [sys.executable, "-m", "modelcrate", "run", project, "--set", "laser_radius=0.7",
         "--set", "bunch_charge=120", "-t", tmp_path / "results", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    expected = json.loads(ran.stdout)["outputs"]
    stored = f"sqlite:///{tmp_path / 'served.db'}"
    with serving(project, "-t", stored) as (base, process, log):
        status, answer = http_json(f"{base}/v1/evaluate", {"inputs": inputs})
        assert status == 200
        assert set(answer["outputs"]) == set(expected)
        for name in ("sigma_x", "sigma_y"):
            assert answer["outputs"][name] == pytest.approx(expected[name])
        status, batch = http_json(f"{base}/v1/evaluate", {"inputs": [inputs, {}]})
        assert status == 200 and len(batch["outputs"]) == 2
        variables = http_json(f"{base}/v1/variables")[1]["variables"]["input_variables"]
        default_radius = variables["laser_radius"]["default_value"]
        status, refused = http_json(f"{base}/v1/evaluate", {"inputs": {"laser_radius": "wide"}})
        assert status == 422 and "laser_radius" in refused["error"]
        assert http_json(f"{base}/v1/variables")[1]["name"] == "injector-surrogate"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        printed = log.read_text()
    assert printed.startswith("Serving injector-surrogate ")
    assert f"at {base}" in printed and printed.splitlines()[-1] == "Stopped."
    assert "Traceback" not in printed
    with pytest.raises(OSError):
        http_json(f"{base}/health/live")
    results = list(open_target(stored).query())  # stored in the background, drained at the stop
    assert sorted(r.inputs["laser_radius"] for r in results) == sorted([0.7, default_radius])
    assert f"stored in the background in: {stored}" in printed


def test_several_processes_share_the_port_and_the_token(project):
    with serving(project, "--workers", "2", env={"MODELCRATE_SERVE_TOKEN": TOKEN}) as served:
        base, process, log = served
        assert http_json(f"{base}/v1/evaluate", {"inputs": {}})[0] == 401
        for _ in range(6):
            status, _ = http_json(f"{base}/v1/evaluate", {"inputs": {}}, token=TOKEN)
            assert status == 200
        assert "(2 processes)" in log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert TOKEN not in log.read_text()


def test_a_port_in_use_or_a_bad_host_is_one_error_line(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "modelcrate", "serve", project, "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"error: port {port} on 127.0.0.1 is in use (another server?): choose another with --port\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "modelcrate", "serve", project, "--host", "no.such.host.invalid"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: --host 'no.such.host.invalid'")
