"""One escaping rule per language of a generated project, and the template filters that apply them.

Every value that comes from a user (a variable's name, unit or description; an option such as the
author or the description) reaches a generated file through one of these functions: a Python or
TOML or YAML string literal, a Markdown text, code span or table cell, a JSON string (the
Dockerfile's exec form) or JSON text, a shell word, or a single-line comment. The project template names
`modelcrate.packaging._escape.TemplateFilters` in its `_jinja_extensions`, and template releases
kept for `modelcrate update` name it too: keep that name and the filter names stable.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Any

import yaml
from jinja2 import Environment
from jinja2.ext import Extension

_PYTHON_ESCAPES = {"\\": "\\\\", '"': '\\"'}
_TOML_SHORT = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_MARKDOWN_SPECIAL = frozenset("\\`|<>[]")
_LIST_NUMBER = re.compile(r"(\d+)[.)]")


def python_string(text: str) -> str:
    """A double-quoted Python string literal that evaluates to `text` exactly."""
    out = []
    for ch in str(text):
        if ch in _PYTHON_ESCAPES:
            out.append(_PYTHON_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:  # control, invisible and surrogate characters as \n, \x00, \u2028, \ud800
            out.append(repr(ch)[1:-1])
    return '"' + "".join(out) + '"'


def docstring_text(text: str) -> str:
    """`text` escaped to sit inside a triple-quoted Python docstring."""
    return python_string(text)[1:-1]


def python_float(value: float) -> str:
    """Python source of a float, infinities and NaN included (`float("inf")`)."""
    value = float(value)
    if value != value:
        return 'float("nan")'
    if value in (float("inf"), float("-inf")):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value)


def one_line(text: str) -> str:
    """`text` on one printable line, for a comment in any language: control and invisible
    characters are shown as Python escapes (`\\n`), so nothing can end the comment."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def toml_string(text: str) -> str:
    """A TOML basic string that a TOML parser reads back as `text` exactly."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"{text!r}: a lone surrogate cannot be written in TOML")
        if ch in _PYTHON_ESCAPES:
            out.append(_PYTHON_ESCAPES[ch])
        elif ch in _TOML_SHORT:
            out.append(_TOML_SHORT[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar that a YAML loader reads back as `text` exactly."""
    dumped = yaml.dump(
        str(text), Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=1 << 30
    )
    return dumped.removesuffix("\n...\n").strip("\n")


def json_string(text: str) -> str:
    """A JSON string (a Dockerfile exec-form argument)."""
    return json.dumps(str(text))


def json_text(value: Any) -> str:
    """`value` as JSON on one printable line: a character that is not printable (a control or
    invisible one, a line separator) is written as its `\\u` escape, which JSON reads back."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "".join(ch if ch.isprintable() else _json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON writes a character beyond the first plane
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def shell_word(text: str) -> str:
    """One word of a POSIX shell command line that the shell reads back as `text` exactly
    (single-quoted when needed); on one line, so text that is not printable is refused."""
    text = str(text)
    if not text.isprintable():
        raise ValueError(f"{text!r}: a shell word on one line cannot hold this character")
    return shlex.quote(text)


def _printable(text: str) -> str:
    """Control and invisible characters (newlines too) as spaces: one line of Markdown."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


def markdown_text(text: str) -> str:
    """Plain text inside a Markdown line or table cell: no HTML, link, code or cell boundary."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in _printable(text))


def markdown_line(text: str) -> str:
    """A line of Markdown text (a heading's or a paragraph's) that starts no other block."""
    escaped = markdown_text(text)
    numbered = _LIST_NUMBER.match(escaped)
    if numbered:  # `1. x` would start a list
        return numbered[1] + "\\" + escaped[len(numbered[1]) :]
    return "\\" + escaped if escaped.startswith(("#", "-", "+", "=", ">")) else escaped


def markdown_code(text: str) -> str:
    """A Markdown code span showing `text` literally, whatever backticks it holds."""
    text = _printable(text)
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def markdown_code_cell(text: str) -> str:
    """A code span inside a Markdown table cell (the table's `|` escaped as tables read it)."""
    return markdown_code(text).replace("|", "\\|")


FILTERS: dict[str, Callable[[Any], str]] = {
    "python": python_string,
    "docstring": docstring_text,
    "comment": one_line,
    "toml": toml_string,
    "yaml": yaml_string,
    "json": json_string,
    "shell": shell_word,
    "markdown": markdown_line,
    "markdown_code": markdown_code,
}


class TemplateFilters(Extension):
    """The escaping filters of the project template: `{{ author | toml }}`, `{{ name | python }}`."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
