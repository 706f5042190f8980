"""Running outside programs: uv, the build front ends, pipenv, git and a project's own Python.

Every packaging module that runs a program does it through here: output is captured as text
(undecodable bytes replaced), a program that cannot start raises `OSError`, one that takes longer
than its timeout is killed and raises `TimeoutError` (an `OSError` too: catch it first); the exit
code is the caller's to read.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

from .._errors import ProjectError

Completed: TypeAlias = "subprocess.CompletedProcess[str]"
"""A program `run_tool` ran: its exit code (`returncode`), `stdout` and `stderr`."""
Background: TypeAlias = "subprocess.Popen[str]"
"""A program started by `start_tool`, running beside modelcrate."""

Frontend = Literal["auto", "uv", "build"]
FRONTENDS: tuple[str, ...] = ("auto", "uv", "build")


def program(process: subprocess.Popen[Any] | subprocess.CompletedProcess[Any]) -> str:
    """The program a process runs (its first argument), for messages."""
    args = process.args
    first = args[0] if isinstance(args, (list, tuple)) and args else args
    return os.fsdecode(first) if isinstance(first, (str, bytes, os.PathLike)) else str(first)


def run_tool(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
) -> Completed:
    """Run `command` to its end and capture what it says; `env` replaces the environment."""
    try:
        return subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{command[0]} took more than {timeout} s") from None


def start_tool(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
) -> Background:
    """Start `command` in the background with no input; its output is dropped, its error
    output kept for `finish_tool`."""
    return subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )


def finish_tool(process: Background, *, timeout: float | None = None) -> tuple[int, str]:
    """Wait for a program `start_tool` started: its exit code and error output.

    Past `timeout` it is killed and `TimeoutError` raised.
    """
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_tool(process)
        raise TimeoutError(f"{program(process)} took more than {timeout} s") from None
    return process.returncode, stderr or ""


def stop_tool(process: Background) -> None:
    """Kill a program `start_tool` started, and wait for it to end."""
    process.kill()
    process.communicate()


def find_uv() -> str | None:
    """The uv executable: next to this Python (same environment), the one the `uv` package
    ships, or the one on PATH; None when there is none."""
    beside = shutil.which("uv", path=str(Path(sys.executable).parent))
    if beside:
        return beside
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def find_pipenv() -> list[str]:
    """The command that runs pipenv: the one on PATH, else the one installed beside modelcrate;
    empty when there is none."""
    found = shutil.which("pipenv")
    if found:
        return [found]
    return [sys.executable, "-m", "pipenv"] if importlib.util.find_spec("pipenv") else []


def build_frontend(choice: Frontend) -> tuple[list[str], Literal["uv", "build"]]:
    """The PEP 517 front end's command line up to its output-folder option, and its name:
    uv when `choice` allows it and it is installed, else `python -m build`."""
    uv = find_uv() if choice in ("auto", "uv") else None
    if uv:
        return [uv, "build", "--python", sys.executable, "--sdist", "--wheel", "--out-dir"], "uv"
    if choice == "uv":
        raise ProjectError(
            "uv is not installed: install it (pip install uv) or use --frontend build"
        )
    if importlib.util.find_spec("build") is None:
        raise ProjectError(
            "neither uv nor build is installed: install one of them (pip install uv, or "
            "pip install build)"
        )
    return [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir"], "build"


def project_interpreter(
    project: str | os.PathLike[str],
    python: str | os.PathLike[str] | None = None,
    *,
    required: bool = False,
) -> Path:
    """The Python of PROJECT's environment: `python` when given, else PROJECT/.venv's.

    Without a .venv: this Python, or a `ProjectError` saying how to make one when `required`.
    """
    if python is not None:
        path = Path(python).expanduser()
        if not path.is_file():
            raise ProjectError(f"--python {python}: no such interpreter; give the path of a python")
        return path
    root = Path(project).expanduser().resolve()
    scripts, exe = ("Scripts", "python.exe") if sys.platform == "win32" else ("bin", "python")
    venv_python = root / ".venv" / scripts / exe
    if venv_python.is_file():
        return venv_python
    create = f"cd {root} && python -m venv .venv && .venv/bin/pip install -e '.[dev]'"
    if (root / ".venv").is_dir():  # there, but broken: its base Python was removed, say
        raise ProjectError(
            f"{root / '.venv'}: has no working python ({venv_python} is missing or a broken "
            f"link); recreate it (rm -rf .venv, then {create}), or give --python PATH"
        )
    if not required:
        return Path(sys.executable)
    raise ProjectError(
        f"{root}: no environment at .venv; create it ({create}), or give --python PATH"
    )


def wheel_command(out_dir: Path, project: Path) -> list[str]:
    """The command that builds `project`'s wheel straight from its source tree into `out_dir`,
    in an isolated environment with the project's declared backend: uv when installed, else
    `python -m build`."""
    uv = find_uv()
    if uv:
        return [
            uv,
            "build",
            "--python",
            sys.executable,
            "--wheel",
            "--out-dir",
            str(out_dir),
            str(project),
        ]
    if importlib.util.find_spec("build") is None:
        raise ProjectError(
            "neither uv nor build is installed: install one of them (pip install uv, or "
            "pip install build)"
        )
    return [sys.executable, "-m", "build", "--wheel", "--outdir", str(out_dir), str(project)]
