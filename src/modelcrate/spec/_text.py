"""Values from text (command-line `--set NAME=VALUE`), parsed by each variable's kind."""

from __future__ import annotations

import math
from typing import Any

from ._variables import Variable, excerpt
from ._yaml import YAMLInputError, load_yaml

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
        raise ValueError(f"expects true or false, got {excerpt(text)}")
    if kind == "int" and len(stripped) <= 40:
        try:
            return int(stripped)
        except ValueError:
            pass  # 1e3 or 2.0 are integers too
    if kind in ("scalar", "int"):
        expected = "an integer" if kind == "int" else "a number"
        try:
            number = float(stripped)
        except ValueError:
            raise ValueError(f"expects {expected}, got {excerpt(text)}") from None
        if kind == "int":
            if not math.isfinite(number) or number != int(number):
                raise ValueError(f"expects {expected}, got {excerpt(text)}")
            return int(number)
        return number
    try:  # arrays, images and distributions: JSON (or YAML flow) text
        return load_yaml(stripped)
    except YAMLInputError as exc:
        raise ValueError(f"expects a list such as [1, 2, 3], got {excerpt(text)} ({exc})") from None
