"""The model's variable specification: its inputs and outputs, compiled once and frozen."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ._variables import AnyVariable, Variable


class Spec(BaseModel):
    """The inputs and outputs of a model, plus the rest of the file it came from.

    Everything else (validation, JSON Schema, generated code, README tables, results) is derived
    from a `Spec`; nothing reads the variables file twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: tuple[AnyVariable, ...]
    outputs: tuple[AnyVariable, ...]
    metadata: Mapping[str, Any] = Field(default_factory=dict)
    """Other top-level keys of the file (a `model:` block, for instance), kept when rewriting."""
    source: str | None = Field(default=None, exclude=True)
    """Where the spec was loaded from, for messages."""

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        """Names of the inputs, in declaration order."""
        return tuple(v.name for v in self.inputs)

    @cached_property
    def output_names(self) -> tuple[str, ...]:
        """Names of the outputs, in declaration order."""
        return tuple(v.name for v in self.outputs)

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Names of the inputs without a default: a run must give them."""
        return tuple(v.name for v in self.inputs if not v.has_default)

    @property
    def model_name(self) -> str | None:
        """The model's name if the file declares one (`name:` or `model: {name: ...}`)."""
        model = self.metadata.get("model")
        name = self.metadata.get("name") or (
            model.get("name") if isinstance(model, Mapping) else None
        )
        return str(name) if name else None

    @property
    def model_description(self) -> str | None:
        """The model's description if the file declares one (`description:` or
        `model: {description: ...}`)."""
        model = self.metadata.get("model")
        text = self.metadata.get("description") or (
            model.get("description") if isinstance(model, Mapping) else None
        )
        return str(text) if text else None

    def input(self, name: str) -> Variable:
        """The input variable called `name` (KeyError if there is none)."""
        return _find(self.inputs, name, "input")

    def output(self, name: str) -> Variable:
        """The output variable called `name` (KeyError if there is none)."""
        return _find(self.outputs, name, "output")

    def defaults(self) -> dict[str, Any]:
        """The default value of every input that has one."""
        return {v.name: v.check(v.default) for v in self.inputs if v.has_default}

    def sample_inputs(self) -> dict[str, Any]:
        """A valid value for every input: its default, or one inside its range."""
        return {v.name: v.sample() for v in self.inputs}

    def units(self) -> dict[str, str]:
        """Unit of every variable that has one, inputs and outputs."""
        return {v.name: v.unit for v in (*self.inputs, *self.outputs) if v.unit}


def _find(variables: tuple[Variable, ...], name: str, role: str) -> Variable:
    for variable in variables:
        if variable.name == name:
            return variable
    raise KeyError(f"no {role} variable named {name!r}")
