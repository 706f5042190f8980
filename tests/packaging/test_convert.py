"""`read_artifact` and `convert_artifact`: what is inferred from each kind of artifact, a variables
file checked against it, the samples the generated tests replay, and the files written."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml
from _artifacts import (
    by_name,
    classifier,
    multi_target,
    pipeline,
    regressor,
    save_graph,
    save_joblib,
    save_onnx,
    save_skops,
    save_unshaped_graph,
    training_data,
)

from modelcrate import ArtifactError
from modelcrate.packaging import convert_artifact, make_options, read_artifact
from modelcrate.runtime import read_binding
from modelcrate.spec import ArrayVariable, EnumVariable, ScalarVariable, load_spec


def _kinds(variables):
    return [(v.name, type(v).__name__) for v in variables]


def _predict(model, sets):
    return model.predict(np.array([[s[f"x{i}"] for i in range(3)] for s in sets]))


def test_a_regressor_gives_three_scalar_inputs_and_y(tmp_path):
    model = regressor()
    read = read_artifact(save_skops(model, tmp_path / "reg.skops"))
    assert _kinds(read.spec.inputs) == [(f"x{i}", "ScalarVariable") for i in range(3)]
    assert _kinds(read.spec.outputs) == [("y", "ScalarVariable")]
    assert all(v.default == 0.0 and v.value_range is None for v in read.spec.inputs)
    assert read.inferred.guessed == {"x0", "x1", "x2", "y"}
    assert read.inferred.requirements[0].startswith("scikit-learn>=")
    expected = _predict(model, read.samples)
    assert [o["y"] for o in read.expected] == pytest.approx(expected.tolist(), rel=1e-12)
    assert read.samples[0] == {"x0": 0.0, "x1": 0.0, "x2": 0.0}  # the defaults first
    assert len({tuple(s.values()) for s in read.samples}) == len(read.samples)


def test_feature_names_become_the_input_names(tmp_path):
    names = ["laser radius", "QUAD:IN20:121:BACT", "charge"]
    read = read_artifact(save_skops(regressor(names), tmp_path / "named.skops"))
    assert read.spec.input_names == tuple(names)
    assert not set(names) & read.inferred.guessed


def test_a_classifier_gives_the_label_and_the_probabilities(tmp_path):
    model = classifier(("low", "mid", "high"))
    read = read_artifact(save_skops(model, tmp_path / "clf.skops"))
    label, probabilities = read.spec.outputs
    assert isinstance(label, EnumVariable) and set(label.choices) == {"low", "mid", "high"}
    assert list(label.choices) == model.classes_.tolist()
    assert isinstance(probabilities, ArrayVariable) and probabilities.shape == (3,)
    assert probabilities.value_range == (0.0, 1.0)
    rows = np.array([[s[f"x{i}"] for i in range(3)] for s in read.samples])
    assert [o["label"] for o in read.expected] == model.predict(rows).tolist()
    np.testing.assert_allclose(
        np.stack([o["probabilities"] for o in read.expected]), model.predict_proba(rows)
    )
    assert "Pipeline(StandardScaler, LogisticRegression)" in dict(read.described)["estimator"]


def test_integer_class_labels_stay_integers(tmp_path):
    read = read_artifact(save_skops(classifier((3, 7)), tmp_path / "ints.skops"))
    assert read.spec.outputs[0].choices == (3, 7)
    assert {o["label"] for o in read.expected} <= {3, 7}


def test_several_targets_give_one_output_each(tmp_path):
    read = read_artifact(save_skops(multi_target(), tmp_path / "two.skops"))
    assert read.spec.output_names == ("y0", "y1")
    assert read.inferred.outputs[0].variables == ("y0", "y1")


def test_a_pipeline_converts(tmp_path):
    model = pipeline()
    read = read_artifact(save_skops(model, tmp_path / "pipe.skops"))
    expected = _predict(model, read.samples)
    assert [o["y"] for o in read.expected] == pytest.approx(expected.tolist(), rel=1e-12)


def test_an_onnx_regressor_reads_its_tensors(tmp_path):
    read = read_artifact(save_onnx(regressor(), tmp_path / "reg.onnx"))
    assert read.spec.input_names == ("x0", "x1", "x2")
    assert read.spec.output_names == ("variable",)
    (slot,) = read.inferred.inputs
    assert (slot.name, slot.dtype, slot.shape, slot.batched) == ("X", "float32", (None, 3), True)
    assert read.inferred.tolerance() == {"variable": {"rtol": 1e-5, "atol": 1e-6}}
    assert read.inferred.requirements[0].startswith("onnxruntime>=")


def test_an_onnx_classifier_without_zipmap_gives_label_and_probability_columns(tmp_path):
    read = read_artifact(save_onnx(classifier(), tmp_path / "clf.onnx", zipmap=False))
    assert read.spec.output_names == ("label", "probabilities_0", "probabilities_1")


def test_a_zipmap_output_is_left_out_and_said_so(tmp_path):
    read = read_artifact(save_onnx(classifier(), tmp_path / "clf.onnx"))
    assert read.spec.output_names == ("output_label",)
    assert any("'output_probability'" in line and "zipmap" in line for line in read.review)


def test_graph_metadata_names_the_columns(tmp_path):
    path = save_graph(
        tmp_path / "g.onnx",
        metadata={"input_names": '["a", "b", "c"]', "names:Y": "p, q, r"},
    )
    read = read_artifact(path)
    assert read.spec.input_names == ("a", "b", "c")
    assert read.spec.output_names == ("p", "q", "r")
    assert not read.inferred.guessed
    assert [o["p"] for o in read.expected] == pytest.approx([2 * s["a"] for s in read.samples])


def test_tensors_of_other_shapes(tmp_path):
    path = save_graph(
        tmp_path / "shapes.onnx",
        inputs=[("image", ("batch", 4, 5))],
        outputs=[("double", ("batch", 4, 5))],
    )
    read = read_artifact(path)
    (image,), (double,) = read.spec.inputs, read.spec.outputs
    assert isinstance(image, ArrayVariable) and image.shape == (4, 5) and image.dtype == "float32"
    assert double.shape == (4, 5)
    np.testing.assert_allclose(read.expected[3]["double"], 2 * read.samples[3]["image"])


def test_a_graph_without_a_batch_axis_runs_one_set_at_a_time(tmp_path):
    path = save_graph(tmp_path / "fixed.onnx", inputs=[("X", (1, 2))], outputs=[("Y", (1, 2))])
    read = read_artifact(path)
    assert read.spec.input_names == ("x0", "x1") and read.spec.output_names == ("y0", "y1")
    assert not read.inferred.inputs[0].batched
    assert any("one input set at a time" in line for line in read.review)
    assert [o["y1"] for o in read.expected] == pytest.approx([2 * s["x1"] for s in read.samples])


@pytest.mark.parametrize("rank", [True, False], ids=["dimensions unknown", "rank unknown"])
def test_an_output_shape_the_graph_does_not_declare_is_found_by_running_it(tmp_path, rank):
    read = read_artifact(save_unshaped_graph(tmp_path / "unshaped.onnx", rank=rank))
    (slot,) = read.inferred.outputs
    assert (slot.name, slot.shape, slot.batched) == ("Y", (None, 3), True)
    assert read.spec.output_names == ("y0", "y1", "y2")
    assert [o["y2"] for o in read.expected] == pytest.approx([2 * s["x2"] for s in read.samples])
    assert any(
        "output 'Y' has no shape in the graph: [N, 3] was found by running it once on zero "
        "inputs" in line
        for line in read.review
    )


def test_an_output_of_unknown_shape_runs_in_its_package(tmp_path, monkeypatch):
    artifact = save_unshaped_graph(tmp_path / "unshaped.onnx", rank=False)
    made = convert_artifact(
        artifact, tmp_path / "p", make_options(project_name="Unshaped"), git=False
    )
    binding = read_binding(made.path / "src" / "unshaped" / "artifact.json")
    assert binding.outputs[0].shape == (None, 3) and binding.batched
    monkeypatch.syspath_prepend(str(made.path / "src"))
    try:
        from unshaped.model import UnshapedModel

        sets = [{"x0": 1.0, "x1": -2.0, "x2": 0.5}, {"x0": 3.0}]
        outputs = UnshapedModel().batch(sets)
        assert outputs == [{"y0": 2.0, "y1": -4.0, "y2": 1.0}, {"y0": 6.0, "y1": 0.0, "y2": 0.0}]
        assert UnshapedModel()(x1=1.5) == {"y0": 0.0, "y1": 3.0, "y2": 0.0}
    finally:
        for name in [m for m in sys.modules if m == "unshaped" or m.startswith("unshaped.")]:
            del sys.modules[name]


def test_an_output_of_unknown_shape_beside_inputs_of_unknown_shape_is_refused(tmp_path):
    artifact = save_unshaped_graph(tmp_path / "unshaped.onnx", inputs=("N", None))
    with pytest.raises(ArtifactError) as caught:
        read_artifact(artifact)
    assert str(caught.value) == (
        f"{artifact}: the graph does not declare the shape of output Y, and its inputs' shapes "
        "are not all known, so convert cannot run it to find it; export the graph with the "
        "outputs' shapes"
    )


def test_a_pipeline_that_selects_columns_by_name_is_given_a_dataframe(tmp_path, monkeypatch):
    """A ColumnTransformer of column names cannot predict from an array: convert and the
    package give it a pandas DataFrame of its columns (and only it: the package then depends on
    pandas), with its own outputs."""
    import pandas

    model = by_name(("laser radius", "QUAD:IN20:121:BACT", "charge"))
    artifact = save_skops(model, tmp_path / "by_name.skops")
    read = read_artifact(artifact)
    assert read.spec.input_names == ("laser radius", "QUAD:IN20:121:BACT", "charge")
    assert read.inferred.options["columns"] == list(read.spec.input_names)
    assert any("pandas DataFrame" in line for line in read.review)
    table = pandas.DataFrame(
        [list(s.values()) for s in read.samples], columns=model.feature_names_in_
    )
    assert [o["y"] for o in read.expected] == pytest.approx(
        model.predict(table).tolist(), rel=1e-12
    )
    made = convert_artifact(read, tmp_path / "p", make_options(project_name="By name"), git=False)
    pyproject = (made.path / "pyproject.toml").read_text()
    assert '"pandas>=' in pyproject
    binding = read_binding(made.path / "src" / "by_name" / "artifact.json")
    assert binding.options["columns"] == ["laser radius", "QUAD:IN20:121:BACT", "charge"]
    monkeypatch.syspath_prepend(str(made.path / "src"))
    try:
        from by_name.model import ByNameModel

        rows = np.random.default_rng(5).normal(size=(20, 3))
        sets = [dict(zip(read.spec.input_names, map(float, row), strict=True)) for row in rows]
        got = [o["y"] for o in ByNameModel().batch(sets)]
        own = model.predict(pandas.DataFrame(rows, columns=model.feature_names_in_))
        assert got == pytest.approx(own.tolist(), rel=1e-12)
        assert ByNameModel()(charge=2.0)["y"] == pytest.approx(
            model.predict(pandas.DataFrame([[0.0, 0.0, 2.0]], columns=model.feature_names_in_))[0]
        )
    finally:
        for name in [m for m in sys.modules if m == "by_name" or m.startswith("by_name.")]:
            del sys.modules[name]


def test_an_estimator_that_takes_an_array_is_given_one(tmp_path):
    read = read_artifact(save_skops(regressor(("a", "b", "c")), tmp_path / "named.skops"))
    assert "columns" not in read.inferred.options
    assert not any("pandas" in r for r in (*read.inferred.requirements, *read.review))


# -- a variables file given with the artifact ------------------------------------------------------


def _variables(tmp_path, inputs, outputs, name="vars.yml"):
    path = tmp_path / name
    document = {"input_variables": inputs, "output_variables": outputs}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize(("make", "clash"), [(regressor, "y"), (classifier, "label")])
def test_a_feature_named_as_a_guessed_output_leaves_the_output_another_name(tmp_path, make, clash):
    names = [clash, "a", "b"]
    model = make() if make is classifier else make(names)
    if make is classifier:  # a classifier fitted on a table of these columns
        pandas = pytest.importorskip("pandas")
        x, y = training_data()
        model = model.fit(pandas.DataFrame(x, columns=names), (y > 0).astype(int))
    read = read_artifact(save_skops(model, tmp_path / "m.skops"))
    assert read.spec.input_names == tuple(names)
    assert read.spec.output_names[0] == f"{clash}_predicted"
    assert f"{clash}_predicted" in read.inferred.guessed
    assert dict(read.described)["outputs"].startswith(f"{clash}_predicted <- predict")


def test_a_variables_file_may_give_an_output_the_name_of_no_input(tmp_path):
    artifact = save_skops(regressor(["y", "a", "b"]), tmp_path / "m.skops")
    renamed = _variables(
        tmp_path, {n: {"type": "scalar"} for n in "yab"}, {"prediction": {"type": "scalar"}}
    )
    read = read_artifact(artifact, variables=renamed)
    assert read.inferred.inputs[0].variables == ("y", "a", "b")
    assert read.inferred.outputs[0].names == ("prediction",)
    assert dict(read.described)["inputs"].startswith("y, a, b <- its 3 features")


def test_a_variables_file_names_ranges_and_units_the_variables(tmp_path):
    artifact = save_onnx(regressor(), tmp_path / "reg.onnx")
    variables = _variables(
        tmp_path,
        {
            "radius": {"type": "scalar", "default": 0.5, "range": [0.1, 1.0], "units": "mm"},
            "charge": {"type": "scalar", "default": 100, "range": [50, 150], "units": "pC"},
            "phase": {"type": "scalar", "default": 0, "range": [-10, 10], "units": "deg"},
        },
        {"sigma": {"type": "scalar", "units": "mm"}},
    )
    read = read_artifact(artifact, variables=variables)
    assert read.spec.input_names == ("radius", "charge", "phase")
    assert read.inferred.inputs[0].variables == ("radius", "charge", "phase")
    assert read.inferred.outputs[0].variables == ("sigma",)
    for sample in read.samples:  # drawn inside the ranges
        assert 0.1 <= sample["radius"] <= 1.0 and 50 <= sample["charge"] <= 150
    assert not any("names guessed" in line or "no range" in line for line in read.review)
    assert not any("units unknown" in line for line in read.review)
    described = dict(read.described)  # what the command prints: the names of the file
    assert described["inputs"] == "radius, charge, phase <- tensor 'X' [N, 3] float32"
    assert described["outputs"].startswith("sigma <- tensor ")


@pytest.mark.parametrize(
    ("inputs", "outputs", "message"),
    [
        (
            {"a": {"type": "scalar"}, "b": {"type": "scalar"}},
            {"y": {"type": "scalar"}},
            "vars.yml: declares 2 inputs, but reg.onnx has 3 (x0, x1, x2); declare one input for each",
        ),
        (
            {
                "a": {"type": "scalar"},
                "b": {"type": "scalar"},
                "c": {"type": "array", "shape": [3]},
            },
            {"y": {"type": "scalar"}},
            "vars.yml: input 'c' is an array, but reg.onnx has a scalar there; declare a scalar",
        ),
        (
            {"a": {"type": "scalar"}, "b": {"type": "scalar"}, "c": {"type": "scalar"}},
            {"y": {"type": "str"}},
            "vars.yml: output 'y' is a str, but reg.onnx has a scalar there; declare a scalar",
        ),
    ],
)
def test_a_variables_file_that_disagrees_is_an_error_naming_the_mismatch(
    tmp_path, inputs, outputs, message
):
    artifact = save_onnx(regressor(), tmp_path / "reg.onnx")
    with pytest.raises(ArtifactError) as caught:
        read_artifact(artifact, variables=_variables(tmp_path, inputs, outputs))
    assert str(caught.value).endswith(message)


def test_names_the_artifact_gives_must_be_declared(tmp_path):
    artifact = save_skops(regressor(["a", "b", "c"]), tmp_path / "named.skops")
    variables = _variables(
        tmp_path, {n: {"type": "scalar"} for n in "abd"}, {"y": {"type": "scalar"}}
    )
    with pytest.raises(ArtifactError, match=r"vars.yml: has no input 'c', which named.skops names"):
        read_artifact(artifact, variables=variables)
    reordered = _variables(
        tmp_path, {n: {"type": "scalar"} for n in "cab"}, {"out": {"type": "scalar"}}, "ok.yml"
    )
    read = read_artifact(artifact, variables=reordered)
    assert read.spec.input_names == ("c", "a", "b")  # as declared; the columns keep their order
    assert read.inferred.inputs[0].variables == ("a", "b", "c")


def test_an_array_of_another_shape_is_refused(tmp_path):
    path = save_graph(
        tmp_path / "img.onnx", inputs=[("img", ("N", 4, 5))], outputs=[("o", ("N", 4, 5))]
    )
    variables = _variables(
        tmp_path,
        {"img": {"type": "array", "shape": [5, 4]}},
        {"o": {"type": "array", "shape": [4, 5]}},
    )
    with pytest.raises(
        ArtifactError, match=r"input 'img' has shape \(5, 4\), but img.onnx has \(4, 5\)"
    ):
        read_artifact(path, variables=variables)


def test_class_labels_must_match(tmp_path):
    artifact = save_skops(classifier(("low", "high")), tmp_path / "clf.skops")
    variables = _variables(
        tmp_path,
        {f"x{i}": {"type": "scalar"} for i in range(3)},
        {
            "kind": {"type": "enum", "choices": ["low", "medium"]},
            "p": {"type": "array", "shape": [2]},
        },
    )
    with pytest.raises(
        ArtifactError,
        match=r'must be an enum of the classes of clf\.skops, in any order: choices: \["high", "low"\]$',
    ):
        read_artifact(artifact, variables=variables)
    numbered = save_skops(classifier((0, 1, 2)), tmp_path / "numbered.skops")
    variables = _variables(
        tmp_path,
        {f"x{i}": {"type": "scalar"} for i in range(3)},
        {
            "kind": {"type": "enum", "choices": ["0", "1", "2"]},
            "p": {"type": "array", "shape": [3]},
        },
        "numbered.yml",
    )
    with pytest.raises(ArtifactError, match=r"in any order: choices: \[0, 1, 2\]$"):
        read_artifact(numbered, variables=variables)  # the classes are numbers, not text


# -- what is written --------------------------------------------------------------------------------


def test_the_project_holds_the_artifact_its_binding_and_the_samples(tmp_path):
    artifact = save_skops(classifier(), tmp_path / "clf.skops")
    made = convert_artifact(
        artifact, tmp_path / "p", make_options(project_name="Beam Classifier"), git=False
    )
    package = made.path / "src" / "beam_classifier"
    assert (package / "model.skops").read_bytes() == artifact.read_bytes()
    binding = read_binding(package / "artifact.json")
    assert binding.kind == "sklearn" and binding.file == "model.skops"
    assert binding.options == {"loader": "skops", "trusted": []}
    samples = json.loads((made.path / "tests" / "artifact_samples.json").read_text())
    assert len(samples["inputs"]) == len(samples["outputs"]) == 8
    assert samples["tolerance"] == {"probabilities": {"rtol": 1e-9, "atol": 1e-12}}
    assert load_spec(package / "variables.yml").output_names == ("label", "probabilities")
    model_py = (package / "model.py").read_text()
    assert "class BeamClassifierModel(ArtifactModel):" in model_py
    assert 'artifact = files("beam_classifier") / "artifact.json"' in model_py
    pyproject = (made.path / "pyproject.toml").read_text()
    assert '"scikit-learn>=' in pyproject and '"skops>=' in pyproject
    assert "onnxruntime" not in pyproject
    assert 'data = ["beam_classifier/model.skops", "beam_classifier/artifact.json"]' in pyproject
    readme = (made.path / "README.md").read_text()
    assert "## The converted model" in readme and "names guessed" in readme
    assert "## Write the model" not in readme


def test_an_onnx_project_depends_on_onnxruntime_only(tmp_path):
    artifact = save_onnx(regressor(), tmp_path / "reg.onnx")
    made = convert_artifact(artifact, tmp_path / "p", make_options(project_name="Reg"), git=False)
    pyproject = (made.path / "pyproject.toml").read_text()
    assert '"onnxruntime>=' in pyproject
    assert "scikit-learn" not in pyproject and "skops" not in pyproject


def test_the_converted_model_gives_the_artifacts_outputs(tmp_path, monkeypatch):
    """In this process: the generated package, imported from its src folder."""
    import sys

    model = classifier(("a", "b", "c"))
    artifact = save_skops(model, tmp_path / "clf.skops")
    made = convert_artifact(artifact, tmp_path / "p", make_options(project_name="Tri"), git=False)
    monkeypatch.syspath_prepend(str(made.path / "src"))
    try:
        from tri.model import TriModel

        x, _ = training_data(seed=5)
        sets = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in x[:50]]
        outputs = TriModel().batch(sets)
        assert [o["label"] for o in outputs] == model.predict(x[:50]).tolist()
        np.testing.assert_allclose(
            np.stack([o["probabilities"] for o in outputs]), model.predict_proba(x[:50])
        )
        assert TriModel()(x0=0.5)["label"] in ("a", "b", "c")
    finally:
        for name in [m for m in sys.modules if m == "tri" or m.startswith("tri.")]:
            del sys.modules[name]


def test_a_joblib_file_converts_with_trust(tmp_path):
    artifact = save_joblib(regressor(), tmp_path / "reg.joblib")
    read = read_artifact(artifact, trust=True)
    assert read.inferred.file_name == "model.joblib"
    assert read.inferred.options == {"loader": "joblib"}
    assert any("runs the code" in line for line in read.review)
    assert "joblib>=1.2" in read.inferred.requirements


def test_a_scalar_range_is_a_sample_bound():
    from modelcrate.packaging.convert._variables import _bounds

    assert _bounds(ScalarVariable(name="a", value_range=(0.0, 2.0))) == (0.0, 2.0)
    assert _bounds(ScalarVariable(name="a", default=10.0)) == (0.0, 20.0)
    assert _bounds(ScalarVariable(name="a", default=0.0, value_range=(0.0, float("inf")))) == (
        0.0,
        1.0,
    )


@pytest.mark.parametrize("kind", ["onnx", "sklearn"])
def test_a_converted_project_passes_its_own_linters(tmp_path, kind):
    """The generated code (model.py, tests/test_artifact.py) is as ruff wants it."""
    import subprocess
    import sys
    from pathlib import Path

    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed beside this Python")
    save = save_onnx if kind == "onnx" else save_skops
    artifact = save(classifier(), tmp_path / f"clf.{'onnx' if kind == 'onnx' else 'skops'}")
    made = convert_artifact(
        artifact, tmp_path / "p", make_options(project_name="Beam Surrogate"),
        git=False,
    )  # fmt: skip
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [str(ruff), *args, "--no-cache", "."], cwd=made.path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_tests_leave_out_samples_outside_ranges_narrowed_since(tmp_path):
    import os
    import subprocess

    artifact = save_skops(regressor(), tmp_path / "reg.skops")
    made = convert_artifact(artifact, tmp_path / "p", make_options(project_name="Nar"), git=False)
    path = made.path / "src" / "nar" / "variables.yml"
    document = yaml.safe_load(path.read_text())

    def replayed(value_range):
        document["input_variables"]["x0"]["value_range"] = value_range
        document["input_variables"]["x0"]["default_validation_config"] = "error"
        path.write_text(yaml.safe_dump(document))
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/test_artifact.py",
            ],
            cwd=made.path,
            env={**os.environ, "PYTHONPATH": str(made.path / "src")},
            capture_output=True,
            text=True,
            check=False,
        )

    samples = json.loads((made.path / "tests" / "artifact_samples.json").read_text())
    inside = [s for s in samples["inputs"] if 0.0 <= s["x0"] <= 0.5]
    assert 0 < len(inside) < len(samples["inputs"])  # some are left out, some replayed
    narrowed = replayed([0.0, 0.5])
    assert narrowed.returncode == 0, narrowed.stdout[-2000:]
    elsewhere = replayed([100.0, 101.0])  # no sample inside, nor the default
    assert elsewhere.returncode == 1
    assert "no sample input set is inside the variables' ranges" in elsewhere.stdout


@pytest.mark.parametrize("named", ["../outside.pt", "/etc/passwd"])
def test_a_lume_config_naming_a_file_outside_its_folder_is_refused(tmp_path, named):
    folder = tmp_path / "config"
    folder.mkdir()
    (tmp_path / "outside.pt").write_bytes(b"PK\x03\x04")
    config = folder / "model_config.yml"
    config.write_text(
        f"model_class: TorchModel\ninput_variables: {{}}\noutput_variables: {{}}\nmodel: {named}\n"
    )
    with pytest.raises(ArtifactError, match=r"model names .*, outside the config's folder"):
        read_artifact(config)
