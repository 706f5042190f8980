"""The variable kinds a model declares, as frozen objects that check values against themselves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Policy = Literal["none", "warn", "error"]
"""What a range violation does: nothing, a `ValueWarning`, or an error."""

Kind = Literal["scalar", "int", "bool", "str", "enum", "array", "image", "distribution"]


class Variable(BaseModel):
    """What every variable has: a name, documentation, a default and a validation policy.

    `check(value)` converts a value to the variable's plain Python form or raises `ValueError`
    with a message fit for the user; `range_problem(value)` says why a converted value is out of
    range, or returns None. The model layer applies `policy` to range problems; type and shape
    problems are always errors.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    kind: ClassVar[str]
    name: str
    description: str = ""
    unit: str = ""
    default: Any = None
    read_only: bool = False
    policy: Policy = "warn"
    extras: Mapping[str, Any] = Field(default_factory=dict)
    """Keys this version of modelcrate does not interpret, kept so that rewriting loses nothing."""

    @property
    def has_default(self) -> bool:
        """Whether the variable has a default value (an input without one is required)."""
        return self.default is not None

    def check(self, value: Any) -> Any:
        """Return `value` in this variable's form, or raise `ValueError` saying what is wrong."""
        raise NotImplementedError

    def range_problem(self, value: Any) -> str | None:
        """Describe how a checked value falls outside the variable's range, or return None."""
        return None

    def sample(self) -> Any:
        """A valid value: the default if there is one, else one inside the range."""
        return self.default


def _is_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number)
    return isinstance(value, (int, float, np.integer, np.floating))


def _format_range(value_range: tuple[float, float]) -> str:
    return f"[{value_range[0]:g}, {value_range[1]:g}]"


def _midpoint(value_range: tuple[float, float] | None, fallback: float = 0.0) -> float:
    """A finite value inside a (possibly half-open or infinite) range."""
    if value_range is None:
        return fallback
    lo, hi = value_range
    if math.isfinite(lo) and math.isfinite(hi):
        return lo / 2 + hi / 2  # (lo + hi) / 2 overflows to inf near the largest float
    if math.isfinite(lo):
        return lo + 1.0 if lo >= fallback else fallback
    if math.isfinite(hi):
        return hi - 1.0 if hi <= fallback else fallback
    return fallback


class _Ranged(Variable):
    value_range: tuple[float, float] | None = None

    def range_problem(self, value: Any) -> str | None:
        """NaN is outside every range; so is an infinity beyond a finite bound."""
        if self.value_range is None:
            return None
        arr = np.asarray(value, dtype=float)
        if arr.size == 0:
            return None
        where = f"outside the range {_format_range(self.value_range)}"
        lo, hi = self.value_range
        nan = np.isnan(arr)
        if arr.ndim == 0:
            if nan:
                return f"NaN (not a number), {where}"
            number = float(arr)
            return f"{number:g} {where}" if number < lo or number > hi else None
        problems = []
        numbers = arr[~nan]
        if numbers.size and (numbers.min() < lo or numbers.max() > hi):
            problems.append(f"values in [{numbers.min():g}, {numbers.max():g}]")
        count = int(nan.sum())
        if count:
            problems.append(f"{count} NaN value{'s' if count > 1 else ''}")
        return f"{' and '.join(problems)} {where}" if problems else None


class ScalarVariable(_Ranged):
    """A floating-point number."""

    kind: ClassVar[str] = "scalar"
    type: Literal["scalar"] = "scalar"

    def check(self, value: Any) -> float:
        if not _is_number(value):
            raise ValueError(f"expects a number, got {_describe(value)}")
        try:
            return float(value)
        except OverflowError:
            raise ValueError(
                f"expects a number, got one too large for a float ({_describe(value)})"
            ) from None

    def sample(self) -> float:
        return float(self.default) if self.has_default else _midpoint(self.value_range)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class IntVariable(_Ranged):
    """An integer."""

    kind: ClassVar[str] = "int"
    type: Literal["int"] = "int"

    def check(self, value: Any) -> int:
        if not _is_number(value):
            raise ValueError(f"expects an integer, got {_describe(value)}")
        if isinstance(value, (float, np.floating, np.ndarray)) and (
            not math.isfinite(value) or float(value) != int(value)
        ):
            raise ValueError(f"expects an integer, got {_describe(value)}")
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(
                f"expects an integer between -2**63 and 2**63 - 1, got {_describe(value)}"
            )
        return number

    def sample(self) -> int:
        if self.has_default:
            return int(self.default)
        if self.value_range is None:
            return 0
        lo, hi = self.value_range
        mid = math.floor(_midpoint(self.value_range))
        return int(
            min(max(mid, lo if math.isfinite(lo) else mid), hi if math.isfinite(hi) else mid)
        )


class BoolVariable(Variable):
    """True or false."""

    kind: ClassVar[str] = "bool"
    type: Literal["bool"] = "bool"

    def check(self, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"expects true or false, got {_describe(value)}")
        return bool(value)

    def sample(self) -> bool:
        return bool(self.default) if self.has_default else False


class StrVariable(Variable):
    """A piece of text."""

    kind: ClassVar[str] = "str"
    type: Literal["str"] = "str"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expects text, got {_describe(value)}")
        _check_text(value)
        return value

    def sample(self) -> str:
        return self.default if self.has_default else ""


class EnumVariable(Variable):
    """One of a fixed list of choices."""

    kind: ClassVar[str] = "enum"
    type: Literal["enum"] = "enum"
    choices: tuple[Any, ...]

    def check(self, value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        for choice in self.choices:
            if value == choice and type(value) is type(choice):
                return choice
        if isinstance(value, str):  # text from a command line or a form
            for choice in self.choices:
                if str(choice) == value:
                    return choice
        shown = ", ".join(repr(c) for c in self.choices)
        raise ValueError(f"expects one of {shown}, got {_describe(value)}")

    def sample(self) -> Any:
        return self.default if self.has_default else self.choices[0]


Shape = tuple[int | None, ...]

MAX_DIMENSIONS = 32
"""Most dimensions an array may have (numpy's functions handle no more)."""

MAX_ELEMENTS = 10**8
"""Most elements a declared shape may hold (a sample of it must fit in memory)."""

STORED_DTYPES = (
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint16",
    "uint8",
    "bool",
    "str",
)
"""The element types every target stores and reads back exactly."""


class ArrayVariable(_Ranged):
    """An n-dimensional array of numbers or strings, kept as a numpy array."""

    kind: ClassVar[str] = "array"
    type: Literal["array"] = "array"
    shape: Shape | None = None
    """Expected shape; `None` in a dimension means any length."""
    dtype: str = "float64"
    """A numpy dtype name (`float64`, `float32`, `int64`, `bool`, `str`)."""

    @property
    def numeric(self) -> bool:
        """Whether the elements are numbers (ranges and bounds apply only then)."""
        return self.dtype not in ("str", "bool")

    def check(self, value: Any) -> np.ndarray:
        """One number, or one string for an array of strings, is an array of no dimensions
        (shape `()`), as numpy and LUME read it."""
        if isinstance(value, (bytes, Mapping)) or (isinstance(value, str) and self.dtype != "str"):
            raise ValueError(f"expects an array, got {_describe(value)}")
        if self.dtype == "str" and isinstance(value, (list, tuple)):
            _check_text_array_size(value)
        try:
            arr = np.asarray(value)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"expects a rectangular array ({exc})") from None
        if arr.dtype == object:
            raise ValueError("expects a rectangular array of one element type")
        if arr.ndim > MAX_DIMENSIONS:
            raise ValueError(f"expects at most {MAX_DIMENSIONS} dimensions, got {arr.ndim}")
        if self.dtype == "str":
            if arr.size and arr.dtype.kind != "U":
                raise ValueError(f"expects an array of strings, got dtype {arr.dtype}")
            arr = arr.astype(str)
            for text in arr.ravel().tolist():
                _check_text(text)
        else:
            if arr.size and (
                arr.dtype.kind in "USO" or (arr.dtype.kind == "b") != (self.dtype == "bool")
            ):
                raise ValueError(f"expects an array of {self.dtype}, got dtype {arr.dtype}")
            if arr.dtype.kind in "iuf" and isinstance(value, (list, tuple)) and _holds_bool(value):
                raise ValueError(f"expects an array of {self.dtype}, got true or false in it")
            arr = self._convert(arr)
        self._check_shape(arr)
        return arr

    def _convert(self, arr: np.ndarray) -> np.ndarray:
        """`arr` as this variable's dtype, refusing values the dtype cannot hold exactly
        (fractions or NaN for integers, numbers beyond the integer or float range)."""
        target = np.dtype(self.dtype)
        if target.kind in "iu" and arr.dtype.kind == "f":
            integral = np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
            if not integral:
                raise ValueError(f"expects integers ({self.dtype}), got non-integral values")
        with np.errstate(all="ignore"):
            converted = arr.astype(target, copy=False)
        if target.kind in "iu" and arr.size and not np.array_equal(converted, arr):
            raise ValueError(f"expects integers that fit {self.dtype}, got values beyond its range")
        to_float = target.kind == "f" and arr.size and arr.dtype.kind in "iuf"
        if to_float and np.any(np.isinf(converted) & ~np.isinf(arr)):
            raise ValueError(f"expects numbers that fit {self.dtype}, got values beyond its range")
        return converted

    def _check_shape(self, arr: np.ndarray) -> None:
        if self.shape is None:
            return
        ok = arr.ndim == len(self.shape) and all(
            want is None or want == got for want, got in zip(self.shape, arr.shape, strict=True)
        )
        if not ok:
            raise ValueError(f"expects shape {_format_shape(self.shape)}, got {arr.shape}")

    def range_problem(self, value: Any) -> str | None:
        return super().range_problem(value) if self.numeric else None

    def sample(self) -> np.ndarray:
        if self.has_default:
            return self.check(self.default)
        shape = tuple(n if n is not None else 1 for n in (self.shape or (3,)))
        if self.dtype == "str":
            return np.full(shape, "", dtype=str)
        return np.full(shape, _midpoint(self.value_range), dtype=self.dtype)


class ImageVariable(ArrayVariable):
    """A 2-D array (or 3-D with colour channels) with axis extents, labels and units."""

    kind: ClassVar[str] = "image"
    type: Literal["image"] = "image"  # type: ignore[assignment]
    x_min: float | None = None
    x_max: float | None = None
    y_min: float | None = None
    y_max: float | None = None
    x_label: str = ""
    y_label: str = ""
    axis_units: tuple[str, str] | None = None

    def _check_shape(self, arr: np.ndarray) -> None:
        if arr.ndim not in (2, 3):
            raise ValueError(f"expects a 2-D image, got an array of shape {arr.shape}")
        super()._check_shape(arr)

    def sample(self) -> np.ndarray:
        if self.has_default:
            return self.check(self.default)
        shape = tuple(n if n is not None else 8 for n in (self.shape or (8, 8)))
        return np.full(shape, _midpoint(self.value_range), dtype=self.dtype)


_DISTRIBUTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "MultivariateNormal": ("mean", "covariance_matrix"),
    "Normal": ("loc", "scale"),
    "Uniform": ("low", "high"),
}


class DistributionVariable(Variable):
    """A probability distribution (e.g. a Gaussian-process prediction), as its parameter arrays."""

    kind: ClassVar[str] = "distribution"
    type: Literal["distribution"] = "distribution"
    distribution_type: str = "MultivariateNormal"

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the arrays that describe a value, when the distribution type is known."""
        return _DISTRIBUTION_PARAMETERS.get(self.distribution_type, ())

    def check(self, value: Any) -> dict[str, np.ndarray]:
        if not isinstance(value, Mapping):
            raise ValueError(
                f"expects a mapping of {self.distribution_type} parameters "
                f"({', '.join(self.parameters) or 'name: array'}), got {_describe(value)}"
            )
        missing = [p for p in self.parameters if p not in value]
        if missing:
            raise ValueError(f"{self.distribution_type} value lacks {', '.join(missing)}")
        try:
            arrays = {str(k): np.asarray(v, dtype=float) for k, v in value.items()}
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"expects {self.distribution_type} parameters as arrays of numbers"
            ) from None
        if self.distribution_type == "MultivariateNormal":
            n = arrays["mean"].shape[-1:] if arrays["mean"].ndim else ()
            if arrays["covariance_matrix"].shape[-2:] != n * 2:
                raise ValueError(
                    f"covariance_matrix of shape {arrays['covariance_matrix'].shape} does not "
                    f"match mean of shape {arrays['mean'].shape}"
                )
        return arrays

    def sample(self) -> dict[str, np.ndarray]:
        if self.has_default:
            return self.check(self.default)
        if self.distribution_type == "MultivariateNormal":
            return {"mean": np.zeros(1), "covariance_matrix": np.eye(1)}
        return {p: np.ones(1) for p in self.parameters}


KnownVariable = (
    ScalarVariable
    | IntVariable
    | BoolVariable
    | StrVariable
    | EnumVariable
    | ArrayVariable
    | ImageVariable
    | DistributionVariable
)
"""Any one of the variable kinds this version knows."""

AnyVariable = Annotated[KnownVariable, Field(discriminator="type")]

VARIABLE_CLASSES: dict[str, type[KnownVariable]] = {
    cls.kind: cls
    for cls in (
        ScalarVariable,
        IntVariable,
        BoolVariable,
        StrVariable,
        EnumVariable,
        ArrayVariable,
        ImageVariable,
        DistributionVariable,
    )
}


def _format_shape(shape: Shape) -> str:
    return (
        "("
        + ", ".join("any" if n is None else str(n) for n in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored in every target (a NUL or a lone surrogate), or None."""
    if "\x00" in text:
        return "holds a NUL character (\\x00)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds a lone surrogate ({text[exc.start]!r}), which is not valid Unicode text"
    return None


MAX_TEXT_ARRAY_BYTES = 64 * 1024 * 1024
"""The most memory an array of strings may take: numpy gives each the width of the longest."""


def _check_text_array_size(value: list[Any] | tuple[Any, ...]) -> None:
    """Refuse nested lists of strings whose array would take more than `MAX_TEXT_ARRAY_BYTES`
    (before numpy allocates it: one long string among many short ones multiplies)."""
    count, longest, stack = 0, 0, [value]
    while stack:
        items = stack.pop()
        for item in items:
            if isinstance(item, (list, tuple)):
                stack.append(item)
            else:
                count += 1
                if isinstance(item, str) and len(item) > longest:
                    longest = len(item)
    if count * longest * 4 > MAX_TEXT_ARRAY_BYTES:
        raise ValueError(
            f"expects an array of text that fits {MAX_TEXT_ARRAY_BYTES // 2**20} MiB, got "
            f"{count:,} strings padded to the longest, {longest:,} characters; send shorter "
            "or fewer strings"
        )


def _holds_bool(value: list[Any] | tuple[Any, ...]) -> bool:
    """Whether nested lists hold a bool, which numpy would take for 0 or 1 among numbers."""
    if not value:
        return False
    if isinstance(value[0], (list, tuple)):
        return any(_holds_bool(item) for item in value)
    kinds = set(map(type, value))  # in C: a fraction of what numpy takes to read the list
    return bool in kinds or np.bool_ in kinds


def _check_text(text: str) -> None:
    problem = text_problem(text)
    if problem:
        raise ValueError(f"{problem}; give text without it")


def excerpt(value: Any, width: int = 60) -> str:
    """`repr(value)`, cut to `width` characters, for a message that quotes what it was given."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


_SELF_DESCRIBING = (str, int, float, bool, type(None), list, tuple, dict, np.generic)


def _describe(value: Any) -> str:
    """A value as a message quotes it: the same words whichever way it came (`--set`, a JSON
    file of inputs, the Python API): `'abc'`, `2.5`, or the type for other objects."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, _SELF_DESCRIBING):
        return excerpt(value)
    return f"{type(value).__name__} {excerpt(value)}"
