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
