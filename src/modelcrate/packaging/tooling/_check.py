"""`check_project`: the conformance check of a project, for CI and before a deploy.

The checks that import the project's code (variables, entry points, flow, evaluate) run in one
child interpreter (`_check_probe`), so a broken project cannot break modelcrate; the static ones
(README tables, Dockerfile, version) run here, while the child imports Prefect.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from ..._errors import ModelcrateError, ProjectError
from ...runtime import LOCAL_PREFECT_SETTINGS
from ...spec import MAX_FILE_BYTES, load_spec
from .._git import git_toplevel
from .._options import portable_requirement
from .._project import (
    ANSWERS_FILE,
    DOCKERFILE,
    LOCK_DIR,
    PIPFILE,
    PIPFILE_LOCK,
    PYPROJECT,
    README,
    project_package,
    read_pyproject,
    variables_path,
)
from .._tables import variable_table
from .._tools import Background, finish_tool, program, project_interpreter, start_tool, stop_tool
from . import _check_probe

_PROBE_CHECKS = tuple(_check_probe.CHECKS)
CHECKS = (*_PROBE_CHECKS, "readme", "dockerfile", "portable", "version")
"""The checks, in the order they are reported."""

PROBE_TIMEOUT_SECONDS = 600
"""How long the checks that import the project may take (an `evaluate` that hangs fails)."""


class CheckResultDict(TypedDict):
    """`CheckResult.to_dict()`; `modelcrate check --json` prints a list of them."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and one line saying what was verified or what to fix."""

    name: str
    ok: bool
    message: str

    def to_dict(self) -> CheckResultDict:
        """The result as JSON-ready data."""
        return {"name": self.name, "ok": self.ok, "message": self.message}


def check_project(
    project: str | os.PathLike[str], *, python: str | os.PathLike[str] | None = None
) -> list[CheckResult]:
    """Run every check on PROJECT; `ProjectError` if it is not a project at all.

    The checks that import the project run with `python` (default: PROJECT/.venv's interpreter
    if there is one, else this one), importing the project from PROJECT/src.
    """
    root = Path(project).expanduser().resolve()
    pyproject = read_pyproject(root)
    package = project_package(root, pyproject)
    variables = variables_path(root, package.replace(".", "/")) if package else None
    with tempfile.TemporaryDirectory(prefix="modelcrate-check-") as tmp:
        probe = _start_probe(root, package, variables, project_interpreter(root, python), Path(tmp))
        try:
            static = [
                check_readme(root, variables),
                check_dockerfile(root),
                check_portable(root),
                check_version(root, pyproject),
            ]
        except BaseException:
            stop_tool(probe)
            raise
        imported = _finish_probe(probe, Path(tmp))
    return imported + static


# -- the checks that import the project -----------------------------------------------------------


def _probe_source() -> str:
    return Path(_check_probe.__file__).read_text(encoding="utf-8")


def _start_probe(
    root: Path, package: str | None, variables: Path | None, python: Path, tmp: Path
) -> Background:
    config = {
        "project": str(root),
        "package": package,
        "variables": str(variables) if variables else None,
        "out": str(tmp / "results.json"),
    }
    (tmp / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # leave no __pycache__ in the project
    env.setdefault("PREFECT_HOME", str(tmp / "prefect"))  # importing Prefect writes nothing else
    for key, value in {**LOCAL_PREFECT_SETTINGS, "PREFECT_LOGGING_TO_API_ENABLED": "false"}.items():
        env.setdefault(key, value)
    try:
        # The project's own prints (stdout) are dropped; the results come back in a file.
        return start_tool([python, "-c", _probe_source(), tmp / "config.json"], cwd=root, env=env)
    except OSError as exc:
        raise ProjectError(
            f"{python}: cannot run this Python ({exc}); give another --python"
        ) from None


def _finish_probe(probe: Background, tmp: Path) -> list[CheckResult]:
    try:
        returncode, stderr = finish_tool(probe, timeout=PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        return _all_failed(
            f"importing and evaluating the project took more than {PROBE_TIMEOUT_SECONDS} s; "
            "make sure evaluate on the defaults ends"
        )
    out = tmp / "results.json"
    if returncode != 0 or not out.is_file():
        lines = [line for line in stderr.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {returncode}"
        return _all_failed(
            f"the check process ({program(probe)}) failed: {last}; is modelcrate installed "
            "in that environment? (give another one with --python)"
        )
    found = {item["name"]: item for item in json.loads(out.read_text(encoding="utf-8"))}
    return [
        CheckResult(name, bool(found[name]["ok"]), str(found[name]["message"]))
        if name in found
        else CheckResult(
            name, False, "not run: the modelcrate in the project's environment is older; upgrade it"
        )
        for name in _PROBE_CHECKS
    ]


def _all_failed(message: str) -> list[CheckResult]:
    return [CheckResult(name, False, message) for name in _PROBE_CHECKS]


# -- README ---------------------------------------------------------------------------------------

_REGENERATE = (
    "make it match variables.yml (the source of the tables: after editing variables.yml, "
    "`modelcrate update` rewrites them)"
)


def check_readme(root: Path, variables: Path | None) -> CheckResult:
    """The README's input and output tables equal the ones rendered from the variables file."""
    name = "readme"
    if variables is None:
        return CheckResult(name, False, "cannot compare: no src/PACKAGE/variables.yml found")
    try:
        spec = load_spec(variables)
    except ModelcrateError:
        shown = variables.relative_to(root)
        return CheckResult(name, False, f"cannot compare: {shown} does not load (see variables)")
    try:
        lines = (root / README).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return CheckResult(name, False, f"no {README}; add one with the variable tables")
    for role, table in (
        ("inputs", variable_table(spec.inputs, inputs=True)),
        ("outputs", variable_table(spec.outputs, inputs=False)),
    ):
        problem = _table_difference(lines, table.splitlines(), role)
        if problem:
            return CheckResult(name, False, f"{README}: {problem}; {_REGENERATE}")
    return CheckResult(name, True, "the inputs and outputs tables match variables.yml")


def _table_difference(lines: list[str], want: list[str], role: str) -> str | None:
    """Where the README's table headed like `want` differs from it, or None if it is equal."""
    header = want[0]
    starts = [i for i, line in enumerate(lines) if _same_row(line, header)]
    if not starts:
        return f"no {role} table (headed `{header}`)"
    start = starts[0]
    got = []
    for line in lines[start:]:
        if not line.strip().startswith("|"):
            break
        got.append(line.strip())
    for offset, (have, expected) in enumerate(zip(got, want, strict=False)):
        if not _same_row(have, expected):
            return f"line {start + offset + 1}: {_row_difference(have, expected, want[0], role)}"
    end = start + len(got) + 1
    if len(got) < len(want):
        return f"line {end}: the {role} table ends before the row of {_row_name(want[len(got)])}"
    if len(got) > len(want):
        row = _row_name(got[len(want)]) or "a row"
        return f"line {end - 1}: the {role} table has {row}, which variables.yml does not declare"
    return None


def _row_difference(have: str, expected: str, header: str, role: str) -> str:
    """What differs between a README row and the rendered one: the variable, column and values."""
    columns, a, b = _cells(header), _cells(have), _cells(expected)
    name_have, name_expected = _row_name(have), _row_name(expected)
    if name_expected is None:
        return f"the {role} table's header or separator is `{_short(have)}`, not `{expected}`"
    if name_have != name_expected:
        return (
            f"the {role} table has {name_have or f'`{_short(have)}`'} "
            f"where variables.yml has {name_expected}"
        )
    if len(a) == len(b) == len(columns):
        for column, x, y in zip(columns, a, b, strict=True):
            if x != y:
                return (
                    f"{role} table row {name_expected}: {column} is `{_short(x)}`, "
                    f"variables.yml gives `{_short(y)}`"
                )
    return f"{role} table row {name_expected} is `{_short(have)}`, not `{_short(expected)}`"


_SEPARATOR_CELL = re.compile(r":?-+:?")


def _same_row(line: str, expected: str) -> bool:
    """Whether two Markdown table rows say the same: equal cells, whatever the padding (as
    table formatters write it); any two separator rows (`|---|`, `| :--- |`) are equal."""
    a, b = _cells(line), _cells(expected)
    if not line.strip().startswith("|") or len(a) != len(b):
        return False
    if all(_SEPARATOR_CELL.fullmatch(c) for c in a + b):
        return True
    return a == b


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _row_name(line: str) -> str | None:
    match = re.match(r"\|\s*(`[^`]*`)", line)
    return match.group(1) if match else None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- Dockerfile -----------------------------------------------------------------------------------

_ROOT_USERS = {"root", "0"}
_WHEEL_INSTALL = re.compile(r"\bpip3?\s+install\b[^;&|]*(\.whl\b|\bdist\b)")


def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    found: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        instruction, _, arguments = " ".join(pending).partition(" ")
        found.append((start, instruction.upper(), arguments.strip()))
        pending = []
    return found


def check_dockerfile(root: Path) -> CheckResult:
    """The image's final stage runs as a non-root user and the Dockerfile pip-installs the wheel."""
    name = "dockerfile"
    try:
        instructions = dockerfile_instructions((root / DOCKERFILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return CheckResult(name, False, f"no {DOCKERFILE}; add one that installs the wheel")
    stages = [i for i, (_, op, _) in enumerate(instructions) if op == "FROM"]
    final = instructions[stages[-1] if stages else 0 :]
    users = [(line, args) for line, op, args in final if op == "USER"]
    installs = [line for line, op, args in final if op == "RUN" and _WHEEL_INSTALL.search(args)]
    if not users:
        return CheckResult(
            name,
            False,
            f"{DOCKERFILE}: the final stage has no USER line, so it runs as root; "
            "add a numeric non-root user, e.g. `USER 1000:1000` (after `RUN useradd --uid 1000 "
            "--create-home model`), before ENTRYPOINT",
        )
    line, user = users[-1]
    if _user_name(user) in _ROOT_USERS:
        return CheckResult(
            name,
            False,
            f"{DOCKERFILE} line {line}: `USER {user}` runs the image as root; "
            "end with a numeric non-root user, e.g. `USER 1000:1000`",
        )
    if not installs:
        return CheckResult(
            name,
            False,
            f"{DOCKERFILE}: no RUN line of the final stage pip-installs the built wheel; "
            "build it (`python -m build --wheel`) and `pip install` the dist/*.whl in the "
            "image that runs",
        )
    return CheckResult(
        name, True, f"runs as `{user}` (line {line}), installs the wheel (line {installs[-1]})"
    )


def _user_name(user: str) -> str:
    words = user.split() or [""]
    return words[0].strip("'\"").split(":")[0].strip().lower()


# -- portable -------------------------------------------------------------------------------------

PORTABLE_FILES = (
    PYPROJECT,
    f"{LOCK_DIR}/*.txt",
    "environment.yml",
    PIPFILE,
    PIPFILE_LOCK,
    ANSWERS_FILE,
)
"""The committed files that say what to install, or how the project was made: none may name a
path of the machine that wrote it. (The Dockerfile's paths are the image's own.)"""
_FILE_URL = re.compile(r"(?:\b[a-z]+\+)?\bfile:[^\s'\",\]]+", re.IGNORECASE)


def check_portable(root: Path) -> CheckResult:
    """No file that says what to install names a path of this machine (`modelcrate @ file:...`),
    so the project installs in CI, in its image and on other machines."""
    name = "portable"
    found: list[tuple[str, int, str]] = []
    unread: list[tuple[str, str]] = []
    # The project's folder as a path of its own: not the end of a URL (`https://host/you/NAME`
    # of a checkout at /NAME) nor the start of another folder's name.
    here = re.compile(rf"(?<![\w.~%+-]){re.escape(str(root))}(?![\w.~%+-])")
    for pattern in PORTABLE_FILES:
        for path in sorted(root.glob(pattern)):
            where = path.relative_to(root).as_posix()
            try:
                text = _scanned_text(path)
            except _Unscanned as exc:
                unread.append((where, str(exc)))
                continue
            for number, line in enumerate(text.splitlines(), 1):
                match = _FILE_URL.search(line)
                local = match.group(0) if match else (str(root) if here.search(line) else None)
                if local:
                    found.append((where, number, local))
    if unread:
        where, reason = unread[0]
        more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
        return CheckResult(
            name,
            False,
            f"{where}: {reason}, so what it installs cannot be checked{more}; "
            + ("replace it with the file itself" if "regular" in reason else "check that file"),
        )
    if not found:
        return CheckResult(
            name, True, "no dependency or committed file names a path of this machine"
        )
    where, number, local = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    if where.startswith(f"{LOCK_DIR}/") or where in (PIPFILE, PIPFILE_LOCK):
        fix = "fix pyproject.toml first, then run `modelcrate lock` again"
    else:
        fix = portable_fix(f"modelcrate @ {local}" if local.startswith("file:") else None)
    return CheckResult(
        name,
        False,
        f"{where} line {number}: {_short(local)} is a path of this machine, so the project does "
        f"not install anywhere else (CI, the image){more}; {fix}",
    )


class _Unscanned(Exception):
    """A file `check_portable` cannot read; the message says why."""


def _scanned_text(path: Path) -> str:
    """The text of a regular file of at most `MAX_FILE_BYTES` (bytes that are not UTF-8
    replaced: a path is ASCII enough to be found); `_Unscanned` otherwise. A pipe or a device
    is never read: it could block or never end."""
    try:
        # Opened without blocking (a pipe with no writer would wait), then told apart.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise _Unscanned("not a regular file (a pipe, a device or a socket)")
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _Unscanned(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Unscanned(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data.decode("utf-8", errors="replace")


def portable_fix(requirement: str | None) -> str:
    """How to make a requirement on a path of this machine portable, in words: the checkout's
    commit on its remote when it has one, else a release or a git URL."""
    found = portable_requirement(requirement) if requirement else None
    where = "in dependencies and, with [tools] and [serve], in the dev and serve extras"
    if found:
        return f"depend on {found} (this checkout's commit on its remote) {where}"
    return (
        f"depend on a release (modelcrate>=X.Y,<X+1, once modelcrate X.Y is on PyPI) or on a "
        f"git URL (modelcrate @ git+https://HOST/modelcrate.git@COMMIT) {where}"
    )


# -- version --------------------------------------------------------------------------------------


def check_version(root: Path, pyproject: dict[str, Any]) -> CheckResult:
    """The version is dynamic, from git tags (hatch-vcs or setuptools-scm), in a git repository."""
    name = "version"
    project = pyproject.get("project", {})
    tool = pyproject.get("tool", {})
    requires = " ".join(pyproject.get("build-system", {}).get("requires", [])).lower()
    if "version" in project:
        return CheckResult(
            name,
            False,
            f'pyproject.toml: [project] version = "{project["version"]}" is hard-coded; '
            'remove it, add dynamic = ["version"] and take it from git tags with hatch-vcs',
        )
    if "version" not in project.get("dynamic", []):
        return CheckResult(
            name,
            False,
            'pyproject.toml: [project] has no dynamic = ["version"]; '
            "add it and take the version from git tags with hatch-vcs",
        )
    if (root / "versioneer.py").exists() or "versioneer" in tool or "versioneer" in requires:
        return CheckResult(
            name,
            False,
            "versioneer is configured; replace it with hatch-vcs "
            '([tool.hatch.version] source = "vcs"), e.g. with `modelcrate migrate`',
        )
    hatch_source = tool.get("hatch", {}).get("version", {}).get("source")
    if hatch_source == "vcs" and re.search(r"hatch[-_]vcs", requires):
        source = "hatch-vcs"
    elif "setuptools_scm" in tool and re.search(r"setuptools[-_]scm", requires):
        source = "setuptools-scm"
    else:
        return CheckResult(
            name,
            False,
            'pyproject.toml: the dynamic version has no git source; add "hatch-vcs" to '
            '[build-system] requires and [tool.hatch.version] source = "vcs"',
        )
    top = git_toplevel(root)
    if top is None:
        return CheckResult(
            name,
            False,
            f"{root.name} is not a git repository, so there are no tags to take the version "
            "from; run `git init` and commit",
        )
    scm = tool.get("setuptools_scm", {}) if source == "setuptools-scm" else (
        tool.get("hatch", {}).get("version", {}).get("raw-options", {})
    )  # fmt: skip
    if top != root and not (scm.get("root") or scm.get("search_parent_directories")):
        table = (
            "[tool.setuptools_scm]" if source == "setuptools-scm"
            else "[tool.hatch.version.raw-options]"
        )  # fmt: skip
        up = os.path.relpath(top, root)
        return CheckResult(
            name,
            False,
            f"the git repository starts at {top}, above the project, and {source} looks for "
            f'tags only in the project folder (builds get version 0.0.0); add {table} root = "{up}"',
        )
    return CheckResult(name, True, f"from git tags ({source}, in a git repository)")
