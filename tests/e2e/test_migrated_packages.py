"""Each old package of tests/fixtures/migrate migrated as a user would: `migrate` builds the old
and the migrated wheel and finds them alike (or, where setup.py computed what cannot be read,
refuses until told), then the migrated package installs into a fresh environment, imports, runs
its command and takes its version from the same git tags."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _old_packages import git, old_package, tree_hash
from _projects import find_uv, sh

pytestmark = pytest.mark.slow

SAME = "Wheel parity: the migrated wheel installs what the old one did"


def installed(project: Path, where: Path) -> Path:
    """A fresh environment with `project` installed from its source (a wheel, not editable);
    its bin folder."""
    uv = find_uv()
    assert uv, "uv is a dev dependency"
    venv = where / "venv"
    sh(uv, "venv", "-q", "--python", sys.executable, venv)
    sh(uv, "pip", "install", "-q", "--python", venv / "bin" / "python", project, "pytest")
    return venv / "bin"


def passes_its_tests(project: Path, bin_: Path) -> str:
    """Run the project's own tests with its settings (pyproject.toml's [tool.pytest]) against
    the installed package; what pytest says."""
    return sh(bin_ / "python", "-m", "pytest", "-p", "no:cacheprovider", cwd=project).stdout


def test_setup_py_with_versioneer_keeps_its_modules_data_and_versions(run_cli, tmp_path):
    project = old_package("beam-sim", tmp_path)
    code, out, err = run_cli("migrate", project)
    assert code == 0, out + err
    assert SAME in out
    assert "~ module only in the old wheel: beam_sim/_version.py (meant: see above)" in out
    assert "~ requirement only in the old wheel: markup (meant: see above)" in out
    git(project, "tag", "v1.5.0")  # the next release, tagged as the old ones were
    bin_ = installed(project, tmp_path)
    done = sh(bin_ / "beam-sim", "2")  # reads the calibration data MANIFEST.in put in the wheel
    assert done.stdout == "beam-sim 1.5.0: emittance 5.000\n"
    assert " 1 passed" in passes_its_tests(project, bin_)


@pytest.mark.parametrize(
    ("name", "command", "expected"),
    [
        ("optics-fit", ["optics-fit", "1"], "optics-fit 2.1.0: beta 5.00\n"),
        ("field-maps", ["field-maps"], "field map gun: 3 points\n"),
        ("fast-track", ["fast-track", "2"], "kicked: 4.0\n"),
    ],
)
def test_declarative_and_src_layout_packages_install_alike(
    run_cli, tmp_path, name, command, expected
):
    project = old_package(name, tmp_path)
    code, out, err = run_cli("migrate", project, "-o", tmp_path / "migrated")
    assert code == 0, out + err
    assert SAME in out
    meant = [line for line in out.splitlines() if line.startswith("  ~ ")]
    assert meant == (
        [
            '  ~ requirement only in the migrated wheel: colorama>=0.4; sys_platform == "win32" '
            "(meant: see above)"
        ]
        if name == "field-maps"
        else []
    )
    bin_ = installed(tmp_path / "migrated", tmp_path)
    assert sh(bin_ / command[0], *command[1:]).stdout == expected
    if (tmp_path / "migrated" / "tests").is_dir():
        # optics-fit's [tool:pytest] (testpaths, filterwarnings = error) now read from pyproject
        said = passes_its_tests(tmp_path / "migrated", bin_)
        assert "configfile: pyproject.toml" in said and " 1 passed" in said


def test_values_only_a_build_knew_make_the_wheels_differ_until_accepted(run_cli, tmp_path):
    project = old_package("laser-env", tmp_path)
    before = tree_hash(project)
    code, out, _ = run_cli("migrate", project)
    assert code == 1
    assert (
        "! entry point only in the old wheel: [console_scripts] laser-env = laser_env.cli:main"
        in out
    )
    assert "! requirement only in the old wheel: packaging>=21" in out
    assert out.rstrip().endswith("Nothing was written.")
    assert tree_hash(project) == before
    code, out, _ = run_cli("migrate", project, "--accept-differences")
    assert code == 0
    assert "Committed on branch modelcrate-migrate" in out


def test_c_extensions_computed_when_building_keep_a_setup_py_and_build_alike(run_cli, tmp_path):
    project = old_package("fast-track", tmp_path)
    setup_py = (project / "setup.py").read_text()
    setup_py = setup_py.replace(
        'sources=["fast_track/_kick.c"]', 'sources=glob.glob("fast_track/*.c")'
    )
    (project / "setup.py").write_text("import glob\n" + setup_py)
    git(project, "commit", "-q", "-am", "Every C file of the package")
    code, out, err = run_cli("migrate", project)
    assert code == 0, out + err
    assert "  M setup.py: only the C extensions are left in it" in out and SAME in out
    bin_ = installed(project, tmp_path)
    assert sh(bin_ / "fast-track", "3").stdout == "kicked: 6.0\n"


@pytest.mark.parametrize(
    ("name", "output", "value"),
    [
        ("injector-surrogate", "sigma_x", 0.75),  # 2022: Prefect 1, evaluate given a dict
        ("bunch-compressor", "bunch_length", 4.5),  # 2023: Prefect 2, evaluate given a list
    ],
)
def test_a_lume_services_project_becomes_a_modelcrate_project(
    run_cli, tmp_path, name, output, value
):
    project = old_package(name, tmp_path)
    code, out, err = run_cli("migrate", project)
    assert code == 0, out + err
    assert SAME in out
    said_before = out
    package = name.replace("-", "_")
    assert f"~ module only in the old wheel: {package}/_version.py (meant: see above)" in out
    assert f"~ entry point only in the old wheel: [orchestration] {name}.model" in out
    assert (
        "`modelcrate check`; variables, entry-points, flow, evaluate, readme, dockerfile and "
        "version pass" in out
    )
    # the package moved under src/ with its history: git follows each renamed file
    assert not (project / package).exists()
    assert git(project, "log", "--follow", "--format=%s", "--", f"src/{package}/model.py") == (
        "Move the packaging from setup.py and setup.cfg to pyproject.toml\nFirst release"
    )
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["image.yml", "release.yml", "tests.yml"]
    for workflow in workflows:
        assert yaml.safe_load(workflow.read_text())["jobs"], workflow
    bin_ = installed(project, tmp_path)
    said = passes_its_tests(project, bin_)
    assert " 2 passed" in said, said
    sh(bin_ / "modelcrate", "run", name, "--target", tmp_path / "results")
    (stored,) = (tmp_path / "results" / name).glob("*.json")
    assert json.loads(stored.read_text())["outputs"] == {output: pytest.approx(value)}
    if name == "bunch-compressor":  # the old flow's plain task, carried over into the new one
        script = (
            "from bunch_compressor.modelcrate_flow import preprocess\nprint(preprocess.fn(-0.05))"
        )
        assert sh(bin_ / "python", "-c", script).stdout == "{'BC1:chicane:R56': -0.05}\n"
    if name == "injector-surrogate":  # the Prefect 3 flow that replaced the Prefect 1 one
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
        done = sh(
            bin_ / "modelcrate", "run", name, "--prefect", "--target", tmp_path / "results", env=env
        )
        assert f"{output}  {value}" in done.stdout
        assert len(list((tmp_path / "results" / name).glob("*.json"))) == 1  # the same result
    # exactly the checks the report leaves to the user: portable, when this modelcrate is
    # required by a path (as a checkout installs it), else none
    assert left_to_the_user(said_before) <= {"portable"}
    assert checks_failed(run_cli, project, bin_) == left_to_the_user(said_before)
    code, out, err = run_cli("migrate", project)  # a second time: nothing left to do
    assert code == 0 and "already migrated" in out, out + err
    # the tests workflow's lint passes once `ruff check --fix .` has run, as the report says
    ruff = Path(sys.executable).parent / "ruff"
    sh(ruff, "check", "--fix", "-q", ".", cwd=project)
    assert sh(ruff, "check", ".", cwd=project).returncode == 0


def test_a_lume_model_whose_evaluate_cannot_be_read_is_left_as_a_manual_step(run_cli, tmp_path):
    """2024: evaluate hands its variables to a helper, so their shape is not known."""
    project = old_package("gun-laser", tmp_path)
    code, out, err = run_cli("migrate", project)
    assert code == 0, out + err
    assert "gun_laser/modelcrate_model.py: a manual step; GunLaserModel.evaluate takes" in out
    bin_ = installed(project, tmp_path)
    said = passes_its_tests(project, bin_)
    assert " 2 xfailed" in said, said
    done = subprocess.run(
        [bin_ / "modelcrate", "run", "gun-laser", "--target", tmp_path / "results"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "pass `variables` or `list(variables.values())`" in done.stderr, done.stderr
    assert "left to you: evaluate (until the manual step noted on src/gun_laser/" in out
    assert left_to_the_user(out) - {"portable"} == {"evaluate"}
    assert checks_failed(run_cli, project, bin_) == left_to_the_user(out)


def checks_failed(run_cli, project: Path, bin_: Path) -> set[str]:
    """The checks of `modelcrate check` that fail on `project` in the environment `bin_`."""
    code, out, err = run_cli("check", project, "--python", bin_ / "python", "--json")
    assert out.startswith("["), out + err
    failed = {r["name"] for r in json.loads(out) if not r["ok"]}
    assert code == (1 if failed else 0), out + err
    return failed


def left_to_the_user(report: str) -> set[str]:
    """The checks the migration report's `modelcrate check` note leaves to the user."""
    (line,) = [line for line in report.splitlines() if "`modelcrate check`;" in line]
    left = line.partition("left to you: ")[2]
    parts = re.split(r"; (?=[a-z-]+(?: and [a-z-]+)? \()", left) if left else []
    return {name for part in parts for name in part.split(" (")[0].split(" and ")}
