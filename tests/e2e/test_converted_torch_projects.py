"""End to end, for TorchScript and lume-torch: a model made here (a network scripted with
TorchScript; a lume-torch TorchModel with transformers, dumped by lume-torch) -> `modelcrate
convert` -> the project installed into a fresh virtual environment -> its own tests pass ->
`modelcrate run` gives what the original model gives, to its precision; and the wheel ships the
model's files.

All of it runs in the torch test environment (`torch_python`): the project's environment sees
that environment's packages instead of installing torch again. One step, one test, as in
test_converted_projects.py. Slow; run in CI.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from _projects import ROOT, sh
from _torch_models import (
    NET_VARIABLES,
    evaluate,
    lume_model,
    project_env,
    project_run_env,
    run_torch,
    scripted_net,
)

from modelcrate.runtime import decode_value
from modelcrate.spec import load_spec

pytestmark = pytest.mark.slow

CASES = ("torchscript", "lume-torch")


@dataclass(frozen=True)
class Converted:
    case: str
    original: Path  # the TorchScript file, or the lume-torch config
    path: Path
    package: str


@pytest.fixture(scope="module", params=CASES)
def converted(request, torch_python, tmp_path_factory) -> Converted:
    """`modelcrate convert` of the case's model, run in the torch test environment."""
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "torchscript":
        original = scripted_net(torch_python, root / "net.pt")
        variables = root / "variables.yml"
        variables.write_text(yaml.safe_dump(NET_VARIABLES, sort_keys=False))
        extra = ["--variables", variables]
    else:
        original = lume_model(torch_python, root / "made" / "model_config.yml")
        extra = []  # its files load weights only: no --trust
    project = root / "project"
    done = run_torch(torch_python, "-m", "modelcrate", "convert", original, "-o", project,
                     "--yes", "--name", f"Converted {request.param}",
                     "--modelcrate-requirement", ROOT, *extra)  # fmt: skip
    assert done.returncode == 0, done.stderr
    package = next((project / "src").iterdir()).name
    return Converted(request.param, original, project, package)


@pytest.fixture(scope="module")
def installed(torch_python, converted) -> Path:
    """A fresh virtual environment with the project (`-e '.[dev]'`); its Python."""
    return project_env(torch_python, converted.path)


def test_the_converted_projects_tests_pass(converted, installed):
    tests = sh(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               cwd=converted.path, env=project_run_env())  # fmt: skip
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    assert (
        "test_artifact.py"
        in sh(
            installed, "-m", "pytest", "--co", "-q", cwd=converted.path, env=project_run_env()
        ).stdout
    )


def test_modelcrate_run_agrees_with_the_original_model(
    torch_python, converted, installed, tmp_path
):
    spec = load_spec(converted.path / "src" / converted.package / "variables.yml")
    rng = np.random.default_rng(11)
    rows = [{v.name: float(rng.uniform(*v.value_range)) for v in spec.inputs} for _ in range(20)]
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(rows))
    modelcrate = installed.parent / "modelcrate"
    ran = sh(modelcrate, "run", converted.path, "--inputs", inputs, "--json",
             "-t", (tmp_path / "results").as_uri(), env=project_run_env())  # fmt: skip
    outputs = [decode_value(r["outputs"]) for r in json.loads(ran.stdout)]
    assert "deprecated" not in ran.stderr  # torch's and lume-torch's own notices are not shown
    names = list(spec.input_names)
    original = evaluate(torch_python, converted.case, converted.original, names, rows)
    if converted.case == "torchscript":
        got = np.array([[o["sigma_x"], o["sigma_y"]] for o in outputs])
        np.testing.assert_allclose(got, np.array(original), rtol=1e-5, atol=1e-6)
    else:
        got = np.array([o["y"] for o in outputs])
        want = np.array(original["y"]).reshape(-1)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_wheel_ships_the_model_and_needs_only_its_kinds_runtime(converted, installed):
    dist = converted.path / "dist"
    sh(installed, "-m", "build", "--wheel", "--outdir", dist, converted.path,
       env=project_run_env())  # fmt: skip
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    package = converted.package
    if converted.case == "torchscript":
        shipped = ["model.pt"]
    else:
        shipped = ["lume_model.yml", "lume_model.pt", "lume_input_transformer_0.pt",
                   "lume_output_transformer_0.pt"]  # fmt: skip
    assert {f"{package}/{name}" for name in [*shipped, "artifact.json"]} <= set(names)
    assert "Requires-Dist: torch" in metadata
    assert ("Requires-Dist: lume-torch" in metadata) == (converted.case == "lume-torch")
    assert "Requires-Dist: onnxruntime" not in metadata
    assert "Requires-Dist: scikit-learn" not in metadata
