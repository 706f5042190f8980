"""Text derived from a `Spec` for the generated project: README tables and placeholder code."""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

from .._errors import ProjectError
from ..spec import ArrayVariable, DistributionVariable, EnumVariable, Spec, Variable
from ._escape import markdown_code_cell, markdown_text, one_line, python_float, python_string


def _kind_text(variable: Variable) -> str:
    if isinstance(variable, ArrayVariable):
        shape = (
            "x".join("n" if n is None else str(n) for n in variable.shape)
            if variable.shape
            else "any shape"
        )
        return f"{variable.kind} ({shape}, {variable.dtype})"
    if isinstance(variable, DistributionVariable):
        return f"distribution ({variable.distribution_type})"
    if isinstance(variable, EnumVariable):
        return "enum (" + ", ".join(str(c) for c in variable.choices) + ")"
    return variable.kind


def _range_text(variable: Variable) -> str:
    value_range = getattr(variable, "value_range", None)
    if value_range is None:
        return ""
    lo, hi = (("-∞" if b < 0 else "∞") if math.isinf(b) else f"{b:g}" for b in value_range)
    return f"[{lo}, {hi}]"


def _default_text(variable: Variable) -> str:
    if not variable.has_default:
        return "required"
    value = variable.default
    if isinstance(value, (list, np.ndarray)):
        return f"array of {np.asarray(value).size}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def variable_table(variables: tuple[Variable, ...], *, inputs: bool) -> str:
    """A Markdown table of variables: name, kind, unit, (default,) range and description."""
    header = ["Name", "Kind", "Unit"] + (["Default"] if inputs else []) + ["Range", "Description"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for v in variables:
        cells = [markdown_code_cell(v.name), markdown_text(_kind_text(v)), markdown_text(v.unit)]
        if inputs:
            cells.append(markdown_text(_default_text(v)) + (" (read-only)" if v.read_only else ""))
        cells += [_range_text(v), markdown_text(v.description)]  # the range is numbers only
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    parts = [_kind_text(variable)]
    if variable.unit:
        parts.append(variable.unit)
    if _range_text(variable):
        parts.append("range " + _range_text(variable))
    return one_line(f"inputs[{python_string(variable.name)}]: " + ", ".join(parts))


def template_data(spec: Spec) -> dict[str, Any]:
    """The spec-derived answers the template renders (tables, placeholder outputs, comments)."""
    return {
        "inputs_table": variable_table(spec.inputs, inputs=True),
        "outputs_table": variable_table(spec.outputs, inputs=False),
        "input_comments": [input_comment(v) for v in spec.inputs],
        "placeholder_outputs": [(v.name, placeholder_source(v), v.unit) for v in spec.outputs],
        "uses_numpy": any(
            isinstance(v, (ArrayVariable, DistributionVariable)) for v in spec.outputs
        ),
    }
