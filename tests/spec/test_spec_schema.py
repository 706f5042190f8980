"""JSON Schema and pydantic models derived from a spec."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pydantic
import pytest

from modelcrate.spec import (
    input_schema,
    inputs_model,
    load_spec,
    output_schema,
    parse_spec,
    python_name,
    variable_schema,
)

FIXTURES = Path(__file__).parent / "fixtures"

SPEC_TEXT = """
model: {name: injector}
input_variables:
  QUAD:IN20:121:BACT:
    type: scalar
    default: -0.02
    range: [-0.05, 0.0]
    units: kG
    description: Quadrupole strength
  SOL1:solenoid_field_scale: {type: scalar, range: [0, inf], units: kG}
  free: {type: scalar, range: [-.inf, .inf], default: 0.0}
  n_particles: {type: int, range: [1, .inf]}
  solver: {type: enum, choices: [impact, astra, gpt], default: astra}
  space_charge: {type: bool, default: true}
  lattice: {type: str, default: cu_inj}
  profile: {type: array, shape: [3], default: [1, 2, 3]}
  screen: {type: image, shape: [2, 4], dtype: int64}
  anything: {type: array, value_type: string, default: [a, b]}
  distgen:total_charge:value: {type: scalar, range: [250.0, 250.0], units: pC}
output_variables:
  sigma_x: {type: scalar, units: mm, range: [0, inf]}
  OTR2:image: {type: image, shape: [64, 64]}
  mode: {type: enum, choices: [1, 2]}
  pred: {type: distribution}
"""


@pytest.fixture(scope="module")
def spec():
    return parse_spec(SPEC_TEXT)


def test_input_schema_has_a_property_per_input(spec):
    schema = input_schema(spec)
    assert schema["type"] == "object"
    assert schema["title"] == "Inputs"
    assert list(schema["properties"]) == list(spec.input_names)
    assert schema["additionalProperties"] is False
    assert input_schema(spec, title="InjectorInputs")["title"] == "InjectorInputs"


def test_required_inputs_are_those_without_default(spec):
    assert input_schema(spec)["required"] == [
        "SOL1:solenoid_field_scale",
        "n_particles",
        "screen",
    ]
    assert input_schema(spec)["required"] == list(spec.required_inputs)


def test_output_schema_requires_every_output(spec):
    schema = output_schema(spec)
    assert list(schema["properties"]) == list(spec.output_names)
    assert schema["required"] == list(spec.output_names)
    assert schema["title"] == "Outputs"


def test_bounds_only_where_finite(spec):
    props = input_schema(spec)["properties"]
    quad = props["QUAD:IN20:121:BACT"]
    assert quad == {
        "title": "QUAD:IN20:121:BACT",
        "description": "Quadrupole strength",
        "type": "number",
        "minimum": -0.05,
        "maximum": 0.0,
        "default": -0.02,
        "x-unit": "kG",
    }
    sol = props["SOL1:solenoid_field_scale"]
    assert sol["minimum"] == 0.0 and "maximum" not in sol
    assert "minimum" not in props["free"] and "maximum" not in props["free"]
    assert props["n_particles"]["type"] == "integer"
    assert props["n_particles"]["minimum"] == 1
    assert "maximum" not in props["n_particles"]
    assert output_schema(spec)["properties"]["sigma_x"]["minimum"] == 0.0


def test_choices_types_and_constants(spec):
    props = input_schema(spec)["properties"]
    assert props["solver"]["enum"] == ["impact", "astra", "gpt"]
    assert props["solver"]["default"] == "astra"
    assert props["space_charge"] == {"title": "space_charge", "type": "boolean", "default": True}
    assert props["lattice"]["type"] == "string"
    charge = props["distgen:total_charge:value"]
    assert charge["readOnly"] is True
    assert charge["default"] == 250.0
    assert charge["minimum"] == charge["maximum"] == 250.0
    assert output_schema(spec)["properties"]["mode"]["enum"] == [1, 2]


def test_array_shapes_as_item_counts(spec):
    props = input_schema(spec)["properties"]
    profile = props["profile"]
    assert profile["type"] == "array"
    assert profile["minItems"] == profile["maxItems"] == 3
    assert profile["items"] == {"type": "number"}
    assert profile["default"] == [1.0, 2.0, 3.0]
    assert profile["x-shape"] == [3]

    screen = props["screen"]
    assert screen["minItems"] == screen["maxItems"] == 2
    assert screen["items"]["minItems"] == screen["items"]["maxItems"] == 4
    assert screen["items"]["items"] == {"type": "integer"}
    assert screen["x-dtype"] == "int64"

    strings = props["anything"]
    assert "minItems" not in strings
    assert strings["x-dtype"] == "str"
    assert strings["default"] == ["a", "b"]

    image = output_schema(spec)["properties"]["OTR2:image"]
    assert image["minItems"] == 64 and image["items"]["maxItems"] == 64


def test_distribution_schema(spec):
    pred = output_schema(spec)["properties"]["pred"]
    assert pred["type"] == "object"
    assert pred["required"] == ["mean", "covariance_matrix"]


def test_schemas_are_strict_json(spec):
    for schema in (input_schema(spec), output_schema(spec)):
        text = json.dumps(schema, allow_nan=False)  # no infinities anywhere
        assert json.loads(text) == schema


@pytest.mark.parametrize("name", ["gen1_type.yml", "gen2_variable_type.yml", "gen4_lume_torch.yml"])
def test_schemas_of_the_fixtures_are_strict_json(name):
    spec = load_spec(FIXTURES / name)
    json.dumps(input_schema(spec), allow_nan=False)
    json.dumps(output_schema(spec), allow_nan=False)


def test_schemas_are_valid_json_schema_and_accept_valid_inputs(spec):
    jsonschema = pytest.importorskip("jsonschema")
    schema = input_schema(spec)
    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator_cls.check_schema(schema)
    validator_cls.check_schema(output_schema(spec))
    validator = validator_cls(schema)

    good = {
        "SOL1:solenoid_field_scale": 0.5,
        "n_particles": 1000,
        "screen": [[1, 2, 3, 4], [5, 6, 7, 8]],
    }
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({**good, "profile": [0.0, 1.0, 2.0]})) == []

    bad = [
        {k: v for k, v in good.items() if k != "n_particles"},  # missing a required input
        {**good, "unknown": 1},
        {**good, "n_particles": 0},  # below minimum
        {**good, "n_particles": 1.5},
        {**good, "SOL1:solenoid_field_scale": -1.0},
        {**good, "QUAD:IN20:121:BACT": 0.1},  # above maximum
        {**good, "solver": "elegant"},
        {**good, "space_charge": "yes"},
        {**good, "profile": [1.0, 2.0]},  # wrong length
        {**good, "screen": [[1, 2, 3, 4]]},
        {**good, "screen": [[1, 2, 3], [4, 5, 6]]},
        {**good, "screen": [[1.5, 2, 3, 4], [5, 6, 7, 8]]},
    ]
    for instance in bad:
        assert list(validator.iter_errors(instance)), instance


def test_variable_schema_of_one_variable(spec):
    schema = variable_schema(spec.input("QUAD:IN20:121:BACT"))
    assert schema["title"] == "QUAD:IN20:121:BACT"
    assert schema["x-unit"] == "kG"


# --- inputs_model -------------------------------------------------------------------------------


def test_inputs_model_schema_keys_are_the_real_names(spec):
    model = inputs_model(spec)
    schema = model.model_json_schema()
    assert list(schema["properties"]) == list(spec.input_names)
    assert sorted(schema["required"]) == sorted(spec.required_inputs)
    quad = schema["properties"]["QUAD:IN20:121:BACT"]
    assert quad["minimum"] == -0.05 and quad["maximum"] == 0.0
    assert quad["default"] == -0.02
    assert quad["x-unit"] == "kG"
    assert schema["properties"]["solver"]["enum"] == ["impact", "astra", "gpt"]
    assert schema["title"] == "Inputs"
    assert inputs_model(spec, name="InjectorInputs").model_json_schema()["title"] == (
        "InjectorInputs"
    )
    json.dumps(schema, allow_nan=False)


def test_inputs_model_dump_by_alias_gives_the_defaults(spec):
    model = inputs_model(spec)
    values = model.model_validate(
        {
            "SOL1:solenoid_field_scale": 0.5,
            "n_particles": 1000,
            "screen": [[1, 2, 3, 4], [5, 6, 7, 8]],
        }
    )
    dumped = values.model_dump(by_alias=True)
    assert list(dumped) == list(spec.input_names)
    assert dumped["QUAD:IN20:121:BACT"] == -0.02
    assert dumped["SOL1:solenoid_field_scale"] == 0.5
    assert dumped["solver"] == "astra"
    assert dumped["space_charge"] is True
    assert dumped["profile"] == [1.0, 2.0, 3.0]
    assert dumped["anything"] == ["a", "b"]
    assert dumped["distgen:total_charge:value"] == 250.0
    json.dumps(dumped)


def test_inputs_model_accepts_python_names_too(spec):
    model = inputs_model(spec)
    values = model(
        QUAD_IN20_121_BACT=-0.01,
        SOL1_solenoid_field_scale=0.1,
        n_particles=5,
        screen=[[0] * 4] * 2,
    )
    assert values.model_dump(by_alias=True)["QUAD:IN20:121:BACT"] == -0.01


def test_inputs_model_rejects_unknown_missing_and_mistyped(spec):
    model = inputs_model(spec)
    good = {"SOL1:solenoid_field_scale": 0.5, "n_particles": 1000, "screen": [[0] * 4] * 2}
    model.model_validate(good)
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**good, "QUAD:IN20:999:BACT": 1.0})
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({k: v for k, v in good.items() if k != "n_particles"})
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**good, "solver": "elegant"})
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**good, "n_particles": "many"})


def test_inputs_model_leaves_ranges_to_the_model(spec):
    # range enforcement follows each variable's policy in the Model, not the form
    model = inputs_model(spec)
    values = model.model_validate(
        {"SOL1:solenoid_field_scale": -5.0, "n_particles": 0, "screen": [[0] * 4] * 2}
    )
    assert values.model_dump(by_alias=True)["n_particles"] == 0


@pytest.mark.parametrize("name", ["gen1_type.yml", "gen2_variable_type.yml", "gen4_lume_torch.yml"])
def test_inputs_model_of_the_fixtures(name):
    spec = load_spec(FIXTURES / name)
    model = inputs_model(spec)
    assert list(model.model_json_schema()["properties"]) == list(spec.input_names)
    dumped = model().model_dump(by_alias=True)  # every input of these files has a default
    for variable in spec.inputs:
        default = variable.check(variable.default)
        if hasattr(default, "tolist"):
            default = default.tolist()
        assert dumped[variable.name] == default


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("QUAD:IN20:121:BACT", "QUAD_IN20_121_BACT"),
        ("distgen:t_dist:length:value", "distgen_t_dist_length_value"),
        ("sigma-x", "sigma_x"),
        ("2nd_order", "v_2nd_order"),
        ("class", "v_class"),
        ("x", "x"),
    ],
)
def test_python_name(name, expected):
    assert python_name(name) == expected
    assert python_name(name).isidentifier()


def test_infinite_bounds_are_not_in_the_pydantic_schema():
    spec = parse_spec(
        "input_variables:\n  x: {type: scalar, range: ['-inf', inf], default: 0}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    prop = inputs_model(spec).model_json_schema()["properties"]["x"]
    assert "minimum" not in prop and "maximum" not in prop
    assert not any(isinstance(v, float) and math.isinf(v) for v in prop.values())


# --- known bugs ---------------------------------------------------------------------------------


def test_inputs_model_keeps_inputs_whose_python_names_collide():
    spec = parse_spec(
        "input_variables:\n"
        "  BPMS:IN20:221:X: {type: scalar, default: 1.0}\n"
        "  BPMS_IN20_221_X: {type: scalar, default: 2.0}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    dumped = inputs_model(spec)().model_dump(by_alias=True)
    assert dumped == {"BPMS:IN20:221:X": 1.0, "BPMS_IN20_221_X": 2.0}


def test_inputs_model_with_a_leading_underscore_name():
    spec = parse_spec(
        "input_variables:\n  _offset: {type: scalar, default: 1.0}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    assert inputs_model(spec)().model_dump(by_alias=True) == {"_offset": 1.0}


@pytest.mark.parametrize(
    "name",
    [
        "gen1_type.yml",
        "gen2_variable_type.yml",
        "gen3_variable_class.yml",
        "gen4_lume_torch.yml",
        "lume_array_string_default.yml",
    ],
)
def test_every_default_is_valid_under_its_own_schema(name):
    jsonschema = pytest.importorskip("jsonschema")
    spec = load_spec(FIXTURES / name)
    for prop in input_schema(spec)["properties"].values():
        if "default" in prop:
            jsonschema.Draft202012Validator.check_schema(prop)
            errors = list(jsonschema.Draft202012Validator(prop).iter_errors(prop["default"]))
            assert errors == [], (prop["title"], errors)


def test_an_array_of_any_shape_takes_one_element_too():
    spec = parse_spec(
        "input_variables:\n  names: {type: array, value_type: string}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    schema = input_schema(spec)["properties"]["names"]
    assert schema == {
        "title": "names",
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "array"}]}},
        ],
        "x-dtype": "str",
    }
