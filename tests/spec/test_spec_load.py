"""Loading LUME variable files of every generation, their quirks, and the errors a user can cause."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

from modelcrate import SpecError, SpecWarning
from modelcrate.spec import (
    ArrayVariable,
    BoolVariable,
    DistributionVariable,
    EnumVariable,
    ImageVariable,
    IntVariable,
    ScalarVariable,
    StrVariable,
    load_spec,
    parse_spec,
)

FIXTURES = Path(__file__).parent / "fixtures"
GENERATIONS = [
    "gen1_type.yml",
    "gen2_variable_type.yml",
    "gen3_variable_class.yml",
    "gen4_lume_torch.yml",
]

ONE_OUTPUT = "output_variables:\n  sigma_x: {type: scalar, units: mm}\n"


def parse_quietly(text: str, source: str = "variables.yml"):
    """Parse YAML text, failing the test if it warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return parse_spec(text, source=source)


# --- the four generations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [*GENERATIONS, "lume_units_number.yml", "lume_array_string_default.yml"]
)
def test_every_generation_loads_without_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = load_spec(FIXTURES / name)
    assert spec.inputs and spec.outputs
    assert spec.source == str(FIXTURES / name)


def test_generation_1_type_default_range_units():
    spec = load_spec(FIXTURES / "gen1_type.yml")

    assert spec.input_names == (
        "SOL1:solenoid_field_scale",
        "CQ01:b1_gradient",
        "distgen:t_dist:length:value",
        "distgen:total_charge:value",
        "L0A_phase:dtheta0_deg",
        "L0A_scale:voltage",
        "lattice_elements",
    )
    sol = spec.input("SOL1:solenoid_field_scale")
    assert isinstance(sol, ScalarVariable)
    assert (sol.default, sol.value_range, sol.unit, sol.read_only) == (
        0.47,
        (0.0, 1.0),
        "kG",
        False,
    )

    # separate lower/upper keys
    assert spec.input("CQ01:b1_gradient").value_range == (-0.02, 0.02)
    # an integer default of a scalar becomes a float
    phase = spec.input("L0A_phase:dtheta0_deg")
    assert phase.default == 0.0 and isinstance(phase.default, float)
    assert phase.value_range == (-30.0, 30.0)
    # `range: [0, inf]`: "inf" arrives as a string
    voltage = spec.input("L0A_scale:voltage")
    assert voltage.value_range == (0.0, math.inf)
    assert voltage.read_only is True  # is_constant: true
    assert voltage.default == 58000000.0
    # a constant written only as equal bounds
    charge = spec.input("distgen:total_charge:value")
    assert charge.read_only is True
    assert charge.default == 250.0
    assert charge.unit == "pC"
    # type: array with value_type: string
    lattice = spec.input("lattice_elements")
    assert isinstance(lattice, ArrayVariable) and not isinstance(lattice, ImageVariable)
    assert lattice.dtype == "str"
    assert list(lattice.default) == ["QE01", "QE02", "QE03", "QE04"]


def test_generation_1_outputs_and_images():
    spec = load_spec(FIXTURES / "gen1_type.yml")

    bare = spec.output("end_total_charge")  # `{type: scalar}` alone
    assert isinstance(bare, ScalarVariable)
    assert (bare.default, bare.value_range, bare.unit, bare.read_only) == (None, None, "", False)

    image = spec.output("x:y_image")
    assert isinstance(image, ImageVariable)
    assert image.extras["x_min_variable"] == "out_xmin"
    assert image.extras["y_max_variable"] == "out_ymax"
    assert (image.x_label, image.y_label, image.axis_units) == ("x", "y", ("mm", "mm"))
    assert image.x_min is None

    otr = spec.output("OTR2:image")
    assert otr.shape == (50, 50)
    assert (otr.x_min, otr.x_max, otr.y_min, otr.y_max) == (-1.0, 1.0, -1.5, 1.5)
    assert otr.axis_units == ("mm", "mm")  # a single string applies to both axes

    assert spec.units()["end_norm_emit_x"] == "mm-mrad"
    assert "end_total_charge" not in spec.units()


def test_generation_1_keeps_the_model_block_beside_the_variables():
    spec = load_spec(FIXTURES / "gen1_type.yml")
    assert spec.model_name == "lcls-injector-nn"
    assert spec.metadata["model"]["model_class"] == "InjectorSurrogate"
    assert "input_variables" not in spec.metadata
    assert "output_variables" not in spec.metadata


def test_generation_2_variable_type_nested_under_model():
    spec = load_spec(FIXTURES / "gen2_variable_type.yml")

    assert spec.model_name == "cu-inj-surrogate"
    assert spec.metadata == {"model": {"name": "cu-inj-surrogate", "model_class": "CuInjSurrogate"}}
    assert spec.input_names[0] == "QUAD:IN20:121:BACT"
    quad = spec.input("QUAD:IN20:121:BACT")
    assert (quad.default, quad.value_range, quad.unit) == (-0.0237, (-0.0474, 0.0), "kG")
    # `[-.inf, .inf]` arrives as floats
    assert spec.input("QUAD:IN20:122:BACT").value_range == (-math.inf, math.inf)
    iris = spec.input("IRIS:LR20:130:CONFG_SEL")
    assert iris.read_only is True and iris.default == 1.2
    image = spec.output("OTRS:IN20:571:IMAGE")
    assert isinstance(image, ImageVariable)
    assert image.shape == (64, 64)
    assert image.x_max == 2.0


def test_generation_3_variable_class_at_top_level():
    spec = load_spec(FIXTURES / "gen3_variable_class.yml")

    assert spec.metadata == {}
    assert spec.model_name is None
    bdes = spec.input("QUAD:LI20:3011:BDES")
    assert isinstance(bdes, ScalarVariable)
    assert (bdes.default, bdes.value_range, bdes.read_only) == (-4.5, (-10.0, 0.0), False)
    assert bdes.extras == {"value_range_tolerance": 1e-8}
    assert spec.input("BEAM:charge").read_only is True
    assert spec.output("DTOTR:LI20:3075:sigma_x").value_range == (0.0, math.inf)
    assert spec.output("DTOTR:LI20:3075:sigma_y").extras == {
        "parent_variable": "DTOTR:LI20:3075:sigma_x"
    }
    assert spec.required_inputs == ()


def test_generation_4_lume_torch():
    spec = load_spec(FIXTURES / "gen4_lume_torch.yml")

    # `model:` is the weights file here, not a block; it is kept as metadata
    assert spec.metadata["model"] == "model.pt"
    assert spec.metadata["model_class"] == "TorchModel"
    assert spec.metadata["input_transformers"] == ["input_transformer.pt"]
    assert spec.model_name is None

    sol = spec.input("SOL1:solenoid_field_scale")
    assert isinstance(sol, ScalarVariable)
    assert (sol.default, sol.value_range, sol.unit, sol.read_only) == (
        0.4779,
        (0.3774, 0.4983),
        "kG",
        False,
    )
    charge = spec.input("distgen:total_charge:value")
    assert charge.read_only is True and charge.default == 250.0

    profile = spec.input("bunch_profile")  # TorchNDVariable
    assert type(profile) is ArrayVariable
    assert profile.shape == (2, 3)
    assert profile.dtype == "float32"

    xrms = spec.output("OTRS:IN20:571:XRMS")
    assert isinstance(xrms, DistributionVariable)
    assert xrms.distribution_type == "MultivariateNormal"
    assert xrms.unit == "mm"
    assert xrms.parameters == ("mean", "covariance_matrix")
    assert isinstance(spec.output("sigma_z"), ScalarVariable)


@pytest.mark.parametrize(
    ("spelling", "cls"),
    [
        ("type: scalar", ScalarVariable),
        ("type: float", ScalarVariable),
        ("type: int", IntVariable),
        ("type: integer", IntVariable),
        ("type: bool", BoolVariable),
        ("type: str", StrVariable),
        ("type: string", StrVariable),
        ("type: array", ArrayVariable),
        ("type: image", ImageVariable),
        ("variable_type: scalar", ScalarVariable),
        ("variable_type: image", ImageVariable),
        ("variable_class: ScalarVariable", ScalarVariable),
        ("variable_class: ScalarInputVariable", ScalarVariable),
        ("variable_class: ScalarOutputVariable", ScalarVariable),
        ("variable_class: ImageOutputVariable", ImageVariable),
        ("variable_class: NDVariable", ArrayVariable),
        ("variable_class: TorchScalarVariable", ScalarVariable),
        ("variable_class: TorchNDVariable", ArrayVariable),
        ("variable_class: DistributionVariable", DistributionVariable),
    ],
)
def test_every_spelling_of_a_kind(spelling, cls):
    spec = parse_quietly(f"input_variables:\n  x: {{{spelling}}}\n{ONE_OUTPUT}")
    assert type(spec.input("x")) is cls


# --- quirks -------------------------------------------------------------------------------------


def test_name_field_is_optional_and_may_equal_the_key():
    spec = parse_quietly(
        "input_variables:\n"
        "  QUAD:IN20:121:BACT: {name: 'QUAD:IN20:121:BACT', type: scalar, default: 0.0}\n"
        "  QUAD:IN20:122:BACT: {type: scalar, default: 0.0}\n" + ONE_OUTPUT
    )
    assert spec.input_names == ("QUAD:IN20:121:BACT", "QUAD:IN20:122:BACT")


def test_name_field_different_from_key_is_an_error(tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text(
        "input_variables:\n  QUAD:IN20:121:BACT: {name: QUAD_121, type: scalar}\n" + ONE_OUTPUT
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert "QUAD:IN20:121:BACT" in message and "QUAD_121" in message
    assert "make them equal" in message


def test_names_with_colons_survive_everywhere():
    spec = parse_quietly(
        "input_variables:\n  'GUN:IN20:1:GN1_ADES': {type: scalar, default: 6.0, units: MV}\n"
        "output_variables:\n  OTRS:IN20:571:XRMS: {type: scalar, units: um}\n"
    )
    assert spec.input("GUN:IN20:1:GN1_ADES").unit == "MV"
    assert spec.output_names == ("OTRS:IN20:571:XRMS",)
    assert spec.units() == {"GUN:IN20:1:GN1_ADES": "MV", "OTRS:IN20:571:XRMS": "um"}


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ("range: [0, inf]", (0.0, math.inf)),
        ("range: [-inf, inf]", (-math.inf, math.inf)),
        ("range: ['-Infinity', '+inf']", (-math.inf, math.inf)),
        ("range: [-.inf, .inf]", (-math.inf, math.inf)),
        ("value_range: [-.inf, 0]", (-math.inf, 0.0)),
        ("value_range: ['1e-3', '2.5']", (0.001, 2.5)),
        ("lower: 0", (0.0, math.inf)),
        ("upper: 5", (-math.inf, 5.0)),
        ("lower: -1\n    upper: 1", (-1.0, 1.0)),
        ("min: 2\n    max: 3", (2.0, 3.0)),
    ],
)
def test_range_spellings(bounds, expected):
    spec = parse_quietly(f"input_variables:\n  x:\n    type: scalar\n    {bounds}\n{ONE_OUTPUT}")
    assert spec.input("x").value_range == expected
    assert all(isinstance(b, float) for b in spec.input("x").value_range)


def test_default_outside_range_warns_but_loads(tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text(
        "input_variables:\n"
        "  QUAD:IN20:361:BACT: {type: scalar, default: -3.5, range: [-2.0, 0.0], units: kG}\n"
        + ONE_OUTPUT
    )
    with pytest.warns(SpecWarning) as record:
        spec = load_spec(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message
    assert "QUAD:IN20:361:BACT" in message
    assert "-3.5" in message and "[-2, 0]" in message
    assert spec.input("QUAD:IN20:361:BACT").default == -3.5


def test_default_inside_range_does_not_warn():
    spec = parse_quietly(
        "input_variables:\n  x: {type: scalar, default: 0.0, range: [0.0, 1.0]}\n" + ONE_OUTPUT
    )
    assert spec.input("x").default == 0.0


def test_constant_as_equal_bounds_is_read_only_with_that_default():
    spec = parse_quietly(
        "input_variables:\n  distgen:total_charge:value: {type: scalar, range: [250.0, 250.0]}\n"
        + ONE_OUTPUT
    )
    charge = spec.input("distgen:total_charge:value")
    assert charge.read_only is True
    assert charge.default == 250.0
    assert spec.required_inputs == ()
    assert spec.defaults() == {"distgen:total_charge:value": 250.0}


def test_equal_bounds_keep_an_explicit_default_and_is_constant_false():
    spec = parse_quietly(
        "input_variables:\n"
        "  a: {type: scalar, value_range: [1.0, 1.0], default: 1.0}\n"
        "  b: {type: scalar, value_range: [2.0, 2.0], is_constant: false}\n" + ONE_OUTPUT
    )
    assert spec.input("a").read_only is True
    assert spec.input("b").read_only is False  # said explicitly: not a constant
    assert spec.input("b").default == 2.0


def test_inputs_without_default_are_required():
    spec = parse_quietly(
        "input_variables:\n"
        "  with_default: {type: scalar, default: 1}\n"
        "  without: {type: scalar}\n"
        "  also_without: {type: int, range: [0, 10]}\n" + ONE_OUTPUT
    )
    assert spec.required_inputs == ("without", "also_without")


def test_image_extent_may_name_an_input_or_an_output():
    spec = parse_quietly(
        "input_variables:\n  screen_half_width: {type: scalar, default: 2.0}\n"
        "output_variables:\n"
        "  image_xmax: {type: scalar}\n"
        "  image: {type: image, x_min_variable: screen_half_width, x_max_variable: image_xmax}\n"
    )
    assert spec.output("image").extras == {
        "x_min_variable": "screen_half_width",
        "x_max_variable": "image_xmax",
    }


def test_image_extent_naming_an_undeclared_variable_is_an_error(tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text(
        "input_variables:\n  x: {type: scalar, default: 0}\n"
        "output_variables:\n"
        "  out_xmin: {type: scalar}\n"
        "  OTR2:image: {type: image, x_min_variable: out_xmin, y_min_variable: out_ymin}\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert "OTR2:image" in message and "y_min_variable" in message and "out_ymin" in message
    assert "declare it or correct the name" in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "input_variables:\n  x: {type: scalar, default: 1}\n" + ONE_OUTPUT, id="top level"
        ),
        pytest.param(
            "model: {name: quad-scan, description: a scan}\n"
            "input_variables:\n  x: {type: scalar, default: 1}\n" + ONE_OUTPUT,
            id="beside model",
        ),
        pytest.param(
            "model:\n  name: quad-scan\n  description: a scan\n"
            "  input_variables:\n    x: {type: scalar, default: 1}\n"
            "  output_variables:\n    sigma_x: {type: scalar, units: mm}\n",
            id="nested under model",
        ),
    ],
)
def test_variables_may_sit_in_three_places(text):
    spec = parse_quietly(text)
    assert spec.input_names == ("x",)
    assert spec.output_names == ("sigma_x",)
    assert spec.output("sigma_x").unit == "mm"
    if "model" in text:
        assert spec.model_name == "quad-scan"
        assert spec.metadata["model"] == {"name": "quad-scan", "description": "a scan"}


def test_top_level_name_is_the_model_name():
    spec = parse_quietly("name: emittance-model\ninput_variables: {}\n" + ONE_OUTPUT)
    assert spec.model_name == "emittance-model"
    assert spec.inputs == ()


def test_variables_both_at_top_level_and_under_model_is_an_error():
    with pytest.raises(SpecError, match="both at the top level and under model"):
        parse_spec(
            "input_variables:\n  a: {type: scalar}\n" + ONE_OUTPUT + "model:\n"
            "  input_variables:\n    b: {type: scalar}\n",
            source="variables.yml",
        )


def test_list_form_sections_take_the_name_field():
    spec = parse_quietly(
        "input_variables:\n"
        "  - name: QUAD:IN20:121:BACT\n    type: scalar\n    default: 0.0\n    range: [-1, 1]\n"
        "  - {name: n_particles, type: int, default: 1000}\n"
        "output_variables:\n"
        "  - {name: 'OTRS:IN20:571:XRMS', variable_class: ScalarVariable, unit: um}\n"
    )
    assert spec.input_names == ("QUAD:IN20:121:BACT", "n_particles")
    assert isinstance(spec.input("n_particles"), IntVariable)
    assert spec.output("OTRS:IN20:571:XRMS").unit == "um"


def test_list_entry_without_a_name_is_an_error():
    with pytest.raises(SpecError) as info:
        parse_spec(
            "input_variables:\n  - {name: a, type: scalar}\n  - {type: scalar}\n" + ONE_OUTPUT,
            source="variables.yml",
        )
    message = str(info.value)
    assert "variables.yml" in message and "input_variables[1]" in message
    assert "name" in message


def test_unknown_keys_are_kept_in_extras():
    spec = parse_quietly(
        "input_variables:\n"
        "  x:\n    variable_class: ScalarVariable\n    default_value: 1.0\n"
        "    value_range: [0.0, 2.0]\n    value_range_tolerance: 1.0e-6\n"
        "    epics_pv: {read: 'X:RBV', write: 'X:SET'}\n"
        "output_variables:\n  y: {type: scalar, parent_variable: x}\n"
    )
    assert spec.input("x").extras == {
        "value_range_tolerance": 1e-6,
        "epics_pv": {"read": "X:RBV", "write": "X:SET"},
    }
    assert spec.output("y").extras == {"parent_variable": "x"}


def test_descriptions_units_and_policies():
    spec = parse_quietly(
        "input_variables:\n"
        "  a: {type: scalar, description: Solenoid strength, units: kG, default: 0.1}\n"
        "  b: {type: scalar, doc: Quad strength, unit: kG, default: 0.1, policy: error}\n"
        "  c: {type: scalar, default: 0.1, default_validation_config: none}\n"
        "  d: {type: scalar, default: 0.1, validation: WARN}\n" + ONE_OUTPUT
    )
    assert spec.input("a").description == "Solenoid strength"
    assert spec.input("b").description == "Quad strength"
    assert spec.input("a").unit == spec.input("b").unit == "kG"
    assert [spec.input(n).policy for n in "abcd"] == ["warn", "error", "none", "warn"]


def test_other_kinds_load():
    spec = parse_quietly(
        "input_variables:\n"
        "  n_particles: {type: int, default: 10000, range: [1000, 100000]}\n"
        "  space_charge: {type: bool, default: true}\n"
        "  lattice: {type: str, default: 'cu_inj'}\n"
        "  solver: {type: enum, choices: [impact, astra, gpt], default: astra}\n"
        "  weights: {type: array, shape: [null, 3], dtype: float32}\n"
        "output_variables:\n"
        "  pred: {type: distribution, distribution_type: Normal}\n"
    )
    assert spec.input("n_particles").default == 10000
    assert spec.input("space_charge").default is True
    assert spec.input("lattice").default == "cu_inj"
    solver = spec.input("solver")
    assert isinstance(solver, EnumVariable)
    assert solver.choices == ("impact", "astra", "gpt")
    assert spec.input("weights").shape == (None, 3)
    assert spec.input("weights").dtype == "float32"
    assert spec.output("pred").parameters == ("loc", "scale")


def test_parse_spec_accepts_a_mapping():
    spec = parse_spec(
        {
            "input_variables": {"x": {"type": "scalar", "default": 1}},
            "output_variables": {"y": {"type": "scalar"}},
        }
    )
    assert spec.input("x").default == 1.0
    assert spec.source == "<variables>"


def test_spec_is_frozen():
    spec = parse_quietly("input_variables:\n  x: {type: scalar, default: 1}\n" + ONE_OUTPUT)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError for a frozen model
        spec.inputs = ()
    with pytest.raises(Exception):  # noqa: B017
        spec.input("x").default = 2.0


def test_spec_lookups():
    spec = parse_quietly("input_variables:\n  x: {type: scalar, default: 1}\n" + ONE_OUTPUT)
    with pytest.raises(KeyError, match="no input variable named 'nope'"):
        spec.input("nope")
    with pytest.raises(KeyError):
        spec.output("x")
    assert spec.sample_inputs() == {"x": 1.0}


# --- errors -------------------------------------------------------------------------------------

ERRORS = [
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar\n" + ONE_OUTPUT,
        ["line 3", "invalid YAML"],
        id="yaml syntax",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: tensorish}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "unknown type 'tensorish'", "use variable_class"],
        id="unknown type",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {variable_class: WeirdVariable}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "unknown type 'WeirdVariable'", "use variable_class"],
        id="unknown variable_class",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {default: 0.1, units: kG}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "has no type", "use variable_class"],
        id="missing type",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, range: [0, 1, 2]}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "[0, 1, 2]", "must be two numbers [lower, upper]"],
        id="range of three numbers",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, range: 5}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "must be two numbers [lower, upper]"],
        id="range not a list",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, range: [low, 1]}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "'low' is not a number", "write e.g. [0, 10]"],
        id="range not numbers",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, range: [true, 1]}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "True is not a number"],
        id="range of booleans",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, lower: 5, upper: 1}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "lower bound 5 is above upper bound 1", "swap them"],
        id="lower above upper",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, range: [.nan, 1]}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "NaN", "give a number or inf"],
        id="NaN bound",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar}\n"
        "  QUAD:IN20:121:BACT: {type: scalar}\n" + ONE_OUTPUT,
        ["line 3", "duplicate key 'QUAD:IN20:121:BACT'", "remove or rename one of them"],
        id="duplicate yaml key",
    ),
    pytest.param(
        "input_variables:\n  - {name: 'QUAD:IN20:121:BACT', type: scalar}\n"
        "  - {name: 'QUAD:IN20:121:BACT', type: scalar, default: 1}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "declared twice", "rename or remove one of them"],
        id="duplicate list name",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, default: 0}\n",
        ["no output_variables", "add at least one output"],
        id="no outputs",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, default: 0}\noutput_variables: {}\n",
        ["no output_variables", "add at least one output"],
        id="empty outputs",
    ),
    pytest.param(
        "description: nothing here\n",
        ["declares no variables", "add input_variables and output_variables"],
        id="no variables",
    ),
    pytest.param(
        "- QUAD:IN20:121:BACT\n- OTRS:IN20:571:XRMS\n",
        ["expected a mapping with input_variables and output_variables"],
        id="not a mapping",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, default: strong}\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "default value 'strong' is invalid", "expects a number"],
        id="string default of a scalar",
    ),
    pytest.param(
        "input_variables:\n  n_particles: {type: int, default: 2.5}\n" + ONE_OUTPUT,
        ["n_particles", "default value 2.5 is invalid", "expects an integer"],
        id="fractional default of an int",
    ),
    pytest.param(
        "input_variables:\n  solver: {type: enum, choices: [impact, astra], default: gpt}\n"
        + ONE_OUTPUT,
        ["solver", "default value 'gpt' is invalid", "expects one of 'impact', 'astra'"],
        id="default not among the choices",
    ),
    pytest.param(
        "input_variables:\n  profile: {type: array, shape: [3], default: [1, 2]}\n" + ONE_OUTPUT,
        ["profile", "default value [1, 2] is invalid", "expects shape (3,)"],
        id="default of the wrong shape",
    ),
    pytest.param(
        "input_variables:\n  solver: {type: enum}\n" + ONE_OUTPUT,
        ["solver", "needs `choices: [a, b, ...]`"],
        id="enum without choices",
    ),
    pytest.param(
        "input_variables:\n  space_charge: {type: bool, range: [0, 1]}\n" + ONE_OUTPUT,
        ["space_charge", "has no range", "remove value_range"],
        id="range on a bool",
    ),
    pytest.param(
        "input_variables:\n  q: {type: scalar, policy: strict}\n" + ONE_OUTPUT,
        ["'q'", "policy 'strict'", "none, warn or error"],
        id="bad policy",
    ),
    pytest.param(
        "input_variables:\n  screen: {type: image, shape: [64, -3]}\n" + ONE_OUTPUT,
        ["screen", "shape [64, -3]", "non-negative integers"],
        id="bad shape",
    ),
    pytest.param(
        "input_variables:\n  QUAD:IN20:121:BACT: 0.5\n" + ONE_OUTPUT,
        ["QUAD:IN20:121:BACT", "expected a mapping of fields", "use variable_class"],
        id="variable not a mapping",
    ),
    pytest.param(
        "input_variables: 3\n" + ONE_OUTPUT,
        ["input_variables must be a mapping of name to variable"],
        id="section not a mapping",
    ),
    pytest.param(
        "input_variables:\n  x: {type: scalar, description: [not, text]}\n" + ONE_OUTPUT,
        ["'x'", "description"],
        id="field of the wrong type",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), ERRORS)
def test_errors_name_the_file_the_variable_and_the_fix(tmp_path, text, fragments):
    path = tmp_path / "model" / "variables.yml"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message


def test_yaml_syntax_error_gives_line_and_column():
    with pytest.raises(SpecError) as info:
        parse_spec("input_variables:\n  a: [1, 2\noutput_variables: {}\n", source="vars.yml")
    assert str(info.value).startswith("vars.yml: line ")
    assert "column" in str(info.value)


def test_duplicate_output_key_is_an_error_too():
    with pytest.raises(SpecError, match="duplicate key 'OTRS:IN20:571:XRMS'"):
        parse_spec(
            "input_variables:\n  x: {type: scalar}\noutput_variables:\n"
            "  OTRS:IN20:571:XRMS: {type: scalar}\n  OTRS:IN20:571:XRMS: {type: scalar}\n"
        )


def test_the_same_name_as_input_and_output_is_refused():
    with pytest.raises(SpecError) as info:
        parse_spec(
            "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, default: 0}\n"
            "output_variables:\n  QUAD:IN20:121:BACT: {type: scalar}\n",
            source="variables.yml",
        )
    assert str(info.value) == (
        "variables.yml: variable 'QUAD:IN20:121:BACT' is declared both as an input and as an "
        "output; rename one of them (a result names each variable once)"
    )


def test_missing_file(tmp_path):
    path = tmp_path / "variabels.yml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "no such file" in message and "give the path of your variables YAML file" in message


def test_directory_given(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    message = str(info.value)
    assert message.startswith(str(tmp_path))
    assert "is a directory" in message and "give the path of a variables YAML file" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "variables.yml"
    path.write_bytes(b"input_variables:\n  \xff\xfe: {type: scalar}\n")
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(path)


def test_load_spec_accepts_a_string_path():
    spec = load_spec(str(FIXTURES / "gen3_variable_class.yml"))
    assert spec.input_names[0] == "QUAD:LI20:3011:BDES"


# --- known bugs ---------------------------------------------------------------------------------


def test_bool_array_default_loads():
    spec = parse_spec(
        "input_variables:\n  mask: {type: array, value_type: bool, default: [true, false]}\n"
        + ONE_OUTPUT
    )
    assert spec.input("mask").dtype == "bool"


def test_lume_torch_dtype_spelling_loads():
    spec = parse_spec(
        "input_variables:\n"
        "  bunch_profile:\n    variable_class: TorchNDVariable\n    shape: [2]\n"
        "    dtype: torch.float32\n    default_value: [0.5, 1.0]\n" + ONE_OUTPUT
    )
    assert spec.input("bunch_profile").dtype == "float32"


@pytest.mark.parametrize(
    "default", ["", "    default: [1.0, 2.0]\n"], ids=["no default", "default"]
)
def test_unknown_array_dtype_is_a_spec_error(default):
    with pytest.raises(SpecError, match="dtype"):
        parse_spec(
            "input_variables:\n  profile:\n    type: array\n    dtype: float33\n"
            + default
            + ONE_OUTPUT
        )


def test_top_level_name_beside_a_model_block_without_name():
    spec = parse_spec(
        "name: injector-surrogate\nmodel: {model_class: InjectorSurrogate}\n"
        "input_variables:\n  x: {type: scalar}\n" + ONE_OUTPUT
    )
    assert spec.model_name == "injector-surrogate"


# --- misspelt keys: a warning naming the key it is near; other unknown keys are kept quietly ----


@pytest.mark.parametrize(
    ("entry", "key", "near"),
    [
        ("{type: scalar, default: 1.0, unitz: mm}", "unitz", "unit"),
        ("{type: scalar, defualt: 1.0}", "defualt", "default"),
        ("{type: scalar, value_rnage: [0, 1]}", "value_rnage", "value_range"),
        ("{variable_class: ScalarVariable, desciption: Solenoid}", "desciption", "description"),
        ("{type: scalar, is_constnat: true}", "is_constnat", "is_constant"),
        ("{type: array, shpae: [3]}", "shpae", "shape"),
    ],
)
def test_a_misspelt_key_warns_once_naming_the_key_it_is_near(entry, key, near):
    with pytest.warns(SpecWarning) as record:
        spec = parse_spec(
            f"input_variables:\n  SOL1:solenoid: {entry}\n" + ONE_OUTPUT, source="variables.yml"
        )
    assert [str(w.message) for w in record] == [
        f"variables.yml: input variable 'SOL1:solenoid': key {key!r} is not one modelcrate "
        f"reads (it is kept as it is); did you mean {near!r}?"
    ]
    assert key in spec.input("SOL1:solenoid").extras  # loaded as before: kept, not interpreted


def test_a_misspelt_section_warns_naming_the_section_it_is_near():
    with pytest.warns(SpecWarning) as record:
        spec = parse_spec(
            "input_variable:\n  x: {type: scalar}\n" + ONE_OUTPUT, source="variables.yml"
        )
    assert [str(w.message) for w in record] == [
        "variables.yml: key 'input_variable' is not one modelcrate reads (it is kept as it is); "
        "did you mean 'input_variables'?"
    ]
    assert spec.inputs == ()


def test_unknown_keys_that_are_no_misspelling_load_quietly():
    spec = parse_quietly(
        "input_variables:\n"
        "  x: {type: scalar, default: 1.0, precision: 3, parent_variable: beam, comment: tuned,"
        " pv_name: 'SOLN:IN20:121:BCTRL', value_range_tolerance: 1.0e-8}\n"
        "  profile: {type: array, dim_labels: [s], default: [1.0, 2.0]}\n" + ONE_OUTPUT
    )
    assert set(spec.input("x").extras) == {
        "precision",
        "parent_variable",
        "comment",
        "pv_name",
        "value_range_tolerance",
    }
    assert spec.input("profile").extras == {"dim_labels": ["s"]}


def test_a_misspelt_type_key_is_named_in_the_error():
    with pytest.raises(SpecError) as info:
        parse_spec("input_variables:\n  x: {tpye: scalar}\n" + ONE_OUTPUT, source="variables.yml")
    assert str(info.value) == (
        "variables.yml: input variable 'x': has no type (is 'tpye' a misspelling of 'type'?); "
        "use variable_class: ScalarVariable (or type: scalar, int, bool, str, enum, array, image, "
        "distribution)"
    )


# --- LUME files of real model repositories (issue: still refused) ------------------------------


def test_units_written_as_a_number_are_that_text():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = load_spec(FIXTURES / "lume_units_number.yml")
    assert spec.input("L0A:gradient_ratio").unit == "1"
    assert spec.output("end_mean_gamma").unit == "1"
    assert spec.units() == {
        "SOL1:solenoid_field_scale": "kG",
        "L0A:gradient_ratio": "1",
        "end_mean_gamma": "1",
        "end_sigma_x": "mm",
    }


@pytest.mark.parametrize(("written", "unit"), [("1", "1"), ("1.0", "1.0"), ("'1'", "1")])
def test_units_as_any_number_keep_the_digits_written(written, unit):
    spec = parse_quietly(
        f"input_variables:\n  x: {{type: scalar, units: {written}}}\n" + ONE_OUTPUT
    )
    assert spec.input("x").unit == unit


def test_units_that_are_not_text_or_a_number_are_refused():
    with pytest.raises(SpecError, match=r"variables.yml: input variable 'x': unit: "):
        parse_spec("input_variables:\n  x: {type: scalar, units: true}\n" + ONE_OUTPUT,
                   source="variables.yml")  # fmt: skip


def test_an_array_of_strings_with_one_string_as_default_is_that_string_alone():
    """LUME reads `default: um` of a string array as numpy.array("um"): no dimensions, one
    string; so does modelcrate, and nothing is reinterpreted, so nothing is warned."""
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = load_spec(FIXTURES / "lume_array_string_default.yml")
    units = spec.input("profile_units")
    assert isinstance(units, ArrayVariable)
    assert (units.dtype, units.shape, units.default) == ("str", None, "um")
    default = spec.defaults()["profile_units"]
    assert isinstance(default, np.ndarray)
    assert (default.shape, default.dtype.kind, default.item()) == ((), "U", "um")
    assert units.check(["um", "mm"]).tolist() == ["um", "mm"]  # arrays of strings still are


def test_one_string_for_an_array_of_strings_of_a_fixed_shape_is_refused():
    with pytest.raises(SpecError) as info:
        parse_spec(
            "input_variables:\n  names: {type: array, value_type: string, shape: [2], default: um}\n"
            + ONE_OUTPUT,
            source="variables.yml",
        )
    assert str(info.value) == (
        "variables.yml: input variable 'names': default value 'um' is invalid: "
        "expects shape (2,), got ()"
    )


def test_one_string_is_no_array_of_numbers():
    with pytest.raises(
        SpecError, match="default value 'um' is invalid: expects an array, got 'um'"
    ):
        parse_spec("input_variables:\n  x: {type: array, default: um}\n" + ONE_OUTPUT)
