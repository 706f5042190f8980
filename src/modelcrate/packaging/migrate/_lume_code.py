"""The Python a LUME-services template project gets from `migrate`: `lume_compat.py` (what the
old lume-model gave its model: `BaseModel`, variable classes, `variables_from_yaml`, on
modelcrate's spec), `modelcrate_model.py` (the old model behind the `Model` contract) and its
tests. Names from the user's code reach these files only as checked identifiers or through
`python_string`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from .._escape import python_string

COMPAT = "lume_compat"
ADAPTER = "modelcrate_model"
FLOW = "modelcrate_flow"
COMPAT_NAMES = frozenset(
    {
        "BaseModel",
        "variables_from_yaml",
        "Variable",
        "InputVariable",
        "OutputVariable",
        "ScalarInputVariable",
        "ScalarOutputVariable",
        "ArrayInputVariable",
        "ArrayOutputVariable",
        "ImageInputVariable",
        "ImageOutputVariable",
    }
)
"""The lume-model names `lume_compat.py` provides."""
Shape = Literal["dict", "list", "unknown"]

COMPAT_SOURCE = '''\
"""What the old lume-model (0.x) gave this package's model, on modelcrate: `BaseModel`, the
variable classes and `variables_from_yaml`, which reads a variables file of any LUME
generation. Written by `modelcrate migrate`; lume-model 0.x no longer installs beside
modelcrate, so the model's imports of it were pointed here."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from modelcrate.spec import parse_spec, plain_value


class Variable:
    """A LUME variable as the old lume-model had it: a name, a value and the declared fields."""

    def __init__(self, name: str | None = None, value: Any = None, **fields: Any) -> None:
        self.name = name
        self.value = value
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, value={self.value!r})"


class InputVariable(Variable):
    """An input variable."""


class OutputVariable(Variable):
    """An output variable."""


ScalarInputVariable = ArrayInputVariable = ImageInputVariable = InputVariable
ScalarOutputVariable = ArrayOutputVariable = ImageOutputVariable = OutputVariable


class BaseModel:
    """The old lume-model base class: a subclass sets `input_variables` and
    `output_variables` and implements `evaluate`."""

    input_variables: Any
    output_variables: Any

    def evaluate(self, input_variables: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.evaluate is not implemented")


def variables_from_yaml(
    config_file: IO[str] | str | Path,
) -> tuple[dict[str, InputVariable], dict[str, OutputVariable]]:
    """The input and output variables of a variables file (an open file or a path), by name."""
    if isinstance(config_file, (str, Path)):
        source, text = str(config_file), Path(config_file).read_text(encoding="utf-8")
    else:
        source, text = str(getattr(config_file, "name", "<variables>")), config_file.read()
    spec = parse_spec(text, source=source)
    inputs = {v.name: InputVariable(**_fields(v)) for v in spec.inputs}
    outputs = {v.name: OutputVariable(**_fields(v)) for v in spec.outputs}
    return inputs, outputs


def _fields(variable: Any) -> dict[str, Any]:
    default = plain_value(variable.default) if variable.has_default else None
    value_range = getattr(variable, "value_range", None)
    return {
        "name": variable.name,
        "value": default,
        "default": default,
        "units": variable.unit,
        "value_range": list(value_range) if value_range is not None else None,
        "is_constant": variable.read_only,
    }
'''


@dataclass(frozen=True)
class OldModel:
    """The old lume-model class: its module (dotted), its name, and how its evaluate takes its
    input variables (by name, as a list, or not known)."""

    module: str
    name: str
    shape: Shape


def evaluate_shape(tree: ast.Module, class_name: str) -> Shape:
    """How `class_name.evaluate(self, input_variables)` in `tree` uses its input variables:
    subscripted by a string or through `.items()`/`.keys()`/`.values()` (a dict by name),
    iterated or indexed by a number (a list), else unknown."""
    found: set[str] = set()
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == class_name):
            continue
        for item in node.body:
            named = isinstance(item, ast.FunctionDef) and item.name == "evaluate"
            if named and isinstance(item, ast.FunctionDef) and len(item.args.args) == 2:
                found |= _uses(item, item.args.args[1].arg)
    if len(found) == 1:
        return "dict" if "dict" in found else "list"
    return "unknown"


def _uses(function: ast.FunctionDef, parameter: str) -> set[str]:
    def named(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == parameter

    uses: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and named(node.value):
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, str):
                uses.add("dict")
            elif isinstance(index, ast.Constant) and isinstance(index.value, int):
                uses.add("list")
        elif isinstance(node, ast.Attribute) and named(node.value):
            if node.attr in ("items", "keys", "values", "get"):
                uses.add("dict")
        elif isinstance(node, (ast.For, ast.comprehension)) and named(node.iter):
            uses.add("list")
    return uses


def adapter_source(package: str, old: OldModel, variables: tuple[str, ...], dist: str) -> str:
    """`modelcrate_model.py`: a `Model` of the old class's name that loads the variables file
    (`variables`: its path inside `package`) as its spec and runs the old class's evaluate."""
    path = ", ".join(python_string(part) for part in variables)
    unused = ""
    if old.shape == "unknown":
        unused = "  # noqa: F841 (the call below needs it)"
        call = (
            "        raise NotImplementedError(\n"
            f"            {_string_lines(_manual(old), ' ' * 12)}\n"
            "        )\n"
        )
    else:
        given = "variables" if old.shape == "dict" else "list(variables.values())"
        call = f"        return _values(self.lume_model.evaluate({given}))\n"
    return f'''"""The package's lume-model model behind modelcrate's `Model` contract: plain values in
and out, checked against the variables file. Written by `modelcrate migrate`; the model's own
code stays where it was:

    {old.module}.{old.name}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from typing import Any

from modelcrate import Model, load_spec

from {package}.{COMPAT} import InputVariable
from {old.module} import {old.name} as LumeModel

try:
    __version__ = version({python_string(dist)})
except PackageNotFoundError:  # not installed: running from a source tree
    __version__ = "0+unknown"


class {old.name}(Model):
    """The lume-model {old.name}, given and giving plain values."""

    spec = load_spec(files({python_string(package)}).joinpath({path}))
    name = {python_string(dist)}
    version = __version__

    def __init__(self) -> None:
        super().__init__()
        self.lume_model = LumeModel()

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Set the old model's input variables to `inputs`, run its evaluate, and return the
        values of the output variables it gives back."""
        variables = _input_variables(self.lume_model, inputs){unused}
{call}

def _input_variables(lume_model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The old model's input variables (copies, or new ones) holding the values of `inputs`."""
    declared = getattr(lume_model, "input_variables", None) or {{}}
    if not isinstance(declared, Mapping):
        declared = {{getattr(v, "name", None): v for v in declared}}
    variables = {{}}
    for name, value in inputs.items():
        variable = copy.copy(declared[name]) if name in declared else InputVariable(name)
        variable.value = value
        variables[name] = variable
    return variables


def _values(returned: Any) -> dict[str, Any]:
    """The outputs of what the old evaluate returned: variables (a list of them, or by name),
    or plain values by name."""
    if isinstance(returned, Mapping):
        return {{str(k): getattr(v, "value", v) for k, v in returned.items()}}
    if isinstance(returned, (list, tuple)):
        return {{v.name: v.value for v in returned}}
    raise TypeError(
        f"{{LumeModel.__name__}}.evaluate returned {{type(returned).__name__}}; "
        "expected output variables (a list, or a dict by name)"
    )
'''


def _string_lines(text: str, indent: str, width: int = 72) -> str:
    """`text` as Python string literals on lines of at most about `width` characters, which
    Python joins into one (inside brackets)."""
    pieces: list[str] = []
    for word in text.split(" "):
        if pieces and len(pieces[-1]) + len(word) < width:
            pieces[-1] += " " + word
        else:
            pieces.append(word if not pieces else " " + word)
    return f"\n{indent}".join(python_string(piece) for piece in pieces)


def _manual(old: OldModel) -> str:
    return (
        f"{old.name}.evaluate takes its input variables in a way migrate could not tell "
        f"(a dict by name or a list): pass `variables` or `list(variables.values())` to "
        f"self.lume_model.evaluate in this method by hand"
    )


def manual_step(old: OldModel) -> str:
    """The report's note on an adapter whose evaluate was left to the user."""
    return _manual(old)


def tests_source(package: str, old: OldModel, dist: str) -> str:
    """tests/test_modelcrate_model.py: the model on its defaults, called directly and through
    `modelcrate run` (expected to fail while the adapter's evaluate is a manual step)."""
    imports, mark = "", ""
    if old.shape == "unknown":
        imports = "\nimport pytest\n"
        reason = _string_lines(f"a manual step: {_manual(old)}", " " * 4)
        mark = f"\npytestmark = pytest.mark.xfail(\n    reason={reason},\n    strict=False,\n)\n"
    return f'''"""{old.name} behind modelcrate's Model contract: on its defaults, called directly and
through `modelcrate run`. Written by `modelcrate migrate`."""

from __future__ import annotations

import json
import subprocess
import sys
{imports}
from {package}.{ADAPTER} import {old.name}
{mark}

def test_the_model_evaluates_its_defaults():
    outputs = {old.name}()({{}})
    assert set(outputs) == {{v.name for v in {old.name}.spec.outputs}}


def test_the_model_runs_through_modelcrate_run(tmp_path):
    command = [sys.executable, "-m", "modelcrate", "run", {python_string(dist)}]
    done = subprocess.run(
        [*command, "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    stored = [json.loads(p.read_text()) for p in tmp_path.glob("*/*.json")]
    outputs = {{v.name for v in {old.name}.spec.outputs}}
    assert stored and set(stored[0]["outputs"]) == outputs
'''
