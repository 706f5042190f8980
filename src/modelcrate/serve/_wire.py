"""What the routes of a model's HTTP app share: a refusal and its error answer, and values as
JSON (arrays as nested lists, floats that are not finite as strings)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

REASON_WIDTH = 500
"""The longest error text an answer carries."""

JSON = "application/json"

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class Refused(Exception):
    """A request answered with an error: its HTTP status and the one-line reason."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})


def plain(value: Any) -> Any:
    """A value as JSON (an output, a range): arrays as nested lists, numpy scalars as numbers,
    floats that are not finite as the strings "NaN", "Infinity" and "-Infinity" (as protobuf's
    JSON writes them), since JSON has no such numbers."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return plain(value.astype(object).tolist())
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else _NON_FINITE[value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


_ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
"""orjson refusing, as `json` does, what is not plain JSON (a subclass of str or dict too)."""


def json_bytes(document: Any) -> bytes:
    """`document` (plain values) as compact JSON, or the `TypeError` or `ValueError` of a value
    that is not plain (an array, a numpy number, a float that is not finite). orjson writes it
    when it can: it writes NaN as null, so an answer with a null in it is written by `json`,
    which refuses NaN."""
    try:
        encoded = orjson.dumps(document, option=_ORJSON_STRICT)
    except TypeError:  # not plain, or what orjson does not take (an integer past 64 bits)
        pass
    else:
        if b"null" not in encoded:
            return encoded
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


def error_response(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    """The answer `{"error": reason}` with `status`, the reason cut to `REASON_WIDTH`."""
    if len(reason) > REASON_WIDTH:  # a reason that quotes a client's huge key, say
        reason = reason[: REASON_WIDTH - 1] + "…"
    return Response(
        json_bytes({"error": reason}),
        status_code=status,
        media_type=JSON,
        headers=dict(headers or {}),
    )
