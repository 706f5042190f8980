"""ONNX graphs: inputs and outputs read from the graph through onnxruntime.

A leading dimension that is not a fixed number is the batch axis. A tensor of shape `[N, k]`
carries k scalar variables (named by the graph's metadata, `names:TENSOR` or
`input_names`/`output_names`, as a JSON list or comma-separated; else `x0..`/`y0..`); `[N]` one
scalar named after the tensor; `[N, d1, ...]` one array of shape `(d1, ...)`. An output that is
not a tensor (a sequence of maps, as skl2onnx's ZipMap gives) is left out, and said so. An output
whose shape the graph does not declare (no rank, or dimensions of no fixed length after the
first) takes the shape found by running the graph on zero inputs, and said so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import ArtifactError
from ...runtime import Slot
from ...spec import (
    ArrayVariable,
    BoolVariable,
    IntVariable,
    ScalarVariable,
    Spec,
    StrVariable,
    Variable,
)
from ._inferred import Inferred, listed, reason

ELEMENT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint64)": "uint64",
    "tensor(uint32)": "uint32",
    "tensor(uint16)": "uint16",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "str",
}
"""onnxruntime's element types and the numpy dtypes (variable dtypes) they become."""

SUFFIXES = (".onnx",)


def inspect(path: Path, *, trust: bool = False, variables: Spec | None = None) -> Inferred:
    """Read the graph at `path`: its tensors, the variables they carry, and a session to run it.
    (A variables file, if given, is reconciled with what the graph says afterwards.)"""
    try:
        import onnxruntime
    except ImportError:
        raise ArtifactError(
            f"{path}: converting an ONNX model needs onnxruntime: pip install 'modelcrate[onnx]'"
        ) from None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        graph_inputs, graph_outputs = session.get_inputs(), session.get_outputs()
        metadata = dict(session.get_modelmeta().custom_metadata_map)
    except Exception as exc:  # onnxruntime's own errors: truncated, not ONNX, unknown operators
        raise ArtifactError(
            f"{path}: onnxruntime cannot load it as an ONNX model ({reason(exc)}); check that "
            "the file is complete, or export the model again"
        ) from None
    if not graph_inputs:
        raise ArtifactError(
            f"{path}: the graph has no inputs, so there is nothing to evaluate; export the "
            "model with its inputs"
        )
    notes: list[str] = []
    inputs = [_tensor(path, arg, "input") for arg in graph_inputs]
    if any(dtype is None for _, dtype, _ in inputs):
        bad = next(
            arg for arg, (_, dtype, _) in zip(graph_inputs, inputs, strict=True) if dtype is None
        )
        raise ArtifactError(
            f"{path}: input {bad.name!r} is of type {bad.type}, which convert cannot give "
            f"values to (it takes tensors of {', '.join(sorted(set(ELEMENT_TYPES.values())))}); "
            "export the model with tensor inputs"
        )
    outputs = []
    for arg in graph_outputs:
        found = _tensor(path, arg, "output")
        if found[1] is None:
            notes.append(
                f"output {arg.name!r} is a {arg.type}, not a tensor: left out (export it as a "
                "tensor to keep it; for skl2onnx, options={'zipmap': False})"
            )
        else:
            outputs.append(found)
    if not outputs:
        raise ArtifactError(
            f"{path}: the graph has no tensor outputs ({listed([a.name for a in graph_outputs])}); "
            "export the model with tensor outputs"
        )
    if any(_unknown(shape) for _, _, shape in outputs):
        outputs = _measured(path, session, inputs, outputs, notes)
    in_slots, in_vars, in_guessed = _bind(inputs, metadata, "input", notes)
    out_slots, out_vars, out_guessed = _bind(outputs, metadata, "output", notes)
    if not all(s.batched for s in (*in_slots, *out_slots)):
        notes.append(
            "the graph has no batch axis (a leading dimension of any length) on every tensor: "
            "a batch runs one input set at a time"
        )
    described = [
        ("inputs", "; ".join(_describe(s) for s in in_slots)),
        ("outputs", "; ".join(_describe(s) for s in out_slots)),
    ]
    return Inferred(
        kind="onnx",
        file_name="model.onnx",
        summary="an ONNX graph, run with onnxruntime",
        inputs=tuple(in_slots),
        outputs=tuple(out_slots),
        input_variables=tuple(in_vars),
        output_variables=tuple(out_vars),
        run=lambda feeds, wanted: list(session.run(list(wanted), dict(feeds))),
        guessed=frozenset(in_guessed + out_guessed),
        requirements=(_requirement(),),
        described=tuple(described),
        notes=tuple(notes),
    )


def _unknown(shape: tuple[int | None, ...]) -> bool:
    """Whether a graph output's shape is not known from the graph: no rank (onnxruntime says
    `[]`, as for a scalar), or a dimension other than the first of no fixed length."""
    return not shape or any(n is None for n in shape[1:])


def _measured(
    path: Path, session: Any, inputs: Sequence[Tensor], outputs: Sequence[Tensor], notes: list[str]
) -> list[Tensor]:
    """The outputs with the shapes the graph does not declare found by running it on zeros:
    on 2 and on 3 rows when the inputs have a batch axis (a dimension that follows the number
    of rows is the batch axis), once otherwise."""
    if any(any(n is None for n in shape[1:]) for _, _, shape in inputs):
        unknown = [name for name, _, shape in outputs if _unknown(shape)]
        raise ArtifactError(
            f"{path}: the graph does not declare the shape of output {listed(unknown)}, and "
            "its inputs' shapes are not all known, so convert cannot run it to find it; export "
            "the graph with the outputs' shapes"
        )
    batched = any(shape and shape[0] is None for _, _, shape in inputs)
    counts = (2, 3) if batched else (1,)
    runs = []
    try:
        for count in counts:
            feeds = {name: _zeros(dtype, shape, count) for name, dtype, shape in inputs}
            runs.append([np.shape(a) for a in session.run([n for n, _, _ in outputs], feeds)])
    except Exception as exc:  # onnxruntime's own error on zero inputs
        raise ArtifactError(
            f"{path}: the graph does not declare the shape of every output, and running it on "
            f"zero inputs to find them failed ({reason(exc)}); export the graph with the "
            "outputs' shapes"
        ) from None
    found: list[Tensor] = []
    for i, (name, dtype, shape) in enumerate(outputs):
        if not _unknown(shape):
            found.append((name, dtype, shape))
            continue
        shapes = [tuple(int(n) for n in run[i]) for run in runs]
        first = shapes[0]
        if all(s == first for s in shapes):
            measured: tuple[int | None, ...] = first
        elif all(len(s) == len(first) and s and s[0] == c and s[1:] == first[1:]
                 for s, c in zip(shapes, counts, strict=True)):  # fmt: skip
            measured = (None, *first[1:])
        else:
            raise ArtifactError(
                f"{path}: output {name!r} has no shape in the graph, and its shape on "
                f"{' and '.join(map(str, counts))} input sets ({', '.join(map(str, shapes))}) "
                "has no batch axis convert can bind; export the graph with its shape"
            )
        dims = ", ".join("N" if n is None else str(n) for n in measured)
        notes.append(
            f"output {name!r} has no shape in the graph: [{dims}] was found by running it once "
            "on zero inputs; check it (export the graph with output shapes to declare it)"
        )
        found.append((name, dtype, measured))
    return found


def _zeros(dtype: str | None, shape: tuple[int | None, ...], count: int) -> np.ndarray:
    """A tensor of zeros (empty strings, false) of an input's type, `count` rows on its batch
    axis."""
    dims = tuple(count if n is None else n for n in shape)
    if dtype == "str":
        return np.full(dims, "", dtype=object)
    return np.zeros(dims, dtype=np.dtype(str(dtype)))


def _requirement() -> str:
    """onnxruntime from the minor release that read the graph here, up to the next major."""
    try:
        major, minor = version("onnxruntime").split(".")[:2]
    except (PackageNotFoundError, ValueError):
        return "onnxruntime>=1.17"
    return f"onnxruntime>={major}.{minor},<{int(major) + 1}"


Tensor = tuple[str, str | None, tuple[int | None, ...]]


def _tensor(path: Path, arg: Any, role: str) -> Tensor:
    """A graph input or output as (name, dtype or None if not a tensor of a known type, shape
    with None for each dimension that is not a fixed number)."""
    name = str(arg.name)
    if not name:
        raise ArtifactError(f"{path}: an {role} of the graph has no name; name it when exporting")
    dtype = ELEMENT_TYPES.get(str(arg.type))
    raw = arg.shape if isinstance(arg.shape, (list, tuple)) else []
    shape = tuple(n if isinstance(n, int) and n >= 0 else None for n in raw)
    return name, dtype, shape


def _bind(
    tensors: Sequence[Tensor], metadata: Mapping[str, str], role: str, notes: list[str]
) -> tuple[list[Slot], list[Variable], list[str]]:
    """The slots and variables of the graph's inputs or outputs, and the names guessed."""
    packed = [t for t in tensors if _columns(t[2]) is not None and (_columns(t[2]) or 0) > 1]
    # x0.., y0.. for the one tensor of columns (the one output); else named after the tensor
    alone = len(packed) == 1 and (role == "input" or len(tensors) == 1)
    slots, variables, guessed = [], [], []
    for name, dtype, shape in tensors:
        assert dtype is not None
        batched = bool(shape) and shape[0] is None
        columns = _columns(shape)
        if columns is not None and columns > 1:
            names = _metadata_names(metadata, name, role, columns, single=len(packed) == 1)
            if names is None:
                prefix = ("x" if role == "input" else "y") if alone else f"{name}_"
                names = [f"{prefix}{i}" for i in range(columns)]
                guessed += names
            elif len(names) != columns:
                notes.append(
                    f"the graph's metadata names {len(names)} columns of {role} {name!r}, "
                    f"which has {columns}: names guessed instead"
                )
                names = [f"{name}_{i}" for i in range(columns)]
                guessed += names
            slots.append(Slot(name, dtype, shape, batched, variables=tuple(names)))
            variables += [_scalar(n, dtype, role) for n in names]
        else:
            row = shape[1:] if batched else shape
            if columns == 1:  # [N, 1]: one scalar, in a column
                slots.append(Slot(name, dtype, shape, batched, variables=(name,)))
                variables.append(_scalar(name, dtype, role))
            elif not row:  # [N], or one value
                slots.append(Slot(name, dtype, shape, batched, variable=name))
                variables.append(_scalar(name, dtype, role))
            else:
                slots.append(Slot(name, dtype, shape, batched, variable=name))
                variables.append(ArrayVariable(name=name, shape=row, dtype=dtype))
    return slots, variables, guessed


def _columns(shape: tuple[int | None, ...]) -> int | None:
    """k for a tensor of k scalar columns (`[N, k]`, or `[1, k]` without a batch axis), else None."""
    if len(shape) == 2 and shape[1] is not None and (shape[0] is None or shape[0] == 1):
        return shape[1]
    return None


def _metadata_names(
    metadata: Mapping[str, str], tensor: str, role: str, columns: int, *, single: bool
) -> list[str] | None:
    """The column names the graph's metadata gives a tensor, if any."""
    text = metadata.get(f"names:{tensor}")
    if text is None and single:
        text = metadata.get(f"{role}_names")
    if text is None:
        return None
    try:
        names = json.loads(text)
    except ValueError:
        names = [part.strip() for part in text.split(",")]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        return [""] * (columns + 1)  # unusable: reported as a count mismatch
    return names


def _scalar(name: str, dtype: str, role: str) -> Variable:
    """A scalar variable of a tensor's element type; an input gets a default to review."""
    default: Any
    cls: type[Variable]
    if dtype.startswith("float"):
        cls, default = ScalarVariable, 0.0
    elif dtype == "bool":
        cls, default = BoolVariable, False
    elif dtype == "str":
        cls, default = StrVariable, ""
    else:
        cls, default = IntVariable, 0
    return cls(name=name, default=default if role == "input" else None)


def _describe(slot: Slot) -> str:
    """A slot as the command prints it: `x0, x1 <- X [N, 2] float32`."""
    dims = ", ".join(
        ("N" if i == 0 and slot.batched else "?") if n is None else str(n)
        for i, n in enumerate(slot.shape)
    )
    return f"{listed(list(slot.names))} <- tensor {slot.name!r} [{dims}] {slot.dtype}"
