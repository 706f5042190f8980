"""End to end, as a user would: `modelcrate new`, install into a fresh virtual environment, run the
generated tests, build the wheel and sdist, and run the model from the command line.

One step, one test, so a failing step names itself and does not hide the others: the project is
made and installed once per variables file (module fixtures; when one fails, the tests that need
it are errors of that fixture: `generated`, `installed` or `built`).

Slow (a fresh environment with Prefect per project, and a real Prefect flow run in each project's
tests); run in CI. Uses uv to make the environments when it is installed, else venv and pip.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from _projects import (
    EXAMPLE,
    EXAMPLE_MODEL,
    ROOT,
    evaluate_body,
    evaluate_examples,
    find_uv,
    fresh_env,
    http_json,
    sh,
    wait_until_answering,
    without_prefect_settings,
)

from modelcrate.packaging import derived_defaults
from modelcrate.runtime import FilesystemTarget, encode_value
from modelcrate.spec import load_spec

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow

CASES = {
    # variables file, project name, reference model to copy in (or None: the generated placeholder)
    "injector": (EXAMPLE, "Injector Surrogate", EXAMPLE_MODEL),
    "all-kinds": (HERE / "variables/all_kinds.yml", "All Kinds", None),
    "lume-services": (HERE / "variables/lume_services_old.yml", "Old Template Model", None),
    "lume-torch": (HERE / "variables/lume_torch_nested.yml", "Torch GP", None),
}
CLI_CHOICE = {
    "injector": "click",
    "all-kinds": "argparse",
    "lume-services": "none",
    "lume-torch": "click",
}


@dataclass(frozen=True)
class Generated:
    """A project made by `modelcrate new` for one case."""

    case: str
    name: str
    path: Path
    package: str


@pytest.fixture(scope="module", params=sorted(CASES))
def generated(request, tmp_path_factory) -> Generated:
    """`modelcrate new`: the case's project, with its reference model copied in."""
    case = request.param
    variables, name, reference = CASES[case]
    project = tmp_path_factory.mktemp(case) / case
    sh(sys.executable, "-m", "modelcrate", "new", variables, "-o", project, "--yes", "--name", name,
       "--cli", CLI_CHOICE[case], "--modelcrate-requirement", ROOT)  # fmt: skip
    package = next((project / "src").iterdir()).name
    if reference:
        shutil.copy(reference, project / "src" / package / "model.py")
    return Generated(case, name, project, package)


@pytest.fixture(scope="module")
def installed(generated) -> Path:
    """A fresh virtual environment with the project (`-e '.[dev]'`); its Python."""
    return fresh_env(generated.path)


@pytest.fixture(scope="module")
def built(generated, installed) -> Path:
    """The wheel and sdist, built by `python -m build`, versioned from git; their directory."""
    dist = generated.path / "dist"
    sh(installed, "-m", "build", "--outdir", dist, generated.path, env=without_prefect_settings())
    return dist


def test_the_generated_tests_pass(generated, installed):
    """The generated tests pass as generated (incl. one real Prefect flow run)."""
    tests = sh(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               cwd=generated.path, env=without_prefect_settings())  # fmt: skip
    assert " passed" in tests.stdout and "failed" not in tests.stdout


def test_the_build_makes_one_wheel_and_one_sdist(built):
    assert len(list(built.glob("*.whl"))) == 1 and list(built.glob("*.tar.gz"))


def test_the_wheel_holds_the_package_variables_and_entry_points(generated, built):
    """The wheel holds the package with its variables file, and the entry points."""
    wheel_path = next(built.glob("*.whl"))
    package = generated.package
    with zipfile.ZipFile(wheel_path) as wheel:
        names = wheel.namelist()
        assert f"{package}/variables.yml" in names
        assert f"{package}/model.py" in names and f"{package}/flow.py" in names
        assert not any(n.startswith("tests/") for n in names)
        entry_points = wheel.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "[modelcrate.models]" in entry_points and "[modelcrate.flows]" in entry_points
    assert "Requires-Dist: modelcrate @ file://" in metadata
    assert ".dev" in wheel_path.name  # no tag yet: a development version from git


def test_the_installed_model_runs_by_directory_and_by_name(generated, installed, tmp_path):
    """The installed model runs from the command line, by directory and by installed
    name, giving the same result, stored once."""
    env = without_prefect_settings()
    spec = load_spec(generated.path / "src" / generated.package / "variables.yml")
    args = [
        a
        for v in spec.inputs
        if not v.has_default
        for a in ("--set", f"{v.name}={_text(v.sample())}")
    ]
    results = tmp_path / "results"
    modelcrate = installed.parent / "modelcrate"
    by_dir = sh(modelcrate, "run", generated.path, *args, "--target", results.as_uri(), env=env)
    installed_name = derived_defaults(generated.name)["repo_name"]
    by_name = sh(
        modelcrate, "run", installed_name, *args, "-t", results.as_uri(), cwd=results, env=env
    )
    assert "Stored result" in by_dir.stdout
    assert by_dir.stdout.splitlines()[0] == by_name.stdout.splitlines()[0]  # same result id
    assert len(FilesystemTarget(results).list()) == 1  # the same result is stored once


def _text(value) -> str:
    return json.dumps(encode_value(value))


def test_the_image_entry_point_runs_the_installed_model_and_prefect_finds_its_flow(
    generated, installed, tmp_path
):
    """The image's entry point, run with bash against the installed project as the image runs it
    (MODELCRATE_MODEL set, the environment's bin on PATH): `run --inputs-json` stores one result
    in the target; Prefect loads the flow by the module path the Kubernetes deployment names."""
    env = {
        **without_prefect_settings(),
        "PATH": f"{installed.parent}:/usr/bin:/bin",
        "MODELCRATE_MODEL": derived_defaults(generated.name)["repo_name"],
    }
    spec = load_spec(generated.path / "src" / generated.package / "variables.yml")
    inputs = {v.name: encode_value(v.sample()) for v in spec.inputs if not v.has_default}
    results = tmp_path / "results"
    ran = sh("bash", generated.path / "_entrypoint.sh", "run", "--inputs-json", json.dumps(inputs),
             "--target", results.as_uri(), cwd=tmp_path, env=env)  # fmt: skip
    assert "Stored result" in ran.stdout
    assert len(FilesystemTarget(results).list()) == 1
    usage = sh("bash", generated.path / "_entrypoint.sh", "help", env=env)
    assert usage.stdout.startswith("usage: docker run IMAGE")
    entrypoint = f"{generated.package}.flow:{generated.package}_flow"
    load = (
        f"from prefect.flows import load_flow_from_entrypoint as f; print(f({entrypoint!r}).name)"
    )
    loaded = sh(installed, "-c", load, cwd=tmp_path, env=env)
    assert loaded.stdout.strip() == derived_defaults(generated.name)["repo_name"]


def test_the_image_serve_mode_answers_the_readmes_example(generated, installed, tmp_path):
    """The `serve` extra resolves in the project's environment; the image's `serve` mode (the
    entry point run with bash as the image runs it, a token and a default target in its
    environment) answers the README's example, stores the result in `$MODELCRATE_TARGET`, and
    ends with 0 on SIGTERM, as `docker stop` sends it."""
    uv = find_uv()
    if uv:
        sh(uv, "pip", "install", "-q", "--python", installed, "-e", f"{generated.path}[serve]")
    else:  # pragma: no cover - uv is a dev dependency
        sh(installed, "-m", "pip", "install", "-q", "-e", f"{generated.path}[serve]")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token, results = "Tk7-image-secret", tmp_path / "results"
    env = {
        **without_prefect_settings(),
        "PATH": f"{installed.parent}:/usr/bin:/bin",
        "MODELCRATE_MODEL": derived_defaults(generated.name)["repo_name"],
        "MODELCRATE_TARGET": results.as_uri(),
        "MODELCRATE_SERVE_TOKEN": token,
        "PORT": str(port),
    }
    readme = (generated.path / "README.md").read_text(encoding="utf-8")
    body = evaluate_body(evaluate_examples(readme)[0], tmp_path)
    log = tmp_path / "serve.log"
    with log.open("w") as err:  # on loopback here: a test opens no port to the network
        process = subprocess.Popen(
            ["bash", generated.path / "_entrypoint.sh", "serve", "--host", "127.0.0.1"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/health/ready", process, log, token)
        status, answer = http_json(f"{base}/v1/evaluate", body, token)
        assert status == 200, answer
        spec = load_spec(generated.path / "src" / generated.package / "variables.yml")
        assert set(answer["outputs"]) == set(spec.output_names)
        assert http_json(f"{base}/v1/evaluate", body, "not-the-token")[0] == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    printed = log.read_text()
    assert "stored in the background in: @modelcrate_target_1" in printed, printed
    assert "Traceback" not in printed and printed.splitlines()[-1] == "Stopped."
    assert len(FilesystemTarget(results).list()) == 1  # stored, and drained at the stop
