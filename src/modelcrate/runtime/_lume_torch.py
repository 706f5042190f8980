"""Running a lume-torch `TorchModel` from its config, for `ArtifactModel` (imported only for this
kind).

lume-torch itself loads the config, its model and transformers (paths relative to the config)
and evaluates them, so the outputs are those lume-torch gives. Each variable is one slot named
after the variable in the config: a batch of N input sets is one tensor of N rows a variable,
passed to `TorchModel.evaluate` in one call. The binding's options give each output's shape
(`shapes`), to read lume-torch's `[N, 1]` columns as one value a row.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ProjectError
from ._torch import to_array


class LumeTorchRunner:
    """A lume-torch model: input arrays by variable name to the outputs asked for."""

    def __init__(self, model: Any, options: Mapping[str, Any]) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.shapes = {str(k): tuple(int(n) for n in v) for k, v in options["shapes"].items()}

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> list[np.ndarray]:
        torch = self.torch
        count = len(next(iter(inputs.values()))) if inputs else 1
        feeds = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}
        with torch.no_grad():
            found = self.model.evaluate(feeds)
        return [to_array(found[name]).reshape(count, *self.shapes[name]) for name in outputs]


def load(path: Path, options: Mapping[str, Any]) -> LumeTorchRunner:
    """Load the lume-torch model config at `path` (and the files it names) with lume-torch."""
    try:
        with warnings.catch_warnings():  # what lume-torch's dependencies deprecate, on import
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            from lume_torch.models import TorchModel
    except ImportError:
        raise ProjectError(
            f"{path}: running this lume-torch model needs lume-torch, which is not installed: "
            "pip install lume-torch"
        ) from None
    try:
        with warnings.catch_warnings():  # newer torch says TorchScript is deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
            model = TorchModel(str(path))
    except Exception as exc:  # lume-torch's and torch's own errors: a damaged or missing file
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ProjectError(f"{path}: lume-torch cannot load the model ({text})") from None
    try:
        return LumeTorchRunner(model, options)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{path}: its binding's options are not valid ({exc})") from None
