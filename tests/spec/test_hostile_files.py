"""Hostile variables files and values: each is refused with one sentence naming the file and
what to do, never a Python exception; merge keys and NaN follow YAML and IEEE rules."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

from modelcrate import FileError, SpecError
from modelcrate.model import check_value
from modelcrate.spec import (
    ArrayVariable,
    ImageVariable,
    IntVariable,
    ScalarVariable,
    load_spec,
    parse_spec,
    parse_text,
    write_text_atomic,
)

OUTPUTS = "output_variables:\n  y: {type: scalar}\n"


def spec_error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="v.yml")
    return str(caught.value)


# -- YAML that PyYAML turns into Python exceptions ------------------------------------------------


def test_a_5000_digit_integer_is_refused_with_its_place():
    text = "input_variables:\n  x: {type: scalar, default: " + "9" * 5000 + "}\n" + OUTPUTS
    assert spec_error(text) == (
        "v.yml: line 2, column 30: invalid YAML: an integer of 5000 digits is too long; "
        "write it as a float (1e300)"
    )


@pytest.mark.parametrize(
    "key", ["? [a, b]\n  : {type: scalar}", "? {a: 1}\n  : {type: scalar}", "[a]: {type: scalar}"]
)
def test_a_list_or_mapping_as_key_is_refused(key):
    message = spec_error(f"input_variables:\n  {key}\n{OUTPUTS}")
    assert message.startswith("v.yml: line 2, column ")
    assert message.endswith("a key must be a name (text or a number), not a list or mapping")


@pytest.mark.parametrize("opening", ["[" * 100_000, "{a: " * 100_000, "\n" + "- " * 3000 + "1"])
def test_deep_nesting_is_refused(opening):
    assert spec_error("input_variables: " + opening) == (
        "v.yml: is nested more than 64 levels deep; flatten it"
    )


def test_nesting_below_the_recursion_limit_but_deep_is_refused_too():
    text = "input_variables:\n  x: {type: array, default: " + "[" * 200 + "]" * 200 + "}\n"
    assert spec_error(text + OUTPUTS) == "v.yml: is nested more than 64 levels deep; flatten it"


def test_alias_bombs_are_refused():
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "\n".join(lines) + "\ninput_variables:\n  x: {type: scalar}\n" + OUTPUTS
    assert spec_error(text) == (
        "v.yml: holds more than 1,000,000 values (aliases expanded); make it smaller"
    )


# -- merge keys -------------------------------------------------------------------------------


def test_merge_key_with_an_override_is_accepted():
    spec = parse_spec(
        "base: &base {type: scalar, default: 1.0, value_range: [0, 10], unit: mm}\n"
        "input_variables:\n"
        "  x: {<<: *base, default: 2.0}\n"
        "  y:\n    <<: *base\n    unit: m\n" + OUTPUTS.replace("y:", "out:")
    )
    x, y = spec.inputs
    assert (x.default, x.unit, x.value_range) == (2.0, "mm", (0.0, 10.0))
    assert (y.default, y.unit) == (1.0, "m")


def test_merge_of_several_mappings_the_first_wins_and_own_keys_win_over_all():
    spec = parse_spec(
        "a: &a {type: scalar, default: 1.0, unit: mm}\n"
        "b: &b {type: int, default: 5, description: from b}\n"
        "input_variables:\n"
        "  x: {<<: [*a, *b], unit: m}\n" + OUTPUTS
    )
    (x,) = spec.inputs
    assert (x.kind, x.default, x.unit, x.description) == ("scalar", 1.0, "m", "from b")


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate():
    message = spec_error(
        "base: &base {type: scalar}\n"
        "input_variables:\n  x: {<<: *base, default: 1.0, default: 2.0}\n" + OUTPUTS
    )
    assert message == (
        "v.yml: line 3, column 32: invalid YAML: duplicate key 'default'; "
        "remove or rename one of them"
    )


# -- files ------------------------------------------------------------------------------------


def test_a_binary_variables_file_is_refused(tmp_path):
    path = tmp_path / "v.yml"
    path.write_bytes(b"input_variables:\n  x: {type: scalar, unit: \xe9}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}: cannot be read as UTF-8 text (byte 0xe9 at offset 43); save it as UTF-8"
    )


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "v.yml"
    path.write_bytes(b"\xef\xbb\xbfinput_variables:\n  x: {type: scalar}\n" + OUTPUTS.encode())
    assert load_spec(path).input_names == ("x",)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_variables_file_is_refused_after_16_mib():
    with pytest.raises(SpecError) as caught:
        load_spec("/dev/zero")
    assert str(caught.value) == (
        "/dev/zero: is larger than 16 MiB; give a smaller file (is it the right one?)"
    )


def test_a_large_variables_file_is_refused(tmp_path):
    path = tmp_path / "v.yml"
    path.write_bytes(b"#" * (16 * 1024 * 1024 + 1))
    with pytest.raises(SpecError, match="is larger than 16 MiB"):
        load_spec(path)


def test_write_goes_through_a_link_to_its_target(tmp_path):
    real = tmp_path / "real.yml"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o600  # the file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yml", "real.yml"]


def test_write_refuses_what_is_not_a_regular_file_and_a_link_to_one(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # like a device, not a regular file; harmless to a test that fails
    with pytest.raises(FileError) as caught:
        write_text_atomic(pipe, "x")
    assert str(caught.value) == (
        f"{pipe}: is not a regular file; give the path of a regular file to write"
    )
    link = tmp_path / "out.yml"
    link.symlink_to(pipe)
    with pytest.raises(FileError, match=r"out.yml \(a link to .*pipe\): is not a regular file"):
        write_text_atomic(link, "x")
    assert pipe.is_fifo() and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yml", "pipe"]


def test_write_refuses_a_directory(tmp_path):
    with pytest.raises(FileError, match="is a directory; give the path of a regular file"):
        write_text_atomic(tmp_path, "x")


# -- NaN and infinity are out of range ----------------------------------------------------------


def checked(variable, value, policy):
    variable = variable.model_copy(update={"policy": policy})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning, and "warn" raises here
        return check_value(variable, value, "input")


RANGED = ScalarVariable(name="x", value_range=(0.0, 1.0))
OPEN = ScalarVariable(name="x", value_range=(-math.inf, math.inf))
ARRAY = ArrayVariable(name="a", value_range=(0.0, 1.0))
IMAGE = ImageVariable(name="img", value_range=(0.0, math.inf))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (RANGED, math.nan, "input 'x' is NaN (not a number), outside the range [0, 1]"),
        (OPEN, math.nan, "input 'x' is NaN (not a number), outside the range [-inf, inf]"),
        (RANGED, math.inf, "input 'x' is inf outside the range [0, 1]"),
        (ARRAY, [0.5, math.nan], "input 'a' is 1 NaN value outside the range [0, 1]"),
        (ARRAY, [math.nan] * 3, "input 'a' is 3 NaN values outside the range [0, 1]"),
        (
            ARRAY,
            [2.0, math.nan, -math.inf],
            "input 'a' is values in [-inf, 2] and 1 NaN value outside the range [0, 1]",
        ),
        (IMAGE, [[0.0, math.nan]], "input 'img' is 1 NaN value outside the range [0, inf]"),
    ],
)
def test_nan_and_infinity_are_outside_the_range(variable, value, message):
    from modelcrate import ValueWarning, VariableValueError

    with pytest.raises(VariableValueError) as caught:
        checked(variable, value, "error")
    assert str(caught.value) == message
    with pytest.raises(ValueWarning) as warned:
        checked(variable, value, "warn")
    assert str(warned.value) == message
    checked(variable, value, "none")


def test_nan_output_under_an_error_policy_fails_the_run():
    from modelcrate import Model, OutputError

    class Broken(Model):
        spec = parse_spec(
            "input_variables: {x: {type: scalar, default: 1.0}}\n"
            "output_variables:\n"
            "  y: {type: scalar, value_range: [0, 1], default_validation_config: error}\n"
            "  z: {type: array, value_range: [0, 1], default_validation_config: error}\n"
        )

        def evaluate(self, inputs):
            return {"y": 0.5, "z": np.array([0.1, np.nan])}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OutputError, match="output 'z' is 1 NaN value outside the range"):
            Broken()({})


# -- values that overflow -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (ScalarVariable(name="x"), 10**400, "expects a number, got one too large for a float"),
        (IntVariable(name="n"), 10**400, "expects an integer between -2**63 and 2**63 - 1"),
        (IntVariable(name="n"), math.inf, "expects an integer, got inf"),
        (ArrayVariable(name="a", dtype="int8"), [1000], "expects integers that fit int8"),
        (ArrayVariable(name="a", dtype="float32"), [1e300], "expects numbers that fit float32"),
        (ArrayVariable(name="a", dtype="int64"), [1e30], "expects integers that fit int64"),
    ],
)
def test_values_beyond_a_type_are_refused(variable, value, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=message.replace("*", r"\*")):
            variable.check(value)


def test_set_text_for_arrays_is_bounded_too():
    array = ArrayVariable(name="a")
    for text, fragment in [
        ("[" * 100_000, "is nested more than 64 levels deep"),
        ("[" + "9" * 5000 + "]", "an integer of 5000 digits is too long"),
        ("{[1]: 2}", "a key must be a name"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            parse_text(array, text)
    assert parse_text(IntVariable(name="n"), "12345678901234567891") == 12345678901234567891


@pytest.mark.parametrize("dtype", ["object", "V10", "f8,f8", "datetime64", "U5", "complex128"])
def test_dtypes_that_are_not_numbers_are_refused(dtype):
    message = spec_error(f"input_variables:\n  a: {{type: array, dtype: '{dtype}'}}\n{OUTPUTS}")
    assert message.startswith(f"v.yml: input variable 'a': unknown dtype '{dtype}'; use float64")
