"""The result document: what a run stores, with arrays kept exactly (dtype and shape)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeAlias, TypedDict, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
"""A value strict JSON can hold (what `encode_value` gives and `json.loads` returns)."""


class ResultDocument(TypedDict):
    """The JSON shape of a stored result (`Result.to_document`, `results export --format json`)."""

    id: str
    model: str
    version: str
    fingerprint: str | None
    dirty: bool | None
    flow_run_id: str | None
    created: str
    inputs: dict[str, JSONValue]
    outputs: dict[str, JSONValue]
    units: dict[str, str]
    hash: str
    key: str
    """`inputs_key` of the result (documents stored before there was one lack it)."""


_ARRAY_KEY = "__ndarray__"
_FLOAT_KEY = "__float__"
BINARY_ARRAY_MIN_SIZE = 1024
"""Arrays of at least this many elements (or with NaN or infinities) are stored as base64 bytes."""

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_PLAIN = frozenset((str, int, bool, type(None)))
"""Types whose values `encode_value` leaves as they are (exact types: not numpy's subclasses)."""


def encode_value(value: object) -> JSONValue:
    """A strict-JSON form of a value, arrays kept exactly.

    A numpy array becomes `{"__ndarray__": {dtype, shape, data}}` with `data` a list, or, for a
    large array or one holding NaN or infinities, with `base64` holding its bytes instead.
    A non-finite float becomes `{"__float__": "nan" | "inf" | "-inf"}`, which every JSON
    store (PostgreSQL JSONB, MongoDB, a file) accepts.
    """
    kind = type(value)
    if kind in _PLAIN or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
        return cast(JSONValue, value)  # the common case first: runs for every value stored
    if isinstance(value, np.ndarray):
        return {_ARRAY_KEY: _encode_array(value)}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_KEY: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return cast(JSONValue, value)  # anything else as it is: `json.dumps` refuses what is not JSON


def _encode_mapping(values: Mapping[str, object]) -> dict[str, JSONValue]:
    """`encode_value` of a mapping, typed as the JSON object it gives."""
    return {str(k): encode_value(v) for k, v in values.items()}


def keep_whole_floats(document: JSONValue) -> JSONValue:
    """`document` with each whole float of 1e16 or more written as `{"__float__": "1e+16"}`.

    For stores that keep numbers as decimals (PostgreSQL JSONB): they give `1e+16` back as
    `10000000000000000`, an int. `decode_value` reads the marked form back as the float.
    Array payloads are left alone: their dtype restores their values.
    """
    if isinstance(document, float):
        if math.isfinite(document) and document.is_integer() and abs(document) >= 1e16:
            return {_FLOAT_KEY: repr(document)}
        return document
    if isinstance(document, Mapping):
        if _ARRAY_KEY in document:
            return document
        return {k: keep_whole_floats(v) for k, v in document.items()}
    if isinstance(document, list):
        return [keep_whole_floats(v) for v in document]
    return document


def _encode_array(array: np.ndarray) -> dict[str, JSONValue]:
    head: dict[str, JSONValue] = {"dtype": array.dtype.str, "shape": list(array.shape)}
    if array.dtype.hasobject:
        return {**head, "data": [encode_value(v) for v in array.ravel().tolist()]}
    binary = array.size >= BINARY_ARRAY_MIN_SIZE or (
        array.dtype.kind in "fc" and not np.isfinite(array).all()
    )
    if binary:
        raw = np.ascontiguousarray(array).tobytes()
        return {**head, "base64": base64.b64encode(raw).decode("ascii")}
    return {**head, "data": array.ravel().tolist()}


def decode_value(value: JSONValue) -> Any:
    """The inverse of `encode_value`: arrays come back with their dtype and shape."""
    if isinstance(value, Mapping):
        if len(value) == 1 and _ARRAY_KEY in value:
            return _decode_array(value[_ARRAY_KEY])
        if len(value) == 1 and _FLOAT_KEY in value:
            text = str(value[_FLOAT_KEY])
            return _NON_FINITE.get(text) or float(text)
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


_SMALL_ARRAY_BYTES = 1 << 20
"""An array stored as a list may take this many bytes whatever its stored size."""


def _decode_array(spec: object) -> np.ndarray:
    """An array from its stored form, its size checked against the bytes stored before any
    memory is allocated (a document cannot make a reader allocate more than it holds)."""
    if not isinstance(spec, Mapping):
        raise ValueError("an array entry is not an object")
    dtype = np.dtype(spec["dtype"])
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind == "V":
        raise ValueError(f"array dtype {spec['dtype']!r} is not a plain element type")
    shape = spec["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ValueError(f"array shape {shape!r} is not a list of sizes")
    count = math.prod(shape)
    needed = count * dtype.itemsize
    if "base64" in spec:
        text = spec["base64"]
        if not isinstance(text, str):
            raise ValueError("array bytes are not base64 text")
        stored = len(text) // 4 * 3 - text[-2:].count("=")
        if needed != stored:
            raise ValueError(
                f"array of shape {tuple(shape)} and dtype {dtype} needs {needed} bytes, "
                f"{stored} are stored"
            )
        raw = base64.b64decode(text, validate=True)
        if len(raw) != needed:
            raise ValueError(f"array needs {needed} bytes, {len(raw)} are stored")
        return np.frombuffer(raw, dtype=dtype).copy().reshape(shape)
    data = spec["data"]
    if not isinstance(data, list) or len(data) != count:
        held = len(data) if isinstance(data, list) else "no list of"
        raise ValueError(f"array of shape {tuple(shape)} needs {count} values, {held} are stored")
    if needed > _SMALL_ARRAY_BYTES and needed > 64 * len(json.dumps(data)):
        raise ValueError(
            f"array of {count} values of dtype {dtype} would take {needed} bytes, "
            "far more than it stores"
        )
    if dtype.hasobject:
        return np.array([decode_value(v) for v in data], dtype=dtype).reshape(shape)
    return np.array(data, dtype=dtype).reshape(shape)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
"""One encoder for every hash (`json.dumps` with options builds a new one at each call)."""


def canonical_json(value: JSONValue) -> str:
    """Compact, key-sorted JSON of an encoded value (the form that is hashed)."""
    return _CANONICAL.encode(value)


def content_hash(
    model: str,
    version: str,
    inputs: Mapping[str, object],
    outputs: Mapping[str, object],
    fingerprint: str | None = None,
) -> str:
    """SHA-256 of (model, version, code fingerprint, inputs, outputs): equal results of the same
    code have equal hashes. Without a fingerprint (results stored before there was one), the
    hash is of the rest alone, as it was then."""
    payload: dict[str, JSONValue] = {"model": model, "version": version,
               "inputs": encode_value(inputs), "outputs": encode_value(outputs)}  # fmt: skip
    if fingerprint is not None:
        payload["code"] = fingerprint
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def inputs_key(
    model: str, version: str, inputs: Mapping[str, object], fingerprint: str | None
) -> str:
    """SHA-256 of (model, version, code fingerprint, inputs): known before a model runs, so a
    sweep can skip the input sets a target already holds (see `Target.stored_keys`).

    Unlike `content_hash` it leaves out the outputs.
    """
    encoded = _encode_mapping(inputs)
    payload: dict[str, JSONValue] = {"model": model, "version": version, "inputs": encoded}
    if fingerprint is not None:
        payload["code"] = fingerprint
    return hashlib.sha256(_CANONICAL.encode(payload).encode()).hexdigest()


class Result(BaseModel):
    """One stored evaluation of a model; `id` is the content hash, so storing it twice is a no-op."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    model: str
    version: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    units: dict[str, str] = Field(default_factory=dict)
    fingerprint: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    """SHA-256 of the model package's files (see `code_fingerprint`); None if unknown."""
    dirty: bool | None = Field(default=None, strict=True)
    """Whether those files held changes not committed to git; None if unknown."""
    flow_run_id: str | None = None
    created: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    hash: str = ""
    _key: str = PrivateAttr(default="")

    def model_post_init(self, __context: Any) -> None:
        if not self.hash:
            object.__setattr__(self, "hash", self._content_hash())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return self.to_document() == other.to_document()

    def __hash__(self) -> int:
        return hash(self.hash)

    def _content_hash(self) -> str:
        return content_hash(self.model, self.version, self.inputs, self.outputs, self.fingerprint)

    @property
    def id(self) -> str:
        """The result's identifier: its content hash."""
        return self.hash

    @property
    def key(self) -> str:
        """`inputs_key` of this result: the same for every result of these inputs and this code,
        whatever the outputs (computed at the first use; not part of `hash`)."""
        if not self._key:
            self._key = inputs_key(self.model, self.version, self.inputs, self.fingerprint)
        return self._key

    def to_document(self) -> ResultDocument:
        """The result as a JSON-ready mapping (arrays encoded with dtype and shape)."""
        return {
            "id": self.hash,
            "model": self.model,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "dirty": self.dirty,
            "flow_run_id": self.flow_run_id,
            "created": self.created.isoformat(),
            "inputs": _encode_mapping(self.inputs),
            "outputs": _encode_mapping(self.outputs),
            "units": dict(self.units),
            "hash": self.hash,
            "key": self.key,
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """The document as strict JSON text (see `encode_value` for arrays and NaN)."""
        return json.dumps(self.to_document(), indent=indent, allow_nan=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], *, verify: bool = False) -> Result:
        """Rebuild a result from `to_document` output, arrays restored exactly.

        With `verify`, a `ValueError` says when the document's `hash` (or `id`) is not the hash
        of its content, or its `key` not the key of its inputs: the document was altered, or is
        stored under another result's id. A document stored before results had a `fingerprint`
        is verified as it was hashed then; one stored before they had a `key` has none to check.
        The key is always that of the content, never taken from the document.
        """
        result = cls._from_document(doc)
        if verify:
            actual = result._content_hash()
            claimed = {doc["hash"], doc.get("id", doc["hash"])}
            if claimed != {actual}:
                raise ValueError(
                    f"its id {sorted(claimed)[0][:12]!r} is not the hash of its content "
                    f"({actual[:12]}): the document was altered"
                )
            stored_key = doc.get("key")
            if stored_key is not None and stored_key != result.key:
                raise ValueError(
                    f"its key {str(stored_key)[:12]!r} is not the key of its inputs "
                    f"({result.key[:12]}): the document was altered"
                )
        return result

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> Result:
        return cls(
            model=doc["model"],
            version=doc["version"],
            flow_run_id=doc.get("flow_run_id"),
            created=datetime.fromisoformat(doc["created"]),
            inputs=decode_value(doc["inputs"]),
            outputs=decode_value(doc["outputs"]),
            units=dict(doc.get("units") or {}),
            fingerprint=doc.get("fingerprint"),
            dirty=doc.get("dirty"),
            hash=doc["hash"],
        )


_NO_TEXT = frozenset((float, int, bool, type(None)))


def text_problem_in(result: Result) -> str | None:
    """Why a result holds text that not every target can store (a NUL or a lone surrogate in
    a name, a unit, an input or an output), or None."""
    from ..spec._variables import text_problem

    def walk(value: object, where: str) -> str | None:
        if type(value) in _NO_TEXT:  # the common case first: runs for every value stored
            return None
        if isinstance(value, str):
            problem = text_problem(value)
            return f"{where} {problem}" if problem else None
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "UO":
                return None
            value = value.ravel().tolist()
        if isinstance(value, Mapping):
            for key, item in value.items():
                found = walk(key, f"{where} key") or walk(item, f"{where}[{key!r}]")
                if found:
                    return found
        elif isinstance(value, (list, tuple)):
            for item in value:
                found = walk(item, where)
                if found:
                    return found
        return None

    fields: dict[str, object] = {"model name": result.model, "version": result.version}
    fields.update({"flow run id": result.flow_run_id or "", "units": result.units})
    fields.update({"inputs": result.inputs, "outputs": result.outputs})
    for name, value in fields.items():
        found = walk(value, name)
        if found:
            return found
    return None


def summarize(value: object) -> str:
    """A short text for a value in a table: numbers as is, arrays by shape and range."""
    if isinstance(value, np.ndarray):
        if value.size and value.dtype.kind in "fiu" and not np.isnan(value).all():
            return f"array{value.shape} {value.dtype} [{np.nanmin(value):.4g} … {np.nanmax(value):.4g}]"
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {summarize(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)
