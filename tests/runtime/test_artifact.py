"""`ArtifactModel` and its binding file: tensors packed from input sets and unpacked into
outputs, a malformed binding named in one error, the artifact loaded once per process whichever
thread asks first, and only the library of its own kind imported."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _artifacts import classifier, regressor, save_onnx, save_skops

from modelcrate import OutputError, ProjectError
from modelcrate.packaging import convert_artifact, make_options
from modelcrate.runtime import Binding, Slot, _artifact, pack_inputs, read_binding, unpack_outputs


def test_columns_and_whole_values_pack_into_tensors():
    slots = [
        Slot("X", "float32", (None, 2), variables=("a", "b")),
        Slot("flag", "bool", (None,), variable="on"),
        Slot("img", "float64", (None, 2, 2), variable="img"),
    ]
    sets = [
        {"a": 1.0, "b": 2.0, "on": True, "img": np.eye(2)},
        {"a": 3.0, "b": 4.0, "on": False, "img": np.ones((2, 2))},
    ]
    tensors = pack_inputs(slots, sets)
    assert tensors["X"].dtype == np.float32 and tensors["X"].tolist() == [[1, 2], [3, 4]]
    assert tensors["flag"].tolist() == [True, False]
    assert tensors["img"].shape == (2, 2, 2)


def test_a_tensor_without_a_batch_axis_takes_its_declared_shape():
    slot = Slot("X", "float32", (1, 3), batched=False, variables=("a", "b", "c"))
    assert pack_inputs([slot], [{"a": 1.0, "b": 2.0, "c": 3.0}])["X"].shape == (1, 3)
    out = Slot("Y", "float32", (1, 2), batched=False, variables=("p", "q"))
    assert unpack_outputs([out], [np.array([[5.0, 6.0]])], 1) == [{"p": 5.0, "q": 6.0}]


def test_outputs_unpack_into_one_dict_per_set():
    slots = [
        Slot("Y", "float32", (None, 2), variables=("p", "q")),
        Slot("label", "str", (None,), variable="label"),
        Slot("probabilities", "float64", (None, 3), variable="probabilities"),
    ]
    arrays = [
        np.array([[1, 2], [3, 4]], dtype=np.float32),
        np.array(["a", "b"], dtype=object),
        np.full((2, 3), 1 / 3),
    ]
    outputs = unpack_outputs(slots, arrays, 2)
    assert [(o["p"], o["q"], o["label"]) for o in outputs] == [(1.0, 2.0, "a"), (3.0, 4.0, "b")]
    assert type(outputs[0]["p"]) is float and outputs[1]["probabilities"].shape == (3,)


def test_outputs_of_the_wrong_length_are_an_error():
    slot = Slot("Y", "float32", (None,), variable="y")
    with pytest.raises(OutputError, match="has shape \\(3,\\), not 2 rows"):
        unpack_outputs([slot], [np.zeros(3)], 2)


def test_a_binding_reads_back_as_written(tmp_path):
    binding = Binding(
        "onnx",
        "model.onnx",
        "0" * 64,
        (Slot("X", "float32", (None, 2), variables=("a", "b")),),
        (Slot("Y", "float32", (None,), variable="y"),),
        files={"weights.bin": "a" * 64},
    )
    path = tmp_path / "artifact.json"
    path.write_text(json.dumps(binding.to_dict()))
    assert read_binding(path) == binding


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"modelcrate_artifact": 99}, "not a binding file of version 1"),
        ({"kind": "torch"}, "unknown kind 'torch' (known: onnx, sklearn, torchscript, lume-torch)"),
        ({"file": "../../etc/passwd"}, "file '../../etc/passwd' must be a file name beside the binding file"),
        ({"inputs": [{"name": "X", "dtype": "float32", "shape": [None], "batched": True}]},
         "slot 'X' needs either variables or variable"),
        ({"sha256": "abc"}, "sha256 'abc' is not 64 lowercase hex digits"),
        ({"files": {"../w.bin": "a" * 64}}, "file '../w.bin' must be a file name beside the binding file"),
        ({"files": {"w.bin": "A" * 64}}, f"sha256 '{'A' * 64}' is not 64 lowercase hex digits"),
        ({"files": [["a"]]}, "files must be a mapping of file names to their SHA-256"),
        ({"files": None}, "files must be a mapping of file names to their SHA-256"),
    ],
)  # fmt: skip
def test_a_malformed_binding_is_one_error_naming_the_file(tmp_path, change, reason):
    data = {
        "modelcrate_artifact": 1,
        "kind": "onnx",
        "file": "model.onnx",
        "sha256": "",
        "inputs": [],
        "outputs": [],
        **change,
    }
    path = tmp_path / "artifact.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError) as caught:
        read_binding(path)
    assert str(caught.value).startswith(f"{path}: not a valid artifact binding file ({reason})")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """An ONNX and a scikit-learn regressor, converted (not installed): their src folders."""
    root = tmp_path_factory.mktemp("converted")
    made = {}
    for kind, save in (("onnx", save_onnx), ("sklearn", save_skops)):
        artifact = save(regressor(), root / f"reg.{'onnx' if kind == 'onnx' else 'skops'}")
        project = convert_artifact(
            artifact, root / kind, make_options(project_name=f"{kind} reg"), git=False
        )
        made[kind] = project.path / "src"
    return made


def test_the_artifact_loads_once_whichever_thread_asks_first(converted, monkeypatch):
    monkeypatch.syspath_prepend(str(converted["sklearn"]))
    loads = []
    real = _artifact.load_artifact

    def counting(path):
        loads.append(path)
        return real(path)

    monkeypatch.setattr(_artifact, "load_artifact", counting)
    try:
        from sklearn_reg.model import SklearnRegModel

        start = threading.Barrier(8)
        results = []

        def evaluate():
            start.wait()
            results.append(SklearnRegModel()(x0=1.0)["y"])

        threads = [threading.Thread(target=evaluate) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(loads) == 1 and len(set(results)) == 1 and len(results) == 8
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "sklearn_reg"]:
            del sys.modules[name]


LOADED = """
import json, sys
from {package}.model import {cls}
imported = sorted(sys.modules)
{cls}()(x0=1.0)
print(json.dumps([imported, sorted(sys.modules)]))
"""


@pytest.mark.parametrize(
    ("kind", "needs", "never"),
    [
        ("onnx", "onnxruntime", ["sklearn", "skops", "joblib"]),
        ("sklearn", "sklearn", ["onnxruntime", "onnx"]),
    ],
)
def test_a_converted_model_imports_only_its_own_kinds_library(converted, kind, needs, never):
    package, cls = f"{kind}_reg", f"{kind.capitalize()}RegModel"
    env = {**os.environ, "PYTHONPATH": str(converted[kind])}
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(package=package, cls=cls)],
        env=env, capture_output=True, text=True, timeout=300, cwd=Path(converted[kind]).parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    imported, evaluated = json.loads(done.stdout.strip().splitlines()[-1])
    tools = ["copier", "jinja2", "build", "uv", "prefect", "modelcrate.packaging"]
    assert [m for m in imported if m.split(".")[0] in (needs, *never, *tools)] == []
    assert needs in evaluated
    assert [m for m in evaluated if m.split(".")[0] in never] == []
    # (skops imports jinja2 itself; modelcrate's own tools stay out)
    tools_after = [t for t in tools if t != "jinja2"]
    assert [m for m in evaluated if m.split(".")[0] in tools_after] == []
    assert [m for m in evaluated if m.startswith("modelcrate.packaging")] == []


@pytest.fixture
def imported(converted, monkeypatch):
    """The model class of a converted package, imported from its src folder."""
    loaded = []

    def model(kind, package, cls):
        monkeypatch.syspath_prepend(str(converted[kind]))
        loaded.append(package)
        return getattr(importlib.import_module(f"{package}.model"), cls)

    yield model
    for name in [m for m in sys.modules if m.split(".")[0] in loaded]:
        del sys.modules[name]


def _usual(model, sets):
    """A batch the way a model without `evaluate_floats` runs it."""
    return model.check_outputs_many(model.evaluate_batch(model.prepare_many(sets)))


@pytest.mark.parametrize("kind", ["onnx", "sklearn"])
def test_a_batch_of_floats_runs_as_columns_with_the_outputs_of_the_usual_way(
    imported, kind, monkeypatch
):
    model = imported(kind, f"{kind}_reg", f"{kind.capitalize()}RegModel")()
    rows = np.random.default_rng(3).normal(size=(40, 3))
    sets = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rows]
    usual = _usual(model, sets)
    monkeypatch.setattr(_artifact._Loaded, "run", lambda self, sets: pytest.fail("not columns"))
    for outputs in (model.batch(sets), model.evaluate_prepared(sets)):
        assert outputs == usual
        assert [list(o) for o in outputs] == [list(o) for o in usual]
        assert {type(v) for o in outputs for v in o.values()} == {float}
    columns = model.batch_columns({f"x{i}": rows[:, i] for i in range(3)})
    ((name, array),) = columns.items()
    assert [name] == list(usual[0]) and array.dtype == np.float64
    assert array.tolist() == [o[name] for o in usual]


@pytest.mark.parametrize(
    "change",
    [
        {"x0": 1},  # an int: prepare makes it a float, then the columns
        {"x0": True},  # a bool: an error
        {"x3": 1.0},  # an unknown input: an error
        {"x0": "1.0"},
    ],
)
def test_a_batch_that_is_not_plain_floats_gives_what_the_usual_way_gives(imported, change):
    model = imported("onnx", "onnx_reg", "OnnxRegModel")()
    sets = [{"x0": 0.5, "x1": 1.5, "x2": -1.0} for _ in range(3)]
    sets[1] = {**sets[1], **change}
    try:
        usual = ("ok", _usual(model, sets))
    except Exception as exc:
        usual = ("error", type(exc), str(exc))
    try:
        outcome = ("ok", model.batch(sets))
    except Exception as exc:
        outcome = ("error", type(exc), str(exc))
    assert outcome == usual


@pytest.mark.parametrize(("kind", "save"), [("onnx", save_onnx), ("sklearn", save_skops)])
def test_a_classifiers_label_and_probabilities_come_out_as_the_usual_way_gives_them(
    tmp_path, monkeypatch, kind, save
):
    artifact = save(classifier(("low", "mid", "high")), tmp_path / f"clf.{kind}")
    if kind == "sklearn":
        artifact = artifact.rename(tmp_path / "clf.skops")
    made = convert_artifact(artifact, tmp_path / "p", make_options(project_name="Clf"), git=False)
    monkeypatch.syspath_prepend(str(made.path / "src"))
    try:
        from clf.model import ClfModel

        model = ClfModel()
        rows = np.random.default_rng(4).normal(size=(30, 3))
        sets = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rows]
        usual = _usual(model, sets)
        assert _plain(model.batch(sets)) == _plain(usual)
        columns = model.batch_columns({f"x{i}": rows[:, i] for i in range(3)})
        assert list(columns) == list(usual[0])
        for name, array in columns.items():  # a label per set; probabilities a row per set
            assert array.tolist() == [np.asarray(o[name]).tolist() for o in usual]
    finally:
        for name in [m for m in sys.modules if m == "clf" or m.startswith("clf.")]:
            del sys.modules[name]


def _plain(outputs):
    """Outputs with their arrays as (dtype, values): comparable with `==`."""
    return [
        [
            (k, (v.dtype.str, v.tolist()) if isinstance(v, np.ndarray) else (type(v), v))
            for k, v in o.items()
        ]
        for o in outputs
    ]


def test_a_model_that_adds_steps_around_the_artifact_keeps_them(imported):
    base = imported("sklearn", "sklearn_reg", "SklearnRegModel")

    class Shifted(base):
        def run_artifact(self, input_sets):
            return [{"y": out["y"] + 100.0} for out in super().run_artifact(input_sets)]

    sets = [{"x0": 0.5, "x1": 1.5, "x2": -1.0}] * 3
    plain = base().batch(sets)
    assert [o["y"] for o in Shifted().batch(sets)] == [o["y"] + 100.0 for o in plain]


def _converted_package(tmp_path):
    """A scikit-learn regressor converted into a project under `tmp_path`: its package folder."""
    artifact = save_skops(regressor(), tmp_path / "reg.skops")
    made = convert_artifact(artifact, tmp_path / "p", make_options(project_name="Reg"), git=False)
    return made.path / "src" / "reg"


def test_the_binding_records_the_artifacts_sha256(tmp_path):
    package = _converted_package(tmp_path)
    data = json.loads((package / "artifact.json").read_text())
    assert data["sha256"] == hashlib.sha256((package / "model.skops").read_bytes()).hexdigest()
    assert data["files"] == {}  # a lume-torch config's files are recorded here too


def test_an_artifact_changed_since_conversion_is_one_error_naming_the_file(tmp_path):
    package = _converted_package(tmp_path)
    binding_path = package / "artifact.json"
    artifact = package / "model.skops"
    original = artifact.read_bytes()
    artifact.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ProjectError) as caught:
        _artifact.load_artifact(binding_path)
    assert str(caught.value) == (
        f"{artifact}: the file changed since the model was converted (its SHA-256 is not the "
        "one artifact.json records); restore the file, or convert the model again"
    )
    artifact.unlink()
    with pytest.raises(ProjectError, match=r"cannot read the artifact's file .*; restore it"):
        _artifact.load_artifact(binding_path)
    artifact.write_bytes(original)
    _binding, runner = _artifact.load_artifact(binding_path)
    assert runner({"X": np.zeros((1, 3))}, ["predict"])[0].shape == (1,)


def test_a_changed_artifact_stops_modelcrate_run_with_one_error_line(tmp_path, run_cli):
    package = _converted_package(tmp_path)
    (package / "model.skops").write_bytes((package / "model.skops").read_bytes() + b"\0")
    try:
        code, _, err = run_cli("run", tmp_path / "p", "--set", "x0=1.0")
    finally:
        for name in [m for m in sys.modules if m == "reg" or m.startswith("reg.")]:
            del sys.modules[name]
    assert code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        f"error: {package / 'model.skops'}: the file changed since the model was converted (its "
        "SHA-256 is not the one artifact.json records); restore the file, or convert the model "
        "again"
    ]


def test_a_binding_without_digests_loads_as_before(tmp_path):
    """A binding file written before digests were recorded (no `sha256`, no `files`) loads,
    unchecked."""
    package = _converted_package(tmp_path)
    binding_path = package / "artifact.json"
    data = json.loads(binding_path.read_text())
    del data["sha256"], data["files"]
    binding_path.write_text(json.dumps(data))
    binding, _ = _artifact.load_artifact(binding_path)
    assert binding.sha256 == "" and binding.files == {}


def test_the_check_hashes_each_file_once_per_process(tmp_path, monkeypatch):
    """The digests are checked when the artifact loads, which is once per model class."""
    package = _converted_package(tmp_path)
    monkeypatch.syspath_prepend(str(package.parent))
    hashed = []
    real = _artifact.file_sha256
    monkeypatch.setattr(_artifact, "file_sha256", lambda path: hashed.append(path) or real(path))
    try:
        from reg.model import RegModel

        for _ in range(3):
            RegModel().batch([{"x0": 1.0}, {"x1": 2.0}])
        assert hashed == [package / "model.skops"]
    finally:
        for name in [m for m in sys.modules if m == "reg" or m.startswith("reg.")]:
            del sys.modules[name]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_inputs_the_artifact_refuses_are_an_input_error_in_its_words(imported, value):
    from modelcrate import InputError

    model = imported("sklearn", "sklearn_reg", "SklearnRegModel")()
    sets = [{"x0": 0.5, "x1": 1.5, "x2": -1.0}, {"x0": value, "x1": 1.5, "x2": -1.0}]
    for evaluate in (
        lambda: model.batch(sets),
        lambda: model.batch_columns({k: [s[k] for s in sets] for k in sets[0]}),
        lambda: model(sets[1]),
    ):
        with pytest.raises(InputError, match=r"^the model's model.skops refused these inputs "):
            evaluate()
