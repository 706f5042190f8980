"""Comparing results in the tests: stored and read back, a result must be the same, value for
value (arrays keep their dtype and shape, NaN stays NaN)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from modelcrate.runtime import Result


def assert_same_value(got, want, where="") -> None:
    """`got` equals `want` in type and value, recursively; `where` names the place on failure."""
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert (got.dtype, got.shape) == (want.dtype, want.shape), where
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_same_value(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same_value(a, b, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert isinstance(got, float) and math.isnan(got), where
    else:
        assert type(got) is type(want) and got == want, where


def assert_same_result(got: Result, want: Result) -> None:
    """`got` is `want`: the same identity, metadata, inputs and outputs."""
    assert (got.hash, got.model, got.version, got.created, got.units, got.flow_run_id) == (
        want.hash,
        want.model,
        want.version,
        want.created,
        want.units,
        want.flow_run_id,
    )
    assert_same_value(got.inputs, want.inputs, "inputs")
    assert_same_value(got.outputs, want.outputs, "outputs")


def result_files(root: Path) -> list[Path]:
    """The files under a filesystem target's folder, sorted, but for its inputs-key marks
    (`<model>/.keys/`), which are no results."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".keys" not in p.parts)


def key_marks(root: Path) -> list[Path]:
    """The inputs-key marks under a filesystem target's folder, sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".keys" in p.parts)
