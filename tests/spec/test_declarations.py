"""Declarations that `new` accepts make projects that run; the others are refused when the
variables file loads, with one line naming the file, the variable and what to do."""

from __future__ import annotations

import pytest

from modelcrate import SpecError
from modelcrate.spec import parse_spec

INPUTS = "input_variables:\n  x: {type: scalar, default: 1.0}\n"

REFUSED = {
    "range beyond a float": (
        "y: {type: scalar, range: [0, " + "9" * 400 + "]}",
        "upper bound 999999999999999999999999999999999999999999999999999999999... is beyond "
        "the largest float (1.8e308); write inf for no bound",
    ),
    "extent that is a list": (
        "y: {type: image, x_min_variable: [a]}",
        "x_min_variable is ['a']; it must be the name of another variable, "
        "e.g. x_min_variable: y_x_min",
    ),
    "binary choice": (
        "y: {type: enum, choices: [!!binary aGVsbG8=, b]}",
        "choice b'hello' is binary data; "
        "a choice must be text, an integer, a finite number or true/false",
    ),
    "set choice": (
        "y: {type: enum, choices: [!!set {a}]}",
        "choice {'a'} is a list, set or mapping; "
        "a choice must be text, an integer, a finite number or true/false",
    ),
    "ordered-map choice": (
        "y: {type: enum, choices: [!!omap [a: 1]]}",
        "choice [('a', 1)] is a list, set or mapping; "
        "a choice must be text, an integer, a finite number or true/false",
    ),
    "NaN choice": (
        "y: {type: enum, choices: [.nan, b]}",
        "choice nan is not a finite number; "
        "a choice must be text, an integer, a finite number or true/false",
    ),
    "null choice": (
        "y: {type: enum, choices: [null, b]}",
        "choice None is null; a choice must be text, an integer, a finite number or true/false",
    ),
    "integer choice beyond int64": (
        "y: {type: enum, choices: [123456789012345678901234567890, b]}",
        "choice 123456789012345678901234567890 is an integer beyond -2**63 to 2**63 - 1; "
        "a choice must be text, an integer, a finite number or true/false",
    ),
    "NUL in a choice": (
        'y: {type: enum, choices: ["a\\0b"]}',
        "choice 'a\\x00b' holds a NUL character (\\x00); give text without it",
    ),
    "lone surrogate in a choice": (
        'y: {type: enum, choices: ["\\ud800"]}',
        "choice '\\ud800' holds a lone surrogate ('\\ud800'), which is not valid Unicode "
        "text; give text without it",
    ),
    "float128": (
        "y: {type: array, dtype: float128}",
        "dtype float128 is not stored by every target; use float64, float32, float16, int64, "
        "int32, int16, int8, uint64, uint32, uint16, uint8, bool or str",
    ),
    "1-D image": (
        "y: {type: image, shape: [5]}",
        "an image is 2-D, so its shape is [rows, columns] (or [rows, columns, channels] for "
        "colour), not [5]; fix the shape or use type: array",
    ),
    "4-D image": (
        "y: {type: image, shape: [1, 1, 1, 1]}",
        "an image is 2-D, so its shape is [rows, columns] (or [rows, columns, channels] for "
        "colour), not [1, 1, 1, 1]; fix the shape or use type: array",
    ),
    "int range beyond int64": (
        "y: {type: int, range: [1e300, 1e308]}",
        "lower bound 1e+300 is beyond what an int holds (-2**63 to 2**63 - 1); "
        "give a bound inside it, or inf for none",
    ),
    "float16 range beyond float16": (
        "y: {type: array, dtype: float16, range: [1e300, 1e301]}",
        "lower bound 1e+300 is beyond what float16 holds (-65504 to 65504); "
        "give a bound inside it, or inf for none",
    ),
    "int8 range beyond int8": (
        "y: {type: array, dtype: int8, range: [0, 1000]}",
        "upper bound 1000 is beyond what int8 holds (-128 to 127); "
        "give a bound inside it, or inf for none",
    ),
    "shape of 10**10 elements": (
        "y: {type: array, shape: [100000, 100000]}",
        "shape [100000, 100000] holds 10,000,000,000 elements, more than 100,000,000; "
        "declare a smaller shape (or null for a length that varies)",
    ),
    "shape of 40 dimensions": (
        "y: {type: array, shape: [" + ", ".join(["1"] * 40) + "]}",
        "shape has 40 dimensions; at most 32 are allowed",
    ),
    "default nested 60 deep": (
        "y: {type: array, default: " + "[" * 60 + "1" + "]" * 60 + "}",
        "default value " + "[" * 57 + "... is invalid: expects at most 32 dimensions, got 60",
    ),
    "default nested deeper than its shape": (
        "y: {type: array, shape: [1], default: [[[1]]]}",
        "default value [[[1]]] is invalid: expects shape (1,), got (1, 1, 1)",
    ),
}

WORKING = {
    "float16 array inside its range": "y: {type: array, dtype: float16, shape: [3], "
    "range: [0, 60000]}",
    "int8 and uint64 arrays": "y: {type: array, dtype: int8, shape: [2], range: [-100, 100]}\n"
    "  z: {type: array, dtype: uint64, shape: [2]}",
    "colour image": "y: {type: image, shape: [4, 4, 3]}",
    "image extent naming another output": "y: {type: image, shape: [2, 2], x_min_variable: w}\n"
    "  w: {type: scalar}",
    "choices of every allowed kind": "y: {type: enum, choices: [a, 1, 2.5, true]}",
    "int range at the int64 limits": (
        "y: {type: int, range: [-9223372036854775808, 9223372036854775807]}"
    ),
    "array of 32 dimensions": "y: {type: array, shape: [" + ", ".join(["1"] * 32) + "]}",
}


def variables_file(tmp_path, outputs: str):
    path = tmp_path / "v.yml"
    path.write_text(INPUTS + "output_variables:\n  " + outputs + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_declaration_no_project_could_run_is_refused_at_load(run_cli, tmp_path, case):
    outputs, message = REFUSED[case]
    path = variables_file(tmp_path, outputs)
    code, _, err = run_cli("new", path, "-o", tmp_path / "p", "--yes", "--no-git")
    assert (code, err) == (2, f"error: {path}: output variable 'y': {message}\n")
    assert not (tmp_path / "p").exists()


def test_an_extent_naming_a_variable_is_text():
    with pytest.raises(SpecError) as caught:
        parse_spec(INPUTS + "output_variables:\n  y: {type: image, y_max_variable: 3}\n")
    assert str(caught.value) == (
        "<variables>: output variable 'y': y_max_variable is 3; it must be the name of another "
        "variable, e.g. y_max_variable: y_y_max"
    )


@pytest.mark.parametrize("case", list(WORKING))
def test_a_declaration_that_loads_makes_a_project_that_runs(run_cli, tmp_path, case):
    path = variables_file(tmp_path, WORKING[case])
    name = f"declared {list(WORKING).index(case)}"  # one package name per project in this process
    code, _, err = run_cli("new", path, "-o", tmp_path / "p", "--yes", "--no-git", "--name", name)
    assert code == 0, err
    code, _, err = run_cli("run", tmp_path / "p")
    assert code == 0, err
