"""JSON Schema and pydantic models derived from a `Spec` (Prefect parameter forms, OpenAPI, CLI help)."""

from __future__ import annotations

import keyword
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ._spec import Spec
from ._variables import ArrayVariable, DistributionVariable, EnumVariable, Variable
from ._write import plain_value

_JSON_TYPES = {"scalar": "number", "int": "integer", "bool": "boolean", "str": "string"}


def variable_schema(variable: Variable) -> dict[str, Any]:
    """The JSON Schema of one variable's value, with its title, description, unit and bounds."""
    schema: dict[str, Any] = {"title": variable.name}
    if variable.description:
        schema["description"] = variable.description
    if isinstance(variable, EnumVariable):
        schema["enum"] = list(variable.choices)
    elif isinstance(variable, DistributionVariable):
        schema["type"] = "object"
        schema["properties"] = {p: {"type": "array"} for p in variable.parameters}
        schema["required"] = list(variable.parameters)
    elif isinstance(variable, ArrayVariable):
        schema.update(_array_schema(variable))
    else:
        schema["type"] = _JSON_TYPES[variable.kind]
        value_range = getattr(variable, "value_range", None)
        if value_range is not None:
            lo, hi = value_range
            if math.isfinite(lo):
                schema["minimum"] = lo
            if math.isfinite(hi):
                schema["maximum"] = hi
    if variable.has_default:
        schema["default"] = plain_value(variable.check(variable.default))
    if variable.unit:
        schema["x-unit"] = variable.unit
    if variable.read_only:
        schema["readOnly"] = True
    return schema


def _array_schema(variable: ArrayVariable) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": {"str": "string", "bool": "boolean"}.get(
            variable.dtype, "integer" if variable.dtype.startswith(("int", "uint")) else "number"
        )
    }
    if variable.shape is None:  # any shape, none included: one element is an array too
        schema: dict[str, Any] = {
            "anyOf": [element, {"type": "array", "items": {"anyOf": [element, {"type": "array"}]}}]
        }
    else:
        schema = element
        for length in reversed(variable.shape):
            schema = {"type": "array", "items": schema}
            if length is not None:
                schema["minItems"] = schema["maxItems"] = length
    schema["x-dtype"] = variable.dtype
    if variable.shape is not None:
        schema["x-shape"] = list(variable.shape)
    return schema


def _object_schema(variables: tuple[Variable, ...], title: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "properties": {v.name: variable_schema(v) for v in variables},
        "required": [v.name for v in variables if not v.has_default],
        "additionalProperties": False,
    }


def input_schema(spec: Spec, title: str = "Inputs") -> dict[str, Any]:
    """JSON Schema of the inputs: one property per input; inputs without a default are required."""
    return _object_schema(spec.inputs, title)


def output_schema(spec: Spec, title: str = "Outputs") -> dict[str, Any]:
    """JSON Schema of the outputs a model returns."""
    schema = _object_schema(spec.outputs, title)
    schema["required"] = list(spec.output_names)
    return schema


def python_name(name: str) -> str:
    """A Python identifier for a variable name (`QUAD:IN20:121:BACT` -> `QUAD_IN20_121_BACT`)."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or ident[0] == "_" or keyword.iskeyword(ident):
        ident = f"v_{ident}"
    return ident


_PYTHON_TYPES: dict[str, Any] = {"scalar": float, "int": int, "bool": bool, "str": str}


def inputs_model(spec: Spec, name: str = "Inputs") -> type[BaseModel]:
    """A pydantic model of the inputs, for typed flow parameters and HTTP request bodies.

    Fields are keyed by variable name (an alias where the name is not an identifier), carry the
    variable's schema (bounds, unit, default) for display, and leave range enforcement to the
    model so that each variable's policy applies.
    """
    fields: dict[str, Any] = {}
    for variable in spec.inputs:
        if isinstance(variable, EnumVariable):
            annotation: Any = Literal[tuple(variable.choices)]
        else:
            annotation = _PYTHON_TYPES.get(variable.kind, Any)
        extra = {
            k: v for k, v in variable_schema(variable).items() if k not in ("title", "default")
        }
        if variable.has_default:
            default = plain_value(variable.check(variable.default))
            info = Field(
                default=default, alias=variable.name, title=variable.name, json_schema_extra=extra
            )
        else:
            info = Field(alias=variable.name, title=variable.name, json_schema_extra=extra)
        field = python_name(variable.name)
        while field in fields:  # `A:B` and `A_B` both read `A_B` as identifiers
            field += "_"
        fields[field] = (annotation, info)
    config = ConfigDict(populate_by_name=True, extra="forbid", title=name)
    return create_model(name, __config__=config, **fields)
