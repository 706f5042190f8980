"""The description of a parameter sweep: grid axes, listed values and Latin hypercube samples.

A sweep may hold up to 10^12 input sets, so it is never expanded: a `Sweep` is a small,
JSON-serialisable description (sent as it is to Dask workers or a Prefect flow) from which
`input_sets(start, stop)` computes any slice of the sets, the same in every process.
"""

from __future__ import annotations

import functools
import json
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from .._errors import InputError
from ..model import check_value
from ..spec import Spec, Variable, excerpt, parse_text, plain_value

MAX_SWEEP_SIZE = 10**12
"""Most input sets a sweep may hold."""

MAX_SAMPLE_NUMBERS = 10**8
"""Most numbers (samples times sampled inputs) of a Latin hypercube: 800 MB in each process."""

_NUMERIC = ("scalar", "int")
_FORMS = "write NAME=START:STOP:N, NAME=a,b,c or NAME=[JSON list], e.g. --grid x=0:1:11"
_TIMES = " \u00d7 "  # the multiplication sign between the factors of a sweep's size
_WHOLE = re.compile(r"\+?[0-9]{1,30}")
_EXACT_INT = 2**53  # integers a float holds exactly


class Axis(BaseModel):
    """One grid axis: listed `values`, or `n` evenly spaced numbers from `start` to `stop` (both
    included, as numpy.linspace computes them), kept as three numbers so a long axis stays small.
    An `integer` linspace axis steps by a whole number and gives ints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    values: list[Any] | None = None
    start: int | float | None = None
    stop: int | float | None = None
    n: int = 0
    integer: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Axis:
        if self.values is not None:
            if not self.values or self.start is not None or self.stop is not None or self.n:
                raise ValueError("an axis lists values (at least one) or has start, stop and n")
        elif self.start is None or self.stop is None or not 1 <= self.n <= MAX_SWEEP_SIZE:
            raise ValueError(f"a linspace axis needs start, stop and 1 <= n <= {MAX_SWEEP_SIZE}")
        elif self.integer and self.n > 1 and (int(self.stop) - int(self.start)) % (self.n - 1):
            raise ValueError("an integer linspace axis needs n - 1 to divide stop - start")
        return self

    @property
    def size(self) -> int:
        """Number of values on the axis."""
        return len(self.values) if self.values is not None else self.n

    def values_at(self, index: np.ndarray) -> list[Any]:
        """The values at the positions `index` (an int64 array), as plain Python values."""
        if self.values is not None:
            return [self.values[i] for i in index.tolist()]
        assert self.start is not None and self.stop is not None
        div = self.n - 1
        if self.integer:
            first, step = int(self.start), (int(self.stop) - int(self.start)) // max(div, 1)
            return [first + i * step for i in index.tolist()]
        start, stop = float(self.start), float(self.stop)
        if div == 0:
            return [start] * len(index)
        at = index.astype(float)
        delta = stop - start
        if not math.isfinite(delta):  # numpy overflows here; the ends weighted cannot (they
            t = at / div  # have opposite signs when their difference overflows)
            y = start * (1 - t) + stop * t
        elif delta / div == 0:  # numpy's order of operations for subnormal steps
            y = at / div * delta + start
        else:
            y = at * (delta / div) + start
        y[index == div] = stop
        values: list[Any] = y.tolist()
        return values

    def describe(self) -> str:
        """`name N values in [start, stop]`, or the listed values (the first few)."""
        count = f"{self.size:,} value{'s' if self.size != 1 else ''}"
        if self.values is None:
            if self.n == 1:
                return f"{self.name} {count} ({self.start!r})"
            return f"{self.name} {count} in [{self.start!r}, {self.stop!r}]"
        shown = ", ".join(excerpt(v, 30) for v in self.values[:4])
        return f"{self.name} {count} ({shown}{', ...' if self.size > 4 else ''})"


class Range(BaseModel):
    """A sampled input and its bounds; an `integer` input takes whole numbers in [low, high]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    low: float
    high: float
    integer: bool = False

    def scale(self, unit: np.ndarray) -> list[Any]:
        """Numbers in [0, 1) mapped onto the range, as plain floats (or ints)."""
        if self.integer:
            count = self.high - self.low + 1
            steps = np.minimum(np.floor(unit * count), count - 1).astype(np.int64)
            return [int(self.low) + s for s in steps.tolist()]
        values = self.low * (1 - unit) + self.high * unit  # no overflow for the widest ranges
        scaled: list[Any] = np.clip(values, self.low, self.high).tolist()
        return scaled

    def describe(self) -> str:
        """`name in [low, high]`."""
        if self.integer:
            return f"{self.name} in [{int(self.low)}, {int(self.high)}]"
        return f"{self.name} in [{self.low!r}, {self.high!r}]"


class Sweep(BaseModel):
    """Many input sets as a small description: the product of `axes` (the last varies fastest),
    each point combined with each of `samples` Latin hypercube samples of `sampled` (the sample
    varies fastest), plus the `fixed` inputs. `model_dump(mode="json")` is its JSON form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    axes: list[Axis] = []
    samples: int = 0
    seed: int | None = None
    sampled: list[Range] = []
    fixed: dict[str, Any] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Sweep:
        names = [a.name for a in self.axes] + [r.name for r in self.sampled] + list(self.fixed)
        if len(set(names)) != len(names):
            raise ValueError("each input may appear once among axes, sampled and fixed")
        if self.samples < 0 or (self.samples > 0) != bool(self.sampled):
            raise ValueError("samples > 0 needs sampled inputs, and sampled inputs need samples")
        if self.sampled and (self.seed is None or self.seed < 0):
            raise ValueError("sampled inputs need a seed >= 0")
        if _product([a.size for a in self.axes] + [self.samples or 1]) > MAX_SWEEP_SIZE:
            raise ValueError(f"a sweep holds at most {MAX_SWEEP_SIZE:,} input sets")
        return self

    @property
    def size(self) -> int:
        """Number of input sets."""
        return _product([a.size for a in self.axes] + [self.samples or 1])

    def input_sets(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Input sets `start` to `stop` (excluded, clamped to the sweep) in sweep order, each
        `{**fixed, axis values, sampled values}` of plain Python values."""
        size = self.size
        start = min(max(start, 0), size)
        stop = min(max(stop, start), size)
        k = np.arange(start, stop, dtype=np.int64)
        point, sample = np.divmod(k, self.samples or 1)
        columns: dict[str, list[Any]] = {}
        for axis in reversed(self.axes):
            point, index = np.divmod(point, axis.size)
            columns[axis.name] = axis.values_at(index)
        names = [a.name for a in self.axes]
        if self.sampled:
            assert self.seed is not None
            unit = _hypercube(self.seed, self.samples, len(self.sampled))[sample]
            for j, dimension in enumerate(self.sampled):
                columns[dimension.name] = dimension.scale(unit[:, j])
            names += [r.name for r in self.sampled]
        if not names:  # only fixed inputs: one set
            return [dict(self.fixed) for _ in range(stop - start)]
        rows = zip(*(columns[name] for name in names), strict=True)
        return [{**self.fixed, **dict(zip(names, row, strict=True))} for row in rows]

    def describe(self) -> str:
        """One line: each varied input, the number of sets, the seed and the fixed inputs."""
        varied = len(self.axes) + len(self.sampled)
        parts = [a.describe() for a in self.axes]
        if self.samples:
            ranges = ", ".join(r.describe() for r in self.sampled)
            parts.append(f"{self.samples:,} Latin hypercube samples of {ranges} (seed {self.seed})")
        line = f"{varied} input{'s' if varied != 1 else ''}: {_TIMES.join(parts) or '(none)'}"
        line += f" = {self.size:,} set{'s' if self.size != 1 else ''}"
        if self.fixed:
            shown = ", ".join(f"{k}={excerpt(v, 30)}" for k, v in self.fixed.items())
            line += f"; fixed: {shown}"
        return line


@functools.lru_cache(maxsize=4)
def _hypercube(seed: int, samples: int, dims: int) -> np.ndarray:
    """The unit Latin hypercube of a sweep: `samples` rows of `dims` numbers in [0, 1), each
    column holding one number in each stratum [i/N, (i+1)/N) in random order (a permutation of
    the strata plus a uniform jitter, from `numpy.random.default_rng(seed)`).

    Computed once per process and kept (a chunk of a sweep is a slice of it): it costs 8·N·d
    bytes, 80 MB for a million samples of ten inputs, plus 16·N bytes while it is drawn.
    """
    rng = np.random.default_rng(seed)
    cube = np.empty((samples, dims))
    for j in range(dims):
        cube[:, j] = (rng.permutation(samples) + rng.random(samples)) / samples
    np.minimum(cube, np.nextafter(1.0, 0.0), out=cube)  # a rounded (N - 1 + jitter) / N
    cube.setflags(write=False)
    return cube


def parse_axis(text: str, spec: Spec) -> Axis:
    """The axis `--grid TEXT` means: `NAME=START:STOP:N` (N numbers, both ends included),
    `NAME=a,b,c` (each parsed as `--set` parses a value) or `NAME=[...]` (a JSON list); every
    value is checked against the input's variable. Raise `InputError` saying what to write."""
    option = f"--grid {excerpt(text)}"
    name, sep, body = text.partition("=")
    if not sep or not name:
        raise InputError(f"{option}: {_FORMS}")
    variable = _input(spec, name, option)
    where = f"{option}: "
    if body.strip().startswith("["):
        try:
            listed = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{option}: not a JSON list ({excerpt(str(exc))}); {_FORMS}") from None
        if not isinstance(listed, list) or not listed:
            raise InputError(
                f"{option}: give a JSON list of at least one value, e.g. {name}=[1, 2]"
            )
        return Axis(name=name, values=[_checked(variable, v, where) for v in listed])
    parts = body.split(":")
    if variable.kind in _NUMERIC and ":" in body:
        if len(parts) != 3 or "," in body:
            raise InputError(f"{option}: {_FORMS}")
        return _linspace(variable, parts, option)
    if len(parts) == 3 and "," not in body and _WHOLE.fullmatch(parts[2].strip()):
        example = "[[1, 2], [3, 4]]" if variable.kind in ("array", "image") else "a,b"
        raise InputError(
            f"{option}: START:STOP:N needs a number input, and {name!r} is {variable.kind}; "
            f"list its values instead, e.g. {name}={example} (a JSON list for values with colons)"
        )
    values = []
    for part in body.split(","):
        try:
            value = parse_text(variable, part)
        except ValueError as exc:
            raise InputError(f"{where}input {name!r} {exc}") from None
        values.append(_checked(variable, value, where))
    return Axis(name=name, values=values)


def _linspace(variable: Variable, parts: list[str], option: str) -> Axis:
    name = variable.name
    count = parts[2].strip()
    if not _WHOLE.fullmatch(count) or int(count) < 1:
        raise InputError(
            f"{option}: N of input {name!r} must be a whole number of values >= 1, "
            f"got {excerpt(count)}"
        )
    n = int(count)
    if n > MAX_SWEEP_SIZE:
        raise InputError(f"{option}: N of input {name!r} is more than {MAX_SWEEP_SIZE:,} values")
    ends = []
    for label, part in zip(("START", "STOP"), parts[:2], strict=True):
        try:
            end = parse_text(variable, part)
        except ValueError as exc:
            raise InputError(f"{option}: {label} of input {name!r} {exc}") from None
        if not math.isfinite(end):
            raise InputError(f"{option}: {label} of input {name!r} must be a finite number")
        ends.append(end)
    for end in ends[: 2 if n > 1 else 1]:  # the ends bound every value between them
        _checked(variable, end, f"{option}: ")
    start, stop = ends
    integer = variable.kind == "int"
    if integer and n > 1 and (stop - start) % (n - 1):
        raise InputError(
            f"{option}: the {n} values of int input {name!r} from {start} to {stop} are not all "
            f"integers; choose N so that N - 1 divides {stop - start}, or list the values"
        )
    return Axis(name=name, start=start, stop=stop, n=n, integer=integer)


def build_sweep(
    spec: Spec,
    *,
    grids: Sequence[str] = (),
    samples: int = 0,
    seed: int | None = None,
    vary: Sequence[str] = (),
    fixed: Mapping[str, Any] | None = None,
) -> Sweep:
    """The sweep of `--grid` texts, `samples` Latin hypercube samples of the `vary` inputs (by
    default every number input with a finite range not otherwise given) and `fixed` values
    (`--set`; text is parsed as `--set` parses it), checked against `spec` before anything runs.
    Without `seed` one is drawn and recorded, so the sweep can be repeated exactly."""
    given: dict[str, str] = {}  # input name -> the option that gave it
    axes = []
    for text in grids:
        axis = parse_axis(text, spec)
        _claim(given, axis.name, f"--grid {excerpt(text)}")
        axes.append(axis)
    values: dict[str, Any] = {}
    for name, value in (fixed or {}).items():
        option = f"--set {excerpt(name)}"
        variable = _input(spec, name, option)
        _claim(given, name, option)
        if isinstance(value, str) and variable.kind not in ("str", "enum"):
            try:
                value = parse_text(variable, value)
            except ValueError as exc:
                raise InputError(f"{option}: input {name!r} {exc}") from None
        if variable.read_only and not _same(variable, value, variable.default):
            raise InputError(
                f"{option}: input {name!r} is read-only (fixed at {excerpt(variable.default)}); "
                "leave it out of the sweep"
            )
        values[name] = _checked(variable, value, f"{option}: ")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise InputError(f"--sample {excerpt(samples)}: give a whole number of samples (0: none)")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError(f"--seed {excerpt(seed)}: give a whole number >= 0")
    sampled = [_range(spec, name, given) for name in vary]
    if vary and not samples:
        raise InputError(
            f"--vary {excerpt(vary[0])}: give the number of samples too, e.g. --sample 100"
        )
    if samples and not vary:
        sampled = [
            _range(spec, v.name, given)
            for v in spec.inputs
            if v.name not in given and _samplable(v)
        ]
        if not sampled:
            raise InputError(
                f"--sample {samples}: no input left to sample (a number input with a finite "
                "range, not on a grid or set); name inputs with --vary or declare their ranges"
            )
    if not axes and not samples:
        raise InputError("the sweep is empty; give --grid NAME=START:STOP:N or --sample N")
    for variable in spec.inputs:
        if not variable.has_default and variable.name not in given:
            raise InputError(
                f"input {variable.name!r} is required (it has no default); give it with "
                f"--set {variable.name}=VALUE, --grid or --vary"
            )
    if samples * len(sampled) > MAX_SAMPLE_NUMBERS:
        raise InputError(
            f"--sample {samples:,}: {len(sampled)} inputs sampled {samples:,} times need "
            f"{8 * samples * len(sampled) / 1e9:.1f} GB in each worker; give at most "
            f"{MAX_SAMPLE_NUMBERS // len(sampled):,} samples"
        )
    if _product([a.size for a in axes] + [samples or 1]) > MAX_SWEEP_SIZE:
        raise InputError(
            f"the sweep has more than {MAX_SWEEP_SIZE:,} input sets "
            f"({_TIMES.join(f'{n:,}' for n in [*(a.size for a in axes), samples] if n)}); "
            "use fewer grid values or samples"
        )
    if samples and seed is None:
        seed = secrets.randbelow(2**32)
    return Sweep(axes=axes, samples=samples, seed=seed, sampled=sampled, fixed=values)


def _input(spec: Spec, name: str, option: str) -> Variable:
    try:
        variable = spec.input(name)
    except KeyError:
        known = ", ".join(spec.input_names) or "(none)"
        raise InputError(f"{option}: no input {name!r}; the inputs are: {known}") from None
    if variable.read_only and not option.startswith("--set"):  # --set may repeat the default
        raise InputError(
            f"{option}: input {name!r} is read-only (fixed at {excerpt(variable.default)}); "
            "leave it out of the sweep"
        )
    return variable


def _claim(given: dict[str, str], name: str, option: str) -> None:
    if name in given:
        raise InputError(
            f"{option}: input {name!r} is already given by {given[name]}; give each input once"
        )
    given[name] = option


def _samplable(variable: Variable) -> bool:
    """Whether a number input is sampled when `--vary` names none."""
    bounds = _sample_bounds(variable)
    return not isinstance(bounds, str) and bounds[0] < bounds[1] and not variable.read_only


def _sample_bounds(variable: Variable) -> tuple[float, float] | str:
    """The bounds to sample `variable` in (whole numbers for an int), or why there are none."""
    name = variable.name
    if variable.kind not in _NUMERIC:
        return (
            f"input {name!r} is {variable.kind}, and only numbers are sampled; "
            f"grid it instead, e.g. --grid {name}=a,b"
        )
    bounds = getattr(variable, "value_range", None)
    if bounds is None or not all(math.isfinite(b) for b in bounds):
        return (
            f"input {name!r} has no finite range to sample; declare its range (value_range in "
            f"the variables file) or grid it instead (--grid {name}=START:STOP:N)"
        )
    if variable.kind != "int":
        return bounds[0], bounds[1]
    low, high = math.ceil(bounds[0]), math.floor(bounds[1])
    if low > high or max(-low, high) > _EXACT_INT:
        return (
            f"int input {name!r} has a range {list(bounds)} with no integers or beyond ±2**53; "
            "declare a range of integers, or grid it instead"
        )
    return low, high


def _range(spec: Spec, name: str, given: dict[str, str]) -> Range:
    option = f"--vary {excerpt(name)}"
    variable = _input(spec, name, option)
    _claim(given, name, option)
    bounds = _sample_bounds(variable)
    if isinstance(bounds, str):
        raise InputError(f"{option}: {bounds}")
    return Range(name=name, low=bounds[0], high=bounds[1], integer=variable.kind == "int")


def _same(variable: Variable, value: Any, other: Any) -> bool:
    try:
        return bool(plain_value(variable.check(value)) == plain_value(variable.check(other)))
    except ValueError:
        return False


def _checked(variable: Variable, value: Any, where: str) -> Any:
    """`value` checked by the variable (range problems follow its policy), as a JSON value."""
    checked = plain_value(check_value(variable, value, "input", InputError, where))
    if not _finite(checked):
        raise InputError(
            f"{where}input {variable.name!r} is given NaN or an infinity, which a sweep cannot "
            "carry (it travels as JSON); give finite numbers"
        )
    return checked


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def _product(counts: list[int]) -> int:
    """The product of `counts`, stopped once past `MAX_SWEEP_SIZE` (so it stays a small int)."""
    total = 1
    for count in counts:
        total *= count
        if total > MAX_SWEEP_SIZE:
            return MAX_SWEEP_SIZE + 1
    return total
