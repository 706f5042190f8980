"""`Model`: the base class every packaged model subclasses."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._errors import InputError, MissingInputError, OutputError, ValueWarning, VariableValueError
from ..spec import Spec, Variable
from ._columns import (
    checked_columns,
    checked_sets,
    column_arrays,
    float_arrays,
    float_columns,
    float_matrix,
    float_matrix_of_columns,
    rows,
)

if TYPE_CHECKING:
    import numpy.typing as npt


class Model:
    """A model with declared inputs and outputs.

    Subclasses set `spec` (usually `load_spec(...)` of the package's variables file) and
    implement `evaluate` on plain values. Calling the model fills defaults, checks the inputs,
    evaluates and checks the outputs; `batch` does the same for many input sets and calls
    `evaluate_batch`, which a model may override with a vectorised version.
    """

    spec: ClassVar[Spec]
    name: ClassVar[str] = ""
    """The model's name in results; defaults to the spec's model name or the class name."""
    version: ClassVar[str] = "0+unknown"
    """The model's version in results; a generated package sets it from its metadata."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ and hasattr(cls, "spec"):
            cls.name = cls.spec.model_name or cls.__name__

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Compute the outputs from complete, checked inputs. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__}.evaluate is not implemented")

    def evaluate_batch(self, input_sets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Compute outputs for many input sets; override with a vectorised version if you have one."""
        return [self.evaluate(inputs) for inputs in input_sets]

    def __call__(self, inputs: Mapping[str, Any] | None = None, /, **values: Any) -> dict[str, Any]:
        """Evaluate one input set (a mapping and/or keywords); missing inputs take their defaults."""
        prepared = self.prepare({**(inputs or {}), **values})
        return self.check_outputs(self.evaluate(prepared))

    def evaluate_floats(
        self, inputs: npt.NDArray[np.float64]
    ) -> Mapping[str, npt.NDArray[Any]] | None:
        """Optional, for a model whose inputs are all scalars: the outputs of a batch given as one
        array (a row per input set, a column per input in the spec's order), as an array per
        output whose first axis is the set (a 1-D array: a number per set); or None to let
        `evaluate_batch` do it. `batch` and `evaluate_prepared` call it instead of
        `evaluate_batch` when the inputs need no change and no warning, and check the outputs as
        columns; it is not called when a subclass overrides `evaluate_batch` or `evaluate`
        without overriding it too."""
        return None

    def batch(self, input_sets: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Evaluate many input sets in one `evaluate_batch` (or `evaluate_floats`) call; returns
        one output dict per set."""
        sets = list(input_sets)
        fast = self._evaluate_floats(sets, start=0)
        return self.evaluate_prepared(self.prepare_many(sets)) if fast is None else fast

    def batch_columns(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Evaluate the input sets that `columns` make: a column of values per input name, each
        as long as the others (a dict of arrays or lists, or a pandas DataFrame), an input left
        out taking its default. Returns a numpy array per output whose first axis is the set:
        the outputs `batch` gives for the same sets, with the same checks, warnings and errors.
        Plain numbers in range go from the columns to `evaluate_floats` and back without a dict
        per set, which is the fast way to evaluate a large batch."""
        given = _given_columns(columns)
        count = len(next(iter(given.values()))) if given else 0
        if not count:  # no set to check: the names still are
            unknown = [name for name in given if name not in self.spec.input_names]
            if unknown:
                raise self._unknown_input(unknown[0], "")
            return {name: np.empty(0) for name in self.spec.output_names}
        if type(self).batch is not Model.batch:  # a batch of its own: the sets go there
            return column_arrays(self.spec.outputs, self.batch(_sets_of(given)))
        fast = self._columns_through_floats(given, count)
        if fast is not None:
            return fast
        outputs = self.evaluate_prepared(self.prepare_columns(given))
        return column_arrays(self.spec.outputs, outputs)

    def _columns_through_floats(
        self, given: dict[str, Any], count: int
    ) -> dict[str, np.ndarray] | None:
        """`batch_columns` through `evaluate_floats`, with the same outputs, warnings and
        errors; None (nothing run) when that path does not apply."""
        if not self.spec.outputs or not _floats_apply(type(self)):
            return None
        matrix = float_matrix_of_columns(self.spec.inputs, given, count)
        computed = None if matrix is None else self.evaluate_floats(matrix)
        if computed is None:
            return None
        arrays = self._output_arrays(computed, count)
        checked = float_arrays(self.spec.outputs, arrays)
        if checked is not None:  # every output a number in range: checked as columns
            return checked
        return column_arrays(self.spec.outputs, self._checked_output_sets(arrays, count, 0))

    def prepare_many(
        self, input_sets: Sequence[Mapping[str, Any]], *, start: int | None = 0
    ) -> list[dict[str, Any]]:
        """`prepare` each input set, an error naming a set by its place counting from `start`
        (None: no place, for one set alone). Plain numbers and true/false values in range are
        checked a column at a time, with the same results."""
        if getattr(self.prepare, "__func__", None) is Model.prepare:  # not overridden
            fast = checked_sets(self.spec.inputs, input_sets, defaults=True)
            if fast is not None:
                return fast
        return [
            self.prepare(inputs, index=None if start is None else start + i)
            for i, inputs in enumerate(input_sets)
        ]

    def prepare_columns(
        self, columns: Mapping[str, Sequence[Any]], *, start: int | None = 0
    ) -> list[dict[str, Any]]:
        """`prepare_many` of the input sets that `columns` (a column of values per input name,
        each as long as the others) make: the same sets, values, warnings and errors, without
        making the sets first when the columns can be checked as they are."""
        if (  # neither overridden
            getattr(self.prepare, "__func__", None) is Model.prepare
            and getattr(self.prepare_many, "__func__", None) is Model.prepare_many
        ):
            fast = checked_columns(self.spec.inputs, columns, defaults=True)
            if fast is not None:
                return fast
        return self.prepare_many(_sets_of(columns), start=start)

    def check_outputs_many(
        self, outputs: Sequence[Mapping[str, Any]], *, start: int | None = 0
    ) -> list[dict[str, Any]]:
        """`check_outputs` of each set of outputs, an error naming a set by its place counting
        from `start` (None: no place); a column at a time where that gives the same results."""
        if getattr(self.check_outputs, "__func__", None) is Model.check_outputs:
            fast = checked_sets(self.spec.outputs, outputs, defaults=False)
            if fast is not None:
                return fast
        return [
            self.check_outputs(out, index=None if start is None else start + i)
            for i, out in enumerate(outputs)
        ]

    def evaluate_prepared(
        self, input_sets: Sequence[dict[str, Any]], *, start: int = 0
    ) -> list[dict[str, Any]]:
        """Evaluate input sets that `prepare` completed (via `evaluate_batch`) and check the
        outputs; an error names an input set by its place, counting from `start`."""
        fast = self._evaluate_floats(input_sets, start=start)
        if fast is not None:
            return fast
        outputs = self.evaluate_batch(list(input_sets))
        if len(outputs) != len(input_sets):
            raise OutputError(
                f"{type(self).__name__}.evaluate_batch returned {len(outputs)} results "
                f"for {len(input_sets)} input sets"
            )
        return self.check_outputs_many(outputs, start=start)

    def _evaluate_floats(
        self, input_sets: Sequence[Mapping[str, Any]], *, start: int
    ) -> list[dict[str, Any]] | None:
        """`evaluate_prepared(prepare_many(input_sets))` through `evaluate_floats`, with the
        same outputs, warnings and errors; None (nothing run) when that path does not apply."""
        if not self.spec.outputs or not _floats_apply(type(self)):
            return None
        matrix = float_matrix(self.spec.inputs, input_sets)
        if matrix is None:
            return None
        given = self.evaluate_floats(matrix)
        if given is None:
            return None
        count = len(input_sets)
        arrays = self._output_arrays(given, count)
        columns = float_columns(self.spec.outputs, arrays)
        if columns is not None:  # every output a number in range: checked as columns
            return rows(list(self.spec.output_names), columns)
        return self._checked_output_sets(arrays, count, start)

    def _checked_output_sets(
        self, arrays: Mapping[str, npt.NDArray[Any]], count: int, start: int
    ) -> list[dict[str, Any]]:
        """The outputs of `evaluate_floats` (an array per output) as one checked dict per set,
        as `check_outputs_many` checks them."""
        names = list(arrays)
        values = [a.tolist() if a.ndim == 1 else list(a) for a in arrays.values()]
        sets = rows(names, values) if names else [{} for _ in range(count)]
        return self.check_outputs_many(sets, start=start)

    def _output_arrays(
        self, given: Mapping[str, npt.ArrayLike], count: int
    ) -> dict[str, npt.NDArray[Any]]:
        """What `evaluate_floats` returned, as arrays of one value per input set each."""
        arrays = {name: np.asarray(array) for name, array in given.items()}
        for name, array in arrays.items():
            if array.shape[:1] != (count,):
                raise OutputError(
                    f"{type(self).__name__}.evaluate_floats returned {name!r} of shape "
                    f"{array.shape}, not {count} values (one per input set)"
                )
        return arrays

    def prepare(
        self, inputs: Mapping[str, Any] | None = None, *, index: int | None = None
    ) -> dict[str, Any]:
        """Fill defaults and check every input against the spec; raise `InputError` if invalid."""
        inputs = dict(inputs or {})
        where = "" if index is None else f"input set {index}: "
        known_names = self.spec.input_names
        unknown = [name for name in inputs if name not in known_names]
        if unknown:
            raise self._unknown_input(unknown[0], where)
        prepared: dict[str, Any] = {}
        for variable in self.spec.inputs:
            if variable.name in inputs:
                value = inputs[variable.name]
                if variable.read_only and variable.has_default and not _is_default(variable, value):
                    raise InputError(
                        f"{where}input {variable.name!r} is read-only (fixed at {variable.default!r}); "
                        "leave it out of the inputs"
                    )
                prepared[variable.name] = check_value(variable, value, "input", InputError, where)
            elif variable.has_default:
                prepared[variable.name] = variable.check(variable.default)
            else:
                raise MissingInputError(variable.name, where)
        return prepared

    def _unknown_input(self, name: str, where: str) -> InputError:
        known = ", ".join(self.spec.input_names) or "(none)"
        return InputError(f"{where}unknown input {name!r}; the inputs of {self.name} are: {known}")

    def check_outputs(
        self, outputs: Mapping[str, Any], *, index: int | None = None
    ) -> dict[str, Any]:
        """Check that `outputs` holds every declared output with a valid value; raise `OutputError`."""
        where = "" if index is None else f"input set {index}: "
        if not isinstance(outputs, Mapping):
            raise OutputError(
                f"{where}{type(self).__name__}.evaluate returned {type(outputs).__name__}, not a dict"
            )
        declared = self.spec.output_names
        extra = [name for name in outputs if name not in declared]
        if extra:
            raise OutputError(
                f"{where}{type(self).__name__}.evaluate returned undeclared output {extra[0]!r}; "
                "declare it in the variables file or leave it out"
            )
        checked = {}
        for variable in self.spec.outputs:
            if variable.name not in outputs:
                raise OutputError(
                    f"{where}{type(self).__name__}.evaluate did not return output {variable.name!r}"
                )
            checked[variable.name] = check_value(
                variable, outputs[variable.name], "output", OutputError, where
            )
        return checked


_PLAIN = (
    "prepare",
    "prepare_many",
    "prepare_columns",
    "check_outputs",
    "check_outputs_many",
    "evaluate_prepared",
)


def _floats_apply(cls: type[Model]) -> bool:
    """Whether `cls` has an `evaluate_floats` that stands for its `evaluate_batch` and
    `evaluate` (defined in the same class or below), and checks as `Model` does."""
    floats = _defined_in(cls, "evaluate_floats")
    return (
        floats is not Model
        and issubclass(floats, _defined_in(cls, "evaluate_batch"))
        and issubclass(floats, _defined_in(cls, "evaluate"))
        and all(_defined_in(cls, name) is Model for name in _PLAIN)
    )


def _sets_of(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The input sets a column per name makes (the columns as long as each other)."""
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _given_columns(columns: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of `batch_columns` as a dict (a DataFrame's too), each checked to be a
    column (a sequence or an array of one axis or more), all of one length, no name twice."""
    try:
        names = list(columns.keys())
        twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if twice is not None:
            raise InputError(f"input {twice!r} is given twice; give each input one column")
        given = {name: columns[name] for name in names}
    except (AttributeError, TypeError, KeyError):
        raise InputError(
            f"the input columns must be a mapping of input names to columns of values, "
            f"not {type(columns).__name__}"
        ) from None
    lengths = {}
    for name, column in given.items():
        if (
            isinstance(column, (str, bytes, Mapping))
            or not hasattr(column, "__len__")
            or getattr(column, "ndim", 1) == 0
        ):
            raise InputError(
                f"input {name!r} must be a column of values (one per input set), "
                f"not {type(column).__name__}"
            )
        lengths[name] = len(column)
    if len(set(lengths.values())) > 1:
        (first, size), *_ = lengths.items()
        other = next(name for name, n in lengths.items() if n != size)
        raise InputError(
            f"input {other!r} holds {lengths[other]} values and {first!r} holds {size}: "
            "every column must hold one value per input set"
        )
    return given


def _defined_in(cls: type, name: str) -> type:
    return next(k for k in cls.__mro__ if name in k.__dict__)


def check_value(
    variable: Variable,
    value: Any,
    role: str,
    error: type[VariableValueError] = VariableValueError,
    where: str = "",
) -> Any:
    """Check one value: type and shape problems raise `error`; range problems follow the policy."""
    try:
        checked = variable.check(value)
    except ValueError as exc:
        raise error(f"{where}{role} {variable.name!r} {exc}") from None
    if variable.policy != "none":
        problem = variable.range_problem(checked)
        if problem:
            message = f"{where}{role} {variable.name!r} is {problem}"
            if variable.policy == "error":
                raise error(message)
            warnings.warn(message, ValueWarning, stacklevel=4)
    return checked


def _is_default(variable: Variable, value: Any) -> bool:
    try:
        return _same(variable.check(value), variable.check(variable.default))
    except ValueError:
        return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))
