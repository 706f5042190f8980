"""Result documents: arrays kept exactly, content hashes, JSON."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from modelcrate.runtime import Result, decode_value, encode_value, inputs_key, summarize
from modelcrate.runtime._result import BINARY_ARRAY_MIN_SIZE, canonical_json, content_hash

ARRAYS = [
    pytest.param(np.array([1.5, -2.25, 1e300]), id="float64"),
    pytest.param(np.array([0.1, 0.2, 3.4028235e38], dtype=np.float32), id="float32"),
    pytest.param(np.array([1, -2, 2**62], dtype=np.int64), id="int64"),
    pytest.param(np.array([7, 8], dtype=np.int32), id="int32"),
    pytest.param(np.array([0, 255], dtype=np.uint8), id="uint8"),
    pytest.param(np.array([True, False, True]), id="bool"),
    pytest.param(np.array(["QE01", "QUAD:IN20:121", "é"]), id="str"),
    pytest.param(np.array(3.5), id="0-d float"),
    pytest.param(np.array(42, dtype=np.int64), id="0-d int"),
    pytest.param(np.array("x"), id="0-d str"),
    pytest.param(np.array([], dtype=np.float64), id="empty"),
    pytest.param(np.zeros((0, 3), dtype=np.float32), id="empty 2-D"),
    pytest.param(np.array([], dtype=str), id="empty str"),
    pytest.param(np.arange(12, dtype=np.float64).reshape(3, 4), id="2-D"),
    pytest.param(np.arange(24, dtype=np.int16).reshape(2, 3, 4), id="3-D int16"),
    pytest.param(np.asfortranarray(np.arange(6.0).reshape(2, 3)), id="fortran order"),
    pytest.param(np.arange(10.0)[::3], id="strided view"),
    pytest.param(np.array([np.nan, np.inf, -np.inf]), id="non-finite"),
    pytest.param(np.array([1.0, 2.0], dtype=">f8"), id="big-endian"),
]


def assert_same_array(got, want):
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def make(inputs=None, outputs=None, **kwargs):
    return Result(
        model=kwargs.pop("model", "injector-surrogate"),
        version=kwargs.pop("version", "1.2.0"),
        inputs={"QUAD:IN20:121:BACT": -0.02} if inputs is None else inputs,
        outputs={"sigma_x": 0.1} if outputs is None else outputs,
        **kwargs,
    )


@pytest.mark.parametrize("array", ARRAYS)
def test_arrays_round_trip_through_the_document(array):
    result = make(inputs={"a": array}, outputs={"b": array, "nested": {"mean": array}})
    back = Result.from_document(result.to_document())
    assert_same_array(back.inputs["a"], array)
    assert_same_array(back.outputs["b"], array)
    assert_same_array(back.outputs["nested"]["mean"], array)


@pytest.mark.parametrize("array", ARRAYS)
def test_arrays_round_trip_through_json_text(array):
    result = make(outputs={"b": array})
    back = Result.from_document(json.loads(result.to_json()))
    assert_same_array(back.outputs["b"], array)
    assert back.hash == result.hash


@pytest.mark.parametrize("array", ARRAYS)
def test_encode_decode_value(array):
    encoded = encode_value(array)
    json.dumps(encoded, allow_nan=False)  # strict JSON, even for NaN and infinities
    assert_same_array(decode_value(encoded), array)


def test_plain_values_round_trip():
    inputs = {
        "QUAD:IN20:121:BACT": -0.02,
        "n_particles": 1000,
        "space_charge": True,
        "solver": "astra",
        "none": None,
        "items": [1, 2.5, "x"],
    }
    back = Result.from_document(json.loads(make(inputs=inputs).to_json()))
    assert back.inputs == inputs
    assert type(back.inputs["n_particles"]) is int
    assert type(back.inputs["space_charge"]) is bool


def test_numpy_scalars_are_stored_as_plain_numbers():
    doc = make(outputs={"x": np.float32(0.5), "n": np.int64(3), "ok": np.bool_(True)}).to_document()
    assert doc["outputs"] == {"x": 0.5, "n": 3, "ok": True}
    assert type(doc["outputs"]["n"]) is int


def test_document_fields():
    created = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    result = make(units={"QUAD:IN20:121:BACT": "kG"}, flow_run_id="abc-123", created=created)
    doc = result.to_document()
    assert doc["id"] == doc["hash"] == result.hash == result.id
    assert doc["model"] == "injector-surrogate"
    assert doc["version"] == "1.2.0"
    assert doc["flow_run_id"] == "abc-123"
    assert doc["created"] == "2024-05-01T12:30:00+00:00"
    assert doc["units"] == {"QUAD:IN20:121:BACT": "kG"}
    back = Result.from_document(doc)
    assert (back.model, back.version, back.flow_run_id, back.units, back.created) == (
        result.model,
        result.version,
        result.flow_run_id,
        result.units,
        created,
    )


def test_created_defaults_to_now_in_utc():
    before = datetime.now(timezone.utc)
    result = make()
    assert result.created.tzinfo is not None
    assert before - timedelta(seconds=1) <= result.created <= datetime.now(timezone.utc)


def test_hash_is_of_model_version_inputs_and_outputs_only():
    a = make(created=datetime(2020, 1, 1, tzinfo=timezone.utc), flow_run_id="one")
    b = make(created=datetime(2024, 1, 1, tzinfo=timezone.utc), flow_run_id="two", units={"x": "m"})
    assert a.hash == b.hash
    assert len(a.hash) == 64 and int(a.hash, 16) >= 0

    assert make(model="other").hash != a.hash
    assert make(version="1.2.1").hash != a.hash
    assert make(inputs={"QUAD:IN20:121:BACT": -0.03}).hash != a.hash
    assert make(outputs={"sigma_x": 0.2}).hash != a.hash


FINGERPRINT = "5c1e0a9f" * 8


def test_hash_is_of_the_code_too_but_not_of_its_dirty_mark():
    plain = make()
    code = make(fingerprint=FINGERPRINT)
    assert code.hash != plain.hash
    assert make(fingerprint="0" * 64).hash != code.hash
    assert make(fingerprint=FINGERPRINT, dirty=True).hash == code.hash
    doc = make(fingerprint=FINGERPRINT, dirty=True).to_document()
    assert (doc["fingerprint"], doc["dirty"]) == (FINGERPRINT, True)
    back = Result.from_document(json.loads(json.dumps(doc)), verify=True)
    assert (back.fingerprint, back.dirty, back.hash) == (FINGERPRINT, True, code.hash)


# A document as results were stored before they recorded their code (no fingerprint, no dirty).
OLD_DOCUMENT = {
    "id": "73f146e59aa4f57e6ca042697be3d67a2e9f32bf2ac494833c596cb53233fd1a",
    "model": "injector-surrogate",
    "version": "0.0.1.dev1+g1a2b3c4",
    "flow_run_id": None,
    "created": "2026-11-30T08:00:00+00:00",
    "inputs": {"laser_radius": 0.5, "QUAD:IN20:121:BACT": -0.02},
    "outputs": {
        "sigma_x": 0.1,
        "image": {"__ndarray__": {"dtype": "<f8", "shape": [2, 2], "data": [0.0, 1.0, 2.0, 3.0]}},
    },
    "units": {"laser_radius": "mm"},
    "hash": "73f146e59aa4f57e6ca042697be3d67a2e9f32bf2ac494833c596cb53233fd1a",
}


def test_a_document_stored_before_results_recorded_their_code_still_verifies():
    old = Result.from_document(OLD_DOCUMENT, verify=True)
    assert (old.fingerprint, old.dirty, old.id) == (None, None, OLD_DOCUMENT["id"])
    assert_same_array(old.outputs["image"], np.arange(4.0).reshape(2, 2))
    again = Result.from_document(json.loads(old.to_json()), verify=True)
    assert again == old and again.to_document()["fingerprint"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"fingerprint": None}, "is not the hash of its content", id="removed"),
        pytest.param({"fingerprint": "0" * 64}, "is not the hash of its content", id="changed"),
        pytest.param({"fingerprint": "abc"}, "fingerprint", id="not a sha256"),
        pytest.param({"dirty": "yes"}, "dirty", id="dirty not a boolean"),
    ],
)
def test_an_altered_fingerprint_is_caught(change, reason):
    document = make(fingerprint=FINGERPRINT).to_document()
    Result.from_document(document, verify=True)
    with pytest.raises(ValueError, match=reason):
        Result.from_document({**document, **change}, verify=True)


def test_results_list_and_show_read_old_documents(run_cli, tmp_path):
    folder = tmp_path / "results" / "injector-surrogate"
    folder.mkdir(parents=True)
    (folder / f"{OLD_DOCUMENT['id']}.json").write_text(json.dumps(OLD_DOCUMENT))
    new = make(model="injector-surrogate", fingerprint=FINGERPRINT, dirty=True)
    (folder / f"{new.id}.json").write_text(new.to_json())

    code, out, err = run_cli("results", "list", "-t", tmp_path / "results")
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line.split()[3:5] for line in out.splitlines()[1:-1]}
    assert rows[OLD_DOCUMENT["id"][:12]][0] == "-"
    assert rows[new.id[:12]] == [FINGERPRINT[:12], "dirty"]
    code, out, err = run_cli("results", "show", OLD_DOCUMENT["id"][:8], "-t", tmp_path / "results")
    assert (code, err) == (0, "")
    assert "\ncode     - (stored before results recorded their code)\n" in out


def test_hash_does_not_depend_on_key_order():
    a = make(inputs={"a": 1.0, "b": 2.0})
    b = make(inputs={"b": 2.0, "a": 1.0})
    assert a.hash == b.hash


def test_hash_sees_array_dtype_and_shape():
    base = make(outputs={"p": np.arange(4.0)})
    assert make(outputs={"p": np.arange(4.0)}).hash == base.hash
    assert make(outputs={"p": np.arange(4.0).astype(np.float32)}).hash != base.hash
    assert make(outputs={"p": np.arange(4.0).reshape(2, 2)}).hash != base.hash


def test_hash_survives_a_round_trip():
    result = make(outputs={"p": np.arange(6, dtype=np.float32).reshape(2, 3), "x": math.nan})
    back = Result.from_document(json.loads(result.to_json()))
    recomputed = Result(
        model=back.model, version=back.version, inputs=back.inputs, outputs=back.outputs
    )
    assert recomputed.hash == result.hash


def _strict(token):
    raise AssertionError(f"non-standard JSON token {token}")


def test_to_json_is_strict_json_with_non_finite_numbers():
    result = make(outputs={"x": math.nan, "y": math.inf, "z": [1.0, -math.inf]})
    text = result.to_json(indent=2)
    back = Result.from_document(json.loads(text, parse_constant=_strict))
    assert math.isnan(back.outputs["x"]) and back.outputs["y"] == math.inf
    assert back.outputs["z"] == [1.0, -math.inf]


def test_large_arrays_are_stored_as_bytes_small_ones_as_lists():
    small = encode_value(np.arange(BINARY_ARRAY_MIN_SIZE - 1, dtype=np.int16))["__ndarray__"]
    large = encode_value(np.arange(BINARY_ARRAY_MIN_SIZE, dtype=np.int16))["__ndarray__"]
    with_nan = encode_value(np.array([1.0, math.nan]))["__ndarray__"]
    assert "data" in small and "base64" not in small
    assert "base64" in large and "data" not in large
    assert "base64" in with_nan


def test_big_endian_and_non_contiguous_arrays_round_trip():
    for array in (
        np.arange(2000, dtype=">f8").reshape(40, 50),
        np.arange(4000.0).reshape(80, 50)[::2, ::-1],
    ):
        back = decode_value(encode_value(array))
        assert_same_array(back, array)


def test_result_is_frozen():
    result = make()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError for a frozen model
        result.model = "other"


def test_summarize():
    assert summarize(0.123456789) == "0.123457"
    assert summarize(3) == "3"
    assert summarize("astra") == "astra"
    text = summarize(np.array([[1.0, 5.0], [2.0, 3.0]]))
    assert text.startswith("array(2, 2) float64") and "1" in text and "5" in text
    assert summarize(np.array(["a"])) == "array(1,) <U1"
    assert summarize({"mean": np.zeros(2)}).startswith("{mean: array(2,)")


# --- known bugs ---------------------------------------------------------------------------------


def test_results_with_arrays_compare_equal():
    created = datetime(2024, 5, 1, tzinfo=timezone.utc)
    result = make(outputs={"profile": np.arange(3.0)}, created=created)
    assert Result.from_document(result.to_document()) == result


def test_keep_whole_floats_marks_only_large_whole_floats_and_decodes_back():
    from modelcrate.runtime._result import keep_whole_floats

    array = encode_value(np.array([1e16, 2e17]))
    document = {"a": 1e16, "b": [-3e20, 2.5, 7], "c": 1.5e16 + 0.5, "d": 1e15, "arr": array}
    kept = keep_whole_floats(document)
    assert kept["a"] == {"__float__": "1e+16"}
    assert kept["b"] == [{"__float__": "-3e+20"}, 2.5, 7]
    assert kept["c"] == {"__float__": "1.5e+16"}  # whole at that size: floats have no fraction
    assert kept["d"] == 1e15  # below 1e16 every store keeps the decimal point
    assert kept["arr"] == array  # the dtype restores array values
    decoded = decode_value(kept)
    assert decoded["a"] == 1e16 and type(decoded["a"]) is float
    assert decoded["b"] == [-3e20, 2.5, 7] and type(decoded["b"][2]) is int
    assert decoded["arr"].dtype == np.float64


# --- the inputs key -----------------------------------------------------------------------------


def test_the_key_is_the_hash_of_model_version_code_and_inputs():
    inputs = {"QUAD:IN20:121:BACT": -0.02, "n": 3, "on": True, "solver": "astra", "none": None}
    payload = {"model": "m", "version": "1.0", "inputs": encode_value(inputs), "code": FINGERPRINT}
    want = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    assert inputs_key("m", "1.0", inputs, FINGERPRINT) == want
    del payload["code"]  # without a fingerprint, no code in what is hashed
    want = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    assert inputs_key("m", "1.0", inputs, None) == want


# Numbers of other types, non-finite floats, arrays and nested values take the slow path.
ODD_INPUTS = [
    pytest.param({"x": math.nan, "y": math.inf, "z": -math.inf}, id="non-finite"),
    pytest.param(
        {"x": np.float64(0.5), "n": np.int64(3), "b": np.bool_(False)}, id="numpy scalars"
    ),
    pytest.param({"a": np.arange(3.0), "big": np.zeros(2000, dtype=np.float32)}, id="arrays"),
    pytest.param({"fit": {"sigma": 0.25, "tags": ["a", 1.5]}, "t": (1, 2)}, id="nested"),
]


@pytest.mark.parametrize("inputs", ODD_INPUTS)
def test_the_key_encodes_inputs_as_documents_do(inputs):
    payload = {"model": "m", "version": "1.0", "inputs": encode_value(inputs)}
    want = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    assert inputs_key("m", "1.0", inputs, None) == want


def test_equal_inputs_and_code_give_equal_keys_whatever_the_outputs():
    a = make(fingerprint=FINGERPRINT, outputs={"sigma_x": 0.1})
    b = make(fingerprint=FINGERPRINT, outputs={"sigma_x": 0.2, "image": np.zeros((2, 2))})
    c = make(fingerprint=FINGERPRINT, dirty=True, flow_run_id="x", units={"sigma_x": "mm"})
    assert a.hash != b.hash
    assert a.key == b.key == c.key
    assert a.key == inputs_key(a.model, a.version, dict(a.inputs), FINGERPRINT)
    assert make(inputs={"a": 1.0, "b": 2.0}).key == make(inputs={"b": 2.0, "a": 1.0}).key


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"inputs": {"QUAD:IN20:121:BACT": -0.03}}, id="inputs"),
        pytest.param({"inputs": {"QUAD:IN20:121:BACT": -0.02, "extra": 1}}, id="more inputs"),
        pytest.param({"inputs": {"QUAD:IN20:121:BACT": np.float32(-0.02)}}, id="float32 value"),
        pytest.param({"fingerprint": "0" * 64}, id="fingerprint"),
        pytest.param({"fingerprint": None}, id="no fingerprint"),
        pytest.param({"version": "1.2.1"}, id="version"),
        pytest.param({"model": "other"}, id="model"),
    ],
)
def test_other_inputs_code_version_or_model_give_another_key(other):
    base = make(fingerprint=FINGERPRINT)
    changed = make(**{"fingerprint": FINGERPRINT, **other})
    assert changed.key != base.key


def test_the_key_is_the_same_in_another_process():
    code = (
        "from modelcrate.runtime import inputs_key; "
        f"print(inputs_key('injector-surrogate', '1.2.0', {{'b': 0.5, 'a': -2}}, {FINGERPRINT!r}))"
    )
    here = inputs_key("injector-surrogate", "1.2.0", {"a": -2, "b": 0.5}, FINGERPRINT)
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert done.stdout.strip() == here
    # and the same as when this was written: the key of stored results never changes
    assert here == PINNED_KEY


PINNED_KEY = "140135eb25328c6381fb6e695034ad4d4d2f06c493aace89ccd7454890cdbdd6"
"""sha256 of {"code":"5c1e…","inputs":{"a":-2,"b":0.5},"model":…,"version":"1.2.0"}, compact."""


def test_the_key_is_in_the_document_and_not_in_the_hash():
    result = make(fingerprint=FINGERPRINT)
    doc = result.to_document()
    assert doc["key"] == result.key
    assert doc["hash"] == content_hash(
        result.model, result.version, result.inputs, result.outputs, FINGERPRINT
    )
    assert "key" not in result.model_dump()
    back = Result.from_document(json.loads(json.dumps(doc)), verify=True)
    assert (back.key, back.hash) == (result.key, result.hash)


def test_a_document_stored_before_results_had_a_key_still_loads_and_verifies():
    assert "key" not in OLD_DOCUMENT
    old = Result.from_document(OLD_DOCUMENT, verify=True)
    assert old.id == OLD_DOCUMENT["hash"]  # the key changes no hash
    assert old.key == inputs_key(old.model, old.version, OLD_DOCUMENT["inputs"], None)
    assert old.to_document()["key"] == old.key


@pytest.mark.parametrize(
    "key", ["0" * 64, "", "not a key"], ids=["another key", "empty", "not hex"]
)
def test_a_document_whose_key_is_not_of_its_inputs_is_caught(key):
    document = make(fingerprint=FINGERPRINT).to_document()
    Result.from_document({**document, "key": key})  # read without verifying
    with pytest.raises(ValueError) as caught:
        Result.from_document({**document, "key": key}, verify=True)
    assert str(caught.value) == (
        f"its key {key[:12]!r} is not the key of its inputs ({document['key'][:12]}): "
        "the document was altered"
    )


def test_the_key_comes_from_the_content_not_the_document():
    document = make().to_document()
    forged = Result.from_document({**document, "key": "0" * 64})  # not verified
    assert forged.key == document["key"]
