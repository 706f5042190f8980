"""Progress of long work: on a terminal, `run` draws a bar per step (input sets done, rate, time
left), also through Prefect, and `build` and `lock` a spinner naming the step; piped, every verb
prints exactly what it printed before, and nothing more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from modelcrate import OutputError
from modelcrate.runtime import FilesystemTarget, Progress, report_progress, reporting_progress, run


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch, tmp_path):
    """No setting of the surrounding environment forces or hides the terminal; relative paths
    land in a temporary folder."""
    for key in (
        "TTY_INTERACTIVE",
        "TTY_COMPATIBLE",
        "FORCE_COLOR",
        "NO_COLOR",
        "MODELCRATE_TARGET",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def example_model(project):
    """The example's model class, imported from the generated project."""
    sys.path.insert(0, str(project / "src"))
    try:
        from injector_surrogate.model import InjectorSurrogateModel
    finally:
        sys.path.remove(str(project / "src"))
    return InjectorSurrogateModel


@pytest.fixture
def terminal(monkeypatch):
    """Standard error counts as an interactive terminal, as rich lets it be forced."""
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")


def write_inputs(path: Path, count: int) -> Path:
    """A JSON file of `count` different input sets of the example model."""
    sets = [{"bunch_charge": 10.0 + 200.0 * i / count} for i in range(count)]
    path.write_text(json.dumps(sets), encoding="utf-8")
    return path


# -- piped: nothing changes ------------------------------------------------------------------------


def test_a_piped_batch_run_prints_only_its_report(project, run_cli, tmp_path):
    inputs = write_inputs(tmp_path / "sets.json", 3)
    code, out, err = run_cli("run", project, "--inputs", inputs, "-t", "stored")
    assert (code, err) == (0, "")
    assert out == "Stored 3 results of injector-surrogate 0+unknown in:\n  stored\n"


def test_a_piped_run_as_a_subprocess_prints_byte_for_byte_what_it_did(project, tmp_path):
    inputs = write_inputs(tmp_path / "sets.json", 3)
    done = subprocess.run(
        [sys.executable, "-m", "modelcrate", "run", str(project), "-i", str(inputs), "-t", "r"],
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == b"Stored 3 results of injector-surrogate 0+unknown in:\n  r\n"


LOADS_RICH = """
import sys
from modelcrate.cli import main
code = main(sys.argv[1:])
print(code, "rich" in sys.modules)
"""


def test_a_piped_run_does_not_even_import_the_drawing_library(project, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", LOADS_RICH, "run", str(project), "-t", "r"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.stdout.splitlines()[-1] == "0 False", done.stderr


def test_json_output_draws_no_progress_even_on_a_terminal(project, run_cli, tmp_path, terminal):
    inputs = write_inputs(tmp_path / "sets.json", 2)
    code, out, err = run_cli("run", project, "--inputs", inputs, "-t", "stored", "--json")
    assert (code, err) == (0, "")
    assert [doc["model"] for doc in json.loads(out)] == ["injector-surrogate"] * 2


def test_a_dumb_terminal_gets_no_progress(project, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TERM", "dumb")
    inputs = write_inputs(tmp_path / "sets.json", 2)
    assert run_cli("run", project, "--inputs", inputs, "-t", "stored")[2] == ""


# -- on a terminal: bars ---------------------------------------------------------------------------


def test_a_batch_run_on_a_terminal_draws_a_bar_per_step(project, run_cli, tmp_path, terminal):
    inputs = write_inputs(tmp_path / "sets.json", 20)
    code, out, err = run_cli("run", project, "--inputs", inputs, "-t", "stored")
    assert code == 0, err
    assert out == "Stored 20 results of injector-surrogate 0+unknown in:\n  stored\n"
    for step in ("checking inputs", "evaluating", "storing in file:///"):
        assert step in err
    assert "20/20 sets" in err
    assert "Stored" not in err  # the report stays on standard output


def test_a_run_reports_each_step_to_a_listener(example_model, tmp_path):
    """The library side: `run(on_progress=...)` tells how far each step is; it prints nothing."""
    heard: list[Progress] = []
    sets = [{"bunch_charge": 10.0 + i * 0.05} for i in range(2500)]
    target = FilesystemTarget(tmp_path / "r", fsync=False)
    stored = run(example_model(), sets, [target], on_progress=heard.append)
    assert len(stored) == 2500
    evaluated = [(p.done, p.total) for p in heard if p.step == "evaluate"]
    assert evaluated == [(1000, 2500), (2000, 2500), (2500, 2500)]
    prepared = [(p.done, p.total) for p in heard if p.step == "prepare"]
    assert prepared == [(1000, 2500), (2000, 2500), (2500, 2500)]
    store = [p for p in heard if p.step == "store"]
    assert {p.target for p in store} == {target.name}
    assert (store[0].done, store[-1].done, store[-1].total) == (0, 2500, 2500)
    assert [p.done for p in store] == sorted(p.done for p in store)


def test_a_listener_hears_only_while_it_listens():
    heard: list[Progress] = []
    with reporting_progress(heard.append):
        report_progress("evaluate", 1, 2)
    report_progress("evaluate", 2, 2)
    assert heard == [Progress("evaluate", 1, 2)]


def test_an_error_in_a_later_chunk_names_the_input_set_by_its_place_in_the_batch(
    example_model, tmp_path
):
    """Evaluating in chunks keeps the numbering of the whole batch."""

    class Broken(example_model):
        def evaluate(self, inputs):
            outputs = super().evaluate(inputs)
            if inputs["bunch_charge"] == 200.0:
                outputs["sigma_x"] = "wide"
            return outputs

    sets = [{"bunch_charge": 10.0}] * 1200 + [{"bunch_charge": 200.0}]
    with pytest.raises(OutputError, match=r"^input set 1200: "):
        run(Broken(), sets, [FilesystemTarget(tmp_path / "r", fsync=False)])
    assert not (tmp_path / "r").exists()  # nothing stored


# -- in a real pseudo-terminal ---------------------------------------------------------------------


def run_in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run a command with standard error on a pseudo-terminal, standard output piped; returns
    (exit code, stdout, what the terminal received)."""
    master, slave = os.openpty()
    received: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=read)
    with subprocess.Popen(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    ) as process:
        os.close(slave)
        reader.start()
        out, _ = process.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    return process.returncode, out.decode(), b"".join(received).decode(errors="replace")


def terminal_env(tmp_path: Path) -> dict[str, str]:
    drop = ("TTY_", "FORCE_COLOR", "NO_COLOR", "PREFECT_", "MODELCRATE_TARGET")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(TERM="xterm-256color", COLUMNS="120", PREFECT_HOME=str(tmp_path / "prefect"))
    return env


def test_a_batch_run_in_a_terminal_shows_its_bars_there(project, tmp_path):
    inputs = write_inputs(tmp_path / "sets.json", 40)
    code, out, shown = run_in_terminal(
        [sys.executable, "-m", "modelcrate", "run", str(project), "-i", str(inputs), "-t", "r"],
        tmp_path,
        terminal_env(tmp_path),
    )
    assert code == 0, shown
    assert out == "Stored 40 results of injector-surrogate 0+unknown in:\n  r\n"
    assert "evaluating" in shown and "40/40 sets" in shown


@pytest.mark.slow
def test_a_batch_through_prefect_shows_prefect_starting_then_its_bars(project, tmp_path):
    inputs = write_inputs(tmp_path / "sets.json", 30)
    args = [sys.executable, "-m", "modelcrate", "run", str(project), "--prefect"]
    code, out, shown = run_in_terminal(
        [*args, "-i", str(inputs), "-t", "r"], tmp_path, terminal_env(tmp_path)
    )
    assert code == 0, shown
    assert out.startswith("Stored 30 results of injector-surrogate")
    assert "starting Prefect" in shown
    for step in ("checking inputs", "evaluating", "storing in"):
        assert step in shown
    assert "30/30 sets" in shown


# -- build and lock: a spinner on a terminal -------------------------------------------------------


def test_build_on_a_terminal_shows_a_spinner_and_prints_its_report(project, run_cli, tmp_path):
    code, piped_out, piped_err = run_cli("build", project, "-o", tmp_path / "piped")
    assert code == 0, piped_err
    assert "building" not in piped_err  # piped: only the report and its warnings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TTY_INTERACTIVE", "1")
        patch.setenv("TTY_COMPATIBLE", "1")
        code, out, err = run_cli("build", project, "-o", tmp_path / "shown")
    assert code == 0, err
    assert out.replace("shown", "piped") == piped_out  # the report is the same
    # the spinner's last frame names the last step the build logged
    assert "built injector_surrogate-" in err and ".whl" in err
    assert err.endswith(piped_err)  # then the same warnings as when piped


def test_lock_on_a_terminal_shows_a_spinner_naming_the_project(
    project, run_cli, terminal, monkeypatch
):
    monkeypatch.setattr("modelcrate.packaging.tooling._lock._pipenv", lambda: [])
    code, out, err = run_cli("lock", project, "--format", "pipenv")
    assert (code, out) == (2, "")
    assert f"locking {project} with pipenv" in err
    last = "error: pipenv is not installed: `pip install pipenv`, or lock with uv (the default)\n"
    assert err.endswith(last)


def test_a_failing_build_on_a_terminal_still_ends_in_one_error_line(run_cli, tmp_path, terminal):
    code, out, err = run_cli("build", tmp_path)
    assert (code, out) == (2, "")
    assert f"building {tmp_path.name}" in err  # the current folder, by its name
    assert err.endswith(
        f"error: {tmp_path}: no pyproject.toml; give a project made by `modelcrate new`\n"
    )
