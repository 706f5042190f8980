"""End to end, as a user would: `modelcrate new`, install into a fresh virtual environment, run the
generated tests, build the wheel and sdist, and run the model from the command line.

Slow (a fresh environment with Prefect per project, and a real Prefect flow run in each project's
tests); run in CI. Uses uv to make the environments when it is installed, else venv and pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from modelcrate.packaging import derived_defaults
from modelcrate.runtime import FilesystemTarget, encode_value
from modelcrate.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow

CASES = {
    # variables file, project name, reference model to copy in (or None: the generated placeholder)
    "injector": (
        ROOT / "examples/injector/variables.yml",
        "Injector Surrogate",
        ROOT / "examples/injector/model.py",
    ),
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


def _sh(
    *args: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done


def _fresh_env(project: Path) -> Path:
    """A new virtual environment with the project installed as its README says (`-e '.[dev]'`)."""
    venv = project / ".venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        _sh(uv, "venv", "-q", "--python", sys.executable, venv)
        python = venv / "bin" / "python"
        _sh(uv, "pip", "install", "-q", "--python", python, "-e", f"{project}[dev]")
    else:  # pragma: no cover - uv is a dev dependency
        _sh(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        _sh(python, "-m", "pip", "install", "-q", "-e", f"{project}[dev]")
    return python


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_project_installs_tests_builds_and_runs(case, tmp_path):
    variables, name, reference = CASES[case]
    project = tmp_path / case
    _sh(sys.executable, "-m", "modelcrate", "new", variables, "-o", project, "--yes", "--name", name,
        "--cli", CLI_CHOICE[case], "--modelcrate-requirement", ROOT)  # fmt: skip
    package = next((project / "src").iterdir()).name
    if reference:
        shutil.copy(reference, project / "src" / package / "model.py")

    python = _fresh_env(project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}

    # The generated tests pass as generated (incl. one real Prefect flow run).
    tests = _sh(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert " passed" in tests.stdout and "failed" not in tests.stdout

    # The wheel and sdist build, versioned from git, with the variables file and entry points.
    _sh(python, "-m", "build", "--outdir", project / "dist", project, env=env)
    wheels = list((project / "dist").glob("*.whl"))
    assert len(wheels) == 1 and list((project / "dist").glob("*.tar.gz"))
    with zipfile.ZipFile(wheels[0]) as wheel:
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
    assert ".dev" in wheels[0].name  # no tag yet: a development version from git

    # The installed model runs from the command line, by directory and by installed name.
    spec = load_spec(project / "src" / package / "variables.yml")
    args = [
        a
        for v in spec.inputs
        if not v.has_default
        for a in ("--set", f"{v.name}={_text(v.sample())}")
    ]
    results = tmp_path / "results"
    by_dir = _sh(
        python.parent / "modelcrate", "run", project, *args, "--target", results.as_uri(), env=env
    )
    installed_name = derived_defaults(name)["repo_name"]
    by_name = _sh(
        python.parent / "modelcrate",
        "run",
        installed_name,
        *args,
        "-t",
        results.as_uri(),
        cwd=results,
        env=env,
    )
    assert "Stored result" in by_dir.stdout
    assert by_dir.stdout.splitlines()[0] == by_name.stdout.splitlines()[0]  # same result id
    assert len(FilesystemTarget(results).list()) == 1  # the same result is stored once


def _text(value) -> str:
    return json.dumps(encode_value(value))
