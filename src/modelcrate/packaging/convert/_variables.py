"""A variables file given with `--variables`, reconciled with what the artifact says; and the
input sets the generated tests replay."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._errors import ArtifactError
from ...spec import (
    ArrayVariable,
    BoolVariable,
    EnumVariable,
    IntVariable,
    ScalarVariable,
    Spec,
    StrVariable,
    Variable,
)
from ._inferred import Inferred, listed

SAMPLE_COUNT = 8
"""Input sets drawn for the generated tests (the first is every input's default)."""


def reconcile(inferred: Inferred, given: Spec, *, artifact: str) -> tuple[Inferred, Spec]:
    """The artifact with the variables of `given` (names, ranges, units, defaults) in place of
    those inferred; `ArtifactError` naming the mismatch when they disagree.

    A file that uses none of the names the artifact gives renames every variable, in order;
    one that uses some must declare all of them (in any order), and its other variables take
    the guessed names' places in order. Kinds and shapes must agree."""
    source = given.source or "the variables file"
    renames: list[dict[str, str]] = []
    chosen = []
    for role, found, declared in (
        ("input", inferred.input_variables, given.inputs),
        ("output", inferred.output_variables, given.outputs),
    ):
        if len(declared) != len(found):
            raise ArtifactError(
                f"{source}: declares {len(declared)} {role}s, but {artifact} has {len(found)} "
                f"({listed([v.name for v in found])}); declare one {role} for each"
            )
        by_name = {v.name: v for v in declared}
        named = {v.name for v in found if v.name not in inferred.guessed}
        if not named & set(by_name):  # none of the artifact's own names: all taken in order
            named = set()
        missing = [v.name for v in found if v.name in named and v.name not in by_name]
        if missing:
            raise ArtifactError(
                f"{source}: has no {role} {missing[0]!r}, which {artifact} names; its {role}s "
                f"are {listed([v.name for v in found])}: declare each under that name"
            )
        free = iter(v for v in declared if v.name not in named)
        renames.append({})
        for variable in found:
            mine = by_name[variable.name] if variable.name in named else next(free)
            _check_fits(variable, mine, role, source, artifact)
            if mine.name != variable.name:
                renames[-1][variable.name] = mine.name
        chosen.append(tuple(declared))  # in the file's order; the slots keep the artifact's
    spec = Spec(inputs=chosen[0], outputs=chosen[1], metadata=given.metadata, source=given.source)
    return inferred.renamed(*renames), spec


def _check_fits(found: Variable, mine: Variable, role: str, source: str, artifact: str) -> None:
    """`ArtifactError` if the declared variable cannot carry the artifact's values."""
    where = f"{source}: {role} {mine.name!r}"
    if isinstance(found, ArrayVariable):
        if not isinstance(mine, ArrayVariable):
            raise ArtifactError(
                f"{where} is {_a(mine.kind)}, but {artifact} takes an array of shape "
                f"{_shape(found.shape)} there; declare an array of that shape"
            )
        if not _shapes_fit(found.shape, mine.shape):
            raise ArtifactError(
                f"{where} has shape {_shape(mine.shape)}, but {artifact} has "
                f"{_shape(found.shape)} there; declare that shape"
            )
        return
    if isinstance(found, EnumVariable):
        choices = set(map(repr, found.choices))
        if not isinstance(mine, EnumVariable) or set(map(repr, mine.choices)) != choices:
            raise ArtifactError(
                f"{where} must be an enum of the classes of {artifact}, in any order: "
                f"choices: [{', '.join(json.dumps(c, ensure_ascii=False, default=str) for c in found.choices)}]"
            )
        return
    numeric = (ScalarVariable, IntVariable, BoolVariable)
    fits = (
        isinstance(mine, numeric)
        if isinstance(found, numeric)
        else isinstance(mine, (StrVariable, EnumVariable))
    )
    if not fits:
        raise ArtifactError(
            f"{where} is {_a(mine.kind)}, but {artifact} has {_a(found.kind)} there; declare "
            f"{_a(found.kind)}"
        )


def _shape(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "(any)"
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"


def _shapes_fit(found: tuple[int | None, ...] | None, mine: tuple[int | None, ...] | None) -> bool:
    if found is None or mine is None:
        return mine is not None or found is None
    return len(found) == len(mine) and all(
        a is None or b is None or a == b for a, b in zip(found, mine, strict=True)
    )


def draw_samples(spec: Spec, seed: int = 0) -> list[dict[str, Any]]:
    """Input sets for the generated tests: every input's default first, then values drawn
    inside each range (around the default, or zero, where the range is open)."""
    rng = np.random.default_rng(seed)
    sets = [spec.sample_inputs()]
    for _ in range(SAMPLE_COUNT - 1):
        sets.append({v.name: _draw(v, rng) for v in spec.inputs})
    return [{v.name: v.check(s[v.name]) for v in spec.inputs} for s in sets]


def _bounds(variable: Variable) -> tuple[float, float]:
    """Where to draw a number: the range, or one unit (or the default's size) either side of
    the default (or zero) where the range is open, inside whatever bound there is."""
    lo, hi = getattr(variable, "value_range", None) or (-math.inf, math.inf)
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    default = variable.default if isinstance(variable.default, (int, float)) else 0.0
    centre = min(max(float(default), lo), hi)
    spread = max(1.0, abs(centre))
    return max(lo, centre - spread), min(hi, centre + spread)


def _draw(variable: Variable, rng: np.random.Generator) -> Any:
    if isinstance(variable, ScalarVariable):
        return float(rng.uniform(*_bounds(variable)))
    if isinstance(variable, IntVariable):
        lo, hi = _bounds(variable)
        return int(rng.integers(math.ceil(lo), math.floor(hi) + 1))
    if isinstance(variable, BoolVariable):
        return bool(rng.random() < 0.5)
    if isinstance(variable, EnumVariable):
        return variable.choices[int(rng.integers(len(variable.choices)))]
    if isinstance(variable, ArrayVariable) and variable.numeric:
        template = np.asarray(variable.sample())
        lo, hi = _bounds(variable)
        values: np.ndarray
        if variable.dtype.startswith(("int", "uint")):
            values = rng.integers(math.ceil(lo), math.floor(hi) + 1, size=template.shape)
        else:
            values = rng.uniform(lo, hi, size=template.shape)
        return values.astype(variable.dtype)
    return variable.sample()


def open_ranges(variables: Sequence[Variable]) -> list[str]:
    """The numeric inputs whose range is open on either side."""
    found = []
    for v in variables:
        if isinstance(v, (ScalarVariable, IntVariable)) or (
            isinstance(v, ArrayVariable) and v.numeric
        ):
            lo, hi = getattr(v, "value_range", None) or (-math.inf, math.inf)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                found.append(v.name)
    return found


def _a(kind: str) -> str:
    """A kind of variable with its article: "a scalar", "an int", "an image"."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"
