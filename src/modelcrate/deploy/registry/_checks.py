"""What the registry accepts: names and versions it can store and show, digests, plain JSON.

Checked before the database is reached, so every database refuses the same things with the
same message (SQLite would store a name PostgreSQL refuses; PostgreSQL refuses NUL characters).
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from ..._errors import RegistryConflictError
from ._tables import NAME_LENGTH

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SHA256 = re.compile("[0-9a-f]{64}")
T = TypeVar("T")


def checked_name(what: str, value: str, *, at_sign: bool = True, limit: int = NAME_LENGTH) -> str:
    """A name or version as the registry stores it: one line of 1 to `limit` characters,
    without surrounding spaces (and without `@`, which separates MODEL@VERSION)."""
    if not isinstance(value, str) or not value.strip():
        raise RegistryConflictError(f"the {what} is empty; give one")
    if value != value.strip():
        raise RegistryConflictError(f"the {what} {value!r} starts or ends with a space; remove it")
    if _UNPRINTABLE.search(value):
        raise RegistryConflictError(
            f"the {what} {value!r} holds a line break or control character; remove it"
        )
    if not at_sign and "@" in value:
        raise RegistryConflictError(
            f"the {what} {value!r} holds '@', which separates MODEL@VERSION; remove it"
        )
    if len(value) > limit:
        raise RegistryConflictError(
            f"the {what} {value[:40]!r}… is {len(value)} characters long; "
            f"the registry keeps at most {limit}"
        )
    return value


def checked_text(what: str, value: str | None, *, limit: int = 65_535) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or re.search("[\ud800-\udfff\x00]", value):
        raise RegistryConflictError(
            f"the {what} is not text of at most {limit} characters (without NUL characters or "
            "lone surrogates); fix it"
        )
    return value


def checked_sha256(what: str, value: str) -> str:
    text = str(value).strip().lower()
    if not _SHA256.fullmatch(text):
        raise RegistryConflictError(
            f"{what} {str(value)[:70]!r} is not a SHA-256 digest (64 hexadecimal digits)"
        )
    return text


def checked_json(what: str, value: T) -> T:
    """The value as the database will give it back (JSON without NaN or infinities)."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise RegistryConflictError(
            f"the {what} cannot be stored as JSON ({exc}); give plain values (no NaN or infinity)"
        ) from None
    if re.search("[\ud800-\udfff]|\\\\u0000", text):
        raise RegistryConflictError(
            f"the {what} holds a NUL character or a lone surrogate, which databases refuse"
        )
    decoded: T = json.loads(text)
    return decoded
