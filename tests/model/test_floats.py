"""A model with `evaluate_floats` gives from `batch` and `evaluate_prepared` exactly what the
usual way (`prepare_many`, `evaluate_batch`, `check_outputs_many`) gives: the same outputs of the
same types in the same order, the same warnings, the same error; and the usual way is kept
wherever a subclass changes what a batch does."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcrate import InputError, Model, OutputError
from modelcrate.spec import parse_spec

SPEC = parse_spec(
    """
input_variables:
  a: {type: scalar, default: 0.5, range: [0, 1], policy: error}
  b: {type: scalar, default: 1.0, range: [-2, 2]}
  c: {type: scalar, default: 0.0}
  d: {type: scalar, range: [0, 5], policy: none}
output_variables:
  y: {type: scalar, range: [0, 1], policy: warn}
  z: {type: scalar, range: [-1, 1], policy: error}
  w: {type: scalar}
""",
    source="floats.yml",
)


def evaluate(self, inputs):
    a, b, c, d = (inputs[k] for k in "abcd")
    return {"w": c * d, "y": a, "z": b - c}


def evaluate_floats(self, inputs):
    type(self).calls += 1
    a, b, c, d = inputs.T
    with np.errstate(all="ignore"):  # inf * 0 is NaN in Python too, without a word
        return {"w": c * d, "y": a, "z": b - c}


# Two classes of one name (errors name the class): scalars in, scalars out, one set at a time;
# and the same a batch at a time, as columns.
Plain = type("Scalars", (Model,), {"spec": SPEC, "evaluate": evaluate})
Floats = type("Scalars", (Plain,), {"evaluate_floats": evaluate_floats, "calls": 0})


IN_RANGE = {
    "a": st.floats(0, 1),
    "b": st.floats(-2, 2),
    "c": st.floats(-1, 1),
    "d": st.floats(0, 5),
}
ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.just(np.float64(0.5)),
    st.booleans(),
    st.sampled_from(["0.5", None, [0.5]]),
)


def _set(keys):
    values = {k: st.one_of(*[IN_RANGE[k]] * 8, ODD) for k in IN_RANGE}
    values["extra"] = ODD
    return st.fixed_dictionaries({k: values[k] for k in keys})


def _plain(keys):
    return st.fixed_dictionaries({k: IN_RANGE[k] for k in keys})


ORDERS = st.one_of(
    *[st.just(list("abcd"))] * 6,
    st.permutations(list("abcd")),
    st.lists(st.sampled_from([*"abcd", "extra"]), unique=True),
)
# Half the batches are plain floats in range in every set (the columns' case); in the others,
# most sets share one order of names (as a caller's loop makes them), some do not.
BATCHES = st.lists(_plain("abcd"), min_size=1, max_size=5) | ORDERS.flatmap(
    lambda keys: st.lists(
        st.one_of(*[_set(keys)] * 6, ORDERS.flatmap(_set)), min_size=1, max_size=5
    )
)


def _outcome(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:
            return ("error", type(exc), str(exc)), []
    return ("ok", _comparable(result)), [(w.category, str(w.message)) for w in caught]


def _comparable(value):
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return [(k, _comparable(v)) for k, v in value.items()]
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


@settings(max_examples=500, deadline=None)
@given(BATCHES)
def test_a_batch_as_float_columns_is_the_batch_set_by_set(sets):
    usual = _outcome(lambda: Plain().batch(sets))
    assert _outcome(lambda: Floats().batch(sets)) == usual


@settings(max_examples=300, deadline=None)
@given(BATCHES, st.sampled_from([0, 7]))
def test_prepared_sets_as_float_columns_are_the_sets_evaluated_one_by_one(sets, start):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prepared = Plain().prepare_many(sets)
        except Exception:
            return
    usual = _outcome(lambda: Plain().evaluate_prepared(prepared, start=start))
    assert _outcome(lambda: Floats().evaluate_prepared(prepared, start=start)) == usual


def test_plain_floats_in_range_take_the_columns():
    Floats.calls = 0
    sets = [{"a": 0.5, "b": 0.25, "c": 0.0, "d": 1.0}, {"a": 1.0, "b": 2.0, "c": 1.0, "d": 5.0}]
    assert Floats().batch(sets) == Plain().batch(sets)
    assert Floats.calls == 1
    assert list(Floats().batch(sets)[0]) == ["y", "z", "w"]  # the spec's order


@pytest.mark.parametrize(
    "sets",
    [
        [{"a": 0.5, "b": 0.25, "c": 0.0}],  # d missing, and without a default
        [{"a": 0.5, "b": 3.0, "c": 0.0, "d": 1.0}],  # b out of range: a warning
    ],
)
def test_sets_that_prepare_changes_or_speaks_of_go_the_usual_way(sets):
    Floats.calls = 0
    assert _outcome(lambda: Floats().batch(sets)) == _outcome(lambda: Plain().batch(sets))
    assert Floats.calls == 0


def test_sets_that_prepare_makes_plain_floats_take_the_columns_once_prepared():
    Floats.calls = 0
    sets = [{"a": 0.5, "b": 0.25, "d": 1}]  # c left to its default, d an int
    assert _outcome(lambda: Floats().batch(sets)) == _outcome(lambda: Plain().batch(sets))
    assert Floats.calls == 1


def test_outputs_out_of_range_are_named_as_the_usual_way_names_them():
    sets = [{"a": 0.5, "b": 0.0, "c": 0.0, "d": 1.0}, {"a": 0.5, "b": 2.0, "c": -1.0, "d": 1.0}]
    with pytest.raises(OutputError, match=r"^input set 1: output 'z' is 3 outside the range"):
        Floats().batch(sets)


def test_a_subclass_that_changes_evaluate_batch_keeps_its_own_steps():
    class Scaled(Floats):
        def evaluate_batch(self, input_sets):
            return [{**out, "w": 2 * out["w"]} for out in super().evaluate_batch(input_sets)]

    Floats.calls = 0
    sets = [{"a": 0.5, "b": 0.25, "c": 1.0, "d": 1.0}]
    assert Scaled().batch(sets)[0]["w"] == 2.0
    assert Scaled().evaluate_prepared(sets)[0]["w"] == 2.0
    assert Floats.calls == 0


def test_outputs_of_the_wrong_length_are_an_error():
    class Short(Floats):
        def evaluate_floats(self, inputs):
            return {k: v[:1] for k, v in super().evaluate_floats(inputs).items()}

    sets = [{"a": 0.5, "b": 0.25, "c": 0.0, "d": 1.0}] * 2
    with pytest.raises(OutputError, match=r"returned 'w' of shape \(1,\), not 2 values"):
        Short().batch(sets)


def _columns_of(keys, count):
    """A column per name of `keys`, `count` values long: mostly numbers in range as a numpy
    array (floats, or integers), some as a list holding odd values too."""

    def column(key):
        numbers = IN_RANGE.get(key, st.floats(0, 1))
        return st.one_of(
            *[st.lists(numbers, min_size=count, max_size=count).map(np.array)] * 4,
            st.lists(st.integers(0, 1), min_size=count, max_size=count).map(np.array),
            st.lists(st.floats(), min_size=count, max_size=count).map(np.array),
            st.lists(st.one_of(numbers, ODD), min_size=count, max_size=count),
        )

    return st.fixed_dictionaries({key: column(key) for key in keys})


COLUMNS = st.tuples(ORDERS, st.integers(1, 4)).flatmap(lambda kc: _columns_of(*kc))


def _sets(columns):
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _as_columns(outputs):
    return {name: [out[name] for out in outputs] for name in SPEC.output_names}


def _listed(arrays):
    return {name: array.tolist() for name, array in arrays.items()}


@settings(max_examples=500, deadline=None)
@given(COLUMNS)
def test_a_batch_of_columns_is_the_batch_of_the_sets_they_make(columns):
    usual = _outcome(lambda: _as_columns(Plain().batch(_sets(columns))))
    assert _outcome(lambda: _listed(Plain().batch_columns(columns))) == usual
    assert _outcome(lambda: _listed(Floats().batch_columns(columns))) == usual


def test_columns_of_numbers_in_range_go_to_evaluate_floats_and_back_as_arrays():
    Floats.calls = 0
    columns = {"a": np.array([0.5, 1.0]), "b": [0.25, 1.0], "d": np.array([1, 5])}
    outputs = Floats().batch_columns(columns)
    assert Floats.calls == 1
    assert list(outputs) == ["y", "z", "w"]  # the spec's order
    assert all(a.dtype == np.float64 and a.shape == (2,) for a in outputs.values())
    assert outputs["z"].tolist() == [0.25, 1.0]  # c took its default, 0.0


def test_no_rows_of_an_unknown_input_are_an_error():
    with pytest.raises(InputError, match=r"^unknown input 'e'; the inputs of Scalars are: a, b"):
        Floats().batch_columns({"a": [], "e": []})


def test_no_rows_give_empty_columns():
    assert _listed(Floats().batch_columns({"a": [], "d": np.array([])})) == {
        "y": [],
        "z": [],
        "w": [],
    }


class _Frame:
    """What `batch_columns` asks of a pandas DataFrame: column names from `keys()`, a column
    (a Series, an array) by `[name]`; iterating over it gives the names, not rows."""

    def __init__(self, columns):
        self._columns = columns

    def keys(self):
        return list(self._columns)

    def __getitem__(self, name):
        return np.asarray(self._columns[name])

    def __iter__(self):
        return iter(self._columns)


def test_a_frame_of_columns_is_columns():
    columns = {"a": [0.5, 1.0], "b": [0.25, 1.0], "c": [0.0, 1.0], "d": [1, 5]}
    frame = _Frame(columns)
    assert _listed(Floats().batch_columns(frame)) == _as_columns(Plain().batch(_sets(columns)))


@pytest.mark.parametrize(
    "frame",
    [
        {"a": [0.5, 1.0], "b": [0.25, 1.0], "c": [0.0, 1.0], "d": [1, 5]},  # the fast way
        {"a": [0.5, 1.0], "b": [0.25, 3.0], "d": [1.0, 2.0]},  # b out of range: a warning
        {"a": [0.5, float("nan")], "d": [1.0, 2.0]},  # NaN: an error naming the set
        {"a": [0.5, 1.0], "d": [True, False]},  # true/false for a number: an error
    ],
)
def test_a_pandas_dataframe_is_the_batch_of_its_rows(frame):
    import pandas

    data = pandas.DataFrame(frame, index=[10, 20])  # the index plays no part
    usual = _outcome(lambda: _as_columns(Plain().batch(_sets(frame))))
    assert _outcome(lambda: _listed(Floats().batch_columns(data))) == usual


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"a": 0.5}, r"^input 'a' must be a column of values \(one per input set\), not float$"),
        ({"a": "0.5"}, r"^input 'a' must be a column of values .*, not str$"),
        ({"a": [0.5], "d": [1, 2]}, r"^input 'd' holds 2 values and 'a' holds 1: every column"),
        ([0.5, 1.0], r"^the input columns must be a mapping of input names to columns"),
        ({"a": [0.5], "e": [1.0]}, r"^input set 0: unknown input 'e'; the inputs of Scalars"),
        ({"a": [0.5]}, r"^input set 0: input 'd' is required \(it has no default\)"),
    ],
)
def test_columns_that_are_not_columns_are_one_line_errors(columns, message):
    with pytest.raises(InputError, match=message):
        Floats().batch_columns(columns)


KINDS = parse_spec(
    """
input_variables:
  n: {type: int, default: 0}
output_variables:
  choice: {type: enum, choices: [1, a, 2.5, true]}
  text: {type: str}
  shape: {type: array, shape: [null]}
""",
    source="kinds.yml",
)


class Kinds(Model):
    spec = KINDS

    def evaluate(self, inputs):
        n = inputs["n"]
        return {
            "choice": [1, "a", 2.5, True][n % 4],
            "text": "x" * (1 + 10_000 * (n == 1)),
            "shape": np.arange(n % 3, dtype=float),
        }


def test_outputs_of_several_types_or_shapes_keep_each_value_as_the_sets_give_it():
    outputs = Kinds().batch_columns({"n": [0, 1, 2, 3]})
    sets = Kinds().batch([{"n": n} for n in range(4)])
    assert outputs["choice"].dtype == object
    assert [(type(v), v) for v in outputs["choice"]] == [
        (type(o["choice"]), o["choice"]) for o in sets
    ]
    assert outputs["text"].dtype == object  # not padded to the longest text
    assert [v.tolist() for v in outputs["shape"]] == [o["shape"].tolist() for o in sets]
    assert Kinds().batch_columns({"n": [1, 3]})["choice"].tolist() == ["a", True]
    assert [type(v) for v in Kinds().batch_columns({"n": [0, 2]})["choice"]] == [int, float]


def test_columns_that_hide_values_are_read_as_each_set_would_read_them():
    import pandas

    masked = np.ma.masked_array([0.5, 0.7], mask=[False, True])
    cases = [
        ({"a": masked, "d": [1.0, 1.0]}, None),
        ({"a": [0.5, 0.5], "c": pandas.array([1.0, None], dtype="Float64"), "d": [1.0, 1.0]}, None),
        ({"a": [0.5, 0.5], "d": pandas.array([1, None], dtype="Int64")}, None),
    ]
    for columns, _ in cases:
        usual = _outcome(lambda c=columns: _as_columns(Plain().batch(_sets(c))))
        assert usual[0][0] == "error"
        assert _outcome(lambda c=columns: _listed(Floats().batch_columns(c)))[0] == usual[0]


def test_a_frame_with_a_name_twice_is_an_error_naming_it():
    import pandas

    frame = pandas.DataFrame([[0.5, 0.25, 1.0]] * 3, columns=["b", "b", "a"])
    with pytest.raises(InputError, match=r"^input 'b' is given twice; give each input one column$"):
        Floats().batch_columns(frame)


def test_the_arrays_given_back_are_the_callers_own():
    class Cached(Floats):
        constant = np.full(2, 0.5)

        def evaluate_floats(self, inputs):
            return {"y": self.constant, "z": self.constant, "w": self.constant}

    columns = {"a": [0.5, 0.5], "d": [1.0, 1.0]}
    outputs = Cached().batch_columns(columns)
    outputs["y"][:] = 0.0
    assert outputs["z"].tolist() == [0.5, 0.5] and Cached.constant.tolist() == [0.5, 0.5]


def test_a_model_with_a_batch_of_its_own_gets_the_sets():
    class Doubled(Floats):
        def batch(self, input_sets):
            return [{k: 2 * v for k, v in out.items()} for out in super().batch(input_sets)]

    columns = {"a": [0.25], "d": [1.0]}
    assert _listed(Doubled().batch_columns(columns)) == {"y": [0.5], "z": [2.0], "w": [0.0]}
