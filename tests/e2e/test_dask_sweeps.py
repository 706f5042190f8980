"""Sweeps and batches on a real Dask cluster, as a user runs them: `modelcrate sweep --dask` and
`modelcrate run --dask` in a subprocess, with separate worker processes, compared through the
targets with the same runs in one process.

One generated project per module, with a deterministic model (`MODEL`) that fails for some
inputs and, for one input, kills its own worker process the first time. The flow runs talk to
one Prefect server started for the module (`PREFECT_API_URL`, as a team sets it), so that each
run does not start a temporary server of its own; the Dask side is exactly the CLI's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelcrate import TargetWarning
from modelcrate.runtime import Result, encode_value, open_target

pytestmark = pytest.mark.slow

PASSWORD = "Pw9xQzsecret"
WORKERS = ("--workers", "2")

MODEL = '''"""A deterministic injector model for the Dask tests: each output is a function of the
inputs; a gun phase in (5, 7) raises, and a gun phase of exactly -9 kills its own process the
first time (a marker file beside the project's src says it did)."""

from __future__ import annotations

import os
import signal
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from modelcrate import Model, load_spec

from injector_surrogate import __version__

KILL_MARKER = Path(__file__).resolve().parents[2] / "killed-once"
GRID = np.linspace(-3.0, 3.0, 16)


class InjectorSurrogateModel(Model):
    """Beam sizes and a screen image from the laser radius, charge and gun phase."""

    spec = load_spec(files("injector_surrogate") / "variables.yml")
    name = "injector-surrogate"
    version = __version__

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        radius, charge, phase = inputs["laser_radius"], inputs["bunch_charge"], inputs["gun_phase"]
        if 5.0 < phase < 7.0:
            raise ValueError(f"gun phase {phase} lies in the unstable band (5, 7)")
        if phase == -9.0 and not KILL_MARKER.exists():
            KILL_MARKER.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        sigma_x = radius * (1.0 + charge / 100.0) + 0.01 * phase**2
        sigma_y = radius * (1.0 + charge / 200.0) + inputs["SOL1:BCTRL"]
        x, y = np.meshgrid(GRID, GRID, indexing="xy")
        image = np.zeros((64, 64))
        image[:16, :16] = charge * np.exp(-0.5 * ((x / sigma_x) ** 2 + (y / sigma_y) ** 2))
        return {
            "sigma_x": sigma_x,
            "sigma_y": sigma_y,
            "norm_emit_x": radius * charge / 10.0 + abs(phase),
            "beam_image": image,
        }
'''

# The sweep of the comparisons: 72 sets in 8 chunks over 2 workers.
GRIDS = ("--grid", "laser_radius=0.1:1:8", "--grid", "bunch_charge=10,50,250",
         "--grid", "gun_phase=-3,0,2", "--chunk-size", "10")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process this module started: `sig`, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def project(make_project, tmp_path_factory) -> Path:
    """The injector example as a generated project (not installed) with `MODEL` as its model."""
    root = tmp_path_factory.mktemp("dask-project")
    model = root / "model.py"
    model.write_text(MODEL)
    return make_project(project_name="injector-surrogate", model=model, dest=root / "injector")


@dataclass(frozen=True)
class PrefectServer:
    """A Prefect server of this module: where its API is, and its home (database, log)."""

    api_url: str
    home: Path


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """A Prefect server on 127.0.0.1 for the module's flow runs."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1")
    prefect = Path(sys.executable).parent / "prefect"
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--no-services", "--no-ui", "--analytics-off"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", server, home / "server.log")
        yield PrefectServer(f"http://127.0.0.1:{port}/api", home)
    finally:
        _stop(server, signal.SIGINT)  # how Prefect's server stops cleanly


def _wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Prefect server exited ({server.returncode}): {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the Prefect server did not answer in 120 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def modelcrate(prefect_server, tmp_path_factory):
    """`modelcrate(*args, env=None)`: the command line in a subprocess, its flow runs on the
    module's Prefect server; returns the CompletedProcess (not checked)."""
    cwd = tmp_path_factory.mktemp("cwd")
    client_home = tmp_path_factory.mktemp("prefect-client")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    base.update(
        PREFECT_API_URL=prefect_server.api_url,
        PREFECT_HOME=str(client_home),
        DO_NOT_TRACK="1",
    )

    def run(*args: str | Path, env: dict[str, str] | None = None, timeout: int = 300) -> Any:
        return subprocess.run(
            [sys.executable, "-m", "modelcrate", *map(str, args)],
            capture_output=True, text=True, cwd=cwd, env={**base, **(env or {})},
            timeout=timeout,
        )  # fmt: skip

    run.client_home = client_home  # type: ignore[attr-defined]
    return run


def _report(done: subprocess.CompletedProcess) -> dict[str, Any]:
    """A sweep's `--json` report."""
    assert done.stdout.startswith("{"), (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def _contents(uri: str) -> dict[str, tuple[dict, dict]]:
    """What a target holds, by result id: (inputs, outputs) as JSON values. Every document must
    be a good result (a damaged one is a TargetWarning, made an error here) that verifies, and
    no input set may be stored twice."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", TargetWarning)
        results = list(open_target(uri).query())
    for result in results:
        Result.from_document(result.to_document(), verify=True)
    keys = [r.key for r in results]
    assert len(keys) == len(set(keys)), "an input set is stored twice"
    return {r.hash: (encode_value(r.inputs), encode_value(r.outputs)) for r in results}


def _inputs(contents: dict[str, tuple[dict, dict]], *names: str) -> set[tuple]:
    return {tuple(inputs[n] for n in names) for inputs, _ in contents.values()}


def _one_process(modelcrate, project: Path, target: Path, *args: str) -> dict:
    """The same sweep in one process (no Prefect, no Dask) into a directory; its contents."""
    done = modelcrate("sweep", project, *args, "-t", target, "--json")
    assert done.returncode in (0, 1), done.stderr
    return _contents(str(target))


@pytest.fixture(scope="module")
def dask_sweep(modelcrate, project, tmp_path_factory) -> tuple[subprocess.CompletedProcess, str]:
    """The comparison sweep run once on a local cluster of 2 workers into SQLite."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('dask-sweep') / 'sweep.db'}"
    done = modelcrate("sweep", project, *GRIDS, "--dask", *WORKERS, "-t", uri, "--json")
    return done, uri


def test_a_dask_sweep_stores_exactly_what_a_one_process_sweep_stores(
    dask_sweep, modelcrate, project, tmp_path
):
    done, uri = dask_sweep
    assert done.returncode == 0, done.stderr
    report = _report(done)
    assert (report["size"], report["stored"], report["skipped"], report["failed"]) == (72, 72, 0, 0)
    assert "a local Dask cluster of 2 worker processes" in done.stderr
    on_dask = _contents(uri)
    assert len(on_dask) == 72
    assert on_dask == _one_process(modelcrate, project, tmp_path / "one", *GRIDS)


def test_rerunning_a_dask_sweep_skips_every_set_and_stores_nothing(dask_sweep, modelcrate, project):
    first, uri = dask_sweep
    assert first.returncode == 0, first.stderr
    before = {r.hash: r.created for r in open_target(uri).query()}
    done = modelcrate("sweep", project, *GRIDS, "--dask", *WORKERS, "-t", uri, "--json")
    assert done.returncode == 0, done.stderr
    report = _report(done)
    assert (report["stored"], report["skipped"], report["failed"]) == (0, 72, 0)
    assert {r.hash: r.created for r in open_target(uri).query()} == before


def test_failing_sets_are_reported_and_the_others_stored(modelcrate, project, tmp_path):
    uri = f"sqlite:///{tmp_path / 'failing.db'}"
    grids = ("--grid", "gun_phase=-3,6,0", "--grid", "laser_radius=0.1:1:4", "--chunk-size", "5")
    done = modelcrate("sweep", project, *grids, "--dask", *WORKERS, "-t", uri, "--json")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = _report(done)
    assert (report["size"], report["stored"], report["skipped"], report["failed"]) == (12, 8, 0, 4)
    radii = [0.1, 0.4, 0.7, 1.0]
    assert [(f["index"], f["inputs"]["gun_phase"], f["inputs"]["laser_radius"], f["error"])
            for f in report["failures"]] == [
        (4 + i, 6.0, pytest.approx(r), "ValueError: gun phase 6.0 lies in the unstable band (5, 7)")
        for i, r in enumerate(radii)
    ]  # fmt: skip
    stored = _inputs(_contents(uri), "gun_phase", "laser_radius")
    assert {(p, round(r, 9)) for p, r in stored} == {
        (p, r) for p in (-3.0, 0.0) for r in radii
    }  # the sets before and after the failing ones, in chunks of their own and shared


KILL_GRIDS = ("--grid", "gun_phase=-8,-9,0", "--grid", "laser_radius=0.1:1:5", "--chunk-size", "4")
"""15 sets; the first with gun phase -9 (set 5, in the chunk of sets 4-7) kills its worker."""


@pytest.mark.parametrize(
    ("allowed_failures", "exit_code"),
    [(None, 0), ("0", 1)],
    ids=["dask-retries-the-chunk", "dask-gives-the-chunk-up"],
)
def test_a_worker_killed_mid_sweep_loses_no_stored_result_and_a_rerun_completes(
    modelcrate, project, tmp_path, allowed_failures, exit_code
):
    """By default Dask runs the killed worker's chunk again elsewhere; with no failures
    allowed it gives the chunk up and the sweep reports its sets as lost. Either way every
    stored result is whole, none twice, the exit code tells, and a rerun completes the sweep."""
    (project / "killed-once").unlink(missing_ok=True)
    uri = f"sqlite:///{tmp_path / 'killed.db'}"
    env = {} if allowed_failures is None else {
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": allowed_failures
    }  # fmt: skip
    done = modelcrate("sweep", project, *KILL_GRIDS, "--dask", *WORKERS, "-t", uri, "--json",
                      env=env)  # fmt: skip
    assert (project / "killed-once").exists()  # a worker did die
    assert done.returncode == exit_code, done.stderr
    report = _report(done)
    held = _contents(uri)
    assert report["stored"] == len(held) and report["skipped"] == 0
    assert report["stored"] + report["failed"] == 15
    lost = set()
    for failure in report["failures"]:
        assert failure["error"].startswith("input sets "), failure
        assert " were lost: " in failure["error"] and "KilledWorker" in failure["error"]
        first, last = failure["error"].split()[2].split("-")
        lost |= set(range(int(first), int(last) + 1))
    assert len(lost) == report["failed"]
    assert (report["failed"] == 0) == (exit_code == 0)

    rerun = modelcrate("sweep", project, *KILL_GRIDS, "--dask", *WORKERS, "-t", uri, "--json")
    assert rerun.returncode == 0, rerun.stderr
    again = _report(rerun)
    assert (again["stored"], again["skipped"], again["failed"]) == (len(lost), 15 - len(lost), 0)
    after = _contents(uri)
    assert set(held) <= set(after)
    assert {(p, round(r, 9)) for p, r in _inputs(after, "gun_phase", "laser_radius")} == {
        (p, round(0.1 + 0.225 * i, 9)) for p in (-8.0, -9.0, 0.0) for i in range(5)
    }
    assert after == _one_process(modelcrate, project, tmp_path / "one", *KILL_GRIDS)


def test_a_batch_run_on_dask_stores_and_prints_what_one_process_does(modelcrate, project, tmp_path):
    batch = [
        {"laser_radius": 0.1 + 0.08 * i, "bunch_charge": 10.0 + 20 * i, "gun_phase": i - 5.0}
        for i in range(10)
    ]
    inputs = tmp_path / "batch.json"
    inputs.write_text(json.dumps(batch))
    uri = f"sqlite:///{tmp_path / 'batch.db'}"
    done = modelcrate("run", project, "--inputs", inputs, "--dask", *WORKERS, "--chunk-size", "3",
                      "-t", uri, "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert [doc["inputs"]["gun_phase"] for doc in printed] == [s["gun_phase"] for s in batch]
    assert all(doc["locations"] for doc in printed)
    on_dask = _contents(uri)
    assert len(on_dask) == 10 and sorted(doc["hash"] for doc in printed) == sorted(on_dask)

    local = modelcrate("run", project, "--inputs", inputs, "-t", tmp_path / "one")
    assert local.returncode == 0, local.stderr
    assert on_dask == _contents(str(tmp_path / "one"))


@pytest.fixture
def running_cluster(project, tmp_path) -> Iterator[tuple[str, Path]]:
    """A Dask scheduler and one worker started as `dask scheduler` and `dask worker` start them,
    the project's src on their PYTHONPATH (the scheduler unpickles the flow's tasks too);
    (its address, its scheduler file)."""
    file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    started: list[subprocess.Popen] = []
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", "0", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        ))  # fmt: skip
        deadline = time.monotonic() + 60
        while not (file.exists() and file.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", file,
             "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        ))  # fmt: skip
        yield address, file
    finally:
        for process in reversed(started):
            _stop(process)


def test_a_sweep_on_a_running_cluster_by_address_and_by_scheduler_file(
    running_cluster, modelcrate, project, tmp_path
):
    address, file = running_cluster
    grids = ("--grid", "laser_radius=0.1:1:6", "--grid", "bunch_charge=10,100", "--chunk-size", "5")
    expected = _one_process(modelcrate, project, tmp_path / "one", *grids)
    assert len(expected) == 12
    for name, where in (("address", address), ("file", str(file))):
        uri = f"sqlite:///{tmp_path / name}.db"
        done = modelcrate("sweep", project, *grids, "--dask", where, "-t", uri, "--json")
        assert done.returncode == 0, done.stderr
        assert f"Running on the Dask cluster at {address} (1 workers)" in done.stderr
        assert _report(done)["stored"] == 12
        assert _contents(uri) == expected, name


def test_a_scheduler_address_nobody_listens_at_is_one_error_line(modelcrate, project, tmp_path):
    uri = f"sqlite:///{tmp_path / 'none.db'}"
    done = modelcrate("sweep", project, "--grid", "laser_radius=0.1:1:3", "--dask",
                      "tcp://127.0.0.1:1", "-t", uri, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert errors[0].startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:1 (")
    assert not (tmp_path / "none.db").exists()


def test_a_target_password_stays_out_of_output_and_prefect_on_dask(
    modelcrate, project, prefect_server, postgresql_db
):
    with_password = postgresql_db.replace("@", f":{PASSWORD}@", 1)  # trust auth ignores it
    done = modelcrate("sweep", project, "--grid", "laser_radius=0.1:1:5", "--chunk-size", "2",
                      "--dask", *WORKERS, "-t", with_password)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert postgresql_db.replace("@", ":***@", 1) in done.stdout
    assert len(_contents(postgresql_db)) == 5  # stored by the workers through the named target
    files = [p for home in (prefect_server.home, modelcrate.client_home) for p in home.rglob("*")]
    files = [p for p in files if p.is_file()]
    assert any(b"@run_" in p.read_bytes() for p in files)  # the flow run's target parameter
    for file in files:
        assert PASSWORD.encode() not in file.read_bytes(), file


def test_a_target_password_for_a_running_cluster_is_refused_before_anything_runs(
    modelcrate, project, postgresql_db
):
    """The name that carries the password to a local cluster's workers is in this process's
    environment, which a running cluster's workers never see: every chunk would be lost."""
    with_password = postgresql_db.replace("@", f":{PASSWORD}@", 1)
    masked = postgresql_db.replace("@", ":***@", 1)
    for command in (("sweep", project, "--grid", "laser_radius=0.1:1:3"), ("run", project)):
        done = modelcrate(*command, "--dask", "tcp://127.0.0.1:1", "-t", with_password)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr.splitlines()[-1] == (
            f"error: {masked}: a target with a password cannot be handed to a Dask cluster that "
            "runs already (its workers do not see this environment); give it as @NAME and set "
            "MODELCRATE_TARGETS__NAME=URI where the workers run"
        )
        assert PASSWORD not in done.stdout + done.stderr
    assert _contents(postgresql_db) == {}


def test_sigterm_stops_the_sweep_its_cluster_and_its_prefect_server_and_keeps_what_was_stored(
    project, tmp_path
):
    """A batch system stops a job with SIGTERM: the command unwinds as from Ctrl-C, leaving no
    process behind (the temporary Prefect server it started, the local cluster's workers), and
    what was stored is whole."""
    import psutil

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), DO_NOT_TRACK="1")  # its own server
    uri = f"sqlite:///{tmp_path / 'stopped.db'}"
    command = [sys.executable, "-m", "modelcrate", "sweep", project, "--grid",
               "laser_radius=0.1:1:200000", "--chunk-size", "100", "--dask", *WORKERS, "-t", uri]  # fmt: skip
    with (tmp_path / "stderr.txt").open("w+") as err:
        sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        try:
            deadline = time.monotonic() + 180
            while "Running on a local Dask cluster" not in (tmp_path / "stderr.txt").read_text():
                assert sweep.poll() is None and time.monotonic() < deadline, err.read()
                time.sleep(0.2)
            time.sleep(3)  # some chunks stored
            started = psutil.Process(sweep.pid).children(recursive=True)
            assert len(started) >= 3  # the Prefect server and two workers, at least
            sweep.send_signal(signal.SIGTERM)
            sweep.wait(timeout=120)
        finally:
            _stop(sweep, signal.SIGKILL)
        stderr = (tmp_path / "stderr.txt").read_text()
    assert sweep.returncode == 143, stderr
    assert stderr.splitlines()[-1] == "Terminated." and "Traceback" not in stderr
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    assert 0 < len(_contents(uri)) < 200_000


def test_workers_that_cannot_import_the_model_package_are_one_error_before_anything_runs(
    prefect_server, monkeypatch
):
    """Each worker imports the flow module as the cluster starts; one that cannot would lose
    every chunk, one error each, so it is said once, then."""
    from modelcrate._errors import ClusterError
    from modelcrate.runtime import dask_cluster

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    expected = (
        r"^its workers cannot import no_such_model\.flow \(No module named 'no_such_model'\); "
        "install the model package where the workers run"
    )
    with (
        pytest.raises(ClusterError, match=expected),
        dask_cluster(workers=1, preload=["no_such_model.flow"]),
    ):
        pytest.fail("the cluster started")
