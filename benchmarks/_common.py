"""Shared set-up for the benchmarks: options, timing, the example project and its install.

Not a benchmark itself; the `bench_*.py` scripts import it (they run with `benchmarks/` on
`sys.path`). By default the benchmarks measure this checkout's `src/` (put first on `sys.path`
and on `PYTHONPATH` for subprocesses), so the numbers are for the code in the tree even when the
environment holds an older, non-editable copy of modelcrate; `--installed` measures the installed
copy instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
EXAMPLE = ROOT / "examples" / "injector"
VARIABLES = EXAMPLE / "variables.yml"
MODEL_PY = EXAMPLE / "model.py"
EXAMPLE_DIST = "injector-surrogate"
EXAMPLE_PACKAGE = "injector_surrogate"


def parser(description: str, *, repeat: int) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--repeat",
        type=int,
        default=repeat,
        help=f"timed runs per measurement; the median is reported (default: {repeat})",
    )
    p.add_argument(
        "--installed",
        action="store_true",
        help="measure the installed modelcrate instead of this checkout's src/",
    )
    return p


def use_checkout(installed: bool) -> dict[str, str]:
    """Make this process and its subprocesses import modelcrate from src/ (unless `installed`).

    Returns the environment for subprocesses.
    """
    env = dict(os.environ)
    if not installed:
        sys.path.insert(0, str(SRC))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    return env


def describe_modelcrate(env: dict[str, str]) -> str:
    """Which modelcrate the subprocesses import: version and location."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import modelcrate; print(modelcrate.__version__, modelcrate.__file__)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    version, _, where = done.stdout.strip().partition(" ")
    return f"modelcrate {version} from {Path(where).parent}"


def modelcrate_command() -> list[str]:
    """The `modelcrate` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("modelcrate")
    if script.exists():
        return [str(script)]
    found = shutil.which("modelcrate")
    return [found] if found else [sys.executable, "-m", "modelcrate"]


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; on failure raise with its output; return its stdout."""
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} exited with {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes (perf_counter)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000.0


def spread(seconds: list[float], scale: float = 1000.0, unit: str = "ms", digits: int = 0) -> str:
    """`min..max` of a list of timings, for the reader to judge the noise."""
    return f"{min(seconds) * scale:.{digits}f}..{max(seconds) * scale:.{digits}f} {unit}"


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_example_project(tmp: Path, env: dict[str, str]) -> Path:
    """`modelcrate new examples/injector/variables.yml -o TMP/injector --yes` + the reference model."""
    project = tmp / "injector"
    run([*modelcrate_command(), "new", str(VARIABLES), "-o", str(project), "--yes"], env=env)
    shutil.copyfile(MODEL_PY, project / "src" / EXAMPLE_PACKAGE / "model.py")
    return project


def _installer() -> list[str]:
    uv = Path(sys.executable).with_name("uv")
    found = str(uv) if uv.exists() else shutil.which("uv")
    if found:
        return [found, "pip", "install", "--python", sys.executable, "--quiet"]
    return [sys.executable, "-m", "pip", "install", "--quiet"]


def _uninstaller() -> list[str]:
    uv = Path(sys.executable).with_name("uv")
    found = str(uv) if uv.exists() else shutil.which("uv")
    if found:
        return [found, "pip", "uninstall", "--python", sys.executable, "--quiet"]
    return [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet"]


def _editable_location(dist_name: str) -> Path | None:
    """Where an editable install of `dist_name` points, if it is installed editable."""
    try:
        text = distribution(dist_name).read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    url = info.get("url", "")
    if info.get("dir_info", {}).get("editable") and url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(url).path))
    return None


@contextmanager
def installed_example(project: Path) -> Iterator[None]:
    """Install `project` editable into this interpreter's environment; afterwards, put back
    the editable install of the example that was there before (if its directory still
    exists), or uninstall it.

    `--no-deps`: the project's dependencies (modelcrate, numpy, prefect, click, fastapi) are the
    environment's own; resolving them would rebuild and reinstall modelcrate from its
    `modelcrate @ file://...` requirement, changing the environment under test.
    """
    before = _editable_location(EXAMPLE_DIST)
    run([*_installer(), "--no-deps", "-e", str(project)])
    try:
        yield
    finally:
        if before is not None and before.is_dir() and before != project:
            run([*_installer(), "--no-deps", "-e", str(before)])
        else:
            subprocess.run([*_uninstaller(), EXAMPLE_DIST], capture_output=True, check=False)
