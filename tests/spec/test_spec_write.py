"""Writing a spec in the current generation, and upgrading old files by a load/dump round trip."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import yaml

from modelcrate.spec import (
    ArrayVariable,
    ImageVariable,
    ScalarVariable,
    Spec,
    dump_spec,
    load_spec,
    parse_spec,
    spec_document,
    write_spec,
    write_text_atomic,
)

FIXTURES = Path(__file__).parent / "fixtures"
GENERATIONS = [
    "gen1_type.yml",
    "gen2_variable_type.yml",
    "gen3_variable_class.yml",
    "gen4_lume_torch.yml",
]
REAL_FILES = ["lume_units_number.yml", "lume_array_string_default.yml"]
"""Files of real LUME model repositories that once failed to load."""
OLD_KEYS = {"type", "variable_type", "default", "range", "lower", "upper", "units", "is_constant"}


def reparse(text: str) -> Spec:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return parse_spec(text, source="dumped.yml")


@pytest.mark.parametrize("name", GENERATIONS + REAL_FILES)
def test_upgrade_round_trip_keeps_every_variable(name):
    spec = load_spec(FIXTURES / name)
    again = reparse(dump_spec(spec))

    assert again.inputs == spec.inputs
    assert again.outputs == spec.outputs
    assert again.metadata == spec.metadata
    assert again.model_name == spec.model_name
    assert again.required_inputs == spec.required_inputs


@pytest.mark.parametrize("name", GENERATIONS + REAL_FILES)
def test_dumping_is_deterministic_and_idempotent(name):
    spec = load_spec(FIXTURES / name)
    text = dump_spec(spec)
    assert dump_spec(spec) == text
    assert dump_spec(reparse(text)) == text


@pytest.mark.parametrize("name", GENERATIONS)
def test_dump_uses_the_current_generation(name):
    spec = load_spec(FIXTURES / name)
    doc = yaml.safe_load(dump_spec(spec))

    assert set(doc["input_variables"]) == set(spec.input_names)
    assert list(doc["output_variables"]) == list(spec.output_names)
    for section in ("input_variables", "output_variables"):
        for var_name, fields in doc[section].items():
            assert "variable_class" in fields, var_name
            assert fields["variable_class"].endswith("Variable")
            assert "read_only" in fields
            assert not OLD_KEYS & set(fields), (var_name, OLD_KEYS & set(fields))
    for variable in spec.inputs:
        fields = doc["input_variables"][variable.name]
        if variable.has_default:
            assert "default_value" in fields
        if getattr(variable, "value_range", None) is not None:
            assert len(fields["value_range"]) == 2
        if variable.unit:
            assert fields["unit"] == variable.unit
        assert fields["read_only"] is variable.read_only


def test_dump_of_generation_1_in_detail():
    spec = load_spec(FIXTURES / "gen1_type.yml")
    doc = yaml.safe_load(dump_spec(spec))

    # the model block comes first, without the variables
    assert next(iter(doc)) == "model"
    assert doc["model"]["name"] == "lcls-injector-nn"
    assert list(doc)[-2:] == ["input_variables", "output_variables"]

    sol = doc["input_variables"]["SOL1:solenoid_field_scale"]
    assert sol["variable_class"] == "ScalarVariable"
    assert sol["default_value"] == 0.47
    assert sol["value_range"] == [0.0, 1.0]
    assert sol["unit"] == "kG"
    assert sol["read_only"] is False

    voltage = doc["input_variables"]["L0A_scale:voltage"]
    assert voltage["value_range"] == [0.0, math.inf]
    assert voltage["read_only"] is True

    charge = doc["input_variables"]["distgen:total_charge:value"]
    assert charge["default_value"] == 250.0
    assert charge["read_only"] is True

    lattice = doc["input_variables"]["lattice_elements"]
    assert lattice["variable_class"] == "NDVariable"
    assert lattice["dtype"] == "str"
    assert lattice["default_value"] == ["QE01", "QE02", "QE03", "QE04"]

    image = doc["output_variables"]["x:y_image"]
    assert image["variable_class"] == "ImageVariable"
    assert image["x_min_variable"] == "out_xmin"
    assert image["axis_units"] == ["mm", "mm"]
    assert "x_min" not in image

    otr = doc["output_variables"]["OTR2:image"]
    assert otr["shape"] == [50, 50]
    assert (otr["x_min"], otr["x_max"], otr["y_min"], otr["y_max"]) == (-1.0, 1.0, -1.5, 1.5)

    assert doc["output_variables"]["end_total_charge"] == {
        "variable_class": "ScalarVariable",
        "read_only": False,
        "default_validation_config": "warn",
    }


def test_dump_writes_infinities_as_yaml_infinities():
    spec = reparse(
        "input_variables:\n  x: {type: scalar, range: ['-inf', inf]}\n"
        "output_variables:\n  y: {type: scalar, range: [0, inf]}\n"
    )
    text = dump_spec(spec)
    assert "value_range: [-.inf, .inf]" in text
    assert "value_range: [0.0, .inf]" in text
    assert reparse(text).input("x").value_range == (-math.inf, math.inf)


def test_colon_names_are_written_as_readable_keys():
    spec = reparse(
        "input_variables:\n  QUAD:IN20:121:BACT: {type: scalar, default: 0.0}\n"
        "output_variables:\n  OTRS:IN20:571:XRMS: {type: scalar}\n"
    )
    text = dump_spec(spec)
    assert "QUAD:IN20:121:BACT:" in text
    assert reparse(text).input_names == ("QUAD:IN20:121:BACT",)


def test_extras_are_written_back():
    spec = reparse(
        "input_variables:\n"
        "  x:\n    variable_class: ScalarVariable\n    default_value: 1.0\n"
        "    value_range: [0.0, 2.0]\n    value_range_tolerance: 1.0e-6\n"
        "output_variables:\n  y: {type: scalar, parent_variable: x}\n"
    )
    doc = yaml.safe_load(dump_spec(spec))
    assert doc["input_variables"]["x"]["value_range_tolerance"] == 1e-6
    assert doc["output_variables"]["y"]["parent_variable"] == "x"


def test_every_kind_round_trips():
    spec = reparse(
        "description: every kind\n"
        "input_variables:\n"
        "  n_particles: {type: int, default: 10000, range: [1000, 100000], policy: error}\n"
        "  space_charge: {type: bool, default: false, description: include space charge}\n"
        "  lattice: {type: str, default: 'yes'}\n"
        "  solver: {type: enum, choices: [impact, astra, 3], default: astra}\n"
        "  weights: {type: array, shape: [null, 3], dtype: int64, default: [[1, 2, 3]]}\n"
        "  empty: {type: array, value_type: string, default: []}\n"
        "  screen: {type: image, shape: [2, 2], default: [[0, 1], [2, 3]], axis_units: px}\n"
        "output_variables:\n"
        "  mvn: {type: distribution}\n"
        "  normal: {type: distribution, distribution_type: Normal, unit: mm}\n"
        "  q: {type: scalar, policy: none}\n"
    )
    text = dump_spec(spec)
    again = reparse(text)
    assert again.inputs == spec.inputs
    assert again.outputs == spec.outputs
    assert again.metadata == {"description": "every kind"}
    assert again.input("lattice").default == "yes"  # quoted, not read back as a boolean
    assert again.input("solver").choices == ("impact", "astra", 3)
    assert again.output("q").policy == "none"
    assert again.input("n_particles").policy == "error"
    assert dump_spec(again) == text


def test_spec_document_is_plain_data():
    spec = load_spec(FIXTURES / "gen4_lume_torch.yml")
    doc = spec_document(spec)
    # plain Python only: a safe dumper accepts it
    assert yaml.safe_load(yaml.safe_dump(doc)) == doc
    assert doc["input_variables"]["bunch_profile"]["default_value"] == [
        [0.0, 0.5, 1.0],
        [1.0, 0.5, 0.0],
    ]
    assert doc["output_variables"]["OTRS:IN20:571:XRMS"]["distribution_type"] == (
        "MultivariateNormal"
    )


@pytest.mark.parametrize("name", GENERATIONS)
def test_write_spec_then_load_spec(tmp_path, name):
    spec = load_spec(FIXTURES / name)
    out = tmp_path / "upgraded" / "variables.yml"  # the directory does not exist yet
    written = write_spec(spec, out)

    assert Path(written) == out
    assert out.read_text(encoding="utf-8") == dump_spec(spec)
    again = load_spec(out)
    assert (again.inputs, again.outputs, again.metadata) == (
        spec.inputs,
        spec.outputs,
        spec.metadata,
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["variables.yml"]


def test_write_spec_replaces_an_existing_file_and_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "variables.yml"
    out.write_text("old content\n")
    spec = load_spec(FIXTURES / "gen2_variable_type.yml")
    write_spec(spec, str(out))
    write_spec(spec, out)
    assert out.read_text() == dump_spec(spec)
    assert [p.name for p in tmp_path.iterdir()] == ["variables.yml"]


def test_write_text_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    out = tmp_path / "variables.yml"
    out.write_text("original\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(out, "new\n")
    assert out.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["variables.yml"]


def test_spec_built_in_python_dumps():
    spec = Spec(
        inputs=(
            ScalarVariable(name="SOL1:solenoid_field_scale", default=0.5, value_range=(0.0, 1.0)),
            ArrayVariable(name="profile", shape=(3,), default=[1.0, 2.0, 3.0]),
        ),
        outputs=(ImageVariable(name="screen", shape=(8, 8), x_min=-1.0, x_max=1.0),),
    )
    again = reparse(dump_spec(spec))
    assert again.inputs == spec.inputs
    assert again.outputs == spec.outputs


def test_write_text_atomic_gives_the_file_a_new_files_mode(tmp_path):
    import os
    import stat

    out = write_text_atomic(tmp_path / "lock.txt", "pins\n")
    umask = os.umask(0o022)
    os.umask(umask)
    # the mode `open()` would give it under the process's umask, not mkstemp's private 0600
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_upgrade_variables_keeps_units_written_as_a_number(run_cli, tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text((FIXTURES / "lume_units_number.yml").read_text())
    code, _, err = run_cli("upgrade-variables", path)
    assert (code, err) == (0, "")
    document = yaml.safe_load(path.read_text())
    assert document["input_variables"]["L0A:gradient_ratio"]["unit"] == "1"  # text, not 1
    assert document["output_variables"]["end_mean_gamma"]["unit"] == "1"
    assert load_spec(path).units() == load_spec(FIXTURES / "lume_units_number.yml").units()


def test_upgrade_variables_keeps_one_string_as_a_string_arrays_default(run_cli, tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text((FIXTURES / "lume_array_string_default.yml").read_text())
    code, _, err = run_cli("upgrade-variables", path)
    assert (code, err) == (0, "")
    written = yaml.safe_load(path.read_text())["input_variables"]["profile_units"]
    assert written == {
        "variable_class": "NDVariable",
        "default_value": "um",
        "read_only": False,
        "default_validation_config": "warn",
        "dtype": "str",
    }
    assert load_spec(path).inputs == load_spec(FIXTURES / "lume_array_string_default.yml").inputs
    assert run_cli("upgrade-variables", path)[1].endswith(
        "already in the current form; nothing to do.\n"
    )
