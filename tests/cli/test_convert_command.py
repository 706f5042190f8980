"""`modelcrate convert` on the command line: what it prints, and bad or hostile artifacts, each
one `error:` line naming the file and what to do (exit 2), with nothing written."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
import yaml
from _artifacts import (
    classifier,
    regressor,
    save_graph,
    save_joblib,
    save_onnx,
    save_skops,
    save_unshaped_graph,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcrate.spec import load_spec


def _convert(run_cli, artifact, out, *extra):
    return run_cli("convert", artifact, "-o", out, "--yes", "--no-git", *extra)


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "Error:" not in err.replace("error:", "")
    return lines[0]


def test_convert_prints_what_it_inferred_and_what_to_review(run_cli, tmp_path):
    artifact = save_onnx(regressor(), tmp_path / "surrogate.onnx")
    code, out, err = _convert(run_cli, artifact, tmp_path / "my-model")
    assert code == 0, err
    assert out.startswith(  # the folder is named as the project: named once
        "Converted surrogate.onnx (an ONNX graph, run with onnxruntime) into /"
    )
    assert out.splitlines()[0].endswith("/my-model (3 inputs, 1 output).")
    assert "  inputs      : x0, x1, x2 <- tensor 'X' [N, 3] float32" in out
    assert "Review (also in README.md):" in out
    assert "  - no range for x0, x1, x2" in out
    assert "pytest && modelcrate run ." in out
    assert (tmp_path / "my-model" / "src" / "my_model" / "model.onnx").is_file()


def _truncated(tmp_path):
    whole = save_onnx(regressor(), tmp_path / "whole.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _garbage_skops(tmp_path):
    path = tmp_path / "garbage.skops"
    path.write_bytes(b"this is not a zip file at all")
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    return path


def _torch(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04 torchscript")
    return path


def _lume_torch(tmp_path):
    path = tmp_path / "model_config.yml"
    path.write_text("model_class: TorchModel\ninput_variables: {}\n")
    return path


def _unknown(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"\x89HDF\r\n")
    return path


def _no_inputs(tmp_path):
    return save_graph(tmp_path / "constant.onnx", inputs=(), outputs=[("c", ())])


def _pickle(tmp_path):
    return save_joblib(regressor(), tmp_path / "reg.pkl")


def _untrusted_skops(tmp_path):
    """A skops file naming a type skops does not trust (written by hand: a real one would
    need that type importable)."""
    path = save_skops(regressor(), tmp_path / "odd.skops")
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    schema["__module__"], schema["__class__"] = "os", "system"
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _not_an_estimator(tmp_path):
    return save_skops({"weights": [1, 2, 3]}, tmp_path / "dict.skops")


def _missing(tmp_path):
    return tmp_path / "nowhere.onnx"


def _unshaped(tmp_path):
    return save_unshaped_graph(tmp_path / "unshaped.onnx", inputs=("N", None))


def _folder(tmp_path):
    (tmp_path / "dir.onnx").mkdir()
    return tmp_path / "dir.onnx"


BAD = {
    "truncated": (_truncated, "onnxruntime cannot load it as an ONNX model"),
    "not a zip": (_garbage_skops, "skops cannot read it"),
    "empty": (_empty, "the file is empty; save or export the model again"),
    "torchscript": (_torch, "a TorchScript module does not say what its inputs and outputs"),
    "lume-torch": (_lume_torch, "not a lume-torch model config (no `model:` naming the model"),
    "unknown": (_unknown, "unknown format '.h5'; convert takes .onnx, .skops, .joblib"),
    "no inputs": (_no_inputs, "the graph has no inputs, so there is nothing to evaluate"),
    "pickle": (_pickle, "loading a joblib or pickle file runs any code it holds; pass --trust"),
    "untrusted": (_untrusted_skops, "holds types skops does not trust by default: 'os.system';"),
    "not an estimator": (_not_an_estimator, "not a scikit-learn estimator with predict"),
    "missing": (_missing, "no such file"),
    "folder": (_folder, "not a file"),
    "no output shape": (_unshaped, "the graph does not declare the shape of output Y, and its "
                        "inputs' shapes are not all known"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_artifact_is_one_error_line_and_nothing_is_written(run_cli, tmp_path, case):
    make, message = BAD[case]
    artifact = make(tmp_path)
    out_dir = tmp_path / "out"
    code, _, err = _convert(run_cli, artifact, out_dir)
    line = _one_error(err)
    assert code == 2
    assert line.startswith(f"error: {artifact}: ")
    assert message in line
    assert not out_dir.exists()


def test_a_pickle_converts_with_trust(run_cli, tmp_path):
    code, out, err = _convert(run_cli, _pickle(tmp_path), tmp_path / "out", "--trust")
    assert code == 0, err
    assert "runs the code the file holds" in out


def test_a_variables_file_that_disagrees_is_one_error_line(run_cli, tmp_path):
    artifact = save_onnx(regressor(), tmp_path / "reg.onnx")
    variables = tmp_path / "vars.yml"
    variables.write_text(
        yaml.safe_dump(
            {
                "input_variables": {"a": {"type": "scalar"}},
                "output_variables": {"y": {"type": "scalar"}},
            }
        )
    )
    code, _, err = _convert(run_cli, artifact, tmp_path / "out", "--variables", variables)
    assert code == 2
    assert _one_error(err) == (
        f"error: {variables}: declares 1 inputs, but reg.onnx has 3 (x0, x1, x2); declare one "
        "input for each"
    )
    assert not (tmp_path / "out").exists()


HOSTILE = [
    "quote \" and ' and \\ backslash",
    "{{ template }} {% raw %}",
    "`code` | pipe <b>html</b> [link](x)",
    "ünïcødé ∂x/∂t 日本",
    "# heading",
    "QUAD:IN20:121:BACT",
]


def test_hostile_feature_names_and_class_labels_round_trip(run_cli, tmp_path):
    labels = ('say "hi"', "{{ x }}", "line\nbreak", "ünï")
    model = classifier(labels)
    # the names ride on the pipeline's first step, as if it was fitted on a table of them
    model.steps[0][1].feature_names_in_ = np.asarray(HOSTILE[:3], dtype=object)
    artifact = save_skops(model, tmp_path / "hostile.skops")
    code, out, err = _convert(run_cli, artifact, tmp_path / "out")
    assert code == 0, err
    spec = load_spec(tmp_path / "out" / "src" / "out" / "variables.yml")
    assert spec.input_names == tuple(HOSTILE[:3])
    assert set(spec.outputs[0].choices) == set(labels)
    assert "\n" not in out.split("Review")[0].split("  inputs")[1].split("\n")[0]


def test_hostile_graph_names_round_trip(run_cli, tmp_path):
    names = HOSTILE[3:]
    artifact = save_graph(
        tmp_path / "g.onnx",
        inputs=[(names[0], ("N",)), (names[1], ("N", 2, 2))],
        outputs=[(names[2], ("N",))],
        metadata={"description": "{{ evil }}"},
    )
    code, _, err = _convert(run_cli, artifact, tmp_path / "out")
    assert code == 0, err
    spec = load_spec(tmp_path / "out" / "src" / "out" / "variables.yml")
    assert spec.input_names == tuple(names[:2]) and spec.output_names == (names[2],)


def test_a_graph_name_that_cannot_be_a_variable_asks_for_a_variables_file(run_cli, tmp_path):
    artifact = save_graph(
        tmp_path / "g.onnx", inputs=[("in\nput", ("N",))], outputs=[("o", ("N",))]
    )
    code, _, err = _convert(run_cli, artifact, tmp_path / "out")
    line = _one_error(err)
    assert code == 2 and "its names cannot be variable names" in line
    assert "--variables FILE" in line


# -- fuzz: whatever the bytes, one error line (or a project), never a traceback ---------------------

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("valid")
    return {
        ".onnx": save_onnx(classifier(), root / "c.onnx").read_bytes(),
        ".skops": save_skops(classifier(), root / "c.skops").read_bytes(),
        ".joblib": save_joblib(regressor(), root / "r.joblib").read_bytes(),
    }


@FUZZ
@given(
    suffix=st.sampled_from([".onnx", ".skops", ".joblib"]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4),
    trust=st.booleans(),
)
def test_fuzz_damaged_artifacts(run_cli, tmp_path, valid_files, suffix, cut, flips, trust):
    data = bytearray(valid_files[suffix])
    data = data[: max(1, int(len(data) * cut))]
    for where, value in flips:
        data[min(len(data) - 1, int(len(data) * where))] = value
    artifact = tmp_path / f"damaged{suffix}"
    artifact.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    code, _, err = _convert(run_cli, artifact, out_dir, *(["--trust"] if trust else []))
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 0:  # the damage missed what matters: a complete project
        assert (out_dir / "pyproject.toml").is_file()
    else:
        assert code == 2 and _one_error(err).startswith(f"error: {artifact}: ")
        assert not out_dir.exists()
