"""`ArtifactModel` and its binding file: tensors packed from input sets and unpacked into
outputs, a malformed binding named in one error, the artifact loaded once per process whichever
thread asks first, and only the library of its own kind imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _artifacts import regressor, save_onnx, save_skops

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
    )
    path = tmp_path / "artifact.json"
    path.write_text(json.dumps(binding.to_dict()))
    assert read_binding(path) == binding


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"modelcrate_artifact": 99}, "not a binding file of version 1"),
        ({"kind": "torch"}, "unknown kind 'torch' (known: onnx, sklearn)"),
        ({"file": "../../etc/passwd"}, "file '../../etc/passwd' must be a file name beside the binding file"),
        ({"inputs": [{"name": "X", "dtype": "float32", "shape": [None], "batched": True}]},
         "slot 'X' needs either variables or variable"),
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
