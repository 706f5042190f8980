"""Sets of input values from JSON text or a JSON file (`modelcrate run --inputs`)."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from typing import Any

from .._errors import InputError
from ._files import MAX_FILE_BYTES, read_text_file, read_text_stream
from ._yaml import MAX_DEPTH, YAMLInputError, check_structure

_MAX_DIGITS = 4300  # Python's default limit of integer-string conversion
_HINT = "give an object of inputs or a list of them"

try:  # a faster JSON parser where it is installed (it comes with the serve extra)
    _orjson: Any = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - installed with the dev extra
    _orjson = None
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19
"""Nineteen digits in a row: a number orjson might read otherwise than `json` (an integer past
64 bits becomes a float there)."""


class _Refused(ValueError):
    """A JSON value this reader refuses (a duplicate key, an over-long integer)."""


def load_input_sets(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The input sets in a JSON file (`-` is standard input): an object, or a list of objects;
    raise `InputError` naming the file and what is wrong."""
    if str(path) == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream put in place of stdin
            stream = io.BytesIO(sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8", "replace"))
        text = read_text_stream(stream, name="standard input", error=InputError)
        return parse_input_sets(text, source="standard input")
    text = read_text_file(path, what="JSON file of inputs", error=InputError)
    return parse_input_sets(text, source=str(path))


def parse_input_sets(text: str, *, source: str = "<inputs>") -> list[dict[str, Any]]:
    """Input sets from JSON text: an object of inputs, or a non-empty list of them."""
    return as_input_sets(parse_json(text, source=source, hint=_HINT), source=source)


def parse_json(text: str, *, source: str = "<inputs>", hint: str = _HINT) -> Any:
    """A JSON value from untrusted text, or an `InputError` naming `source`, what is wrong and
    (`hint`) what to give: no duplicate keys, no integer too long to convert, no nesting deeper
    than the YAML reader takes."""
    try:
        loaded = _loads(text)  # the fast way, and then:
        if check_structure(loaded) != text.count(":"):
            # fewer keys than colons: a key given twice (its last value kept) or a colon in a
            # string; the slow way tells which
            loaded = json.loads(text, parse_int=_parse_int, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {hint}"
        ) from None
    except RecursionError:
        raise InputError(f"{source}: is nested more than {MAX_DEPTH} levels deep; {hint}") from None
    except (_Refused, YAMLInputError) as exc:
        raise InputError(f"{source}: {exc}; {hint}") from None
    return loaded


def as_input_sets(loaded: Any, *, source: str = "<inputs>") -> list[dict[str, Any]]:
    """A parsed JSON value as input sets: an object of inputs, or a non-empty list of them."""
    items = loaded if isinstance(loaded, list) else [loaded]
    if not items or not all(isinstance(item, dict) for item in items):
        raise InputError(f"{source}: expected an object of inputs, or a non-empty list of objects")
    return items


def _loads(text: str) -> Any:
    """`json.loads(text)` with this module's integer rule, by orjson where it gives the same
    value: it refuses what `json` reads otherwise (NaN, Infinity, a float past the largest
    double, a lone surrogate) and the rest (integers past 64 bits) never reaches it. Errors are
    `json`'s, so that messages do not depend on what is installed."""
    if _orjson is not None and _LONG_NUMBER not in _digit_runs(text):
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass  # json says what is wrong, or reads what orjson refuses
    return json.loads(text, parse_int=_parse_int)


def _digit_runs(text: str) -> bytes:
    """`text` with every ASCII digit a 0 and all else a space (in C: a few µs for 10 kB)."""
    return text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZEROS)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits is too long")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {key!r} appears twice in one object; keep one")
            seen.add(key)
    return mapping
