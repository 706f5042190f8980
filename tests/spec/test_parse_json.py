"""JSON input text read the same whichever parser reads it: orjson where it is installed (with
the serve extra) must give exactly what the standard library's `json` gives, value for value
and type for type, or leave the text to `json`."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcrate._errors import InputError
from modelcrate.spec import _inputs, parse_json
from modelcrate.spec._yaml import check_structure

pytest.importorskip("orjson")


def _by_json(text: str) -> Any:
    return json.loads(text, parse_int=_inputs._parse_int)


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (NaN equal to NaN, -0.0 not to 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_number_text = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "-0.0"]),
)
_string_text = st.one_of(
    st.text().map(json.dumps),
    st.text().map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.sampled_from([r'"\ud800"', r'"\udc00x"', r'"\ud83d\ude00"', r'"\u0000"', '"a:b"']),
)
_leaf_text = st.one_of(_number_text, _string_text, st.sampled_from(["true", "false", "null"]))
_value_text = st.recursive(
    _leaf_text,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_string_text, inner), max_size=5).map(
            lambda pairs: "{" + ",".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_value_text)
def test_orjson_and_json_read_every_text_alike(text):
    expected = _by_json(text)
    assert _same(_inputs._loads(text), expected), text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_text_json_refuses_is_refused_with_the_same_message(text):
    try:
        expected = ("value", _by_json(text))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an integer too long
        expected = ("error", type(exc).__name__, str(exc))
    try:
        got = ("value", _inputs._loads(text))
    except (ValueError, RecursionError) as exc:
        got = ("error", type(exc).__name__, str(exc))
    assert got[0] == expected[0]
    assert got[1:] == expected[1:] if got[0] == "error" else _same(got[1], expected[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345678901234567890123", 12345678901234567890123),  # an int, not a float
        ("-9223372036854775809", -9223372036854775809),
        ("18446744073709551616", 18446744073709551616),
        ("1e400", math.inf),
        ('{"x": NaN}', {"x": math.nan}),
        (r'"\ud800"', "\ud800"),
    ],
)
def test_what_orjson_reads_otherwise_is_read_by_json(text, expected):
    assert _same(_inputs._loads(text), expected)


def test_a_key_given_twice_is_refused_whichever_parser_read_it():
    with pytest.raises(InputError, match="key 'x' appears twice"):
        parse_json('[{"x": 1, "y": 2}, {"x": 1, "x": 2}]')


@pytest.mark.parametrize(
    "document",
    [
        [{"a": 1, "b": 2.5}, {"c": "x"}, {}],
        {"inputs": [{"a": 1}, {"b": None, "c": True}]},
        [{"a": 1}, [1, 2], {"b": {"c": 1}}],
        [[{"a": 1}] * 3, {"a": [{"b": 1, "c": 2}]}],
    ],
)
def test_check_structure_counts_the_keys_of_flat_and_nested_mappings(document):
    def keys(value: Any) -> int:
        if isinstance(value, dict):
            return len(value) + sum(keys(v) for v in value.values())
        if isinstance(value, list):
            return sum(keys(v) for v in value)
        return 0

    assert check_structure(document) == keys(document)


def test_check_structure_refuses_too_deep_a_list_of_input_sets():
    document: Any = [{"a": 1}]
    for _ in range(_inputs.MAX_DEPTH - 1):
        document = [document]
    with pytest.raises(ValueError, match="nested more than"):
        check_structure(document)
    check_structure(document[0])


def test_many_aliases_of_one_flat_mapping_are_refused_before_their_values_are_looked_at(
    monkeypatch,
):
    from modelcrate.spec import _yaml

    looked_at = []

    class Counting(frozenset):
        def issuperset(self, items):
            items = list(items)
            looked_at.append(len(items))
            return frozenset(_yaml._LEAVES).issuperset(items)

    monkeypatch.setattr(_yaml, "_LEAVES", Counting(_yaml._LEAVES))
    one = {f"k{i}": i for i in range(1000)}
    with pytest.raises(ValueError, match="holds more than 1,000,000 values"):
        check_structure({"a": one, "b": [one] * 2000})  # as `b: [*a, *a, ...]` loads
    assert sum(looked_at) < 10_000
