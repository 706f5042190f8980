"""The Open Inference Protocol (KServe v2 REST) of a model's HTTP app: one tensor per variable,
named after it, its first dimension the input sets of the request.

A scalar input of a request for N input sets is a tensor of shape [N] (or [N, 1]); an array
input of shape (a, b) is one of [N, a, b]. The data is JSON (flat in row-major order, or nested
lists), or raw little-endian bytes after the JSON header (the binary tensor extension that
Triton's clients send by default: the `Inference-Header-Content-Length` header gives the size of
the JSON part, each input's `binary_data_size` parameter the size of its bytes). Outputs come
back the same way, as binary data when the request asks (`binary_data_output`, or an output's
`binary_data` parameter). A distribution output is one tensor per parameter, named
`output.parameter` (`y.mean`, `y.covariance_matrix`); a distribution input cannot be sent here
(it takes its default; use /v1/evaluate to give it).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.responses import Response

from ..model import Model
from ..spec import (
    MAX_DIMENSIONS,
    ArrayVariable,
    BoolVariable,
    DistributionVariable,
    EnumVariable,
    IntVariable,
    ScalarVariable,
    StrVariable,
    Variable,
    parse_json,
)
from ._wire import JSON, Refused, json_bytes, plain

HEADER_LENGTH = "inference-header-content-length"
"""The request and response header of the binary tensor extension: the JSON part's size."""

DATATYPES = {
    "float64": "FP64",
    "float32": "FP32",
    "float16": "FP16",
    "int64": "INT64",
    "int32": "INT32",
    "int16": "INT16",
    "int8": "INT8",
    "uint64": "UINT64",
    "uint32": "UINT32",
    "uint16": "UINT16",
    "uint8": "UINT8",
    "bool": "BOOL",
    "str": "BYTES",
}
"""The protocol's datatype of each element type a variable may hold."""

_NUMPY = {datatype: np.dtype(name) for name, datatype in DATATYPES.items() if name != "str"}
_NUMERIC = {datatype for datatype, dtype in _NUMPY.items() if dtype.kind in "iuf"}
_MAX_TENSOR = 2**40
"""More values than any tensor of a request can carry (its body is far smaller)."""
_HINT = (
    'send {"inputs": [{"name": INPUT, "shape": [N], "datatype": "FP64", "data": [...]}, ...]}, '
    "one tensor per input; see GET /v2/models/MODEL for the names, datatypes and shapes"
)


@dataclass
class InferRequest:
    """An infer request decoded: its input sets (a column of values per input), and how to
    answer it."""

    columns: dict[str, list[Any]]
    """The input sets: a value per set, by input name (each as long as the others)."""
    size: int
    """How many input sets."""
    id: str | None = None
    outputs: list[str] | None = None
    """The outputs asked for, in order (None: all)."""
    binary: set[str] = field(default_factory=set)
    """The outputs to send as binary data."""


def server_metadata(version: str) -> dict[str, Any]:
    """The answer of `GET /v2`."""
    return {"name": "modelcrate", "version": version, "extensions": ["binary_tensor_data"]}


def model_metadata(model: Model) -> dict[str, Any]:
    """The answer of `GET /v2/models/NAME`: the tensors of the inputs and outputs."""
    return {
        "name": model.name,
        "versions": [str(model.version)],
        "platform": "modelcrate",
        "inputs": [
            _metadata(v.name, v)
            for v in model.spec.inputs
            if not isinstance(v, DistributionVariable)
        ],
        "outputs": [_metadata(name, v) for name, (v, _) in output_tensors(model).items()],
    }


def _metadata(name: str, variable: Variable) -> dict[str, Any]:
    shape: list[int] = [-1]
    if isinstance(variable, ArrayVariable):
        dims = variable.shape
        if dims is None:
            dims = (None, None) if variable.kind == "image" else (None,)
        shape += [-1 if n is None else n for n in dims]
    elif isinstance(variable, DistributionVariable):
        shape.append(-1)
    return {"name": name, "datatype": _datatype(variable), "shape": shape}


def output_tensors(model: Model) -> dict[str, tuple[Variable, str | None]]:
    """The output tensors, in order: each name, with its variable and, for a distribution, the
    parameter it carries (`y.mean`; `y[mean]` if another output is named `y.mean`). A
    distribution of a type whose parameters are not known is not sent (use /v1/evaluate)."""
    tensors: dict[str, tuple[Variable, str | None]] = {}
    taken = set(model.spec.output_names)
    for variable in model.spec.outputs:
        if not isinstance(variable, DistributionVariable):
            tensors[variable.name] = (variable, None)
            continue
        for parameter in variable.parameters:
            name = f"{variable.name}.{parameter}"
            tensors[name if name not in taken else f"{variable.name}[{parameter}]"] = (
                variable,
                parameter,
            )
    return tensors


def _datatype(variable: Variable) -> str:
    if isinstance(variable, ArrayVariable):
        return DATATYPES.get(variable.dtype, "BYTES")
    if isinstance(variable, BoolVariable):
        return "BOOL"
    if isinstance(variable, IntVariable):
        return "INT64"
    if isinstance(variable, StrVariable):
        return "BYTES"
    if isinstance(variable, EnumVariable):
        kinds = {type(c) for c in variable.choices}
        if kinds == {bool}:
            return "BOOL"
        if kinds == {int}:
            return "INT64"
        return "FP64" if kinds <= {int, float} else "BYTES"
    return "FP64"


def decode(model: Model, body: bytes, header_length: str | None, max_batch: int) -> InferRequest:
    """The input sets of an infer request's body, or a `Refused` (422) saying what is wrong."""
    raw, binary = _split(body, header_length)
    try:
        loaded = parse_json(raw.decode("utf-8"), source="the request body", hint=_HINT)
    except UnicodeDecodeError:
        raise Refused(422, f"the request body is not UTF-8 JSON; {_HINT}") from None
    except Exception as exc:  # an InputError: the one line of what is wrong
        raise Refused(422, str(exc)) from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("inputs"), list):
        raise Refused(422, f"the request body must be an object with a list of inputs; {_HINT}")
    tensors = loaded["inputs"]
    if not tensors:
        raise Refused(422, f"inputs is empty; {_HINT}")
    parameters = _parameters(loaded, "the request")
    by_name = {v.name: v for v in model.spec.inputs}
    columns: dict[str, list[Any]] = {}
    size: int | None = None
    offset = 0
    for tensor in tensors:
        name, shape, datatype, data, tensor_parameters = _tensor_fields(tensor)
        variable = by_name.get(name)
        if variable is None or isinstance(variable, DistributionVariable):
            known = ", ".join(v.name for v in model.spec.inputs) or "(none)"
            raise Refused(
                422, f"no input tensor {name!r} here; the inputs of {model.name} are: {known}"
            )
        if name in columns:
            raise Refused(422, f"input {name!r} is given twice")
        if not shape:
            raise Refused(
                422, f"input {name!r}: shape must start with the number of input sets, e.g. [1]"
            )
        if size is None:
            size = shape[0]
            if not 1 <= size <= max_batch:
                raise Refused(
                    422,
                    f"input {name!r}: shape {shape} holds {size:,} input sets; send 1 to "
                    f"{max_batch:,} (the server's --max-batch)",
                )
        elif shape[0] != size:
            raise Refused(
                422,
                f"input {name!r}: shape {shape} holds {shape[0]:,} input sets, the tensors before it "
                f"{size:,}; every tensor's first dimension is the number of input sets",
            )
        _check_datatype(name, variable, datatype)
        byte_size = tensor_parameters.get("binary_data_size")
        if byte_size is not None:
            if isinstance(byte_size, bool) or not isinstance(byte_size, int) or byte_size < 0:
                raise Refused(422, f"input {name!r}: binary_data_size must be a byte count")
            if data is not None:
                raise Refused(422, f"input {name!r}: give data or binary_data_size, not both")
            if offset + byte_size > len(binary):
                raise Refused(
                    422,
                    f"input {name!r}: binary_data_size {byte_size:,} runs past the body's "
                    f"{len(binary):,} bytes of binary data",
                )
            array = _from_bytes(name, binary[offset : offset + byte_size], datatype, shape)
            column = _rows(name, variable, array)
            offset += byte_size
        elif data is None:
            raise Refused(422, f"input {name!r} has no data")
        else:
            sent = _as_sent(variable, datatype, data, shape)
            if sent is None:
                sent = _rows(name, variable, _from_json(name, data, datatype, shape))
            column = sent
        columns[name] = column
    if offset != len(binary):
        raise Refused(
            422,
            f"the body has {len(binary) - offset:,} bytes of binary data that no input's "
            "binary_data_size claims",
        )
    assert size is not None
    requested = _requested(model, loaded, parameters)
    return InferRequest(columns, size, id=_request_id(loaded), **requested)


def encode(
    model: Model, request: InferRequest, outputs: list[dict[str, Any]], warned: list[str]
) -> Response:
    """The answer to an infer request whose sets gave `outputs`."""
    every = output_tensors(model)
    tensors, chunks = [], []
    for name in request.outputs or list(every):
        variable, part = every[name]
        if part is not None:
            values = [out[variable.name][part] for out in outputs]
        else:
            values = [out[variable.name] for out in outputs]
        if name not in request.binary and _as_sent(
            variable, _datatype(variable), values, [len(values)]
        ):
            tensors.append(
                {
                    "name": name,
                    "datatype": _datatype(variable),
                    "shape": [len(values)],
                    "data": values,
                }
            )
            continue
        array = _stack(name, variable, values)
        datatype = _answer_datatype(variable, array)
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if name in request.binary:
            data = _to_bytes(array, datatype)
            tensor["parameters"] = {"binary_data_size": len(data)}
            chunks.append(data)
        else:
            flat = array.reshape(-1)
            if datatype == "BYTES":
                tensor["data"] = [str(v) for v in flat.tolist()]
            else:
                tensor["data"] = plain(flat)
        tensors.append(tensor)
    answer: dict[str, Any] = {"model_name": model.name, "model_version": str(model.version)}
    if request.id is not None:
        answer["id"] = request.id
    if warned:
        answer["parameters"] = {"warnings": "\n".join(warned)}
    answer["outputs"] = tensors
    try:
        head = json_bytes(answer)
    except ValueError:  # a float that is not finite, sent as it came: as a string, then
        for tensor in tensors:
            if "data" in tensor:
                tensor["data"] = plain(tensor["data"])
        head = json_bytes(answer)
    if not chunks:
        return Response(head, media_type=JSON)
    return Response(
        b"".join([head, *chunks]),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    given = header_length.strip()
    if not (given.isascii() and given.isdigit() and len(given) <= 12) or int(given) > len(body):
        raise Refused(
            422,
            f"the Inference-Header-Content-Length header ({header_length[:40]!r}) must be the "
            f"size of the JSON part of the body ({len(body):,} bytes in all)",
        )
    size = int(given)
    return body[:size], body[size:]


def _parameters(node: dict[str, Any], where: str) -> dict[str, Any]:
    parameters = node.get("parameters", {})
    if not isinstance(parameters, dict):
        raise Refused(422, f"{where}: parameters must be an object")
    return parameters


def _tensor_fields(tensor: Any) -> tuple[str, list[int], str, Any, dict[str, Any]]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise Refused(422, f"each input must be an object with a name; {_HINT}")
    name = tensor["name"]
    shape, datatype = tensor.get("shape"), tensor.get("datatype")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise Refused(422, f"input {name!r}: shape must be a list of sizes, e.g. [1] or [2, 3]")
    if len(shape) > MAX_DIMENSIONS + 1:
        raise Refused(
            422,
            f"input {name!r}: shape has {len(shape)} dimensions; at most {MAX_DIMENSIONS + 1} "
            "(the input sets, then the variable's own)",
        )
    if math.prod(max(n, 1) for n in shape) > _MAX_TENSOR:  # at most 33 factors: quick
        raise Refused(
            422, f"input {name!r}: shape {str(shape)[:80]} is larger than a request holds"
        )
    if not isinstance(datatype, str) or (datatype not in _NUMPY and datatype != "BYTES"):
        known = ", ".join([*_NUMPY, "BYTES"])
        shown = repr(datatype) if isinstance(datatype, str) else "missing or not text"
        raise Refused(422, f"input {name!r}: datatype {shown[:40]} is not one of {known}")
    return name, shape, datatype, tensor.get("data"), _parameters(tensor, f"input {name!r}")


_AS_SENT = {
    "FP64": (ScalarVariable, frozenset({float, int})),
    "INT64": (IntVariable, frozenset({int})),
    "BOOL": (BoolVariable, frozenset({bool})),
}
"""The datatype of a scalar input's tensor whose JSON values need no conversion, by variable."""


def _as_sent(variable: Variable, datatype: str, data: Any, shape: list[int]) -> list[Any] | None:
    """A scalar input's values as they came, one per input set, when numpy would change
    nothing (the variable checks them as it does any value); else None."""
    kind = _AS_SENT.get(datatype)
    if (
        kind is None
        or type(variable) is not kind[0]
        or len(shape) != 1
        or not isinstance(data, list)
        or len(data) != shape[0]
        or not kind[1].issuperset(map(type, data))
    ):
        return None
    return data


def _check_datatype(name: str, variable: Variable, datatype: str) -> None:
    expected = _datatype(variable)
    if isinstance(variable, EnumVariable):
        return  # its choices say which values fit, whatever their datatype
    numeric = expected in _NUMERIC and (not isinstance(variable, ArrayVariable) or variable.numeric)
    if datatype == expected or (numeric and datatype in _NUMERIC):
        return
    raise Refused(422, f"input {name!r}: datatype {datatype}, but the input takes {expected}")


def _from_json(name: str, data: Any, datatype: str, shape: list[int]) -> np.ndarray:
    if not isinstance(data, list):
        raise Refused(422, f"input {name!r}: data must be a list of values, e.g. [0.5]")
    flat = _flatten(data)
    if len(flat) != math.prod(shape):
        raise Refused(
            422,
            f"input {name!r}: shape {shape} holds {math.prod(shape):,} values, data has {len(flat):,}",
        )
    kinds = set(map(type, flat))
    if datatype == "BYTES":
        if not kinds <= {str}:
            raise Refused(422, f"input {name!r}: BYTES data must be strings")
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    if datatype == "BOOL":
        if not kinds <= {bool}:
            raise Refused(422, f"input {name!r}: BOOL data must be true or false")
    elif not kinds <= ({int} if datatype[0] in "IU" else {int, float}):
        what = "integers" if datatype[0] in "IU" else "numbers"
        raise Refused(422, f"input {name!r}: {datatype} data must be {what}")
    try:
        with np.errstate(over="ignore"):  # a float beyond FP16/FP32: refused just below
            array = np.array(flat, dtype=_NUMPY[datatype])
    except OverflowError:
        raise Refused(422, f"input {name!r}: a value does not fit {datatype}") from None
    if datatype in ("FP16", "FP32"):
        lost = np.isinf(array) & np.isfinite(np.array(flat, dtype=float))
        if lost.any():
            raise Refused(422, f"input {name!r}: a value does not fit {datatype}")
    return array.reshape(shape)


def _flatten(data: list[Any]) -> list[Any]:
    if list not in set(map(type, data)):  # flat already (JSON makes no subclass of list)
        return data
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _from_bytes(name: str, data: bytes, datatype: str, shape: list[int]) -> np.ndarray:
    count = math.prod(shape)
    if datatype == "BYTES":
        items, at = [], 0
        while at < len(data):
            if at + 4 > len(data):
                raise Refused(422, f"input {name!r}: BYTES data ends inside an element's length")
            (length,) = struct.unpack_from("<I", data, at)
            at += 4
            if at + length > len(data):
                raise Refused(422, f"input {name!r}: BYTES data ends inside an element")
            try:
                items.append(data[at : at + length].decode("utf-8"))
            except UnicodeDecodeError:
                raise Refused(422, f"input {name!r}: an element is not UTF-8 text") from None
            at += length
        if len(items) != count:
            raise Refused(
                422,
                f"input {name!r}: shape {shape} holds {count:,} values, data has {len(items):,}",
            )
        array = np.empty(count, dtype=object)
        array[:] = items
        return array.reshape(shape)
    dtype = _NUMPY[datatype]
    if len(data) != count * dtype.itemsize:
        raise Refused(
            422,
            f"input {name!r}: shape {shape} of {datatype} takes {count * dtype.itemsize:,} bytes, "
            f"binary_data_size gives {len(data):,}",
        )
    if datatype == "BOOL" and data and max(data) > 1:
        raise Refused(422, f"input {name!r}: BOOL bytes must be 0 or 1")
    return np.frombuffer(data, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def _rows(name: str, variable: Variable, array: np.ndarray) -> list[Any]:
    """The value of each input set in a tensor: numbers or text for a scalar variable, arrays
    (without the first dimension) for an array variable."""
    if isinstance(variable, ArrayVariable):
        if array.dtype == object:  # text: lists, which the variable checks and converts
            return [row.tolist() if isinstance(row, np.ndarray) else row for row in array]
        return [row.copy() for row in array]  # each set its own, as the model may change it
    if array.shape[1:] not in ((), (1,)):
        raise Refused(
            422,
            f"input {name!r} takes one value per input set: shape [N] or [N, 1], got "
            f"{list(array.shape)}",
        )
    return array.reshape(-1).tolist()


def _request_id(loaded: dict[str, Any]) -> str | None:
    given = loaded.get("id")
    if given is None:
        return None
    if not isinstance(given, str):
        raise Refused(422, "the request's id must be a string")
    return given


def _requested(model: Model, loaded: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    every = list(output_tensors(model))
    binary_default = parameters.get("binary_data_output", False) is True
    asked = loaded.get("outputs") or None  # none named: all
    if asked is None:
        return {"outputs": None, "binary": set(every) if binary_default else set()}
    if not isinstance(asked, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in asked
    ):
        raise Refused(422, 'outputs must be a list of objects like {"name": OUTPUT}')
    names, binary = [], set()
    for output in asked:
        name = output["name"]
        if name not in every:
            known = ", ".join(every) or "(none)"
            raise Refused(
                422, f"no output tensor {name!r} here; the outputs of {model.name} are: {known}"
            )
        if name not in names:
            names.append(name)
        flag = _parameters(output, f"output {name!r}").get("binary_data", binary_default)
        if flag is True:
            binary.add(name)
    return {"outputs": names, "binary": binary}


def _stack(name: str, variable: Variable, values: list[Any]) -> np.ndarray:
    if isinstance(variable, (ArrayVariable, DistributionVariable)):
        arrays = [np.asarray(v) for v in values]
        if len({a.shape for a in arrays}) > 1:
            shapes = ", ".join(sorted({str(a.shape) for a in arrays}))
            raise Refused(
                500,
                f"output {name!r} has arrays of different shapes across the input sets "
                f"({shapes}), which one tensor cannot hold; ask for one input set per request",
            )
        return np.stack(arrays)
    if _datatype(variable) == "BYTES":
        array = np.empty(len(values), dtype=object)
        array[:] = [str(v) for v in values]
        return array
    return np.asarray(values)


def _answer_datatype(variable: Variable, array: np.ndarray) -> str:
    if isinstance(variable, ArrayVariable):
        return DATATYPES.get(array.dtype.name, "BYTES") if array.dtype.kind != "U" else "BYTES"
    if isinstance(variable, DistributionVariable):
        return "FP64"
    return _datatype(variable)


def _to_bytes(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for item in array.reshape(-1).tolist():
            encoded = str(item).encode("utf-8")
            parts += [struct.pack("<I", len(encoded)), encoded]
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=_NUMPY[datatype].newbyteorder("<")).tobytes()


def infer_schemas(model: Model, max_batch: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schemas of an infer request and of its JSON answer (for the OpenAPI document)."""
    datatypes = [*_NUMPY, "BYTES"]
    size = {"type": "integer", "minimum": 0}
    sets = {"type": "integer", "minimum": 1, "maximum": max_batch}
    parameters = {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    }
    request = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": parameters,
            "inputs": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"enum": [v.name for v in model.spec.inputs]},
                        "shape": {
                            "type": "array",
                            "prefixItems": [sets],
                            "items": size,
                            "minItems": 1,
                        },
                        "datatype": {"enum": datatypes},
                        "parameters": parameters,
                        "data": {"type": "array"},
                    },
                    "required": ["name", "shape", "datatype", "data"],
                },
            },
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "parameters": parameters},
                    "required": ["name"],
                },
            },
        },
        "required": ["inputs"],
    }
    answer = {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": parameters,
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "shape": {"type": "array", "items": size},
                        "datatype": {"enum": datatypes},
                        "parameters": parameters,
                        "data": {"type": "array"},
                    },
                    "required": ["name", "shape", "datatype"],
                },
            },
        },
        "required": ["model_name", "outputs"],
    }
    return request, answer
