"""A reader that leaves early (`modelcrate ... | head -1`) ends the command quietly, as it
ends other Unix tools."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _projects import EXAMPLE


def _into_closed_pipe(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    """Run `modelcrate ARGS` writing into a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "modelcrate", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            timeout=300,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        # (a released modelcrate: from this checkout, `new` adds a note on standard error)
        ["new", str(EXAMPLE), "-o", "made", "--yes", "--no-git", "--modelcrate-requirement", "0.1"],
        ["upgrade-variables", str(EXAMPLE), "-o", "-"],
    ],
    ids=["help", "new", "upgrade-variables"],
)
def test_a_closed_pipe_ends_the_command_quietly(tmp_path, args):
    done = _into_closed_pipe(*args, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")


def test_new_into_head_makes_the_whole_project(tmp_path):
    done = subprocess.run(
        f"set -o pipefail; {sys.executable} -m modelcrate new {EXAMPLE} -o made --yes --no-git"
        " --modelcrate-requirement 0.1 | head -1",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Created injector-surrogate in made ")
    assert (tmp_path / "made" / "src" / "injector_surrogate" / "flow.py").is_file()


def test_a_broken_pipe_to_another_program_is_still_an_error(run_cli, monkeypatch):
    def broken(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("modelcrate.runtime.find_model", broken)
    code, _, err = run_cli("run", "some-model")
    assert code == 1
    assert err.startswith("error: internal error: BrokenPipeError: [Errno 32] Broken pipe")


MISSPELT_VARIABLES = """\
input_variables:
  x: {variable_class: ScalarVariable, default_value: 1.0, unitz: m}
output_variables:
  y: {variable_class: ScalarVariable}
"""


def _project_with_a_warning(root):
    """A one-input project whose variables file has a misspelt key (a warning on each run)."""
    package = root / "src" / "warned_model"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "warned-model"\nversion = "0.1.0"\n\n'
        '[project.entry-points."modelcrate.models"]\n'
        'warned-model = "warned_model.model:Warned"\n'
    )
    (package / "__init__.py").write_text("")
    (package / "variables.yml").write_text(MISSPELT_VARIABLES)
    (package / "model.py").write_text(
        "from importlib.resources import files\n\n"
        "from modelcrate import Model, load_spec\n\n\n"
        "class Warned(Model):\n"
        '    spec = load_spec(files(__package__) / "variables.yml")\n\n'
        "    def evaluate(self, inputs):\n"
        '        return {"y": 2 * inputs["x"]}\n'
    )
    return root


def _errors_into_closed_pipe(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    """Run `modelcrate ARGS` with standard error a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "modelcrate", *args],
            stdout=subprocess.PIPE,
            stderr=write,
            text=True,
            cwd=cwd,
            timeout=300,
        )
    finally:
        os.close(write)


def test_a_closed_standard_error_neither_stops_the_work_nor_changes_the_exit_code(tmp_path):
    project = _project_with_a_warning(tmp_path / "warned")
    done = _errors_into_closed_pipe("run", str(project), "-t", "results", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("Stored result ")
    assert len(list((tmp_path / "results" / "Warned").glob("*.json"))) == 1

    refused = _errors_into_closed_pipe("run", str(project), "--set", "z=1", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
