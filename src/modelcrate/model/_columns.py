"""Checking many input sets (or sets of outputs) at once, a column per variable.

Most of a batch is plain numbers and true/false values inside their ranges: those are checked
with a few passes over each column in C (`set(map(type, ...))`, `all(...)`) instead of several
Python calls per value. Anything else (a name that is unknown or missing without a default, a
value of another kind, one outside its range, a read-only input given) makes these functions
answer None, and the caller checks the sets one at a time, so the values, warnings and errors
are always exactly those of `Model.prepare` and `Model.check_outputs`.

For a model with `evaluate_floats`, `float_matrix` reads input sets of scalars straight into one
float array (range checks in numpy) and `float_columns` checks output arrays without a dict per
set; both answer None in the same cases, and the caller then goes the usual way.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from ..spec import Variable

if TYPE_CHECKING:
    import numpy.typing as npt

_FLOATS = frozenset(
    {float, int, np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8}
    | {np.uint64, np.uint32, np.uint16, np.uint8}
)
_INTS = frozenset(t for t in _FLOATS if t is int or issubclass(t, np.integer))
_BOOLS = frozenset({bool, np.bool_})
_INT64 = (-(2**63), 2**63 - 1)
_MISSING = object()


def checked_sets(
    variables: Sequence[Variable], sets: Sequence[Mapping[str, Any]], *, defaults: bool
) -> list[dict[str, Any]] | None:
    """`sets` (input sets, or sets of outputs) checked against `variables` as one set at a
    time would check them, in the variables' order, missing values given their defaults (with
    `defaults`; else a missing value is for the caller to report); or None when a set needs the
    one-at-a-time path."""
    names = frozenset(v.name for v in variables)
    if set(map(type, sets)) != {dict}:  # a subclass, or no set: the long way
        return None
    if not all(map(names.issuperset, sets)):  # an unknown name
        return None
    complete = set(map(len, sets)) == {len(names)}
    if not complete and not defaults:
        return None
    if complete:
        given = {name: list(map(itemgetter(name), sets)) for name in names}
    else:
        given = {name: [values.get(name, _MISSING) for values in sets] for name in names}
    columns = _checked(variables, given, complete=complete)
    if columns is None:
        return None
    keys = [v.name for v in variables]
    unchanged = complete and all(map(operator.is_, columns, map(given.__getitem__, keys)))
    if unchanged and all(map(keys.__eq__, map(list, sets))):
        return list(map(dict, sets))  # each as it came, in order: copied whole
    return _rows(keys, columns)


def checked_columns(
    variables: Sequence[Variable], columns: Mapping[str, Sequence[Any]], *, defaults: bool
) -> list[dict[str, Any]] | None:
    """Sets given as a column of values per name (the open inference protocol's tensors), every
    column as long as the others: the sets they make, checked as `checked_sets` checks them;
    or None when a set needs the one-at-a-time path."""
    names = frozenset(v.name for v in variables)
    if not columns or not names.issuperset(columns):
        return None
    size = len(next(iter(columns.values())))
    if any(len(column) != size for column in columns.values()):
        raise ValueError("every column must hold one value per set")
    complete = len(columns) == len(names)
    if not complete and not defaults:
        return None
    given = {name: list(columns.get(name, [_MISSING] * size)) for name in names}
    checked = _checked(variables, given, complete=complete)
    return None if checked is None else _rows([v.name for v in variables], checked)


def _checked(
    variables: Sequence[Variable], given: dict[str, list[Any]], *, complete: bool
) -> list[list[Any]] | None:
    """Each variable's column in `given` (a value per set; `_MISSING` where a set leaves it
    out, unless `complete`), checked; None if one needs a closer look."""
    checked = []
    for variable in variables:
        column = _column(variable, given[variable.name], complete=complete)
        if column is None:
            return None
        checked.append(column)
    return checked


def _rows(keys: list[str], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """A dict per set from a column per key (the columns as many as the keys, and as long as
    each other): looped in C."""
    return list(map(dict, map(zip, repeat(keys), zip(*columns, strict=True))))


def _column(variable: Variable, column: list[Any], *, complete: bool) -> list[Any] | None:
    """The values of one variable across the sets (`complete`: given in every set), checked;
    None if one needs a closer look."""
    gaps = [] if complete else [i for i, value in enumerate(column) if value is _MISSING]
    if gaps and not variable.has_default:
        return None
    if variable.read_only and len(gaps) < len(column):
        return None  # given: the one-at-a-time path says whether it is the fixed value
    given = [value for value in column if value is not _MISSING] if gaps else column
    checked = _given(variable, given)
    if checked is None or not gaps:
        return checked
    filled, values = [], iter(checked)
    for value in column:  # each default its own copy, as `prepare` makes it
        filled.append(variable.check(variable.default) if value is _MISSING else next(values))
    return filled


def _given(variable: Variable, column: list[Any]) -> list[Any] | None:
    kind = variable.kind
    if not column:
        return column
    types = set(map(type, column))
    if kind == "scalar" and types <= _FLOATS:
        try:
            values = column if types == {float} else [float(v) for v in column]
        except OverflowError:
            return None
        return values if _in_range(variable, values) else None
    if kind == "int" and types <= _INTS:
        values = column if types == {int} else [int(v) for v in column]
        if not _within(values, *_INT64):
            return None
        return values if _in_range(variable, values) else None
    if kind == "bool" and types <= _BOOLS:
        return column if types == {bool} else [bool(v) for v in column]
    checked = []  # any other kind: each value on its own, still without a call to warn
    for value in column:
        try:
            value = variable.check(value)
        except ValueError:
            return None
        if variable.policy != "none" and variable.range_problem(value):
            return None
        checked.append(value)
    return checked


def _in_range(variable: Variable, values: list[Any]) -> bool:
    """Whether every value is inside the variable's range (NaN never is), or the range is
    not checked."""
    bounds = getattr(variable, "value_range", None)
    if bounds is None or variable.policy == "none":
        return True
    return _within(values, *bounds)


def _within(values: list[Any], lo: Any, hi: Any) -> bool:
    """Whether every value (a number) lies in [lo, hi], NaN never: in C, by the least and the
    greatest, and the sum, which is NaN when a value is (or when +inf and -inf meet, for which
    the caller's closer look then answers)."""
    total = sum(values)
    return bool(total == total and lo <= min(values) and max(values) <= hi)


def float_matrix(
    variables: Sequence[Variable], sets: Sequence[Mapping[str, Any]]
) -> npt.NDArray[np.float64] | None:
    """The sets as one float64 array of shape `[N, len(variables)]`, a column per variable in
    their order, when checking each set would change nothing and say nothing: every set a plain
    dict of exactly the variables' names, every variable a scalar that is not read-only, every
    value a `float` inside its variable's range (or a range not checked). Else None, and the
    caller goes the usual way."""
    names = [v.name for v in variables]
    if not sets or not names or any(v.kind != "scalar" or v.read_only for v in variables):
        return None
    count = len(sets)
    if (
        list(map(type, sets)).count(dict) != count
        or list(map(len, sets)).count(len(names)) != count
    ):
        return None
    columns = []
    for name in names:
        try:  # every name found in a set of as many names: exactly the names
            column = list(map(itemgetter(name), sets))
        except KeyError:
            return None
        if list(map(type, column)).count(float) != count:  # `float` itself: float(v) is v
            return None
        columns.append(column)
    flat = np.fromiter(chain.from_iterable(columns), dtype=np.float64, count=count * len(names))
    matrix = flat.reshape(len(names), count).T  # a row per set
    return matrix if _columns_in_range(variables, matrix) else None


def float_columns(
    variables: Sequence[Variable], columns: Mapping[str, Any]
) -> list[list[float]] | None:
    """Each variable's column of `columns` (sets of outputs, as a 1-D numpy array per name, as
    long as each other) as a list of Python floats, in the variables' order, when checking each
    set of outputs would change nothing and say nothing: exactly the variables' names, every
    variable a scalar, every column floats inside its variable's range (or a range not
    checked). Else None, and the caller checks the sets the usual way."""
    arrays = float_arrays(variables, columns)
    return None if arrays is None else [array.tolist() for array in arrays.values()]


def float_matrix_of_columns(
    variables: Sequence[Variable], columns: Mapping[str, Any], count: int
) -> npt.NDArray[np.float64] | None:
    """The input sets that `columns` make (a column of `count` values per name; a variable
    left out takes its default) as one float64 array, a column per variable in their order,
    when preparing each set would change nothing but the numbers' type and say nothing: every
    variable a scalar that is not read-only, every column given numbers (integers or floats)
    inside its variable's range (or a range not checked). Else None, and the caller goes the
    usual way."""
    if not variables or any(v.kind != "scalar" or v.read_only for v in variables):
        return None
    if not {v.name for v in variables}.issuperset(columns):
        return None
    matrix = np.empty((count, len(variables)), dtype=np.float64)
    for i, variable in enumerate(variables):
        if variable.name in columns:
            array = _plain_numbers(columns[variable.name])
            if array is None or array.shape != (count,):
                return None
            matrix[:, i] = array
        elif variable.has_default:
            matrix[:, i] = variable.check(variable.default)
        else:
            return None
    return matrix if _columns_in_range(variables, matrix) else None


def _plain_numbers(column: Any) -> npt.NDArray[Any] | None:
    """A column of numbers (integers or floats) as a numpy array, when reading it so gives the
    values each one read alone would give: a plain numpy array (not a masked one), a column
    with a numpy dtype (a pandas Series, not one of pandas' nullable types, whose missing
    values numpy would read as NaN), or a list or tuple of numbers. Else None."""
    if isinstance(column, np.ndarray):
        if type(column) is not np.ndarray:  # a masked array, a matrix: their own meanings
            return None
        array = column
    elif hasattr(column, "dtype"):
        if not isinstance(column.dtype, np.dtype) or isinstance(column, np.ma.MaskedArray):
            return None
        array = np.asarray(column)
    elif isinstance(column, (list, tuple)) and set(map(type, column)) <= _FLOATS:
        array = np.asarray(column)
    else:
        return None
    return array if array.dtype.kind in "fiu" else None


def float_arrays(
    variables: Sequence[Variable], columns: Mapping[str, Any]
) -> dict[str, npt.NDArray[np.float64]] | None:
    """`float_columns` as float64 arrays by name, in the variables' order; None in the same
    cases."""
    if len(columns) != len(variables) or any(v.kind != "scalar" for v in variables):
        return None
    arrays = {}
    for variable in variables:
        array = columns.get(variable.name)
        if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype.kind != "f":
            return None
        if array.size and not _in_bounds(variable, array):
            return None
        arrays[variable.name] = np.array(array, dtype=np.float64)  # a copy: the caller's own
    return arrays


_STACKED = frozenset({float, int, bool, np.ndarray})


def column_arrays(
    variables: Sequence[Variable], sets: Sequence[Mapping[str, Any]]
) -> dict[str, npt.NDArray[Any]]:
    """Checked sets of outputs as a numpy array per variable whose first axis is the set:
    floats, integers or true/false values (each output of one of these types in every set) as
    a numeric array, arrays of one shape stacked; anything else (text, values of several
    types, arrays of differing shapes, mappings) as an array of the values themselves, so each
    keeps its type and text is not padded to the longest."""
    arrays = {}
    for variable in variables:
        values = list(map(itemgetter(variable.name), sets))
        array = None
        types = set(map(type, values))
        if len(types) == 1 and types <= _STACKED:
            try:
                array = np.asarray(values)
            except (ValueError, OverflowError):  # arrays of differing shapes
                array = None
            if array is not None and (array.shape[:1] != (len(values),) or array.dtype == object):
                array = None  # an integer beyond int64; arrays that numpy could not stack
        if array is None:
            array = np.empty(len(values), dtype=object)
            for i, value in enumerate(values):
                array[i] = value
        arrays[variable.name] = array
    return arrays


def rows(keys: list[str], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """A dict per set from a list of values per key (as many as the keys, as long as each
    other)."""
    if len(keys) == 1:
        name = keys[0]
        return [{name: value} for value in columns[0]]
    return _rows(keys, columns)


def _columns_in_range(variables: Sequence[Variable], matrix: npt.NDArray[np.float64]) -> bool:
    checked = [i for i, v in enumerate(variables) if _range_checked(v)]
    if not checked:
        return True
    part = matrix if len(checked) == matrix.shape[1] else matrix[:, checked]
    least, greatest = part.min(axis=0).tolist(), part.max(axis=0).tolist()
    for i, lo, hi in zip(checked, least, greatest, strict=True):
        bounds = variables[i].value_range  # type: ignore[attr-defined]
        if not (bounds[0] <= lo and hi <= bounds[1]):  # NaN: min and max are NaN, never in
            return False
    return True


def _in_bounds(variable: Variable, array: npt.NDArray[Any]) -> bool:
    if not _range_checked(variable):
        return True
    lo, hi = variable.value_range  # type: ignore[attr-defined]
    return bool(lo <= float(array.min()) and float(array.max()) <= hi)


def _range_checked(variable: Variable) -> bool:
    return getattr(variable, "value_range", None) is not None and variable.policy != "none"
