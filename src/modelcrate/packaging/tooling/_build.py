"""`build_project`: build a project's sdist and wheel with a PEP 517 front end, then inspect the wheel.

The front end is uv when it is installed (next to this Python, or on PATH), else `python -m build`.
Both build in an isolated environment with the project's declared backend.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..._errors import ProjectError
from .._project import data_patterns, read_project
from .._tools import Frontend, build_frontend, run_tool
from .._wheel import Problem, WheelContentsDict, WheelReport, inspect_wheel

log = logging.getLogger("modelcrate.packaging")

_SHOWN_LINES = 30  # lines of a failed build's output logged for --verbose
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Failure): .+")
_ERROR_LINE = re.compile(r"^(?:error|ERROR)\b:?\s*(.+)")


class BuildReportDict(WheelContentsDict):
    """`BuildReport.to_dict()`: the project, the front end and the two files built, then what
    the wheel holds."""

    project: str
    frontend: Literal["uv", "build"]
    sdist: str
    wheel: str


@dataclass(frozen=True)
class BuildReport:
    """What `build_project` made (sdist, wheel), with which front end, and what the wheel holds."""

    project: Path
    frontend: Literal["uv", "build"]
    sdist: Path
    wheel: Path
    contents: WheelReport

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.contents.problems

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Missing essentials: the package would not work as a model once installed."""
        return self.contents.errors

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Things in the wheel that should not be there."""
        return self.contents.warnings

    def to_dict(self) -> BuildReportDict:
        """The report as JSON-ready data (what `modelcrate build --json` prints)."""
        contents = self.contents.to_dict()
        return {
            "project": str(self.project),
            "frontend": self.frontend,
            "sdist": str(self.sdist),
            "wheel": str(self.wheel),
            "files": contents["files"],
            "size": contents["size"],
            "entry_points": contents["entry_points"],
            "license_files": contents["license_files"],
            "metadata": contents["metadata"],
            "warnings": contents["warnings"],
            "errors": contents["errors"],
        }


def build_project(
    project: str | os.PathLike[str],
    outdir: str | os.PathLike[str] | None = None,
    *,
    frontend: Frontend = "auto",
) -> BuildReport:
    """Build PROJECT's sdist and wheel into `outdir` (default PROJECT/dist) and inspect the wheel.

    Raises `ProjectError` when PROJECT is not a project or the build fails.
    """
    root = Path(project).expanduser().resolve()
    read_project(root)  # a ProjectError unless root holds a usable pyproject.toml
    data = data_patterns(root)
    out = Path(outdir).expanduser().resolve() if outdir is not None else root / "dist"
    command, used = build_frontend(frontend)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"{out}: cannot create the output folder ({exc.strerror})") from None

    # Built in a fresh folder beside the results, then renamed into place: what was just built
    # is known, and a failed build leaves the output folder as it was.
    work = Path(tempfile.mkdtemp(prefix=".modelcrate-build-", dir=out))
    try:
        _run([*command, str(work), str(root)], root, used)
        sdist = _one(work, "*.tar.gz", root, used)
        wheel = _one(work, "*.whl", root, used)
        for built in (sdist, wheel):
            os.replace(built, out / built.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sdist, wheel = out / sdist.name, out / wheel.name
    log.info("built %s and %s", sdist.name, wheel.name)
    return BuildReport(root, used, sdist, wheel, inspect_wheel(wheel, data=data))


def _run(command: list[str], root: Path, used: str) -> None:
    shown = "uv" if used == "uv" else "python -m build"
    log.info("building the sdist and wheel with %s: %s", shown, " ".join(command))
    done = run_tool(command, cwd=root)
    output = "\n".join(s for s in (done.stdout, done.stderr) if s)
    if done.returncode == 0:
        return
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    log.info("%s output (last %d lines):\n%s", used, _SHOWN_LINES, "\n".join(lines[-_SHOWN_LINES:]))
    raise ProjectError(
        f"{root}: the build failed ({_cause(lines) or f'{used} exited with {done.returncode}'}); "
        "fix it and build again (`modelcrate -v build` shows the build output)"
    )


def _cause(lines: list[str]) -> str | None:
    """The line of a build's output that says why it failed: the backend's exception, if any."""
    stripped = [line.strip() for line in lines]
    for line in reversed(stripped):
        if _EXCEPTION_LINE.match(line):
            return line
    for line in reversed(stripped):
        found = _ERROR_LINE.match(line)
        if found:
            return found.group(1)
    return stripped[-1] if stripped else None


def _one(folder: Path, pattern: str, root: Path, used: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise ProjectError(
            f"{root}: {used} made {len(found)} files matching {pattern} instead of one; "
            "check the build backend's configuration in pyproject.toml"
        )
    return found[0]
