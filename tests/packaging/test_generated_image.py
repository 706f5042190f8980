"""The generated image: its entry point's modes (run, serve, worker, help, any other command), what
its final stage installs, and the version its Dockerfile's build stage gives the wheel.

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
env > "$CALLS/env"
echo "$PPID" > "$CALLS/parent"
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
        (("serve",), {"MODELCRATE_MODEL": ""},
         "error: serve: set MODELCRATE_MODEL to the installed model's name (the image sets it)"),
        (("serve",), {"PORT": "80; touch pwned"},
         "error: serve: set PORT to a port number, e.g. -e PORT=8080"),
    ],
    ids=["json-without-value", "two-inputs", "no-model", "no-pool", "no-api-url",
         "serve-no-model", "serve-bad-port"],
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
    modes = ("run [--inputs-json JSON]", "serve [OPTIONS]", "worker", "help")
    assert all(f"\n  {mode}" in out for mode in modes)
    assert "MODELCRATE_SERVE_TOKEN" in out and "$PORT (default 8000)" in out


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("serve-it", "error: unknown mode or command: serve-it (modes: run, serve, worker, help)"),
        ("--pool", "error: unknown option --pool: name a mode first (run, serve, worker, help)"),
    ],
)
def test_an_unknown_mode_prints_the_usage_and_fails(entrypoint, mode, message):
    code, out, err, argv, _ = entrypoint(mode)
    assert (code, out, argv) == (2, "", None)
    assert err.startswith("usage: docker run IMAGE")
    assert err.splitlines()[-1] == message


SERVE = ["modelcrate", "serve", "injector-surrogate"]


def _called_with(tmp_path: Path) -> dict[str, str]:
    """The environment the stand-in was called with."""
    lines = (tmp_path / "calls" / "env").read_text().splitlines()
    return dict(line.partition("=")[::2] for line in lines if "=" in line)


def test_serve_listens_on_every_interface_of_the_container_on_port_8000(entrypoint, tmp_path):
    """In a container the network is the boundary: the server listens on 0.0.0.0, and the
    shell gives way to it (exec), so that `docker stop`'s SIGTERM reaches the server itself."""
    code, out, err, argv, _ = entrypoint("serve")
    assert (code, out, err) == (0, "", "")
    assert argv == [*SERVE, "--host", "0.0.0.0", "--port", "8000"]
    assert (tmp_path / "calls" / "parent").read_text().strip() == str(os.getpid())


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("--workers", "2"), {"PORT": "8080"},
         ["--host", "0.0.0.0", "--port", "8080", "--workers", "2"]),
        (("--host", "127.0.0.1", "--port", "9000"), {"PORT": "8080"},
         ["--host", "127.0.0.1", "--port", "9000"]),
        (("--host=::", "--port=9000", "--access-log"), {},
         ["--host=::", "--port=9000", "--access-log"]),
        (("--max-batch", "10"), {"PORT": ""},
         ["--host", "0.0.0.0", "--port", "8000", "--max-batch", "10"]),
    ],
    ids=["port-from-env", "options-win", "joined-options-win", "empty-port"],
)  # fmt: skip
def test_serve_takes_the_port_from_the_environment_and_the_options_given_win(
    entrypoint, args, env, expected
):
    """Defaults come first and only when not given (of two, `modelcrate serve` takes the last)."""
    code, _, err, argv, _ = entrypoint("serve", *args, **env)
    assert (code, err, argv) == (0, "", [*SERVE, *expected])


def test_serve_stores_in_the_default_targets_named_never_written_on_the_command_line(
    entrypoint, tmp_path
):
    """`$MODELCRATE_TARGET` (comma-separated) is the default of `--target`, as in `run`; each URI
    goes by a name whose URI stays in the environment: a password never reaches `ps`."""
    database = "postgresql://model:s3cret@db/results"
    code, _, err, argv, _ = entrypoint(
        "serve", MODELCRATE_TARGET=f" file:///home/model/results, ,{database},@archive "
    )
    assert (code, err) == (0, "")
    assert argv == [*SERVE, "--host", "0.0.0.0", "--port", "8000",
                    "--target", "@modelcrate_target_1", "--target", "@modelcrate_target_2",
                    "--target", "@archive"]  # fmt: skip
    env = _called_with(tmp_path)
    assert env["MODELCRATE_TARGETS__MODELCRATE_TARGET_1"] == "file:///home/model/results"
    assert env["MODELCRATE_TARGETS__MODELCRATE_TARGET_2"] == database
    assert not any("s3cret" in arg for arg in argv)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("-t", "sqlite:///served.db"), {"MODELCRATE_TARGET": "file:///home/model/results"}),
        (("-tsqlite:///served.db",), {"MODELCRATE_TARGET": "file:///home/model/results"}),
        (("--target=sqlite:///served.db",), {"MODELCRATE_TARGET": "file:///home/model/results"}),
        ((), {"MODELCRATE_TARGET": ""}),
    ],
    ids=["target-given", "short-joined", "long-joined", "empty-default"],
)
def test_serve_stores_only_where_told_when_a_target_is_given_or_the_default_is_empty(
    entrypoint, tmp_path, args, env
):
    code, _, _, argv, _ = entrypoint("serve", *args, **env)
    assert (code, argv) == (0, [*SERVE, "--host", "0.0.0.0", "--port", "8000", *args])
    assert not any(k.startswith("MODELCRATE_TARGETS__") for k in _called_with(tmp_path))


def test_the_serve_token_reaches_the_server_by_its_environment_only(entrypoint, tmp_path):
    token = "Tk7-image-secret"
    code, _, _, argv, _ = entrypoint("serve", MODELCRATE_SERVE_TOKEN=token)
    assert (code, argv) == (0, [*SERVE, "--host", "0.0.0.0", "--port", "8000"])
    assert _called_with(tmp_path)["MODELCRATE_SERVE_TOKEN"] == token


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
    assert found["EXPOSE"] == "8000"  # the serve mode's port


def _final_install(project: Path) -> str:
    """The final stage's RUN that installs the wheel, without its --mount flag."""
    instructions = dockerfile_instructions((project / "Dockerfile").read_text(encoding="utf-8"))
    final = max(i for i, (_, op, _) in enumerate(instructions) if op == "FROM")
    (command,) = [args for _, op, args in instructions[final:] if op == "RUN" and ".whl" in args]
    assert command.startswith("--mount=type=bind,from=build,")
    return command.split(" ", 1)[1]


@pytest.mark.parametrize("locked", [False, True], ids=["no-lock", "lock"])
def test_the_image_installs_the_wheel_with_its_serve_extra(project, tmp_path, locked):
    """Run in the folder the build stage fills (the wheel, and the lock when there is one) with
    a `pip` that logs its arguments: without a lock, the wheel with its `serve` extra; with one,
    exactly its pins (where `modelcrate lock` puts the serve extra's), then the wheel alone."""
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = "injector_surrogate-0.3.0-py3-none-any.whl"
    (dist / wheel).write_bytes(b"")
    if locked:
        (dist / "runtime.lock.txt").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path / "pip.log"}\n')
    (bin_dir / "pip").chmod(0o755)
    sh("/bin/sh", "-e", "-c", _final_install(project), cwd=dist,
       env={"PATH": f"{bin_dir}:/usr/bin:/bin"})  # fmt: skip
    logged = (tmp_path / "pip.log").read_text().splitlines()
    if locked:
        assert logged == [
            "install --no-cache-dir --require-hashes -r runtime.lock.txt",
            f"install --no-cache-dir --no-deps ./{wheel}",
        ]
    else:
        assert logged == [f"install --no-cache-dir ./{wheel}[serve]"]


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
        "docker run -p 8000:8000 -e MODELCRATE_SERVE_TOKEN IMAGE serve",
        "docker run IMAGE help",
        "docker run IMAGE python -c 'import injector_surrogate'",
    ):
        assert example in container, example


def test_the_kubernetes_deployment_runs_the_flow_installed_in_the_image(project):
    """prefect.yaml's Kubernetes deployment names the image and the flow by module path (the
    image has the package, not the source tree)."""
    deployments = yaml.safe_load((project / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = [d for d in deployments["deployments"] if d["name"].endswith("-k8s")]
    assert deployment["entrypoint"] == "injector_surrogate.flow:injector_surrogate_flow"
    assert deployment["pull"][0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": "/home/model"
    }
    assert deployment["work_pool"]["job_variables"]["image"].endswith("/injector-surrogate:latest")


def test_the_kubernetes_job_variables_fit_the_kubernetes_work_pool(project):
    """Checked statically, without a cluster: every job variable is one the Kubernetes work
    pool's base job template declares, of the type it declares, and the worker's own
    configuration class turns them into a job manifest with the image, namespace and service
    account of prefect.yaml."""
    import asyncio

    import jsonschema

    worker = pytest.importorskip("prefect_kubernetes.worker")
    template = worker.KubernetesWorker.get_default_base_job_template()
    deployments = yaml.safe_load((project / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = [d for d in deployments["deployments"] if d["name"].endswith("-k8s")]
    assert deployment["work_pool"]["name"] == "kubernetes"
    values = deployment["work_pool"]["job_variables"]
    schema = {**template["variables"], "additionalProperties": False}
    jsonschema.validate(values, schema)
    configuration = asyncio.run(
        worker.KubernetesWorkerJobConfiguration.from_template_and_values(
            template, values, client=object()
        )
    )
    pod = configuration.job_manifest["spec"]["template"]["spec"]
    assert configuration.namespace == values["namespace"] == "default"
    assert pod["serviceAccountName"] == values["service_account_name"]
    (container,) = pod["containers"]
    assert container["image"] == values["image"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert configuration.env["MODELCRATE_TARGET"] == "file:///data/results"
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: a misspelt variable
        jsonschema.validate({**values, "namespce": "x"}, schema)
