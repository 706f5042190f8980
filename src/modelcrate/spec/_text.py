"""Values from text (command-line `--set NAME=VALUE`), parsed by each variable's kind."""

from __future__ import annotations

import math
from typing import Any

import yaml

from ._variables import Variable

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_text(variable: Variable, text: str) -> Any:
    """The value `text` means for `variable`; raise `ValueError` with what was expected."""
    kind = variable.kind
    stripped = text.strip()
    if kind in ("str", "enum"):
        return text
    if kind == "bool":
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ValueError(f"expects true or false, got {text!r}")
    if kind in ("scalar", "int"):
        try:
            number = float(stripped)
        except ValueError:
            raise ValueError(f"expects a number, got {text!r}") from None
        if kind == "int":
            if not math.isfinite(number) or number != int(number):
                raise ValueError(f"expects an integer, got {text!r}")
            return int(number)
        return number
    try:  # arrays, images and distributions: JSON (or YAML flow) text
        return yaml.safe_load(stripped)
    except yaml.YAMLError:
        raise ValueError(f"expects a list such as [1, 2, 3], got {text!r}") from None
