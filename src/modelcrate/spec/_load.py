"""Read LUME variable files of every generation into a `Spec`.

Four generations are in use, and this module reads them all:

- `type: scalar|array|image`, `default`, `range: [lo, hi]` or `lower`/`upper`, `units`, `is_constant`
- `variable_type: scalar`, `default`, `value_range`, `is_constant`
- `variable_class: ScalarVariable`, `default_value`, `value_range`, `is_constant`
- `variable_class: TorchScalarVariable` (lume-torch), `default_value`, `value_range`, `unit`, `read_only`

Keys it does not read are kept as they are; one that looks like a misspelling of a key it reads
(`unitz`, `defualt`) is warned about. An input and an output may not share a name.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from difflib import get_close_matches
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from .._errors import SpecError, SpecWarning
from ._files import read_text_file
from ._spec import Spec
from ._variables import (
    _INT64_MAX,
    _INT64_MIN,
    MAX_DIMENSIONS,
    MAX_ELEMENTS,
    STORED_DTYPES,
    VARIABLE_CLASSES,
    ArrayVariable,
    ImageVariable,
    IntVariable,
    Kind,
    KnownVariable,
    Variable,
    excerpt,
    text_problem,
)
from ._yaml import YAMLInputError, check_structure, load_yaml

SECTIONS = ("input_variables", "output_variables")

V = TypeVar("V", bound=Variable)

TYPE_ALIASES: Mapping[Kind, tuple[str, ...]] = MappingProxyType({
    "scalar": ("scalar", "float", "number"),
    "int": ("int", "integer"),
    "bool": ("bool", "boolean"),
    "str": ("str", "string", "text"),
    "enum": ("enum", "choice", "categorical"),
    "array": ("array", "nd", "ndarray", "tensor"),
    "image": ("image",),
    "distribution": ("distribution",),
})  # fmt: skip
"""Every spelling of each kind that `type:` and `variable_type:` accept (any letter case);
`variable_class:` takes the same word in CamelCase, optionally prefixed by `Torch` and suffixed
by `Input`/`Output` and `Variable` (`ScalarVariable`, `TorchNDVariable`, `ArrayInputVariable`).
The README's table of type names is checked against it."""

_KIND_NAMES = {alias: kind for kind, aliases in TYPE_ALIASES.items() for alias in aliases}

_ARRAY_VALUE_TYPES = {"string": "str", "str": "str", "float": "float64", "int": "int64",
                      "integer": "int64", "bool": "bool", "boolean": "bool"}  # fmt: skip

_TYPE_HINT = f"use variable_class: ScalarVariable (or type: {', '.join(TYPE_ALIASES)})"

_TYPE_KEYS = ("variable_class", "variable_type", "type")
_IMAGE_KEYS = ("x_min", "x_max", "y_min", "y_max", "x_label", "y_label", "axis_units")
_EXTENT_REFERENCES = ("x_min_variable", "x_max_variable", "y_min_variable", "y_max_variable")
_READ_KEYS = (
    "name", *_TYPE_KEYS, "description", "doc", "unit", "units", "default_value", "default",
    "value", "read_only", "is_constant", "default_validation_config", "validation", "policy",
    "value_range", "range", "lower", "min", "upper", "max", "shape", "dtype", "value_type",
    *_IMAGE_KEYS, "choices", "options", "values", "distribution_type",
)  # fmt: skip
"""Every key of a variable that the loader reads, in any generation."""
_KEPT_KEYS = (*_EXTENT_REFERENCES, "precision", "parent_variable", "dim_labels", "axis_labels")
"""Keys of LUME files that are kept as they are, without a meaning here."""


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Load a variables file of any LUME generation; raise `SpecError` naming what is wrong."""
    text = read_text_file(path, what="variables YAML file", error=SpecError)
    return parse_spec(text, source=str(path))


def parse_spec(document: str | Mapping[str, Any], *, source: str = "<variables>") -> Spec:
    """Build a `Spec` from YAML text or an already-parsed mapping."""
    if isinstance(document, str):
        try:
            document = load_yaml(document)
        except YAMLInputError as exc:
            raise SpecError(f"{source}: {exc}") from None
    else:
        try:
            check_structure(document)
        except YAMLInputError as exc:
            raise SpecError(f"{source}: {exc}") from None
    if not isinstance(document, Mapping):
        raise SpecError(f"{source}: expected a mapping with input_variables and output_variables")

    sections, metadata = _split_sections(document, source)
    inputs = _parse_section(sections.get("input_variables"), "input", source)
    outputs = _parse_section(sections.get("output_variables"), "output", source)
    if not inputs and not outputs:
        raise SpecError(
            f"{source}: declares no variables; add input_variables and output_variables"
        )
    if not outputs:
        raise SpecError(f"{source}: declares no output_variables; add at least one output")
    _check_distinct(inputs, outputs, source)
    _check_references(inputs + outputs, source)
    return Spec(inputs=inputs, outputs=outputs, metadata=metadata, source=source)


def _split_sections(
    document: Mapping[str, Any], source: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Find the variable sections at the top level, or nested under `model:`."""
    sections = {k: document[k] for k in SECTIONS if k in document}
    metadata = {k: v for k, v in document.items() if k not in SECTIONS}
    model = document.get("model")
    if isinstance(model, Mapping) and any(k in model for k in SECTIONS):
        if sections:
            raise SpecError(
                f"{source}: variables appear both at the top level and under model:; keep one place"
            )
        sections = {k: model[k] for k in SECTIONS if k in model}
        metadata["model"] = {k: v for k, v in model.items() if k not in SECTIONS}
    _warn_near_misses(document, SECTIONS, f"{source}:")
    if isinstance(model, Mapping):
        _warn_near_misses(model, SECTIONS, f"{source}: model:")
    return sections, metadata


def _warn_near_misses(mapping: Mapping[Any, Any], known: tuple[str, ...], where: str) -> None:
    """Warn once for each key of `mapping` that is not known but nearly is (a misspelling such
    as `unitz` for `units`); other unknown keys are kept without a word."""
    for key in mapping:
        if not isinstance(key, str) or key in known or key in _KEPT_KEYS:
            continue
        near = get_close_matches(key, known, n=1, cutoff=0.8)
        if near:
            warnings.warn(
                f"{where} key {key!r} is not one modelcrate reads (it is kept as it is); "
                f"did you mean {near[0]!r}?",
                SpecWarning,
                stacklevel=5,
            )


def _parse_section(section: Any, role: str, source: str) -> tuple[KnownVariable, ...]:
    if section is None:
        return ()
    entries: list[tuple[str, Any]]
    if isinstance(section, Mapping):
        entries = [(str(key), value) for key, value in section.items()]
    elif isinstance(section, list):
        entries = []
        for i, item in enumerate(section):
            if not isinstance(item, Mapping) or not item.get("name"):
                raise SpecError(
                    f"{source}: {role}_variables[{i}]: a list entry needs a name; "
                    "write `- name: x` or use a mapping keyed by name"
                )
            entries.append((str(item["name"]), item))
    else:
        raise SpecError(f"{source}: {role}_variables must be a mapping of name to variable")

    variables: list[KnownVariable] = []
    seen: set[str] = set()
    for name, entry in entries:
        where = f"{source}: {role} variable {name!r}"
        _check_name(name, where)
        if name in seen:
            raise SpecError(f"{where}: declared twice; rename or remove one of them")
        seen.add(name)
        variables.append(_parse_variable(name, entry, where))
    return tuple(variables)


def _check_name(name: str, where: str) -> None:
    """A name holds no control, invisible or surrogate character (spaces, colons, dots and
    dashes are fine: EPICS names have them)."""
    if not name.strip():
        raise SpecError(f"{where}: a name needs a visible character; rename it")
    bad = next((c for c in name if not (c.isprintable() or c == " ")), None)
    if bad is not None:
        raise SpecError(
            f"{where}: a name must not contain control or invisible characters (found "
            f"{bad!a} at position {name.index(bad)}); rename it"
        )


def _parse_variable(key: str, entry: Any, where: str) -> KnownVariable:
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}: expected a mapping of fields, got {entry!r}; {_TYPE_HINT}")
    raw = dict(entry)
    name = raw.pop("name", None)
    if name is not None and str(name) != key:
        raise SpecError(f"{where}: its name field {name!r} differs from its key; make them equal")

    kind = _pop_kind(raw, where)
    _warn_near_misses(raw, _READ_KEYS, f"{where}:")
    cls = VARIABLE_CLASSES[kind]
    fields: dict[str, Any] = {"name": key}
    _take(raw, fields, "description", "description", "doc")
    _take(raw, fields, "unit", "unit", "units")
    unit = fields.get("unit")
    if isinstance(unit, (int, float)) and not isinstance(unit, bool):
        fields["unit"] = str(unit)  # `units: 1` (dimensionless) is the text "1"
    _take(raw, fields, "default", "default_value", "default", "value")
    constant = _pop_first(raw, "read_only", "is_constant")
    policy = _pop_first(raw, "default_validation_config", "validation", "policy")
    if policy is not None:
        policy = "none" if policy in (None, "null", False) else str(policy).lower()
        if policy not in ("none", "warn", "error"):
            raise SpecError(f"{where}: validation policy {policy!r} is not none, warn or error")
        fields["policy"] = policy

    value_range = _pop_range(raw, where)
    if value_range is not None:
        if "value_range" not in cls.model_fields:
            raise SpecError(f"{where}: a {kind} variable has no range; remove value_range")
        fields["value_range"] = value_range
        if value_range[0] == value_range[1]:  # equal bounds: an old way of writing a constant
            constant = True if constant is None else constant
            fields.setdefault("default", value_range[0])

    if kind in ("array", "image"):
        if "shape" in raw:
            fields["shape"] = _parse_shape(raw.pop("shape"), where)
        dtype = _pop_first(raw, "dtype", "value_type")
        if dtype is not None:
            fields["dtype"] = _parse_dtype(dtype, where)
    if kind == "image":
        for key_ in _IMAGE_KEYS:
            if key_ in raw:
                fields[key_] = raw.pop(key_)
        if isinstance(fields.get("axis_units"), str):
            fields["axis_units"] = (fields["axis_units"], fields["axis_units"])
    if kind == "enum":
        choices = _pop_first(raw, "choices", "options", "values")
        if not isinstance(choices, list) or not choices:
            raise SpecError(f"{where}: an enum variable needs `choices: [a, b, ...]`")
        fields["choices"] = tuple(_check_choice(c, where) for c in choices)
    if kind == "distribution":
        _take(raw, fields, "distribution_type", "distribution_type")

    fields["read_only"] = bool(constant)
    fields["extras"] = raw  # whatever is left is kept verbatim
    try:
        variable = cls(**fields)
    except Exception as exc:  # pydantic's ValidationError: show `field: message` lines
        raise SpecError(f"{where}: {_pydantic_message(exc)}") from None
    _check_declaration(variable, where)
    return _check_default(variable, where)


def _pop_kind(raw: dict[str, Any], where: str) -> str:
    if "variable_class" in raw:
        spelled = str(raw.pop("variable_class"))
        word = spelled.removeprefix("Torch").removesuffix("Variable")
        word = word.removesuffix("Input").removesuffix("Output").lower()
    elif "variable_type" in raw:
        spelled = word = str(raw.pop("variable_type")).lower()
    elif "type" in raw:
        spelled = word = str(raw.pop("type")).lower()
    else:
        near = [
            f"is {key!r} a misspelling of {match[0]!r}"
            for key in raw
            if isinstance(key, str) and (match := get_close_matches(key, _TYPE_KEYS, 1, 0.6))
        ]
        hint = f" ({near[0]}?)" if near else ""
        raise SpecError(f"{where}: has no type{hint}; {_TYPE_HINT}")
    kind = _KIND_NAMES.get(word)
    if kind is None:
        raise SpecError(f"{where}: unknown type {spelled!r}; {_TYPE_HINT}")
    return kind


def _pop_first(raw: dict[str, Any], *keys: str) -> Any:
    """Pop every spelling of a field; the first one present wins."""
    found = None
    for key in reversed(keys):
        if key in raw:
            found = raw.pop(key)
    return found


def _take(raw: dict[str, Any], fields: dict[str, Any], field: str, *keys: str) -> None:
    value = _pop_first(raw, *keys)
    if value is not None:
        fields[field] = value


def _to_bound(value: Any, where: str, label: str) -> float:
    if isinstance(value, bool):
        raise SpecError(f"{where}: {label} {value!r} is not a number")
    if isinstance(value, str):
        text = value.strip().lower().lstrip("+").replace(".inf", "inf")
        sign = -1.0 if text.startswith("-") else 1.0
        if text.lstrip("-") in ("inf", "infinity"):
            return sign * math.inf
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(
            f"{where}: {label} {value!r} is not a number; write e.g. [0, 10] or [0, inf]"
        ) from None
    except OverflowError:
        raise SpecError(
            f"{where}: {label} {excerpt(value)} is beyond the largest float (1.8e308); "
            "write inf for no bound"
        ) from None
    if math.isnan(number):
        raise SpecError(f"{where}: {label} is NaN; give a number or inf")
    return number


def _pop_range(raw: dict[str, Any], where: str) -> tuple[float, float] | None:
    value = _pop_first(raw, "value_range", "range")
    lower = _pop_first(raw, "lower", "min")
    upper = _pop_first(raw, "upper", "max")
    if value is None and lower is None and upper is None:
        return None
    if value is not None:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise SpecError(f"{where}: value_range {value!r} must be two numbers [lower, upper]")
        lower, upper = value
    lo = -math.inf if lower is None else _to_bound(lower, where, "lower bound")
    hi = math.inf if upper is None else _to_bound(upper, where, "upper bound")
    if lo > hi:
        raise SpecError(f"{where}: lower bound {lo:g} is above upper bound {hi:g}; swap them")
    return (lo, hi)


def _parse_shape(value: Any, where: str) -> tuple[int | None, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{where}: shape {value!r} must be a list of lengths, e.g. [64, 64]")
    shape: list[int | None] = []
    if len(value) > MAX_DIMENSIONS:
        raise SpecError(
            f"{where}: shape has {len(value)} dimensions; at most {MAX_DIMENSIONS} are allowed"
        )
    for n in value:
        if n is None or n == -1 or n == "any":
            shape.append(None)
        elif isinstance(n, int) and not isinstance(n, bool) and n >= 0:
            shape.append(n)
        else:
            raise SpecError(
                f"{where}: shape {excerpt(value)} must hold non-negative integers (or null for any)"
            )
    elements = math.prod(n for n in shape if n is not None)
    if elements > MAX_ELEMENTS:
        raise SpecError(
            f"{where}: shape {excerpt(value)} holds {elements:,} elements, more than "
            f"{MAX_ELEMENTS:,}; declare a smaller shape (or null for a length that varies)"
        )
    return tuple(shape)


def _parse_dtype(value: Any, where: str) -> str:
    """A numpy dtype name from `value_type: string`, `dtype: float32` or `dtype: torch.float32`."""
    text = (
        str(value).strip().lower().removeprefix("torch.").removeprefix("numpy.").removeprefix("np.")
    )
    text = _ARRAY_VALUE_TYPES.get(text, text)
    if text == "str":
        return text
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        dtype = None
    if dtype is None or dtype.kind not in "biuf":  # numbers or booleans, one per element
        raise SpecError(f"{where}: unknown dtype {excerpt(value)}; use {_DTYPE_LIST}")
    if dtype.name not in STORED_DTYPES:
        raise SpecError(
            f"{where}: dtype {dtype.name} is not stored by every target; use {_DTYPE_LIST}"
        )
    return dtype.name


_DTYPE_LIST = ", ".join(STORED_DTYPES[:-1]) + " or " + STORED_DTYPES[-1]


def _check_choice(choice: Any, where: str) -> Any:
    """An enum choice is text, an integer, a finite float or a boolean that every target stores."""
    problem = None
    if isinstance(choice, str):
        problem = text_problem(choice)
        if problem:
            raise SpecError(f"{where}: choice {excerpt(choice)} {problem}; give text without it")
    elif isinstance(choice, int) and not isinstance(choice, bool):
        if not _INT64_MIN <= choice <= _INT64_MAX:
            problem = "is an integer beyond -2**63 to 2**63 - 1"
    elif isinstance(choice, float):
        if not math.isfinite(choice):
            problem = "is not a finite number"
    elif choice is None:
        problem = "is null"
    elif isinstance(choice, (bytes, bytearray)):
        problem = "is binary data"
    elif isinstance(choice, (Mapping, list, tuple, set)):
        problem = "is a list, set or mapping"
    elif not isinstance(choice, bool):
        problem = f"is a {type(choice).__name__} value"
    if problem:
        raise SpecError(
            f"{where}: choice {excerpt(choice)} {problem}; "
            "a choice must be text, an integer, a finite number or true/false"
        )
    return choice


def _check_declaration(variable: Variable, where: str) -> None:
    """Refuse ranges the variable's type cannot hold, images that are not 2-D and image extents
    that are not names."""
    for key in _EXTENT_REFERENCES:
        value = variable.extras.get(key)
        if value is not None and not isinstance(value, str):
            raise SpecError(
                f"{where}: {key} is {excerpt(value)}; it must be the name of another variable, "
                f"e.g. {key}: {variable.name}_{key[:5]}"
            )
    shape = variable.shape if isinstance(variable, ImageVariable) else None
    if shape is not None and len(shape) not in (2, 3):
        raise SpecError(
            f"{where}: an image is 2-D, so its shape is [rows, columns] (or [rows, columns, "
            f"channels] for colour), not {list(shape)}; fix the shape or use "
            "type: array"
        )
    value_range = getattr(variable, "value_range", None)
    if value_range is None:
        return
    if isinstance(variable, IntVariable):
        what, low, high = "an int", float(_INT64_MIN), float(_INT64_MAX)
        limits = "-2**63 to 2**63 - 1"
    elif isinstance(variable, ArrayVariable) and variable.numeric:
        dtype = np.dtype(variable.dtype)
        info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
        what, low, high = dtype.name, float(info.min), float(info.max)
        limits = (
            f"{info.min:g} to {info.max:g}" if dtype.kind == "f" else f"{info.min} to {info.max}"
        )
    else:
        return
    for label, bound in zip(("lower bound", "upper bound"), value_range, strict=True):
        if math.isfinite(bound) and not low <= bound <= high:
            raise SpecError(
                f"{where}: {label} {bound:g} is beyond what {what} holds ({limits}); "
                "give a bound inside it, or inf for none"
            )


def _check_default(variable: V, where: str) -> V:
    if not variable.has_default:
        return variable
    try:
        default = variable.check(variable.default)
    except ValueError as exc:
        raise SpecError(
            f"{where}: default value {excerpt(variable.default)} is invalid: {exc}"
        ) from None
    problem = variable.range_problem(default)
    if problem:
        warnings.warn(f"{where}: default value is {problem}", SpecWarning, stacklevel=4)
    if isinstance(default, float) and not isinstance(variable.default, float):
        variable = variable.model_copy(update={"default": default})
    return variable


def _check_distinct(
    inputs: tuple[KnownVariable, ...], outputs: tuple[KnownVariable, ...], source: str
) -> None:
    """An input and an output may not share a name: results and tables would be ambiguous."""
    output_names = {v.name for v in outputs}
    for variable in inputs:
        if variable.name in output_names:
            raise SpecError(
                f"{source}: variable {variable.name!r} is declared both as an input and as an "
                "output; rename one of them (a result names each variable once)"
            )


def _check_references(variables: tuple[Variable, ...], source: str) -> None:
    """Image extents may name other variables (`x_min_variable: out_xmin`): they must exist."""
    names = {v.name for v in variables}
    for variable in variables:
        for key in _EXTENT_REFERENCES:
            value = variable.extras.get(key)
            if value is not None and value not in names:
                raise SpecError(
                    f"{source}: variable {variable.name!r}: {key} names {value!r}, "
                    "which is not declared; declare it or correct the name"
                )


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in errors()
    )
