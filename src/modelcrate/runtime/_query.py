"""Reading results back: query a target, load one result, the latest of a model, export.

Every function takes a target URI (or an open target) and returns `Result` documents with
arrays restored exactly (dtype and shape). `latest_result` and `load_file` are also the flow
steps that feed one model's stored result, or a data file, into another model's flow.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from .._errors import TargetError
from ..spec import excerpt
from ._result import Result, summarize
from ._targets import Target, open_target

EXPORT_FORMATS = ("json", "csv")


def _target(target: str | os.PathLike[str] | Target) -> Target:
    return target if isinstance(target, Target) else open_target(target)


def query_results(
    target: str | os.PathLike[str] | Target,
    *,
    model: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int | None = None,
) -> list[Result]:
    """Results stored in `target`, oldest first, optionally of one model, in [since, until);
    with `limit`, the most recent `limit`. Times may be datetimes or text (see `parse_time`)."""
    found = _target(target).query(
        model=model, since=_time(since), until=_time(until), newest_first=True, limit=limit
    )
    return list(found)[::-1]


def load_result(target: str | os.PathLike[str] | Target, result_id: str) -> Result:
    """The result with this id (or a unique prefix of it, as `results list` shows)."""
    return _target(target).load(result_id)


def latest_result(
    target: str | os.PathLike[str] | Target,
    model: str,
    inputs: Mapping[str, Any] | None = None,
) -> Result:
    """The newest result of `model` in `target` whose inputs include `inputs` (equal values).

    A flow step: a downstream model's flow takes an upstream model's stored output this way,
    e.g. `latest_result(uri, "injector-surrogate").outputs["sigma_x"]`.
    """
    opened = _target(target)
    for result in opened.query(model=model, newest_first=True):
        if all(
            k in result.inputs and _same(result.inputs[k], v) for k, v in (inputs or {}).items()
        ):
            return result
    wanted = ", ".join(f"{k}={summarize(v)}" for k, v in (inputs or {}).items())
    with_inputs = f" with inputs {wanted}" if wanted else ""  # one line, even for arrays
    raise TargetError(
        f"{opened.name}: no result of model {model!r}{with_inputs}; run {model} first "
        "or check the target and the model name"
    )


def _same(stored: object, wanted: object) -> bool:
    if isinstance(stored, np.ndarray) or isinstance(wanted, np.ndarray):
        return bool(np.array_equal(np.asarray(stored), np.asarray(wanted)))
    return bool(stored == wanted)


def export_results(results: Iterable[Result], format: str = "json") -> str:
    """Results as text: `json` (a list of documents, arrays with dtype and shape, so they load
    back exactly) or `csv` (one row per result; an array cell holds its values as a JSON list)."""
    results = list(results)
    if format == "json":
        return json.dumps([r.to_document() for r in results], indent=1, allow_nan=False) + "\n"
    if format != "csv":
        raise TargetError(f"export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}")
    inputs = _keys(r.inputs for r in results)
    outputs = _keys(r.outputs for r in results)
    lines: list[str] = []
    header = ["id", "model", "version", "created", "flow_run_id", "fingerprint", "dirty", "key"]
    header += [f"input:{k}" for k in inputs] + [f"output:{k}" for k in outputs]
    lines.append(_csv_line([_inert(cell) for cell in header]))
    for r in results:
        cells = [_inert(c) for c in (r.hash, r.model, r.version, r.created.isoformat())]
        cells += [_inert(r.flow_run_id or ""), r.fingerprint or ""]
        cells += ["" if r.dirty is None else str(r.dirty).lower(), r.key]
        cells += [_cell(r.inputs.get(k)) for k in inputs] + [
            _cell(r.outputs.get(k)) for k in outputs
        ]
        lines.append(_csv_line(cells))
    return "".join(lines)


def _csv_line(cells: list[str]) -> str:
    """One CSV record ending in a newline. The writer's terminator is CRLF so that it quotes
    every cell holding a CR (with LF alone, a lone CR in a cell would start a new row)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + "\n"


def _keys(mappings: Iterable[Mapping[str, object]]) -> list[str]:
    keys: dict[str, None] = {}
    for mapping in mappings:
        keys.update(dict.fromkeys(mapping))
    return list(keys)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, dict)):
        return _inert(json.dumps(value, default=_plain))
    return _inert(str(value))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _inert(text: str) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula (`=`, `+`, `-`, `@`,
    a tab or a carriage return) gets a leading `'`, unless it is a number such as -1.5."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from text: ISO 8601 (`2026-11-01`, `2026-11-01T08:00`, with or without
    an offset; without one it is local time) or an age (`30m`, `12h`, `7d`, `2w` ago)."""
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2).lower()
        try:
            return (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise TargetError(
                f"time {excerpt(text, 40)}: an age that long reaches before the year 1; "
                "give a shorter age or a date like 2026-11-01"
            ) from None
    iso = text.strip()
    if iso.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not take the Z suffix
        iso = iso[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise TargetError(
            f"time {excerpt(text, 40)}: write a date or time like 2026-11-01 or 2026-11-01T08:00, "
            "or an age like 12h or 7d"
        ) from None
    try:
        moment = moment if moment.tzinfo else moment.astimezone()
        moment.astimezone(timezone.utc)  # targets compare in UTC: it must exist there too
        return moment
    except (OverflowError, ValueError, OSError):  # the calendar's first/last day
        raise TargetError(
            f"time {excerpt(text, 40)}: out of the range of dates; give a date between 0002 and 9998"
        ) from None


def _time(value: datetime | str | None) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else value
