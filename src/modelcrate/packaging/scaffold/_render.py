"""The answers the template is rendered with: the options, and what derives from them and from
the `Spec` (README tables, placeholder code, comments)."""

from __future__ import annotations

import ast
import json
from datetime import date
from typing import Any

import numpy as np

from ..._errors import ProjectError
from ...spec import ArrayVariable, DistributionVariable, Spec, Variable, plain_value
from .._escape import json_text, one_line, python_float, python_string
from .._options import ProjectOptions, serve_requirement, tools_requirement
from .._tables import kind_text, range_text, variable_table

ARTIFACT_ANSWERS = (
    "artifact_kind",
    "artifact_file",
    "artifact_data",
    "artifact_summary",
    "artifact_source",
    "artifact_requirements",
    "artifact_review",
)
"""The answers of a project made by `convert` (empty for `new`): what it runs and needs.
Recorded in the answers file; `update` renders every version of the template with them."""


def placeholder_source(variable: Variable) -> str:
    """Python source of a valid value for an output, used until the user writes the model."""
    sample = variable.sample()
    if isinstance(variable, DistributionVariable):
        if variable.distribution_type == "MultivariateNormal":
            return '{"mean": np.zeros(1), "covariance_matrix": np.eye(1)}'
        return "{" + ", ".join(f"{python_string(p)}: np.ones(1)" for p in variable.parameters) + "}"
    if isinstance(variable, ArrayVariable):
        shape = tuple(sample.shape)
        fill: Any = sample.flat[0].item() if sample.size else 0
        dtype = "str" if variable.dtype == "str" else python_string(variable.dtype)
        return f"np.full({shape!r}, {_literal(fill)}, dtype={dtype})"
    return _literal(sample)


def _literal(value: Any) -> str:
    """Python source for a plain value: strings in double quotes (as ruff formats them),
    infinities and NaN as `float("inf")`, anything else only if its repr reads back."""
    if isinstance(value, str):
        return python_string(value)
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return python_float(float(value))
    source = repr(value)
    try:
        if value is None or ast.literal_eval(source) == value:
            return source
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    raise ProjectError(f"a placeholder value {source[:80]} has no Python literal; give a default")


def input_comment(variable: Variable) -> str:
    """One comment line describing an input for the generated `evaluate` (printable, one line)."""
    parts = [kind_text(variable)]
    if variable.unit:
        parts.append(variable.unit)
    if range_text(variable):
        parts.append("range " + range_text(variable))
    return one_line(f"inputs[{python_string(variable.name)}]: " + ", ".join(parts))


def evaluate_body(spec: Spec) -> str:
    """The JSON body of the README's `POST /v1/evaluate` example: the first input a request may
    set (not read-only) and every required one, each with a valid value (its default, else one
    in its range), on one printable line."""
    settable = [v for v in spec.inputs if not v.read_only]
    chosen = [v for v in settable if v is settable[0] or not v.has_default]
    inputs = {}
    for variable in chosen:
        value = plain_value(variable.sample())
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):  # a value JSON cannot hold (not finite): left out
            continue
        inputs[variable.name] = value
    return json_text({"inputs": inputs})


def template_data(spec: Spec) -> dict[str, Any]:
    """The spec-derived answers the template renders (tables, placeholder outputs, comments)."""
    return {
        "inputs_table": variable_table(spec.inputs, inputs=True),
        "outputs_table": variable_table(spec.outputs, inputs=False),
        "evaluate_body": evaluate_body(spec),
        "input_comments": [input_comment(v) for v in spec.inputs],
        "placeholder_outputs": [(v.name, placeholder_source(v), v.unit) for v in spec.outputs],
        "uses_numpy": any(
            isinstance(v, (ArrayVariable, DistributionVariable)) for v in spec.outputs
        ),
    }


def template_answers(spec: Spec, options: ProjectOptions) -> dict[str, Any]:
    """Every answer the template is rendered with: the options and what derives from them and
    from the spec (as plain JSON values, the way the answers file records them)."""
    data = {
        **options.model_dump(),
        **template_data(spec),
        "flow_name": options.flow_name,
        "image": options.image,
        "requirement_is_direct": " @ " in options.modelcrate_requirement,
        "tools_requirement": tools_requirement(options.modelcrate_requirement),
        "serve_requirement": serve_requirement(options.modelcrate_requirement),
        "year": date.today().year,
    }
    return json.loads(json.dumps(data))
