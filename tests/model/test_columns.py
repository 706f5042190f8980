"""Checking many input sets (and outputs) a column at a time gives exactly what checking them
one at a time gives: the same values of the same types, the same warnings, the same error."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcrate import InputError, Model
from modelcrate.spec import parse_spec


class Mixed(Model):
    spec = parse_spec(
        """
input_variables:
  a: {type: scalar, default: 0.5, range: [0, 1], policy: error}
  b: {type: scalar, default: 1.0, range: [-2, 2]}
  c: {type: scalar, default: 0.0}
  n: {type: int, default: 3, range: [0, 10], policy: warn}
  flag: {type: bool, default: false}
  fixed: {type: scalar, default: 1.0, read_only: true}
  v: {type: array, shape: [2], default: [0.0, 0.0]}
  need: {type: scalar, range: [0, 5], policy: none}
output_variables:
  y: {type: scalar, range: [0, 1], policy: warn}
  k: {type: int}
  ok: {type: bool}
""",
        source="mixed.yml",
    )

    def evaluate(self, inputs):
        return {"y": inputs["a"], "k": inputs["n"], "ok": inputs["flag"]}


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(min_value=-3, max_value=3).map(np.float64),
    st.integers(min_value=-5, max_value=12).map(np.int64),
    st.booleans(),
    st.sampled_from(["1.0", None, [1.0, 2.0], np.array([1.0, 2.0])]),
)


def mostly(valid, weight: int = 6):
    """Valid values most of the time (so whole batches take the column path), anything else
    now and then."""
    return st.one_of(*[valid] * weight, NUMBERS)


IN_RANGE = st.one_of(
    st.floats(0, 1), st.integers(0, 1), st.floats(0, 1).map(np.float64), st.just(np.float32(0.5))
)
VALUES = {
    "a": mostly(IN_RANGE),
    "b": mostly(st.floats(-2, 2)),
    "c": mostly(st.one_of(st.floats(), st.integers(-(2**80), 2**80))),
    "n": mostly(st.one_of(st.integers(0, 10), st.integers(0, 10).map(np.int64))),
    "flag": mostly(st.one_of(st.booleans(), st.just(np.bool_(True)))),
    "fixed": st.sampled_from([1.0, 1, 2.0]),
    "v": st.sampled_from([[1.0, 2.0], np.array([0.5, 0.5]), [1.0], "x"]),
    "need": mostly(st.floats(-1, 6)),
    "other": NUMBERS,
}
INPUT_SET = st.fixed_dictionaries(
    {"need": VALUES["need"]},
    optional={k: v for k, v in VALUES.items() if k not in ("need", "other", "fixed", "v")},
) | st.dictionaries(st.sampled_from(sorted(VALUES)), st.just(None)).flatmap(
    lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in keys})
)


def _outcome(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:
            return ("error", type(exc), str(exc)), []
    return ("ok", _comparable(result)), [str(w.message) for w in caught]


def _comparable(value):
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return [(k, _comparable(v)) for k, v in value.items()]
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.tolist())
    if isinstance(value, float) and math.isnan(value):
        return (type(value), "nan")
    return (type(value), value)


@settings(max_examples=400, deadline=None)
@given(st.lists(INPUT_SET, min_size=1, max_size=6), st.sampled_from([0, 7, None]))
def test_input_sets_checked_a_column_at_a_time_as_one_at_a_time(sets, start):
    model = Mixed()
    if start is None:
        sets = sets[:1]
    one_by_one = _outcome(
        lambda: [
            model.prepare(s, index=None if start is None else start + i) for i, s in enumerate(sets)
        ]
    )
    assert _outcome(lambda: model.prepare_many(sets, start=start)) == one_by_one


COLUMNS = st.integers(1, 6).flatmap(
    lambda size: st.dictionaries(
        st.sampled_from(sorted(VALUES)),
        st.just(None),
        min_size=1,
    ).flatmap(
        lambda keys: st.fixed_dictionaries(
            {k: st.lists(VALUES[k], min_size=size, max_size=size) for k in keys}
        )
    )
)


@settings(max_examples=400, deadline=None)
@given(COLUMNS, st.sampled_from([0, 7, None]))
def test_input_columns_checked_as_the_sets_they_make_one_at_a_time(columns, start):
    model = Mixed()
    if start is None:
        columns = {k: v[:1] for k, v in columns.items()}
    sets = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    one_by_one = _outcome(
        lambda: [
            model.prepare(s, index=None if start is None else start + i) for i, s in enumerate(sets)
        ]
    )
    assert _outcome(lambda: model.prepare_columns(columns, start=start)) == one_by_one


def test_columns_of_plain_numbers_make_sets_in_the_variables_order_with_own_defaults():
    model = Mixed()
    columns = {"n": [1, 2, 3], "need": [0, 1.5, 2], "a": [0.25, 0.5, 1]}
    prepared = model.prepare_columns(columns)
    sets = [{"n": n, "need": need, "a": a} for n, need, a in zip(*columns.values(), strict=True)]
    assert _comparable(prepared) == _comparable(model.prepare_many(sets))
    assert list(prepared[0]) == list(model.spec.input_names)
    assert [type(p["need"]) for p in prepared] == [float] * 3
    assert prepared[0]["v"] is not prepared[1]["v"]


OUTPUTS = st.fixed_dictionaries(
    {"y": mostly(IN_RANGE), "k": VALUES["n"], "ok": VALUES["flag"]},
    optional={"extra": NUMBERS},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OUTPUTS, min_size=1, max_size=6))
def test_outputs_checked_a_column_at_a_time_as_one_at_a_time(outputs):
    model = Mixed()
    one_by_one = _outcome(lambda: [model.check_outputs(o, index=i) for i, o in enumerate(outputs)])
    assert _outcome(lambda: model.check_outputs_many(outputs)) == one_by_one


def test_a_batch_of_plain_numbers_comes_back_as_floats_in_order_with_own_default_arrays():
    model = Mixed()
    sets = [{"a": 0.1 * i, "need": i, "n": i, "flag": True} for i in range(5)]
    prepared = model.prepare_many(sets)
    assert [p["need"] for p in prepared] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(type(p["need"]) is float for p in prepared)
    assert prepared[0]["v"] is not prepared[1]["v"]  # each set its own default array
    assert list(prepared[0]) == list(model.spec.input_names)


def test_a_mapping_that_is_not_a_plain_dict_is_checked_the_long_way():
    class Shown(dict):
        def __getitem__(self, key):
            value = super().__getitem__(key)
            return float(value) if isinstance(value, str) else value

    model = Mixed()
    given = Shown(a="0.5", need=1.0)
    with pytest.raises(InputError, match="'a' expects a number"):
        model.prepare(given)
    with pytest.raises(InputError, match="'a' expects a number"):
        model.prepare_many([given])
    outputs = Shown(y="0.5", k=1, ok=True)
    assert model.check_outputs_many([outputs]) == [model.check_outputs(outputs)]
    assert model.check_outputs_many([outputs])[0]["y"] == 0.5


def test_a_model_that_checks_its_batch_as_a_whole_is_asked_for_columns_too():
    class WholeBatch(Mixed):
        def prepare_many(self, input_sets, *, start=0):
            prepared = super().prepare_many(input_sets, start=start)
            if sum(p["need"] for p in prepared) > 5:
                raise InputError("the batch needs too much")
            return prepared

    model = WholeBatch()
    assert len(model.prepare_columns({"need": [1.0, 2.0]})) == 2
    with pytest.raises(InputError, match="the batch needs too much"):
        model.prepare_columns({"need": [4.0, 3.0]})
