"""The `Model` base class: defaults, input and output validation, policies and batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from modelcrate import (
    InputError,
    Model,
    ModelcrateError,
    OutputError,
    ValueWarning,
    VariableValueError,
)
from modelcrate.spec import parse_spec

QUAD = "QUAD:IN20:121:BACT"
SOL = "SOL1:solenoid_field_scale"
CHARGE = "distgen:total_charge:value"
XRMS = "OTRS:IN20:571:XRMS"

INJECTOR = parse_spec(
    f"""
model:
  name: injector-surrogate
input_variables:
  {QUAD}: {{type: scalar, default: -0.02, range: [-0.05, 0.0], units: kG}}
  {SOL}: {{type: scalar, range: [0.0, 1.0], units: kG, policy: error}}
  {CHARGE}: {{type: scalar, range: [250.0, 250.0], units: pC}}
  jitter: {{type: scalar, default: 0.0, range: [0.0, 1.0], policy: none}}
output_variables:
  {XRMS}: {{type: scalar, units: um, range: [0, inf]}}
  sigma_z: {{type: scalar, units: mm, range: [0, 10], policy: error}}
  profile: {{type: array, shape: [3]}}
""",
    source="injector.yml",
)


class Injector(Model):
    spec = INJECTOR

    def __init__(self):
        self.seen = []

    def evaluate(self, inputs):
        self.seen.append(inputs)
        strength = inputs[QUAD] + inputs[SOL]
        return {
            XRMS: 100.0 + 1000.0 * abs(strength),
            "sigma_z": inputs[CHARGE] / 100.0,
            "profile": np.array([strength, 2 * strength, 3 * strength]),
        }


@pytest.fixture
def model():
    return Injector()


# --- evaluating ---------------------------------------------------------------------------------


def test_call_fills_defaults_and_returns_checked_outputs(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model({SOL: 0.5})
    assert model.seen == [{QUAD: -0.02, SOL: 0.5, CHARGE: 250.0, "jitter": 0.0}]
    assert out[XRMS] == pytest.approx(580.0)
    assert out["sigma_z"] == 2.5
    assert isinstance(out["profile"], np.ndarray) and out["profile"].dtype == np.float64
    np.testing.assert_allclose(out["profile"], [0.48, 0.96, 1.44])
    assert list(out) == [XRMS, "sigma_z", "profile"]


def test_call_with_keywords_and_a_mapping(model):
    model({SOL: 0.5}, jitter=0.25)
    model(jitter=0.25, **{SOL: 0.1})
    model({SOL: 0.5, "jitter": 0.9}, jitter=0.25)  # keywords win
    assert [seen["jitter"] for seen in model.seen] == [0.25, 0.25, 0.25]
    assert model.seen[1][SOL] == 0.1


def test_inputs_are_converted_to_their_kind(model):
    model({SOL: 1, QUAD: np.float32(-0.01)})
    seen = model.seen[0]
    assert type(seen[SOL]) is float and seen[SOL] == 1.0
    assert type(seen[QUAD]) is float


def test_callers_mapping_is_not_changed(model):
    inputs = {SOL: 0.5}
    model(inputs)
    assert inputs == {SOL: 0.5}


def test_model_name_comes_from_the_spec_or_the_class():
    class Named(Model):
        spec = INJECTOR
        name = "my-name"

    class Unnamed(Model):
        spec = parse_spec("input_variables: {}\noutput_variables:\n  y: {type: scalar}\n")

    assert Injector.name == "injector-surrogate"
    assert Named.name == "my-name"
    assert Unnamed.name == "Unnamed"
    assert Injector.version == "0+unknown"


def test_evaluate_must_be_implemented():
    class Lazy(Model):
        spec = INJECTOR

    with pytest.raises(NotImplementedError, match=r"Lazy\.evaluate"):
        Lazy()({SOL: 0.5})


def test_errors_are_value_errors():
    assert issubclass(InputError, VariableValueError)
    assert issubclass(OutputError, ValueError)
    assert issubclass(InputError, ModelcrateError)


# --- input errors -------------------------------------------------------------------------------


def test_unknown_input_is_named(model):
    with pytest.raises(InputError) as info:
        model({SOL: 0.5, "QUAD:IN20:999:BACT": 1.0})
    message = str(info.value)
    assert "unknown input 'QUAD:IN20:999:BACT'" in message
    assert "injector-surrogate" in message
    assert QUAD in message and SOL in message  # lists the inputs there are
    assert model.seen == []


def test_missing_required_input(model):
    with pytest.raises(InputError) as info:
        model()
    message = str(info.value)
    assert f"input '{SOL}'" in message
    assert "no default" in message and "give it a value" in message


@pytest.mark.parametrize("value", ["0.5", None, True, [0.5], {"value": 0.5}, np.array([0.5])])
def test_wrong_type_is_an_input_error(model, value):
    with pytest.raises(InputError) as info:
        model({SOL: value})
    assert f"input '{SOL}' expects a number" in str(info.value)


def test_out_of_range_with_policy_warn_warns(model):
    with pytest.warns(ValueWarning) as record:
        out = model({SOL: 0.5, QUAD: 0.3})
    assert len(record) == 1
    message = str(record[0].message)
    assert QUAD in message and "0.3" in message and "[-0.05, 0]" in message
    assert model.seen[0][QUAD] == 0.3  # evaluated anyway
    assert out["sigma_z"] == 2.5


def test_out_of_range_with_policy_error_raises(model):
    with pytest.raises(InputError) as info:
        model({SOL: 1.5})
    assert f"input '{SOL}' is 1.5 outside the range [0, 1]" in str(info.value)
    assert model.seen == []


def test_out_of_range_with_policy_none_is_silent(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model({SOL: 0.5, "jitter": 50.0})
    assert model.seen[0]["jitter"] == 50.0


def test_range_bounds_are_inclusive(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model({SOL: 0.0, QUAD: -0.05})
        model({SOL: 1.0, QUAD: 0.0})


def test_read_only_input_with_another_value_is_an_error(model):
    with pytest.raises(InputError) as info, warnings.catch_warnings():
        warnings.simplefilter("error")  # one error, not also a range warning for 200
        model({SOL: 0.5, CHARGE: 200.0})
    message = str(info.value)
    assert f"input '{CHARGE}' is read-only" in message
    assert "250" in message and "leave it out" in message


def test_read_only_input_with_its_own_value_is_accepted(model):
    model({SOL: 0.5, CHARGE: 250})
    assert model.seen[0][CHARGE] == 250.0


# --- output errors ------------------------------------------------------------------------------


class Returning(Model):
    spec = INJECTOR

    def __init__(self, outputs):
        self.outputs = outputs

    def evaluate(self, inputs):
        return self.outputs


GOOD_OUTPUTS = {XRMS: 120.0, "sigma_z": 2.5, "profile": [1.0, 2.0, 3.0]}


def test_good_outputs_pass():
    out = Returning(GOOD_OUTPUTS)({SOL: 0.5})
    np.testing.assert_array_equal(out["profile"], [1.0, 2.0, 3.0])


def test_missing_output():
    outputs = {k: v for k, v in GOOD_OUTPUTS.items() if k != XRMS}
    with pytest.raises(OutputError, match=rf"Returning.evaluate did not return output '{XRMS}'"):
        Returning(outputs)({SOL: 0.5})


def test_undeclared_output():
    with pytest.raises(OutputError) as info:
        Returning({**GOOD_OUTPUTS, "sigma_y": 1.0})({SOL: 0.5})
    assert "undeclared output 'sigma_y'" in str(info.value)
    assert "declare it in the variables file" in str(info.value)


def test_output_of_the_wrong_shape():
    with pytest.raises(OutputError, match=r"output 'profile' expects shape \(3,\), got \(2,\)"):
        Returning({**GOOD_OUTPUTS, "profile": [1.0, 2.0]})({SOL: 0.5})


def test_output_of_the_wrong_type():
    with pytest.raises(OutputError, match=f"output '{XRMS}' expects a number"):
        Returning({**GOOD_OUTPUTS, XRMS: "wide"})({SOL: 0.5})


def test_outputs_not_a_mapping():
    with pytest.raises(OutputError, match=r"Returning\.evaluate returned list, not a dict"):
        Returning([1.0, 2.0])({SOL: 0.5})


def test_output_out_of_range_follows_its_policy():
    with pytest.raises(OutputError, match="output 'sigma_z' is 11 outside the range"):
        Returning({**GOOD_OUTPUTS, "sigma_z": 11.0})({SOL: 0.5})
    with pytest.warns(ValueWarning, match=f"output '{XRMS}' is -1 outside the range"):
        Returning({**GOOD_OUTPUTS, XRMS: -1.0})({SOL: 0.5})


# --- batches ------------------------------------------------------------------------------------


def test_batch_equals_calling_one_by_one(model):
    input_sets = [{SOL: 0.1}, {SOL: 0.5, QUAD: -0.04}, {SOL: 0.9, "jitter": 0.5}]
    batch = model.batch(input_sets)
    single = [Injector()(inputs) for inputs in input_sets]
    assert len(batch) == 3
    for got, want in zip(batch, single, strict=True):
        assert got.keys() == want.keys()
        assert got[XRMS] == want[XRMS]
        assert got["sigma_z"] == want["sigma_z"]
        np.testing.assert_array_equal(got["profile"], want["profile"])
    assert model.batch([]) == []


def test_batch_accepts_any_iterable(model):
    out = model.batch({SOL: s} for s in (0.1, 0.2))
    assert len(out) == 2


class Vectorised(Injector):
    def __init__(self, count=None):
        super().__init__()
        self.batch_calls = 0
        self.count = count

    def evaluate(self, inputs):
        raise AssertionError("the vectorised evaluate_batch should be used")

    def evaluate_batch(self, input_sets):
        self.batch_calls += 1
        sol = np.array([i[SOL] for i in input_sets])
        quad = np.array([i[QUAD] for i in input_sets])
        strength = quad + sol
        xrms = 100.0 + 1000.0 * np.abs(strength)
        outputs = [
            {XRMS: x, "sigma_z": i[CHARGE] / 100.0, "profile": s * np.arange(1.0, 4.0)}
            for x, s, i in zip(xrms, strength, input_sets, strict=True)
        ]
        return outputs if self.count is None else outputs[: self.count]


def test_a_vectorised_evaluate_batch_is_used():
    model = Vectorised()
    input_sets = [{SOL: 0.1}, {SOL: 0.5, QUAD: -0.04}]
    out = model.batch(input_sets)
    assert model.batch_calls == 1
    expected = [Injector()(inputs) for inputs in input_sets]
    for got, want in zip(out, expected, strict=True):
        assert got[XRMS] == pytest.approx(want[XRMS])
        assert type(got[XRMS]) is float  # numpy scalars come back as plain floats
        np.testing.assert_allclose(got["profile"], want["profile"])


def test_batch_returning_the_wrong_count_is_an_output_error():
    with pytest.raises(OutputError, match="returned 1 results for 2 input sets"):
        Vectorised(count=1).batch([{SOL: 0.1}, {SOL: 0.2}])


def test_batch_errors_name_the_input_set(model):
    with pytest.raises(InputError, match=rf"input set 2: input '{SOL}' is 7 outside the range"):
        model.batch([{SOL: 0.1}, {SOL: 0.2}, {SOL: 7.0}])
    assert model.seen == []  # nothing evaluated when any set is invalid
    with pytest.raises(InputError, match="input set 1: unknown input 'bogus'"):
        model.batch([{SOL: 0.1}, {SOL: 0.2, "bogus": 1}])


def test_batch_output_errors_name_the_input_set():
    model = Vectorised()
    original = model.evaluate_batch

    def bad_second(input_sets):
        outputs = original(input_sets)
        outputs[1] = {**outputs[1], "sigma_z": 99.0}
        return outputs

    model.evaluate_batch = bad_second
    with pytest.raises(OutputError, match="input set 1: output 'sigma_z' is 99 outside"):
        model.batch([{SOL: 0.1}, {SOL: 0.2}])


# --- every kind, a valid and an invalid value ----------------------------------------------------

KINDS = parse_spec(
    """
input_variables:
  n_particles: {type: int, default: 1000, range: [1, 1000000]}
  space_charge: {type: bool, default: true}
  lattice: {type: str, default: cu_inj}
  solver: {type: enum, choices: [impact, astra, 3], default: astra}
  profile: {type: array, shape: [3], default: [0.0, 0.0, 0.0]}
  counts: {type: array, shape: [null, 2], dtype: int64, default: [[1, 2]]}
  names: {type: array, value_type: string, default: [QE01]}
  screen: {type: image, shape: [2, 2], default: [[0.0, 0.0], [0.0, 0.0]]}
  x: {type: scalar, default: 0.0}
output_variables:
  pred: {type: distribution}
  normal: {type: distribution, distribution_type: Normal}
""",
    source="kinds.yml",
)

MVN = {"mean": [0.0, 1.0], "covariance_matrix": [[1.0, 0.0], [0.0, 1.0]]}


class Kinds(Model):
    spec = KINDS

    def __init__(self, outputs=None):
        self.seen = None
        self.outputs = outputs or {"pred": MVN, "normal": {"loc": 0.0, "scale": 1.0}}

    def evaluate(self, inputs):
        self.seen = inputs
        return self.outputs


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("n_particles", 5000, 5000),
        ("n_particles", np.int64(7), 7),
        ("n_particles", 8.0, 8),
        ("space_charge", False, False),
        ("space_charge", np.bool_(True), True),
        ("lattice", "sc_inj", "sc_inj"),
        ("solver", "impact", "impact"),
        ("solver", 3, 3),
        ("solver", "3", 3),  # text from a command line or a form
        ("solver", np.int64(3), 3),
        ("x", np.float64(1.5), 1.5),
        ("x", np.array(2.5), 2.5),
    ],
)
def test_valid_values_of_every_kind(name, value, expected):
    model = Kinds()
    model({name: value})
    got = model.seen[name]
    assert got == expected
    assert type(got) is type(expected)


def test_valid_array_values():
    model = Kinds()
    model(
        profile=(1, 2, 3),
        counts=np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int32),
        names=["QE01", "QE02"],
        screen=np.eye(2),
    )
    seen = model.seen
    assert seen["profile"].dtype == np.float64
    np.testing.assert_array_equal(seen["profile"], [1.0, 2.0, 3.0])
    assert seen["counts"].dtype == np.int64 and seen["counts"].shape == (3, 2)
    assert seen["names"].dtype.kind == "U"
    assert list(seen["names"]) == ["QE01", "QE02"]
    np.testing.assert_array_equal(seen["screen"], np.eye(2))
    # integral floats are accepted for an integer array
    model(counts=[[1.0, 2.0]])
    assert model.seen["counts"].dtype == np.int64


def test_array_defaults_are_numpy_arrays():
    model = Kinds()
    model()
    assert isinstance(model.seen["profile"], np.ndarray)
    assert model.seen["counts"].dtype == np.int64
    assert model.seen["screen"].shape == (2, 2)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("n_particles", 2.5, "expects an integer"),
        ("n_particles", "1000", "expects an integer"),
        ("n_particles", True, "expects an integer"),
        ("space_charge", 1, "expects true or false"),
        ("space_charge", "yes", "expects true or false"),
        ("lattice", 3, "expects text"),
        ("solver", "elegant", "expects one of 'impact', 'astra', 3"),
        ("solver", 3.0, "expects one of"),
        ("profile", [1.0, 2.0], "expects shape (3,)"),
        ("profile", [[1.0, 2.0, 3.0]], "expects shape (3,)"),
        ("profile", ["a", "b", "c"], "expects an array of float64"),
        ("profile", "1,2,3", "expects an array"),
        ("profile", [[1.0], [2.0, 3.0]], "rectangular"),
        ("profile", [True, False, True], "expects an array of float64"),
        ("counts", [[1.5, 2.0]], "non-integral"),
        ("counts", [1, 2], "expects shape (any, 2)"),
        ("names", [1, 2], "expects an array of strings"),
        ("screen", [1.0, 2.0, 3.0, 4.0], "expects a 2-D image"),
        ("screen", np.zeros((2, 2, 2, 2)), "expects a 2-D image"),
        ("screen", np.zeros((3, 3)), "expects shape (2, 2)"),
        ("x", "1.5", "expects a number"),
    ],
)
def test_invalid_values_of_every_kind(name, value, fragment):
    model = Kinds()
    with pytest.raises(InputError) as info:
        model({name: value})
    message = str(info.value)
    assert f"input '{name}'" in message
    assert fragment in message, message
    assert model.seen is None


def test_distribution_outputs():
    out = Kinds()()
    assert set(out["pred"]) == {"mean", "covariance_matrix"}
    np.testing.assert_array_equal(out["pred"]["covariance_matrix"], np.eye(2))
    assert out["normal"]["scale"].dtype == np.float64


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([0.0, 1.0], "expects a mapping of MultivariateNormal parameters"),
        ({"mean": [0.0, 1.0]}, "lacks covariance_matrix"),
        ({"mean": [0.0, 1.0], "covariance_matrix": np.eye(3)}, "does not match mean"),
    ],
)
def test_invalid_distribution_outputs(value, fragment):
    model = Kinds({"pred": value, "normal": {"loc": 0.0, "scale": 1.0}})
    with pytest.raises(OutputError) as info:
        model()
    assert "output 'pred'" in str(info.value)
    assert fragment in str(info.value)


def test_sample_inputs_are_valid():
    for spec in (KINDS, INJECTOR):

        class Sampled(Model):
            pass

        Sampled.spec = spec
        prepared = Sampled().prepare(spec.sample_inputs())
        assert set(prepared) == set(spec.input_names)


# --- known bugs ---------------------------------------------------------------------------------


def test_infinite_int_input_is_an_input_error():
    with pytest.raises(InputError, match="n_particles"):
        Kinds()(n_particles=float("inf"))


def test_bool_array_input():
    class Masked(Model):
        spec = parse_spec(
            "input_variables:\n  mask: {type: array, dtype: bool, shape: [2]}\n"
            "output_variables:\n  y: {type: scalar}\n"
        )

        def evaluate(self, inputs):
            return {"y": float(inputs["mask"].sum())}

    assert Masked()(mask=[True, True]) == {"y": 2.0}


@pytest.mark.parametrize("given", [[False, 0, 0], [1.0, True, 2.0], [[1.0, 2.0], [3.0, True]]])
def test_true_or_false_among_the_numbers_of_an_array_is_refused_not_read_as_0_or_1(given):
    from modelcrate.spec import parse_spec

    spec = parse_spec(
        "input_variables:\n  v: {type: array}\noutput_variables:\n  y: {type: scalar}\n",
        source="v.yml",
    )
    with pytest.raises(ValueError, match="got true or false in it"):
        spec.inputs[0].check(given)
