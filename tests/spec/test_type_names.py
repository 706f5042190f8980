"""The type names a variables file may use: each loads as its kind, and the README's table lists
exactly the names the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelcrate.spec import TYPE_ALIASES, parse_spec

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "Variable types and their spellings"
ONE_OUTPUT = "output_variables:\n  y: {type: scalar}\n"
EXTRA = {"enum": ", choices: [a, b]"}  # what a kind needs besides its type

PAIRS = [(kind, alias) for kind, aliases in TYPE_ALIASES.items() for alias in aliases]


def kind_of(entry: str) -> str:
    return parse_spec(f"input_variables:\n  x: {entry}\n" + ONE_OUTPUT).input("x").kind


@pytest.mark.parametrize(("kind", "alias"), PAIRS)
def test_every_type_name_loads_as_its_kind(kind, alias):
    extra = EXTRA.get(kind, "")
    assert kind_of(f"{{type: {alias}{extra}}}") == kind
    assert kind_of(f"{{variable_type: {alias.upper()}{extra}}}") == kind
    camel = "ND" if alias == "nd" else alias.capitalize()
    assert kind_of(f"{{variable_class: {camel}Variable{extra}}}") == kind
    assert kind_of(f"{{variable_class: Torch{camel}InputVariable{extra}}}") == kind


def readme_table() -> list[list[str]]:
    """The rows of the table under the README heading, as lists of cells."""
    lines = README.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if re.fullmatch(rf"#+ {HEADING}", line.strip())]
    assert starts, f"README.md has no heading {HEADING!r} with the table of type names"
    rows = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not re.fullmatch(r"[|\s:-]+", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header row


def test_the_readme_lists_exactly_the_type_names_the_loader_accepts():
    listed = {}
    classes = {}
    for row in readme_table():
        kind = row[0].strip("`")
        listed[kind] = tuple(re.findall(r"`([^`]+)`", row[1]))
        classes[kind] = re.findall(r"`([^`]+)`", row[2])
    assert listed == dict(TYPE_ALIASES)
    for kind, names in classes.items():  # the variable_class column reads as it says
        assert names, f"README lists no variable_class for {kind}"
        for name in names:
            assert kind_of(f"{{variable_class: {name}{EXTRA.get(kind, '')}}}") == kind, name
