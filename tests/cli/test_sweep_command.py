"""`modelcrate sweep` in one process: what it prints, what it stores, what it refuses."""

from __future__ import annotations

import json
import re
import sys

import pytest

from modelcrate.runtime import FilesystemTarget, open_target

EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b:|Traceback")


def forget_modules(package: str, root) -> None:
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(str(root))]


@pytest.fixture
def failing_project(make_project, tmp_path):
    """The example model, failing (as a model's own bug) for laser radii in (0.45, 0.55)."""
    path = make_project(project_name="failing-injector", dest=tmp_path / "f")
    model = next(path.glob("src/*/model.py"))
    text = model.read_text()
    head = "    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:\n"
    assert head in text
    model.write_text(
        text.replace(
            head,
            head + '        if 0.45 < inputs["laser_radius"] < 0.55:\n'
            '            raise ValueError("no beam at this radius")\n',
        )
    )
    yield path
    forget_modules("failing_injector", path)


def one_error(code: int, err: str, expected: int = 2) -> str:
    """The one `error:` line of a refused command (no traceback, no exception name)."""
    assert code == expected, err
    assert not EXCEPTION_NAME.search(err), err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_a_grid_sweep_stores_every_combination_and_says_what_it_did(run_cli, project, tmp_path):
    target = tmp_path / "scan"
    args = ["sweep", project, "--grid", "laser_radius=0.1:1:4", "--grid", "bunch_charge=10,20"]
    code, out, err = run_cli(*args, "-t", target)
    assert code == 0, err
    assert "Sweep of injector-surrogate" in err
    assert "laser_radius 4 values in [0.1, 1.0]" in err and "= 8 sets" in err
    summary = r"Sweep of 8 input sets in [\d.,]+ s: 8 stored, 0 skipped as already stored, 0 failed"
    assert re.search(summary, out)  # no rate for a handful of sets
    assert str(target) in out
    results = FilesystemTarget(target).list(model="injector-surrogate")
    pairs = {(r.inputs["laser_radius"], r.inputs["bunch_charge"]) for r in results}
    assert pairs == {(x, q) for x in (0.1, 0.4, 0.7, 1.0) for q in (10.0, 20.0)}


def test_a_rerun_skips_every_stored_set(run_cli, project, tmp_path):
    args = ["sweep", project, "--grid", "laser_radius=0.1:1:5", "-t", f"sqlite:///{tmp_path}/s.db"]
    assert run_cli(*args)[0] == 0
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["size"], report["stored"], report["skipped"], report["failed"]) == (5, 0, 5, 0)
    assert report["sweep"]["axes"][0]["name"] == "laser_radius"
    assert len(list(open_target(f"sqlite:///{tmp_path}/s.db").query())) == 5


def test_samples_lie_in_the_ranges_and_a_seed_repeats_them(run_cli, project, tmp_path):
    def sampled(seed: str, where: str) -> tuple[set[tuple[float, float]], str]:
        args = ["sweep", project, "--sample", "6", "--vary", "laser_radius", "--vary", "gun_phase"]
        code, _out, err = run_cli(*args, *seed.split(), "-t", tmp_path / where)
        assert code == 0, err
        results = FilesystemTarget(tmp_path / where).list()
        return {(r.inputs["laser_radius"], r.inputs["gun_phase"]) for r in results}, err

    first, err = sampled("--seed 3", "a")
    assert "Samples drawn" not in err
    again, _ = sampled("--seed 3", "b")
    assert first == again and len(first) == 6
    assert all(0.1 <= x <= 1.0 and -10 <= p <= 10 for x, p in first)
    drawn, err = sampled("", "c")
    seed = re.search(r"--seed (\d+) repeats them", err).group(1)
    assert sampled(f"--seed {seed}", "d")[0] == drawn


def test_failed_sets_are_listed_with_their_values_and_the_exit_code_is_1(
    run_cli, failing_project, tmp_path
):
    grid = "laser_radius=0.1,0.2,0.5,0.52,0.8"
    args = ["sweep", failing_project, "--grid", grid, "-t", tmp_path / "r"]
    code, out, err = run_cli(*args)
    assert code == 1, err
    assert "3 stored, 0 skipped as already stored, 2 failed" in out
    assert (
        "Failed input sets:\n  set 2 (laser_radius=0.5): ValueError: no beam at this radius\n"
        in out
    )
    assert "  set 3 (laser_radius=0.52): ValueError: no beam at this radius" in out
    assert len(FilesystemTarget(tmp_path / "r").list()) == 3
    code, out, _ = run_cli(*args, "--json")
    report = json.loads(out)
    assert code == 1 and (report["stored"], report["skipped"], report["failed"]) == (0, 3, 2)
    assert [f["index"] for f in report["failures"]] == [2, 3]
    assert report["failures"][0]["inputs"]["laser_radius"] == 0.5


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "give at least one --grid or --sample"),
        (["--grid", "laser_radius=0:1"], "write NAME=START:STOP:N"),
        (["--grid", "nope=1,2"], "'nope'"),
        (["--grid", "laser_radius=wide,narrow"], "laser_radius"),
        (["--grid", "laser_radius=0.1,0.2", "--set", "laser_radius=0.3"], "laser_radius"),
        (["--vary", "laser_radius"], "--vary chooses what --sample N samples"),
        (["--seed", "3", "--grid", "laser_radius=0.1,0.2"], "--seed chooses"),
        (["--sample", "-1"], "--sample"),
        (["--grid", "laser_radius=0.1,0.2", "--workers", "2"], "--workers"),
        (["--grid", "laser_radius=0.1,0.2", "--dask", "tcp://h:1", "--workers", "2"], "--workers"),
        (["--grid", "laser_radius=0.1,0.2", "--set", "bunch_charge=lots"], "bunch_charge"),
        (["--grid", "laser_radius=0.1,0.2", "--dask", ""], "--dask '': give a scheduler address"),
        (["--grid", "laser_radius=0.1,0.2", "--dask", " "], "--dask ' ': give a scheduler address"),
    ],
)
def test_bad_options_are_one_line_and_store_nothing(run_cli, project, tmp_path, args, expected):
    code, _out, err = run_cli("sweep", project, *args, "-t", tmp_path / "r")
    assert expected in one_error(code, err)
    assert not (tmp_path / "r").exists()


def test_a_folder_after_dask_is_taken_for_what_it_is(run_cli, project, tmp_path):
    code, _, err = run_cli("sweep", "--grid", "laser_radius=0.1,0.2", "--dask", project)
    assert "put the PROJECT before --dask" in one_error(code, err)


def test_a_big_sweep_needs_yes_without_a_terminal(run_cli, project, tmp_path, monkeypatch):
    monkeypatch.setattr("modelcrate.cli._sweep.CONFIRM_ABOVE", 5)
    args = ["sweep", project, "--grid", "laser_radius=0.1:1:6", "-t", tmp_path / "r"]
    code, _, err = run_cli(*args)
    assert "6 input sets, more than 5: add --yes" in one_error(code, err)
    assert not (tmp_path / "r").exists()
    code, out, err = run_cli(*args, "--yes")
    assert code == 0 and "6 stored" in out, err


def test_without_prefect_dask_the_dask_option_says_what_to_install(
    run_cli, project, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # as if not installed
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # no temporary server
    args = ["sweep", project, "--grid", "laser_radius=0.1,0.2", "--dask", "-t", tmp_path / "r"]
    code, _, err = run_cli(*args)
    assert "pip install 'modelcrate[dask]'" in one_error(code, err)
    assert not (tmp_path / "r").exists()


def test_the_size_is_said_before_a_required_input_is_missed(run_cli, make_project, tmp_path):
    variables = tmp_path / "v.yml"
    variables.write_text(
        "input_variables:\n  x: {type: scalar, range: [0, 1]}\n  y: {type: scalar}\n"
        "output_variables:\n  z: {type: scalar}\n"
    )
    path = make_project(variables, project_name="needs-y", dest=tmp_path / "p")
    code, _, err = run_cli("sweep", path, "--grid", "x=0:1:3", "-t", tmp_path / "r")
    forget_modules("needs_y", path)
    assert "'y'" in one_error(code, err)


def test_values_outside_their_ranges_are_warned_of_a_few_times_not_per_set(
    run_cli, project, tmp_path
):
    args = ["sweep", project, "--grid", "laser_radius=0.5:3:50", "-t", tmp_path / "r"]
    code, out, err = run_cli(*args)
    assert code == 0 and "50 stored" in out, err
    warned = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warned[0].startswith("warning: --grid 'laser_radius=0.5:3:50': input 'laser_radius'")
    assert "warning: input set 10: input 'laser_radius' is 1.0102 outside the range" in err
    assert warned[-1] == "warning: and 35 more warnings like these (--json lists the first ones)"
    assert len(warned) == 7


def test_a_target_with_a_password_is_refused_for_a_running_cluster(
    run_cli, project, tmp_path, postgresql_db
):
    secret = postgresql_db.replace("postgresql://postgres@", "postgresql://postgres:SECRET@")
    args = ["sweep", project, "--grid", "laser_radius=0.1,0.2", "--dask", "tcp://127.0.0.1:1"]
    code, out, err = run_cli(*args, "-t", secret)
    line = one_error(code, err)
    assert "a target with a password cannot be handed to a Dask cluster" in line and "@NAME" in line
    assert "SECRET" not in out + err and "Running" not in err  # refused before anything starts
