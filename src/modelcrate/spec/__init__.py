"""The contract: variables, loading and writing variable files, and schemas derived from them."""

from ._files import MAX_FILE_BYTES
from ._inputs import as_input_sets, load_input_sets, parse_input_sets, parse_json
from ._load import TYPE_ALIASES, load_spec, parse_spec
from ._schema import input_schema, inputs_model, output_schema, python_name, variable_schema
from ._spec import Spec
from ._text import parse_text
from ._variables import (
    MAX_DIMENSIONS,
    ArrayVariable,
    BoolVariable,
    DistributionVariable,
    EnumVariable,
    ImageVariable,
    IntVariable,
    Policy,
    ScalarVariable,
    StrVariable,
    Variable,
    excerpt,
)
from ._write import (
    dump_spec,
    new_file_mode,
    plain_value,
    spec_document,
    upgraded_text,
    write_spec,
    write_text_atomic,
)
from ._yaml import YAMLInputError, load_yaml

__all__ = [
    "MAX_DIMENSIONS",
    "MAX_FILE_BYTES",
    "TYPE_ALIASES",
    "ArrayVariable",
    "BoolVariable",
    "DistributionVariable",
    "EnumVariable",
    "ImageVariable",
    "IntVariable",
    "Policy",
    "ScalarVariable",
    "Spec",
    "StrVariable",
    "Variable",
    "YAMLInputError",
    "as_input_sets",
    "dump_spec",
    "excerpt",
    "input_schema",
    "inputs_model",
    "load_input_sets",
    "load_spec",
    "load_yaml",
    "new_file_mode",
    "output_schema",
    "parse_input_sets",
    "parse_json",
    "parse_spec",
    "parse_text",
    "plain_value",
    "python_name",
    "spec_document",
    "upgraded_text",
    "variable_schema",
    "write_spec",
    "write_text_atomic",
]
