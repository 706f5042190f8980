"""Running a TorchScript module with torch, for `ArtifactModel` (imported only for this kind).

The module is loaded on the CPU and called in inference mode. Its binding's options say how the
input slots are passed (`arguments`: slot names, one positional argument each, in order) and
how its result is read (`returns`: "tensor", "tuple" or "dict"; `results`: the output slots, in
the order of the tuple, or the one slot of a tensor).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ProjectError

RETURNS = ("tensor", "tuple", "dict")
"""What the module's forward gives: one tensor, a tuple (or list) of tensors, a dict of them."""


class TorchRunner:
    """A TorchScript module (or any callable on tensors): a batch runs in one forward call."""

    def __init__(self, module: Any, options: Mapping[str, Any]) -> None:
        import torch

        self.torch = torch
        self.module = module
        self.arguments = [str(name) for name in options["arguments"]]
        self.returns = str(options.get("returns", "tensor"))
        self.results = [str(name) for name in options.get("results", ())]
        if self.returns not in RETURNS:
            raise ValueError(f"returns must be one of {', '.join(RETURNS)}, not {self.returns!r}")

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> list[np.ndarray]:
        torch = self.torch
        tensors = [torch.from_numpy(np.ascontiguousarray(inputs[a])) for a in self.arguments]
        with torch.inference_mode():
            result = self.module(*tensors)
        found = self.named(result)
        return [to_array(found[name]) for name in outputs]

    def named(self, result: Any) -> dict[str, Any]:
        """The module's result by output slot name (`KeyError` naming what is missing)."""
        if self.returns == "dict":
            return dict(result)
        if self.returns == "tuple":
            return dict(zip(self.results, result, strict=True))
        return {self.results[0]: result}


def to_array(value: Any) -> np.ndarray:
    """A tensor (or number) as a numpy array on the CPU."""
    detach = getattr(value, "detach", None)
    if detach is not None:
        return np.asarray(detach().cpu().numpy())
    return np.asarray(value)


def load(path: Path, options: Mapping[str, Any]) -> TorchRunner:
    """Load the TorchScript module at `path` on the CPU, in evaluation mode."""
    try:
        import torch
    except ImportError:
        raise ProjectError(
            f"{path}: running this TorchScript model needs torch, which is not installed: "
            "pip install torch"
        ) from None
    try:
        with warnings.catch_warnings():  # newer torch says TorchScript is deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch's own errors: a damaged file, not TorchScript
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ProjectError(f"{path}: torch cannot load it as TorchScript ({text})") from None
    module.eval()
    try:
        return TorchRunner(module, options)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"{path}: its binding's options are not valid ({exc})") from None
