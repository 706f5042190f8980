"""The generated image: its entry point's modes (run, worker, help, any other command) and the
version its Dockerfile's build stage gives the wheel.

No Docker engine is needed: the entry point runs under sh and bash with stand-ins for `modelcrate`
and `prefect` that record how they were called; the build stage's commands run in a shell, in a
copy of the build context that `.dockerignore` leaves, the way the Dockerfile runs them.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _projects import sh

from modelcrate.packaging.tooling._check import dockerfile_instructions

STAND_IN = """#!/bin/sh
printf '%s\\n' "$(basename "$0")" "$@" > "$CALLS/argv"
cat > "$CALLS/stdin"
"""


@pytest.fixture(scope="module")
def project(make_project) -> Path:
    return make_project(project_name="Injector Surrogate")


@pytest.fixture(params=["sh", "bash"])
def entrypoint(request, project, tmp_path):
    """Run the image's entry point (as the image does: MODELCRATE_MODEL set, a PATH with
    `modelcrate` and `prefect`); returns (exit code, stdout, stderr, [argv of the command it ran],
    the standard input that command read)."""
    shell = shutil.which(request.param)
    if shell is None:
        pytest.skip(f"no {request.param}")
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    calls.mkdir()
    for name in ("modelcrate", "prefect"):
        (bin_dir / name).write_text(STAND_IN, encoding="utf-8")
        (bin_dir / name).chmod(0o755)

    def run(*args: str, **env: str):
        for leftover in calls.iterdir():
            leftover.unlink()
        done = subprocess.run(
            [shell, str(project / "_entrypoint.sh"), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            timeout=60,
            env={
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "CALLS": str(calls),
                "MODELCRATE_MODEL": "injector-surrogate",
                **env,
            },
        )
        argv = (calls / "argv").read_text().splitlines() if (calls / "argv").exists() else None
        stdin = (calls / "stdin").read_text() if (calls / "stdin").exists() else None
        return done.returncode, done.stdout, done.stderr, argv, stdin

    return run


def test_by_default_the_image_runs_the_model_once(entrypoint):
    assert entrypoint()[0::3] == (0, ["modelcrate", "run", "injector-surrogate"])
    code, _, _, argv, _ = entrypoint("run", "--set", "x=2", "--target", "sqlite:///r.db")
    assert (code, argv) == (
        0,
        ["modelcrate", "run", "injector-surrogate", "--set", "x=2", "--target", "sqlite:///r.db"],
    )


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_run_takes_inputs_as_json_and_hands_them_over_as_data(entrypoint, tmp_path, form):
    """The JSON reaches `modelcrate run --inputs -` unchanged: the shell never evaluates it."""
    inputs = json.dumps({"x": "$(touch pwned) `touch pwned` \\n $HOME", "y": [1, 2]})
    args = ["--inputs-json", inputs] if form == "separate" else [f"--inputs-json={inputs}"]
    code, _, err, argv, stdin = entrypoint("run", *args, "--target", "file:///data")
    assert (code, err) == (0, "")
    assert argv == ["modelcrate", "run", "injector-surrogate", "--inputs", "-", "--target",
                    "file:///data"]  # fmt: skip
    assert json.loads(stdin) == json.loads(inputs)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("run", "--inputs-json"), {}, "error: run: --inputs-json needs a value, e.g. "
         "--inputs-json '{\"x\": 1}'"),
        (("run", "--inputs", "in.json", "--inputs-json", "{}"), {},
         "error: run: give the inputs once, either --inputs-json JSON or --inputs FILE"),
        (("run",), {"MODELCRATE_MODEL": ""},
         "error: run: set MODELCRATE_MODEL to the installed model's name (the image sets it)"),
        (("worker",), {"PREFECT_API_URL": "http://prefect:4200/api"},
         "error: worker: name the work pool: worker --pool NAME (or set PREFECT_WORK_POOL)"),
        (("worker", "--pool", "gpu"), {}, "error: worker: set PREFECT_API_URL to your Prefect "
         "server's API, e.g. -e PREFECT_API_URL=http://prefect:4200/api"),
    ],
    ids=["json-without-value", "two-inputs", "no-model", "no-pool", "no-api-url"],
)  # fmt: skip
def test_a_mode_used_wrongly_says_what_to_do(entrypoint, args, env, message):
    code, out, err, argv, _ = entrypoint(*args, **env)
    assert (code, out, err.strip(), argv) == (2, "", message, None)


def test_worker_starts_a_prefect_worker_for_the_pool(entrypoint):
    api = {"PREFECT_API_URL": "http://prefect:4200/api"}
    code, _, _, argv, _ = entrypoint("worker", "--pool", "gpu", "--limit", "2", **api)
    assert (code, argv) == (0, ["prefect", "worker", "start", "--pool", "gpu", "--limit", "2"])
    code, _, _, argv, _ = entrypoint("worker", PREFECT_WORK_POOL="k8s", **api)
    assert (code, argv) == (0, ["prefect", "worker", "start", "--pool", "k8s"])


def test_help_prints_the_modes(entrypoint):
    code, out, err, argv, _ = entrypoint("help")
    assert (code, err, argv) == (0, "", None)
    assert out.startswith("usage: docker run IMAGE [MODE] [OPTIONS]")
    assert all(f"\n  {mode}" in out for mode in ("run [--inputs-json JSON]", "worker", "help"))


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("serve-it", "error: unknown mode or command: serve-it (modes: run, worker, help)"),
        ("--pool", "error: unknown option --pool: name a mode first (run, worker, help)"),
    ],
)
def test_an_unknown_mode_prints_the_usage_and_fails(entrypoint, mode, message):
    code, out, err, argv, _ = entrypoint(mode)
    assert (code, out, argv) == (2, "", None)
    assert err.startswith("usage: docker run IMAGE")
    assert err.splitlines()[-1] == message


def test_any_other_command_runs_as_is(entrypoint):
    code, out, _, _, _ = entrypoint("echo", "a b", "$HOME")
    assert (code, out) == (0, "a b $HOME\n")
    code, _, _, argv, _ = entrypoint("prefect", "flow-run", "execute", "1234")
    assert (code, argv) == (0, ["prefect", "flow-run", "execute", "1234"])


def test_the_image_knows_its_model_and_runs_it_by_default(project):
    instructions = dockerfile_instructions((project / "Dockerfile").read_text(encoding="utf-8"))
    found = {op: args for _, op, args in instructions}
    assert 'MODELCRATE_MODEL="injector-surrogate"' in found["ENV"]
    assert found["ENTRYPOINT"] == '["/usr/local/bin/_entrypoint.sh"]'
    assert found["CMD"] == '["run"]'


# -- the version of the image -----------------------------------------------------------------------


def _build_context(project: Path, dest: Path) -> Path:
    """A copy of what `docker build` sends of `project`: all but what `.dockerignore` names."""
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(rel: str) -> bool:
        return any(
            fnmatch.fnmatch(rel, p) or (p.startswith("**/") and fnmatch.fnmatch(rel, p[3:]))
            or (p.startswith("**/") and fnmatch.fnmatch(rel.rsplit("/", 1)[-1], p[3:]))
            for p in patterns
        )  # fmt: skip

    def skip(directory: str, names: list[str]) -> set[str]:
        rel = os.path.relpath(directory, project)
        return {n for n in names if ignored(n if rel == "." else f"{rel}/{n}")}

    return Path(shutil.copytree(project, dest, ignore=skip, symlinks=True))


def _build_stage(project: Path) -> tuple[dict[str, str], list[str]]:
    """The build stage's ARG defaults and RUN commands."""
    instructions = dockerfile_instructions((project / "Dockerfile").read_text(encoding="utf-8"))
    stage = [(op, args) for _, op, args in instructions]
    start = next(
        i for i, (op, args) in enumerate(stage) if op == "FROM" and args.endswith(" AS build")
    )
    end = next(i for i in range(start + 1, len(stage)) if stage[i][0] == "FROM")
    args = {}
    for op, text in stage[start:end]:
        if op == "ARG":
            name, _, default = text.partition("=")
            args[name] = default.strip('"')
    return args, [text for op, text in stage[start:end] if op == "RUN"]


@pytest.mark.slow
@pytest.mark.parametrize(("build_arg", "expected"), [(None, "0.3.0"), ("v1.2.3", "1.2.3")])
def test_the_build_stage_gives_the_wheel_the_projects_version(
    make_project, tmp_path, build_arg, expected
):
    """Run as the Dockerfile runs them (in a copy of the build context, with a Python of its
    own), the build stage's commands make a wheel of the version git gives the project — what
    `python -m build` gives — or of the VERSION build argument when one is passed."""
    project = make_project(project_name="Injector Surrogate", git=True)
    sh("git", "-C", project, "tag", "v0.3.0")
    context = _build_context(project, tmp_path / "src")
    assert (context / ".git").is_dir()
    defaults, runs = _build_stage(project)
    python = tmp_path / "python"
    sh(sys.executable, "-m", "venv", python)
    env = {
        "PATH": f"{python / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        **defaults,
        **({"VERSION": build_arg} if build_arg else {}),
    }
    for command in runs:
        sh("/bin/sh", "-e", "-c", command, cwd=context, env=env)
    assert [w.name for w in (context / "dist").glob("*.whl")] == [
        f"injector_surrogate-{expected}-py3-none-any.whl"
    ]


def test_the_readme_shows_each_mode_of_the_image(project):
    readme = (project / "README.md").read_text(encoding="utf-8")
    container = readme[readme.index("## Container") : readme.index("## CI and checks")]
    for example in (
        "docker run IMAGE  ",
        "docker run IMAGE run --inputs-json '{",
        "IMAGE run --inputs /in.json",
        "IMAGE worker --pool my-pool",
        "docker run IMAGE help",
        "docker run IMAGE python -c 'import injector_surrogate'",
    ):
        assert example in container, example


def test_the_kubernetes_deployment_runs_the_flow_installed_in_the_image(project):
    """prefect.yaml's commented Kubernetes deployment, once uncommented, names the image and the
    flow by module path (the image has the package, not the source tree)."""
    text = (project / "prefect.yaml").read_text(encoding="utf-8")
    uncommented = "\n".join(
        line.replace("  # ", "  ", 1) if line.startswith(("  # -", "  #   ")) else line
        for line in text.splitlines()
    )
    deployments = yaml.safe_load(uncommented)["deployments"]
    (deployment,) = [d for d in deployments if d["name"].endswith("-k8s")]
    assert deployment["entrypoint"] == "injector_surrogate.flow:injector_surrogate_flow"
    assert deployment["pull"][0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": "/home/model"
    }
    assert deployment["work_pool"]["job_variables"]["image"].endswith("/injector-surrogate:latest")
