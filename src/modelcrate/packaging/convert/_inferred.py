"""What a kind of artifact found in a file: its tensors (slots), the variables they carry, what
was guessed, and how to call the artifact directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime import Slot
from ...spec import Variable

RunArtifact = Callable[[Mapping[str, np.ndarray], Sequence[str]], list[np.ndarray]]
"""The artifact called directly (`session.run`, `predict`): input arrays by slot name, the
output slots wanted, their arrays."""

TOLERANCES: dict[str, dict[str, float]] = {
    "float16": {"rtol": 1e-3, "atol": 1e-4},
    "float32": {"rtol": 1e-5, "atol": 1e-6},
    "float64": {"rtol": 1e-9, "atol": 1e-12},
}
"""How closely the package's outputs must match the artifact's own, by the output's element type."""


@dataclass(frozen=True)
class Inferred:
    """What a kind of artifact says about one file."""

    kind: str
    """The kind's name, as the binding file records it: "onnx", "sklearn", "torchscript" or
    "lume-torch"."""
    file_name: str
    """The artifact's file name inside the package (`model.onnx`, `model.skops`, `model.pt`,
    `lume_model.yml`)."""
    summary: str
    """What it is, in a few words: "an ONNX graph, run with onnxruntime"."""
    inputs: tuple[Slot, ...]
    outputs: tuple[Slot, ...]
    input_variables: tuple[Variable, ...]
    output_variables: tuple[Variable, ...]
    run: RunArtifact
    guessed: frozenset[str] = frozenset()
    """Variable names made up here (`x0`, `y`), not read from the artifact."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """How the runtime loads it (the binding file's `options`)."""
    requirements: tuple[str, ...] = ()
    """What a packaged model of this kind needs at run time (its extra dependencies)."""
    described: tuple[tuple[str, str], ...] = ()
    """What was read from the artifact, as (label, text) lines for the command to print."""
    notes: tuple[str, ...] = ()
    """What the user should know or review beyond names, ranges and units."""
    declared: bool = False
    """The artifact declares its variables' defaults, ranges and units (a lume-torch config)."""
    contents: bytes | None = None
    """What the package's artifact file holds, when not a copy of the file converted (a
    lume-torch config whose paths name the files copied beside it)."""
    files: Mapping[str, Path] = field(default_factory=dict)
    """Other files the package ships beside the artifact: name in the package -> file copied."""

    def renamed(self, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> Inferred:
        """The same artifact with its input and output variables renamed (old name -> new name)
        in their slots: each role apart, since an input and an output may share a name that
        only one of them keeps."""

        def slots(found: tuple[Slot, ...], names: Mapping[str, str]) -> tuple[Slot, ...]:
            def slot(s: Slot) -> Slot:
                if s.variables:
                    return replace(s, variables=tuple(names.get(n, n) for n in s.variables))
                return replace(s, variable=names.get(str(s.variable), s.variable))

            return tuple(map(slot, found))

        return replace(
            self,
            inputs=slots(self.inputs, inputs),
            outputs=slots(self.outputs, outputs),
            guessed=frozenset(n for n in self.guessed if n not in {**inputs, **outputs}),
        )

    def tolerance(self) -> dict[str, dict[str, float]]:
        """For each output variable of a floating-point tensor, how closely to compare it."""
        found = {}
        for slot in self.outputs:
            if slot.dtype in TOLERANCES:
                found.update({name: TOLERANCES[slot.dtype] for name in slot.names})
        return found


def listed(names: Sequence[str], limit: int = 6) -> str:
    """Names for a message: `a, b, c`, or the first few and how many more."""
    shown = ", ".join(repr(n) if not n.isidentifier() else n for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def reason(exc: BaseException) -> str:
    """Another library's error as a short clause on one line (never just its class name)."""
    text = " ".join(str(exc).split())
    if len(text) > 240:
        text = text[:237] + "..."
    return text or "no reason given"
