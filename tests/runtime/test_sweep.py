"""The description of a sweep: its order, its slices, its JSON form, its samples, its errors."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modelcrate import InputError, ValueWarning
from modelcrate.runtime import Axis, Range, Sweep, build_sweep, parse_axis
from modelcrate.spec import parse_spec

SPEC = parse_spec(
    """
input_variables:
  laser_radius: {type: scalar, default: 0.4, range: [0.1, 1.0], policy: error}
  bunch_charge: {type: scalar, default: 100, range: [10, 250]}
  n_bins: {type: int, default: 2, range: [1, 3]}
  free: {type: scalar, default: 1.0}
  flag: {type: bool, default: false}
  mode: {type: enum, choices: [fast, slow], default: fast}
  label: {type: str, default: ""}
  "größe mit leer": {type: scalar, default: 1.0, range: [0, 2], policy: none}
  profile: {type: array, default: [1.0, 2.0]}
  gap: {type: scalar, default: 2.0, range: [2.0, 2.0], read_only: true}
output_variables:
  y: {type: scalar}
""",
    source="sweep.yml",
)
OPEN = parse_spec(
    """
input_variables:
  a: {type: scalar, default: 0}
  b: {type: scalar, default: 0}
  c: {type: int, default: 0}
  unit: {type: scalar, default: 0.5, range: [0, 1]}
  wide: {type: scalar, default: 0, range: [0, 1024]}
  count: {type: int, default: 1, range: [0.5, 3.5]}
output_variables:
  y: {type: scalar}
"""
)
REQUIRED = parse_spec(
    "{input_variables: {x: {type: scalar}, z: {type: scalar, default: 1}}, output_variables: {y: {type: scalar}}}"
)
FLOATS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def _all(sweep: Sweep) -> list[dict]:
    return sweep.input_sets(0, sweep.size)


# Order, size and slices


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(FLOATS, min_size=1, max_size=4),
    b=st.lists(FLOATS, min_size=1, max_size=3),
    c=st.lists(st.integers(-100, 100), min_size=1, max_size=3),
)
def test_sets_are_the_product_of_the_axes_last_fastest(a, b, c):
    grids = [f"a={','.join(map(repr, a))}", f"b={json.dumps(b)}", f"c={','.join(map(str, c))}"]
    sweep = build_sweep(OPEN, grids=grids)
    assert sweep.size == len(a) * len(b) * len(c)
    expected = [{"a": x, "b": y, "c": z} for x, y, z in itertools.product(a, b, c)]
    assert _all(sweep) == expected


@settings(max_examples=80, deadline=None)
@given(start=FLOATS, stop=FLOATS, n=st.integers(1, 60))
def test_a_linspace_axis_is_numpy_linspace_without_the_list(start, stop, n):
    axis = parse_axis(f"a={start!r}:{stop!r}:{n}", OPEN)
    assert axis.values is None and axis.size == n
    values = axis.values_at(np.arange(n))
    assert values == np.linspace(start, stop, n).tolist()
    assert all(type(v) is float for v in values)


@settings(max_examples=40, deadline=None)
@given(start=st.integers(-(10**12), 10**12), step=st.integers(-1000, 1000), n=st.integers(2, 30))
def test_an_int_linspace_axis_gives_exact_ints(start, step, n):
    stop = start + step * (n - 1)
    axis = parse_axis(f"c={start}:{stop}:{n}", OPEN)
    values = axis.values_at(np.arange(n))
    assert values == [start + i * step for i in range(n)]
    assert all(type(v) is int for v in values)


@pytest.mark.parametrize(("start", "stop", "n"), [(-1e308, 1e308, 11), (1.7e308, -1.7e308, 3)])
def test_the_widest_grid_has_no_overflow_inside(start, stop, n):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warned of
        values = parse_axis(f"a={start!r}:{stop!r}:{n}", OPEN).values_at(np.arange(n))
    exact = [Fraction(start) + (Fraction(stop) - Fraction(start)) * i / (n - 1) for i in range(n)]
    assert values[0] == start and values[-1] == stop
    for value, expected in zip(values, exact, strict=True):
        assert math.isclose(value, float(expected), rel_tol=1e-12, abs_tol=1e295)


def test_a_descending_grid_and_a_single_value():
    assert _all(build_sweep(OPEN, grids=["a=1:0:3"])) == [{"a": 1.0}, {"a": 0.5}, {"a": 0.0}]
    assert _all(build_sweep(OPEN, grids=["a=0.25:9:1"])) == [{"a": 0.25}]
    assert _all(build_sweep(OPEN, grids=["c=7"])) == [{"c": 7}]


def _mixed(seed: int = 7) -> Sweep:
    return build_sweep(
        SPEC,
        grids=["laser_radius=0.1:1.0:4", "mode=fast,slow", 'label=["a,b", "QUAD:IN20"]'],
        samples=5,
        seed=seed,
        vary=["bunch_charge", "n_bins"],
        fixed={"free": "2.5", "profile": [3, 4]},
    )


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 90))
def test_slices_concatenate_to_the_whole_for_any_chunk_size(size):
    sweep = _mixed()
    whole = _all(sweep)
    assert len(whole) == sweep.size == 4 * 2 * 2 * 5
    joined = [
        s for start in range(0, sweep.size, size) for s in sweep.input_sets(start, start + size)
    ]
    assert joined == whole


def test_slices_are_clamped_to_the_sweep():
    sweep = build_sweep(OPEN, grids=["c=1,2,3"])
    assert sweep.input_sets(-5, 2) == [{"c": 1}, {"c": 2}]
    assert sweep.input_sets(2, 99) == [{"c": 3}]
    assert sweep.input_sets(2, 1) == []
    assert sweep.input_sets(3, 4) == []


def test_each_set_holds_plain_values_fixed_first():
    first = _mixed().input_sets(0, 1)[0]
    assert list(first) == [
        "free",
        "profile",
        "laser_radius",
        "mode",
        "label",
        "bunch_charge",
        "n_bins",
    ]
    assert first["free"] == 2.5 and first["profile"] == [3.0, 4.0]
    assert (first["laser_radius"], first["mode"], first["label"]) == (0.1, "fast", "a,b")
    for inputs in _all(_mixed()):
        assert {type(v) for v in inputs.values()} <= {float, int, str, bool, list}
        assert type(inputs["n_bins"]) is int and type(inputs["bunch_charge"]) is float


def test_each_grid_point_meets_every_sample():
    sweep = build_sweep(OPEN, grids=["a=1,2,3"], samples=4, seed=3, vary=["unit"])
    sets = _all(sweep)
    per_point = [[s["unit"] for s in sets[i : i + 4]] for i in range(0, 12, 4)]
    assert per_point[0] == per_point[1] == per_point[2]
    assert len(set(per_point[0])) == 4
    assert [s["a"] for s in sets] == [1.0] * 4 + [2.0] * 4 + [3.0] * 4


# JSON form and determinism


def test_the_json_form_gives_an_equal_sweep_and_the_same_sets():
    sweep = _mixed()
    text = json.dumps(sweep.model_dump(mode="json"))
    again = Sweep.model_validate(json.loads(text))
    assert again == sweep
    assert _all(again) == _all(sweep)
    assert Sweep.model_validate_json(sweep.model_dump_json()) == sweep
    assert len(text) < 1000


def test_the_same_seed_gives_the_same_samples_in_a_fresh_process():
    sweep = _mixed(seed=12345)
    code = (
        "import json, sys\n"
        "from modelcrate.runtime import Sweep\n"
        "sweep = Sweep.model_validate_json(sys.stdin.read())\n"
        "print(json.dumps(sweep.input_sets(0, sweep.size)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=sweep.model_dump_json(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == _all(sweep)
    assert _all(_mixed(seed=12346)) != _all(sweep)


def test_a_seed_is_drawn_and_recorded_when_none_is_given():
    sweep = build_sweep(OPEN, samples=6, vary=["unit", "count"])
    assert isinstance(sweep.seed, int) and sweep.seed >= 0
    again = build_sweep(OPEN, samples=6, vary=["unit", "count"], seed=sweep.seed)
    assert _all(again) == _all(sweep)
    assert build_sweep(OPEN, grids=["a=1"]).seed is None  # nothing sampled, no seed needed


# Latin hypercube samples


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**64), n=st.integers(1, 200))
def test_each_sampled_input_has_one_sample_in_each_stratum(seed, n):
    sweep = build_sweep(OPEN, samples=n, seed=seed, vary=["unit", "wide"])
    sets = _all(sweep)
    for name, high in [("unit", 1), ("wide", 1024)]:
        values = [s[name] for s in sets]
        assert all(0 <= v < high for v in values)
        assert sorted(math.floor(v / high * n) for v in values) == list(range(n))


def test_ints_are_sampled_in_their_bounds_evenly_both_ends_reached():
    sweep = build_sweep(OPEN, samples=30, seed=1, vary=["count"])  # range [0.5, 3.5]
    values = [s["count"] for s in _all(sweep)]
    assert all(type(v) is int for v in values)
    assert sorted(values) == [1] * 10 + [2] * 10 + [3] * 10
    two = build_sweep(SPEC, samples=2, seed=5, vary=["n_bins"])  # [1, 3]: one per half
    assert sorted(s["n_bins"] for s in _all(two)) in ([1, 2], [1, 3], [2, 3])
    assert {s["n_bins"] for s in _all(build_sweep(SPEC, samples=3, seed=5, vary=["n_bins"]))} == {
        1,
        2,
        3,
    }


def test_sample_picks_every_ranged_number_input_not_otherwise_given():
    sweep = build_sweep(SPEC, grids=["laser_radius=0.5"], samples=3, seed=0, fixed={"n_bins": 2})
    # free has no range, gap is read-only; the rest are not numbers
    assert [r.name for r in sweep.sampled] == ["bunch_charge", "größe mit leer"]
    assert sweep.sampled[0] == Range(name="bunch_charge", low=10, high=250)


# Large sweeps stay small


def test_a_ten_billion_point_axis_is_three_numbers():
    axis = parse_axis("a=0:1:10000000000", OPEN)
    assert axis.size == 10**10
    assert len(axis.model_dump_json()) < 100
    assert axis.values_at(np.array([0, 1, 10**10 - 1], dtype=np.int64)) == [
        0.0,
        1 / (10**10 - 1),
        1.0,
    ]


def test_the_last_chunk_of_ten_million_sets():
    sweep = build_sweep(
        SPEC, grids=["laser_radius=0.1:1.0:10000", "mode=fast,slow"], samples=500, seed=9
    )
    assert sweep.size == 10_000_000
    chunk = sweep.input_sets(9_999_000, 10_000_000)
    assert len(chunk) == 1000
    assert {s["laser_radius"] for s in chunk} == {1.0}
    assert [s["mode"] for s in chunk] == ["fast"] * 500 + ["slow"] * 500
    assert len({s["bunch_charge"] for s in chunk}) == 500
    assert [s["bunch_charge"] for s in chunk[:500]] == [s["bunch_charge"] for s in chunk[500:]]


def test_describe_is_one_line():
    sweep = build_sweep(
        SPEC,
        grids=["laser_radius=0.1:1.0:100", "bunch_charge=10:250:50", "mode=fast,slow"],
        samples=1000,
        seed=7,
        vary=["n_bins"],
        fixed={"free": 2},
    )
    assert sweep.describe() == (
        "4 inputs: laser_radius 100 values in [0.1, 1.0] \u00d7 bunch_charge 50 values in "
        "[10.0, 250.0] \u00d7 mode 2 values ('fast', 'slow') \u00d7 1,000 Latin hypercube samples of "
        "n_bins in [1, 3] (seed 7) = 10,000,000 sets; fixed: free=2.0"
    )


# Errors: one line each, naming the option and the input

ERRORS = [
    (
        {"grids": ["laser_radius=0.1:1.0"]},
        "--grid 'laser_radius=0.1:1.0': write NAME=START:STOP:N, NAME=a,b,c or NAME=[JSON list], "
        "e.g. --grid x=0:1:11",
    ),
    ({"grids": ["=1,2"]}, "--grid '=1,2': write NAME=START:STOP:N"),
    ({"grids": ["radius"]}, "--grid 'radius': write NAME=START:STOP:N"),
    (
        {"grids": ["radius=1,2"]},
        "--grid 'radius=1,2': no input 'radius'; the inputs are: laser_radius, bunch_charge, "
        "n_bins, free, flag, mode, label, größe mit leer, profile, gap",
    ),
    (
        {"grids": ["laser_radius=0.1:1:0"]},
        "--grid 'laser_radius=0.1:1:0': N of input 'laser_radius' must be a whole number of "
        "values >= 1, got '0'",
    ),
    ({"grids": ["free=0:1:2.5"]}, "N of input 'free' must be a whole number of values >= 1"),
    ({"grids": ["free=0:1:-3"]}, "N of input 'free' must be a whole number of values >= 1"),
    ({"grids": ["free=0:1:1e3"]}, "N of input 'free' must be a whole number of values >= 1"),
    (
        {"grids": ["free=0:1:10000000000000"]},
        "N of input 'free' is more than 1,000,000,000,000 values",
    ),
    ({"grids": ["free=low:1:3"]}, "START of input 'free' expects a number, got 'low'"),
    ({"grids": ["free=0:nan:3"]}, "STOP of input 'free' must be a finite number"),
    ({"grids": ["free=-inf:0:3"]}, "START of input 'free' must be a finite number"),
    ({"grids": ["free=0:1:2,3"]}, "--grid 'free=0:1:2,3': write NAME=START:STOP:N"),
    ({"grids": ["free=1,inf"]}, "input 'free' is given NaN or an infinity"),
    (
        {"grids": ["mode=0:1:3"]},
        "--grid 'mode=0:1:3': START:STOP:N needs a number input, and 'mode' is enum; list its "
        "values instead, e.g. mode=a,b (a JSON list for values with colons)",
    ),
    ({"grids": ["flag=0:1:2"]}, "and 'flag' is bool; list its values instead"),
    ({"grids": ["label=a:b:2"]}, "and 'label' is str; list its values instead"),
    ({"grids": ["profile=0:1:3"]}, "e.g. profile=[[1, 2], [3, 4]]"),
    (
        {"grids": ["n_bins=1:3:4"]},
        "--grid 'n_bins=1:3:4': the 4 values of int input 'n_bins' from 1 to 3 are not all "
        "integers; choose N so that N - 1 divides 2, or list the values",
    ),
    ({"grids": ["n_bins=1.5,2"]}, "--grid 'n_bins=1.5,2': input 'n_bins' expects an integer"),
    ({"grids": ["mode=fast,medium"]}, "input 'mode' expects one of 'fast', 'slow', got 'medium'"),
    ({"grids": ["flag=yes,maybe"]}, "input 'flag' expects true or false, got 'maybe'"),
    ({"grids": ["profile=[[[1, 2], [3]]]"]}, "input 'profile' expects a rectangular array"),
    ({"grids": ["free=[1,"]}, "--grid 'free=[1,': not a JSON list"),
    ({"grids": ["free=[]"]}, "give a JSON list of at least one value, e.g. free=[1, 2]"),
    ({"grids": ["free={}"]}, "input 'free' expects a number, got '{}'"),
    (
        {"grids": ["laser_radius=0:1:3"]},
        "--grid 'laser_radius=0:1:3': input 'laser_radius' is 0 outside the range [0.1, 1]",
    ),
    ({"grids": ["laser_radius=0.5,2"]}, "input 'laser_radius' is 2 outside the range [0.1, 1]"),
    (
        {"grids": ["gap=1,2"]},
        "--grid 'gap=1,2': input 'gap' is read-only (fixed at 2.0); leave it out of the sweep",
    ),
    (
        {"grids": ["free=1,2", "free=3"]},
        "--grid 'free=3': input 'free' is already given by --grid 'free=1,2'; give each input once",
    ),
    (
        {"grids": ["free=1,2"], "fixed": {"free": 3}},
        "--set 'free': input 'free' is already given by --grid 'free=1,2'; give each input once",
    ),
    (
        {"grids": ["bunch_charge=10,20"], "samples": 3, "vary": ["bunch_charge"]},
        "--vary 'bunch_charge': input 'bunch_charge' is already given by --grid",
    ),
    (
        {"samples": 3, "vary": ["n_bins", "n_bins"]},
        "--vary 'n_bins': input 'n_bins' is already given by --vary 'n_bins'",
    ),
    ({"fixed": {"radius": 1}, "grids": ["free=1"]}, "--set 'radius': no input 'radius'"),
    (
        {"fixed": {"n_bins": "x"}, "grids": ["free=1"]},
        "--set 'n_bins': input 'n_bins' expects an integer",
    ),
    (
        {"fixed": {"free": math.nan}, "grids": ["bunch_charge=10"]},
        "input 'free' is given NaN or an infinity",
    ),
    (
        {"samples": 3, "vary": ["free"]},
        "--vary 'free': input 'free' has no finite range to sample; declare its range "
        "(value_range in the variables file) or grid it instead (--grid free=START:STOP:N)",
    ),
    (
        {"samples": 3, "vary": ["mode"]},
        "--vary 'mode': input 'mode' is enum, and only numbers are sampled; grid it instead",
    ),
    ({"samples": 3, "vary": ["gap"]}, "--vary 'gap': input 'gap' is read-only"),
    (
        {"fixed": {"gap": 3}, "grids": ["free=1"]},
        "--set 'gap': input 'gap' is read-only (fixed at 2.0); leave it out of the sweep",
    ),
    ({"samples": 3, "vary": ["radius"]}, "--vary 'radius': no input 'radius'"),
    (
        {"vary": ["n_bins"]},
        "--vary 'n_bins': give the number of samples too, e.g. --sample 100",
    ),
    ({"samples": -1}, "--sample -1: give a whole number of samples (0: none)"),
    ({"samples": 2.5}, "--sample 2.5: give a whole number of samples (0: none)"),
    ({"samples": 3, "seed": -1}, "--seed -1: give a whole number >= 0"),
    ({}, "the sweep is empty; give --grid NAME=START:STOP:N or --sample N"),
    ({"fixed": {"free": 2}}, "the sweep is empty"),
    (
        {"grids": ["free=0:1:10000000", "bunch_charge=10:250:1000000"]},
        "the sweep has more than 1,000,000,000,000 input sets (10,000,000 \u00d7 1,000,000); "
        "use fewer grid values or samples",
    ),
    (
        {"samples": 10**8, "vary": ["bunch_charge", "n_bins"]},
        "--sample 100,000,000: 2 inputs sampled 100,000,000 times need 1.6 GB in each worker; "
        "give at most 50,000,000 samples",
    ),
]


@pytest.mark.parametrize(("options", "message"), ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_bad_options_are_one_line_naming_what_to_do(options, message):
    with pytest.raises(InputError) as caught:
        build_sweep(SPEC, **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_open_int_range_has_nothing_to_sample():
    spec = parse_spec(
        "{input_variables: {k: {type: int, range: [0.2, 0.8]}}, output_variables: {y: {type: scalar}}}"
    )
    with pytest.raises(InputError, match=r"--vary 'k': int input 'k' has a range \[0.2, 0.8\]"):
        build_sweep(spec, samples=2, vary=["k"])
    with pytest.raises(InputError, match="--sample 2: no input left to sample"):
        build_sweep(spec, samples=2)


def test_a_read_only_input_may_be_set_to_its_default():
    sweep = build_sweep(SPEC, grids=["free=1"], fixed={"gap": "2"})
    assert _all(sweep) == [{"gap": 2.0, "free": 1.0}]


def test_a_required_input_must_be_given():
    with pytest.raises(
        InputError, match=r"input 'x' is required .* --set x=VALUE, --grid or --vary"
    ):
        build_sweep(REQUIRED, grids=["z=1,2"])
    assert _all(build_sweep(REQUIRED, grids=["x=1,2"])) == [{"x": 1.0}, {"x": 2.0}]


def test_range_problems_follow_the_policy():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep = build_sweep(SPEC, grids=["bunch_charge=0:300:3"])  # policy warn
        assert _all(sweep)[0] == {"bunch_charge": 0.0}
        build_sweep(SPEC, grids=["größe mit leer=5,6"])  # policy none
    messages = [str(w.message) for w in caught if issubclass(w.category, ValueWarning)]
    assert messages == [
        "--grid 'bunch_charge=0:300:3': input 'bunch_charge' is 0 outside the range [10, 250]",
        "--grid 'bunch_charge=0:300:3': input 'bunch_charge' is 300 outside the range [10, 250]",
    ]


def test_values_holding_commas_and_colons_come_as_json():
    sweep = build_sweep(
        SPEC, grids=['label=["a,b", "QUAD:IN20:121"]', "profile=[[1, 2], [3]]", "flag=yes,no"]
    )
    assert [s["label"] for s in _all(sweep)][::4] == ["a,b", "QUAD:IN20:121"]
    assert [s["profile"] for s in _all(sweep)][:4:2] == [[1.0, 2.0], [3.0]]
    assert [s["flag"] for s in _all(sweep)][:2] == [True, False]


def test_a_sweep_that_does_not_hold_together_is_refused_when_read():
    with pytest.raises(ValidationError):
        Axis(name="x")
    with pytest.raises(ValidationError):
        Axis(name="x", values=[])
    with pytest.raises(ValidationError):
        Axis(name="c", start=0, stop=10, n=4, integer=True)
    with pytest.raises(ValidationError):
        Sweep(samples=3)
    with pytest.raises(ValidationError):
        Sweep(axes=[Axis(name="x", values=[1])], fixed={"x": 2})
    with pytest.raises(ValidationError):
        Sweep(samples=2, sampled=[Range(name="x", low=0, high=1)])  # no seed
