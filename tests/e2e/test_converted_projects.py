"""End to end, per kind of artifact: a model made here -> `modelcrate convert` -> the project
installed into a fresh virtual environment -> its own tests pass -> `modelcrate run` gives what
the original model gives, to its precision; and the wheel ships the artifact.

One step, one test, as in test_generated_projects.py. Slow (a fresh environment per project,
and a real Prefect flow run in each project's tests); run in CI.
"""

from __future__ import annotations

import json
import sys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _artifacts import (
    by_name,
    classifier,
    pipeline,
    regressor,
    save_onnx,
    save_skops,
    training_data,
)
from _projects import ROOT, fresh_env, sh, without_prefect_settings

from modelcrate.runtime import decode_value

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    make: Any  # () -> fitted estimator
    save: Any  # (estimator, path) -> path
    suffix: str


CASES = {
    "sklearn-regressor": Case(
        lambda: regressor(["radius", "charge", "phase"]), save_skops, ".skops"
    ),
    "sklearn-pipeline": Case(pipeline, save_skops, ".skops"),
    # A ColumnTransformer of column names: predicts from a pandas DataFrame only.
    "sklearn-by-name": Case(lambda: by_name(("radius", "charge", "phase")), save_skops, ".skops"),
    "sklearn-classifier": Case(lambda: classifier(("low", "mid", "high")), save_skops, ".skops"),
    "onnx-regressor": Case(pipeline, save_onnx, ".onnx"),
    "onnx-classifier": Case(
        lambda: classifier(("low", "high")),
        lambda model, path: save_onnx(model, path, zipmap=False),
        ".onnx",
    ),
}


@dataclass(frozen=True)
class Converted:
    case: str
    model: Any
    artifact: Path
    path: Path
    package: str


@pytest.fixture(scope="module", params=sorted(CASES))
def converted(request, tmp_path_factory) -> Converted:
    """`modelcrate convert` of the case's model, saved as its kind."""
    case = CASES[request.param]
    root = tmp_path_factory.mktemp(request.param)
    model = case.make()
    artifact = case.save(model, root / f"trained{case.suffix}")
    project = root / "project"
    sh(sys.executable, "-m", "modelcrate", "convert", artifact, "-o", project, "--yes",
       "--name", f"Converted {request.param}", "--modelcrate-requirement", ROOT)  # fmt: skip
    package = next((project / "src").iterdir()).name
    return Converted(request.param, model, artifact, project, package)


@pytest.fixture(scope="module")
def installed(converted) -> Path:
    """A fresh virtual environment with the project (`-e '.[dev]'`); its Python."""
    return fresh_env(converted.path)


def test_the_converted_projects_tests_pass(converted, installed):
    tests = sh(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               cwd=converted.path, env=without_prefect_settings())  # fmt: skip
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    assert (
        "test_artifact.py" in sh(installed, "-m", "pytest", "--co", "-q", cwd=converted.path).stdout
    )


def test_the_environment_holds_only_its_kinds_runtime(converted, installed):
    """The package depends on its kind's library only (the dev extra brings no other)."""
    listed = sh(installed, "-c", "import importlib.util as u; print([m for m in "
                "('onnxruntime', 'sklearn', 'skops') if u.find_spec(m)])").stdout  # fmt: skip
    wanted = ["'onnxruntime'"] if converted.case.startswith("onnx") else ["'sklearn'", "'skops'"]
    assert listed.strip() == "[" + ", ".join(wanted) + "]"
    metadata = sh(installed, "-c", "from importlib.metadata import requires; "
                  f"print(requires({converted.package!r}))").stdout  # fmt: skip
    assert ("pandas" in metadata) == (converted.case == "sklearn-by-name")


def test_modelcrate_run_agrees_with_the_original_model(converted, installed, tmp_path):
    x, _ = training_data(seed=11)
    rows = x[:20]
    spec_names = _input_names(converted)
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps([dict(zip(spec_names, map(float, r), strict=True)) for r in rows]))
    modelcrate = installed.parent / "modelcrate"
    ran = sh(modelcrate, "run", converted.path, "--inputs", inputs, "--json",
             "-t", (tmp_path / "results").as_uri(), env=without_prefect_settings())  # fmt: skip
    outputs = [decode_value(r["outputs"]) for r in json.loads(ran.stdout)]
    model = converted.model
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    if converted.case.endswith("classifier"):
        label = "label"
        assert [o[label] for o in outputs] == model.predict(rows).tolist()
        if converted.case.startswith("sklearn"):
            got = np.stack([o["probabilities"] for o in outputs])
            np.testing.assert_allclose(got, model.predict_proba(rows), rtol=1e-9, atol=1e-12)
        else:
            got = np.array([[o["probabilities_0"], o["probabilities_1"]] for o in outputs])
            np.testing.assert_allclose(got, model.predict_proba(rows), rtol=1e-4, atol=1e-5)
    else:
        name = "variable" if converted.case.startswith("onnx") else "y"
        got = np.array([o[name] for o in outputs])
        precision = (
            {"rtol": 1e-4, "atol": 1e-4} if converted.case.startswith("onnx") else {"rtol": 1e-9}
        )
        if converted.case == "sklearn-by-name":
            import pandas

            rows = pandas.DataFrame(rows, columns=model.feature_names_in_)
        np.testing.assert_allclose(got, model.predict(rows), **precision)


def _input_names(converted) -> list[str]:
    from modelcrate.spec import load_spec

    spec = load_spec(converted.path / "src" / converted.package / "variables.yml")
    return list(spec.input_names)


def test_the_wheel_ships_the_artifact(converted, installed):
    dist = converted.path / "dist"
    sh(installed, "-m", "build", "--wheel", "--outdir", dist, converted.path,
       env=without_prefect_settings())  # fmt: skip
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    package = converted.package
    suffix = ".onnx" if converted.case.startswith("onnx") else ".skops"
    assert f"{package}/model{suffix}" in names and f"{package}/artifact.json" in names
    assert ("Requires-Dist: onnxruntime" in metadata) == converted.case.startswith("onnx")
    assert ("Requires-Dist: scikit-learn" in metadata) == converted.case.startswith("sklearn")
