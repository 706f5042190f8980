"""`examples/quickstart.sh [DIRECTORY]`, as the README has a new user run it: twice in a row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _projects import EXAMPLES, ROOT, find_uv, sh, without_prefect_settings

QUICKSTART = EXAMPLES / "quickstart.sh"


def _environment_with_modelcrate(where: Path) -> Path:
    """A new virtual environment (with pip) holding this checkout of modelcrate with its project
    tools, as the README's Quick Start installs it; its bin/."""
    uv = find_uv()
    venv = where / "venv"
    sh(uv, "venv", "-q", "--seed", "--python", sys.executable, venv)
    sh(uv, "pip", "install", "-q", "--python", venv / "bin" / "python", "-e", f"{ROOT}[tools]")
    return venv / "bin"


def test_an_existing_directory_it_did_not_make_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    done = subprocess.run(
        ["bash", QUICKSTART, "taken"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: taken exists and is not a project made by this script; give another directory: "
        "examples/quickstart.sh DIRECTORY\n"
    )
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_quickstart_runs_twice_in_the_same_directory(tmp_path):
    bin_dir = _environment_with_modelcrate(tmp_path)
    env = {**without_prefect_settings(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    first = sh("bash", QUICKSTART, "demo", cwd=tmp_path, env=env)
    assert "==> modelcrate new: making demo from examples/injector/variables.yml" in first.stdout
    assert "Stored result " in first.stdout
    model = tmp_path / "demo" / "src" / "injector_surrogate" / "model.py"
    model.write_text(model.read_text() + "\n# my edit\n")

    second = sh("bash", QUICKSTART, "demo", cwd=tmp_path, env=env)
    lines = second.stdout.splitlines()
    assert lines[0] == (
        "==> reusing the project in demo, made by an earlier run (rm -rf 'demo' to start afresh)"
    )
    assert "Stored result " in second.stdout
    assert model.read_text().endswith("# my edit\n")  # the user's edits are kept
