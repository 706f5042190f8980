"""The README's tables of a spec's inputs and outputs: written by `new` and `update`, compared
with the README by `check`."""

from __future__ import annotations

import math

import numpy as np

from ..spec import ArrayVariable, DistributionVariable, EnumVariable, Variable
from ._escape import markdown_code_cell, markdown_text


def kind_text(variable: Variable) -> str:
    """A variable's kind in words: `array (2x3, float64)`, `enum (a, b)`, `scalar`."""
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


def range_text(variable: Variable) -> str:
    """A variable's range as `[lo, hi]` (infinities as ∞), or "" when it has none."""
    value_range = getattr(variable, "value_range", None)
    if value_range is None:
        return ""
    lo, hi = (("-∞" if b < 0 else "∞") if math.isinf(b) else f"{b:g}" for b in value_range)
    return f"[{lo}, {hi}]"


def default_text(variable: Variable) -> str:
    """An input's default as the table shows it (`required` when it has none)."""
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
        cells = [markdown_code_cell(v.name), markdown_text(kind_text(v)), markdown_text(v.unit)]
        if inputs:
            cells.append(markdown_text(default_text(v)) + (" (read-only)" if v.read_only else ""))
        cells += [range_text(v), markdown_text(v.description)]  # the range is numbers only
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
