"""Sets of input values from JSON text or a JSON file (`modelcrate run --inputs`)."""

from __future__ import annotations

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
        loaded = json.loads(text, parse_int=_parse_int)  # the fast way, and then:
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
