"""The environment a deployed model version runs in: a virtual environment of its own, made from
its wheel (and its locked requirements, with their hashes, when it has them), so that two versions
of one model deployed side by side each run their own code.

An environment is made once per wheel (its name holds the wheel's sha256) under the user data
directory's `environments/`, by uv; a marker written last says it is whole, so one whose making
was cut short is made again, and a lock keeps two deploys from making it at once.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._errors import DeployError
from ..runtime import file_sha256

_COMPLETE = ".modelcrate-environment"
_WHEEL_NAME = re.compile(r"(?P<name>[^-]+)-(?P<version>[^-]+)(-[^-]+)*\.whl\Z")
INSTALL_TIMEOUT = 1800.0
"""Seconds an install may take (a version's first install downloads its dependencies)."""


@dataclass(frozen=True)
class VersionEnvironment:
    """A model version's environment: where it is, its Python, and the wheel it holds."""

    path: Path
    python: Path
    wheel_sha256: str
    made: bool
    """Whether it was made now (False: it was there already)."""


def environments_root() -> Path:
    """Where the versions' environments live (`MODELCRATE_ENVIRONMENTS` moves it)."""
    given = os.environ.get("MODELCRATE_ENVIRONMENTS", "").strip()
    if given:
        return Path(given).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("modelcrate")) / "environments"


def version_environment(
    wheel: Path,
    *,
    requirements: Path | None = None,
    root: Path | None = None,
    python: str | None = None,
) -> VersionEnvironment:
    """The environment of the version `wheel` holds: made now from the wheel (with
    `requirements`, a lock with hashes, installed first with `--require-hashes`, and the wheel
    then with `--no-deps`), or found whole from an earlier deploy. `python` is the interpreter
    to base it on (this one by default). A `DeployError` says what could not be installed."""
    from ..packaging import find_uv  # the project tools: loaded when a version is deployed

    match = _WHEEL_NAME.match(wheel.name)
    if not wheel.is_file() or match is None:
        raise DeployError(f"{wheel}: not a wheel file (NAME-VERSION-...-.whl)")
    uv = find_uv()
    if uv is None:
        raise DeployError("making a version's environment needs uv: pip install uv")
    sha = file_sha256(wheel)
    root = root or environments_root()
    path = root / f"{match['name']}-{match['version']}-{sha[:12]}".lower()
    bin_dir = "Scripts" if sys.platform == "win32" else "bin"
    interpreter = path / bin_dir / ("python.exe" if sys.platform == "win32" else "python")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{path.name}.lock"):
        marker = path / _COMPLETE
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == sha:
            return VersionEnvironment(path, interpreter, sha, made=False)
        if path.exists():  # cut short before: made again from the start
            shutil.rmtree(path)
        _install(uv, path, interpreter, wheel, requirements, python or sys.executable)
        marker.write_text(sha + "\n", encoding="utf-8")
    return VersionEnvironment(path, interpreter, sha, made=True)


def _install(
    uv: str, path: Path, interpreter: Path, wheel: Path, requirements: Path | None, base: str
) -> None:
    steps: list[list[str | os.PathLike[str]]] = [[uv, "venv", "-q", "--python", base, path]]
    if requirements is not None:
        steps.append(
            [uv, "pip", "install", "-q", "--python", interpreter, "--require-hashes", "-r",
             requirements]
        )  # fmt: skip
        steps.append([uv, "pip", "install", "-q", "--python", interpreter, "--no-deps", wheel])
    else:
        steps.append([uv, "pip", "install", "-q", "--python", interpreter, wheel])
    try:
        for step in steps:
            run_step(step, failed=f"installing {wheel.name} into its environment failed")
    except DeployError:
        shutil.rmtree(path, ignore_errors=True)
        raise


def run_step(
    command: list[str | os.PathLike[str]],
    *,
    failed: str,
    timeout: float = INSTALL_TIMEOUT,
    lines: int = 1,
) -> None:
    """Run one step of making an environment (uv, most often); a `DeployError` of `failed`
    and the reason (the tool's last `lines` lines) when it cannot start, takes longer than
    `timeout` seconds or fails."""
    from ..packaging import run_tool  # the project tools: loaded when an environment is made

    try:
        done = run_tool(command, timeout=timeout)
    except OSError as exc:  # the tool could not start, or took too long
        raise DeployError(f"{failed}: {Path(command[0]).name} could not run ({exc})") from None
    if done.returncode != 0:
        said = [line.strip() for line in (done.stderr or done.stdout or "").splitlines()]
        said = [line for line in said if line]
        reason = " ".join(said[-lines:]) if said else f"exit code {done.returncode}"
        raise DeployError(f"{failed}: {reason}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
