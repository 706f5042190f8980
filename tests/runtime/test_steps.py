"""The steps of a run without Prefect: prepare, evaluate, make results, store them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from modelcrate import InputError, Model, OutputError, TargetError
from modelcrate.runtime import (
    TARGET_ENV,
    FilesystemTarget,
    Result,
    chunks,
    evaluate,
    evaluate_batch,
    input_sets,
    make_result,
    make_results,
    open_target,
    prepare_batch,
    prepare_inputs,
    resolve_targets,
    run,
    save_results,
)
from modelcrate.spec import inputs_model, parse_spec

QUAD = "QUAD:IN20:121:BACT"
SOL = "SOL1:solenoid_field_scale"


class Injector(Model):
    spec = parse_spec(
        f"""
model: {{name: injector-surrogate}}
input_variables:
  {QUAD}: {{type: scalar, default: -0.02, range: [-0.05, 0.0], units: kG}}
  {SOL}: {{type: scalar, default: 0.47, range: [0.0, 1.0], units: kG, policy: error}}
  n_bins: {{type: int, default: 4, range: [1, 64]}}
output_variables:
  sigma_x: {{type: scalar, units: mm}}
  profile: {{type: array, dtype: float32, shape: [null]}}
  screen: {{type: image, shape: [2, 2], units: counts}}
""",
        source="injector.yml",
    )
    version = "1.4.2"

    def __init__(self):
        self.evaluate_calls = 0
        self.batch_calls = 0

    def evaluate(self, inputs):
        self.evaluate_calls += 1
        strength = inputs[QUAD] + inputs[SOL]
        return {
            "sigma_x": 0.1 + abs(strength),
            "profile": np.linspace(0, strength, inputs["n_bins"], dtype=np.float32),
            "screen": np.full((2, 2), strength),
        }

    def evaluate_batch(self, input_sets):
        self.batch_calls += 1
        return [self.evaluate(inputs) for inputs in input_sets]


def assert_same_result(got: Result, want: Result) -> None:
    assert (got.hash, got.model, got.version, got.created, got.units) == (
        want.hash,
        want.model,
        want.version,
        want.created,
        want.units,
    )
    assert got.inputs == want.inputs
    assert got.outputs.keys() == want.outputs.keys()
    for key, value in want.outputs.items():
        if isinstance(value, np.ndarray):
            assert got.outputs[key].dtype == value.dtype
            np.testing.assert_array_equal(got.outputs[key], value)
        else:
            assert got.outputs[key] == value


@pytest.fixture
def model():
    return Injector()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "results"


# --- run ----------------------------------------------------------------------------------------


def test_run_returns_the_result_and_where_it_is(model, store):
    [stored] = run(model, {SOL: 0.5}, targets=[store.as_uri()])
    result = stored.result

    assert result.model == "injector-surrogate"
    assert result.version == "1.4.2"
    assert result.inputs == {QUAD: -0.02, SOL: 0.5, "n_bins": 4}  # defaults filled in
    assert result.outputs["sigma_x"] == pytest.approx(0.58)
    assert result.outputs["profile"].dtype == np.float32
    assert result.units == {QUAD: "kG", SOL: "kG", "sigma_x": "mm", "screen": "counts"}
    assert result.flow_run_id is None

    assert len(stored.locations) == 1
    path = Path(stored.locations[0])
    assert path.is_file()
    assert path == store / "injector-surrogate" / f"{result.hash}.json"


def test_the_stored_file_loads_back_equal(model, store):
    [stored] = run(model, {SOL: 0.5, "n_bins": 3}, targets=[store.as_uri()])
    loaded = open_target(store.as_uri()).load(stored.result.id)
    assert_same_result(loaded, stored.result)
    from_file = Result.from_document(json.loads(Path(stored.locations[0]).read_text()))
    assert_same_result(from_file, stored.result)


def test_run_with_no_inputs_uses_the_defaults(model, store):
    [stored] = run(model, targets=[str(store)])
    assert stored.result.inputs == {QUAD: -0.02, SOL: 0.47, "n_bins": 4}


def test_run_twice_stores_once(model, store):
    [first] = run(model, {SOL: 0.5}, targets=[str(store)])
    [second] = run(model, {SOL: 0.5}, targets=[str(store)])
    assert second.result.hash == first.result.hash
    assert second.locations == first.locations
    assert len(list(store.rglob("*.json"))) == 1


def test_run_many_input_sets_as_one_batch(model, store):
    sets = [{SOL: 0.1}, {SOL: 0.2, "n_bins": 2}, {SOL: 0.3, QUAD: -0.04}]
    stored = run(model, sets, targets=[str(store)])
    assert model.batch_calls == 1
    assert [s.result.inputs[SOL] for s in stored] == [0.1, 0.2, 0.3]
    assert len({s.result.hash for s in stored}) == 3
    assert len(FilesystemTarget(store).list()) == 3
    single = Injector()
    for s, inputs in zip(stored, sets, strict=True):
        want = single(inputs)
        assert s.result.outputs["sigma_x"] == want["sigma_x"]
        np.testing.assert_array_equal(s.result.outputs["profile"], want["profile"])


def test_run_accepts_the_pydantic_inputs_model(model, store):
    Inputs = inputs_model(model.spec)
    [stored] = run(model, Inputs.model_validate({SOL: 0.25}), targets=[str(store)])
    assert stored.result.inputs == {QUAD: -0.02, SOL: 0.25, "n_bins": 4}


def test_run_into_several_targets(model, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    [stored] = run(model, {SOL: 0.5}, targets=[a.as_uri(), FilesystemTarget(b)])
    assert [Path(p).parent.parent for p in stored.locations] == [a.resolve(), b.resolve()]
    for root in (a, b):
        assert FilesystemTarget(root).load(stored.result.id[:10]).hash == stored.result.hash


def test_run_without_targets_uses_the_configured_default(model, tmp_path, monkeypatch):
    monkeypatch.setenv(TARGET_ENV, (tmp_path / "configured").as_uri())
    [stored] = run(model, {SOL: 0.5})
    assert Path(stored.locations[0]).is_relative_to(tmp_path / "configured")


def test_run_without_targets_or_configuration_uses_results_in_the_cwd(model, tmp_path, monkeypatch):
    monkeypatch.delenv(TARGET_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    [stored] = run(model, {SOL: 0.5})
    assert Path(stored.locations[0]).is_relative_to(tmp_path.resolve() / "results")


def test_invalid_inputs_store_nothing(model, store):
    with pytest.raises(InputError, match=f"input '{SOL}' is 2 outside the range"):
        run(model, {SOL: 2.0}, targets=[str(store)])
    with pytest.raises(InputError, match="input set 1: unknown input 'bogus'"):
        run(model, [{SOL: 0.1}, {"bogus": 1.0}], targets=[str(store)])
    assert model.evaluate_calls == 0
    assert not store.exists()


def test_invalid_outputs_store_nothing(store):
    class Broken(Injector):
        def evaluate(self, inputs):
            return {"sigma_x": 1.0, "profile": [1.0], "screen": [1.0, 2.0]}

    with pytest.raises(OutputError, match="output 'screen' expects a 2-D image"):
        run(Broken(), targets=[str(store)])
    assert not store.exists()


def test_a_failing_target_does_not_stop_the_others(model, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    good = tmp_path / "good"
    with pytest.raises(TargetError) as info:
        run(model, {SOL: 0.5}, targets=[blocked.as_uri(), good.as_uri()])
    assert blocked.resolve().as_uri() in str(info.value)
    assert len(FilesystemTarget(good).list()) == 1


def test_unsupported_target_scheme(model):
    with pytest.raises(TargetError, match="unsupported target scheme 's3'"):
        run(model, {SOL: 0.5}, targets=["s3://bucket/results"])


# --- the single steps ---------------------------------------------------------------------------


def test_input_sets_normalises_what_a_caller_passes(model):
    Inputs = inputs_model(model.spec)
    assert input_sets(None) == [{}]
    assert input_sets({SOL: 0.1}) == [{SOL: 0.1}]
    assert input_sets([{SOL: 0.1}, {SOL: 0.2}]) == [{SOL: 0.1}, {SOL: 0.2}]
    assert input_sets(({SOL: 0.1},)) == [{SOL: 0.1}]
    assert input_sets(Inputs.model_validate({SOL: 0.3}))[0][SOL] == 0.3
    assert input_sets([]) == []
    with pytest.raises(TypeError, match="inputs must be a mapping"):
        input_sets("SOL1=0.5")


def test_prepare_and_evaluate(model):
    prepared = prepare_inputs(model, {SOL: 0.5})
    assert prepared == {QUAD: -0.02, SOL: 0.5, "n_bins": 4}
    outputs = evaluate(model, prepared)
    assert set(outputs) == {"sigma_x", "profile", "screen"}
    assert outputs["screen"].shape == (2, 2)


def test_prepare_batch_names_the_input_set(model):
    assert prepare_batch(model, [{SOL: 0.1}, {}])[1][SOL] == 0.47
    with pytest.raises(InputError, match="input set 1: "):
        prepare_batch(model, [{SOL: 0.1}, {SOL: "x"}])
    with pytest.raises(InputError) as info:
        prepare_batch(model, [{SOL: "x"}])
    assert not str(info.value).startswith("input set")


def test_evaluate_batch_checks_the_outputs(model):
    prepared = prepare_batch(model, [{SOL: 0.1}, {SOL: 0.2}])
    outputs = evaluate_batch(model, prepared)
    assert model.batch_calls == 1
    assert [o["sigma_x"] for o in outputs] == pytest.approx([0.18, 0.28])


def test_make_result_and_make_results(model):
    prepared = prepare_inputs(model, {SOL: 0.5})
    outputs = evaluate(model, prepared)
    run_id = uuid.uuid4()
    result = make_result(model, prepared, outputs, flow_run_id=run_id)
    assert result.flow_run_id == str(run_id)
    assert result.units["sigma_x"] == "mm"
    assert result.hash == make_result(model, prepared, outputs).hash  # run id is not content

    results = make_results(model, [prepared, prepared], [outputs, outputs])
    assert len(results) == 2 and results[0].hash == results[1].hash
    with pytest.raises(ValueError):
        make_results(model, [prepared, prepared], [outputs])


def test_save_results_returns_locations_per_result(model, tmp_path):
    prepared = prepare_batch(model, [{SOL: 0.1}, {SOL: 0.2}])
    results = make_results(model, prepared, evaluate_batch(model, prepared))
    stored = save_results(results, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert all(s.result is r for s, r in zip(stored, results, strict=True))
    for s in stored:
        assert len(s.locations) == 2
        assert all(Path(p).is_file() for p in s.locations)


def test_resolve_targets(tmp_path, monkeypatch):
    given = FilesystemTarget(tmp_path / "given")
    opened = resolve_targets([given, str(tmp_path / "plain"), (tmp_path / "uri").as_uri()])
    assert opened[0] is given
    assert [t.root for t in opened[1:]] == [
        (tmp_path / "plain").resolve(),
        (tmp_path / "uri").resolve(),
    ]
    monkeypatch.setenv(TARGET_ENV, (tmp_path / "env").as_uri())
    [default] = resolve_targets()
    assert default.root == (tmp_path / "env").resolve()
    with pytest.raises(TargetError):
        resolve_targets(["ftp://host/results"])


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [(0, 3, []), (2, 3, [2]), (3, 3, [3]), (7, 3, [3, 3, 1]), (5, 1, [1] * 5)],
)
def test_chunks(n, size, expected):
    items = list(range(n))
    parts = chunks(items, size)
    assert [len(p) for p in parts] == expected
    assert [x for part in parts for x in part] == items


def test_chunks_needs_a_positive_size():
    with pytest.raises(ValueError, match="at least 1"):
        chunks([1, 2], 0)
