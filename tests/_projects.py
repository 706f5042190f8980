"""Generated projects for the tests: the example files, a factory that makes each kind of project
once per session and hands out copies, and the commands the end-to-end tests run.

Imported by tests/conftest.py (its fixtures) and by test modules that need a constant or a
command helper; test modules never import each other.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE = EXAMPLES / "injector" / "variables.yml"
EXAMPLE_MODEL = EXAMPLES / "injector" / "model.py"
# How a project made by the tests depends on modelcrate: this checkout, by file:// URL.
CHECKOUT_REQUIREMENT = f"modelcrate @ {ROOT.as_uri()}"
# How a project made by a released modelcrate depends on it: a range of versions that this
# checkout's own version satisfies.
RELEASE_REQUIREMENT = "modelcrate>=0.1.dev0,<1"


class ProjectFactory:
    """Makes generated projects: each distinct set of arguments is rendered once, and every call
    returns a fresh copy of it (copying a project costs far less than rendering one), so a test
    may change its project freely."""

    def __init__(self, workdir: Callable[[str], Path]) -> None:
        self._workdir = workdir  # a new, empty directory for each name asked for
        self._made: dict[tuple[str, ...], Path] = {}

    def __call__(
        self,
        variables: Path = EXAMPLE,
        *,
        model: Path | None = None,
        git: bool = False,
        template: Any = None,
        dest: Path | None = None,
        **options: Any,
    ) -> Path:
        """A copy of the project `new_project` makes from `variables` with `options` (passed to
        `make_options`), in `dest` (a new temporary `.../project` if not given).

        `model` replaces the generated model.py (e.g. with the example's reference model);
        `git` makes the project a git repository with its first commit, as `new` does by default;
        `template` is a `TemplateRelease` to render instead of this modelcrate's template.
        """
        key = (
            str(Path(variables).resolve()),
            str(model),
            str(git),
            repr(template),
            *sorted(f"{name}={value!r}" for name, value in options.items()),
        )
        if key not in self._made:
            self._made[key] = self._make(variables, model, git, template, options)
        dest = dest if dest is not None else self._workdir("project") / "project"
        return Path(shutil.copytree(self._made[key], dest, symlinks=True))

    def _make(
        self, variables: Path, model: Path | None, git: bool, template: Any, options: dict
    ) -> Path:
        from modelcrate.packaging import make_options, new_project

        where = self._workdir("made") / "project"
        made = new_project(variables, where, make_options(**options), git=git, template=template)
        if model is not None:  # copied in, not committed: as a user who just wrote their model
            shutil.copy(model, made.path / "src" / made.options.package_name / "model.py")
        return made.path


# -- commands of the end-to-end tests --------------------------------------------------------------


def sh(
    *args: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output (the end of it) if it exits non-zero."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done


def find_uv() -> str | None:
    """The uv beside this Python (a dev dependency), else one on PATH."""
    return shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def fresh_env(project: Path) -> Path:
    """A new virtual environment with the project installed as its README says (`-e '.[dev]'`);
    its Python."""
    venv = project / ".venv"
    uv = find_uv()
    if uv:
        sh(uv, "venv", "-q", "--python", sys.executable, venv)
        python = venv / "bin" / "python"
        sh(uv, "pip", "install", "-q", "--python", python, "-e", f"{project}[dev]")
    else:  # pragma: no cover - uv is a dev dependency
        sh(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        sh(python, "-m", "pip", "install", "-q", "-e", f"{project}[dev]")
    return python


def without_prefect_settings() -> dict[str, str]:
    """This process's environment without its PREFECT_ settings (a project's own tests set them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """GET `url` (POST `body` as JSON if given), with the bearer `token` if given; the status
    and the JSON answer, whatever the status."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def wait_until_answering(
    url: str, process: subprocess.Popen[Any], log: Path, token: str | None = None
) -> None:
    """Wait (up to 60 s) until `url` answers 200; fail with the server's `log` if its `process`
    ends first or it never does."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if http_json(url, token=token)[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


@contextmanager
def serving(project: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Any]:
    """`modelcrate serve PROJECT --port P ARGS` running until the block ends; yields
    (base URL, process, path of its stderr)."""
    port = free_port()
    log = project.parent / f"serve-{port}.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelcrate", "serve", project, "--port", str(port), *args],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/health/live", process, log)
        yield base, process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- the README's examples -------------------------------------------------------------------------

# A shell function in place of curl: it prints the body it would send (the argument after -d).
_CURL = 'curl() { while [ "$#" -gt 0 ]; do [ "$1" != -d ] || printf "%s" "$2"; shift; done; }\n'


def evaluate_examples(readme: str) -> list[str]:
    """The README's `curl ... /v1/evaluate ...` commands, each with its continuation lines."""
    commands: list[str] = []
    lines = iter(readme.splitlines())
    for line in lines:
        if line.startswith("curl ") and "/v1/evaluate" in line:
            command = line
            while command.endswith("\\"):
                command += "\n" + next(lines)
            commands.append(command)
    return commands


def evaluate_body(command: str, cwd: Path) -> Any:
    """The JSON body that a README's curl `command` sends, as a POSIX shell hands it to curl
    (run in `cwd`, where a payload would leave its mark)."""
    done = subprocess.run(
        ["sh", "-c", _CURL + command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MODELCRATE_SERVE_TOKEN": "token"},
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return json.loads(done.stdout)


SCALER_VARIABLES = """\
model:
  name: scaler
input_variables:
  x: {type: scalar, default: 1.0, range: [-10, 10]}
output_variables:
  y: {type: scalar}
"""
"""A model of one input and one output, for the tests that deploy versions of it."""


def scaler_model(factor: float) -> str:
    """The `model.py` of `SCALER_VARIABLES`' project: y = factor * x (each version its own)."""
    return textwrap.dedent(
        f"""
        from importlib.resources import files
        from modelcrate import Model, load_spec
        from scaler import __version__


        class ScalerModel(Model):
            spec = load_spec(files("scaler") / "variables.yml")
            name = "scaler"
            version = __version__

            def evaluate(self, inputs):
                return {{"y": {factor} * inputs["x"]}}
        """
    )
