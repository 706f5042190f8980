"""Running a lume-torch `TorchModel` from its config, for `ArtifactModel` (imported only for this
kind).

lume-torch itself builds the model from its config and evaluates it, so the outputs are those
lume-torch gives. Each variable is one slot named after the variable in the config: a batch of N
input sets is one tensor of N rows a variable, passed to `TorchModel.evaluate` in one call. The
binding's options give each output's shape (`shapes`), to read lume-torch's `[N, 1]` columns as
one value a row, and how the files the config names are loaded (`weights_only`).

lume-torch loads the model and the transformers with `torch.load(..., weights_only=False)`,
which runs any code a file holds. With `weights_only` (what `convert` records unless a file holds
other classes and was converted with `--trust`), the files are loaded here instead, with
`torch.load(..., weights_only=True)` allowing only the classes of `TRANSFORMER_CLASSES` (in a
transformer's file) or `MODEL_CLASSES` (in the model's), and handed to lume-torch as objects; a
TorchScript file loads with `torch.jit.load`, as lume-torch loads it.
"""

from __future__ import annotations

import importlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ProjectError
from ._torch import to_array

TRANSFORMER_CLASSES = (
    "botorch.models.transforms.input.AffineInputTransform",
    "botorch.models.transforms.input.Normalize",
    "botorch.models.transforms.input.InputStandardize",
    "torch.nn.modules.linear.Linear",
)
"""The transformers lume-torch documents (botorch's affine input transforms and
`torch.nn.Linear`): what a transformer's file may hold to load without `--trust`."""

MODEL_CLASSES = (
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.container.ModuleList",
    "torch.nn.modules.linear.Linear",
    "torch.nn.modules.linear.Identity",
    "torch.nn.modules.activation.Tanh",
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.activation.ELU",
    "torch.nn.modules.activation.GELU",
    "torch.nn.modules.activation.SiLU",
    "torch.nn.modules.activation.Sigmoid",
    "torch.nn.modules.activation.Softplus",
    "torch.nn.modules.activation.LeakyReLU",
    "torch.nn.modules.dropout.Dropout",
    "torch.nn.modules.flatten.Flatten",
    "torch.nn.modules.flatten.Unflatten",
    "torch.nn.modules.normalization.LayerNorm",
    "torch.nn.modules.batchnorm.BatchNorm1d",
)
"""torch's own layers, of which a network saved with `torch.save` (as `TorchModel.dump` saves a
model) may be made to load without `--trust`."""

FIELDS = {
    "model": MODEL_CLASSES,
    "input_transformers": TRANSFORMER_CLASSES,
    "output_transformers": TRANSFORMER_CLASSES,
}
"""The fields of a config that name files lume-torch loads, and the classes each may hold."""


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


def is_torchscript(path: str | os.PathLike[str]) -> bool:
    """Whether the file is a TorchScript archive (`torch.jit.save`: a zip with the module's
    code), which loads without running pickled code."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def untrusted_classes(path: str | os.PathLike[str], allowed: Iterable[str]) -> list[str]:
    """The classes (and functions) in the torch.save file at `path` that `torch.load(...,
    weights_only=True)` would refuse even with `allowed`, read without loading the file;
    `ValueError` when it is not a file torch.save writes (a zip, since torch 1.6)."""
    import torch

    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as exc:  # torch's own errors: not a zip, a damaged one
        text = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ValueError(text) from None
    known = set(allowed)
    return [name for name in found if name not in known]


def load_weights_only(path: str | os.PathLike[str], allowed: Iterable[str]) -> Any:
    """What the torch.save file at `path` holds, loaded with `torch.load(..., weights_only=True)`
    allowing only `allowed` beyond torch's own tensors and containers; a TorchScript file with
    `torch.jit.load`."""
    import torch

    if is_torchscript(path):
        with warnings.catch_warnings():  # newer torch says TorchScript is deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
            return torch.jit.load(str(path), map_location="cpu")
    allowed = tuple(allowed)
    classes = [c for c in map(_class, allowed) if c is not None]
    try:
        with torch.serialization.safe_globals(classes):
            return torch.load(str(path), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        others = untrusted_classes(path, allowed)
        if not others:
            raise
        raise ValueError(
            f"{Path(path).name} holds {', '.join(others)}, which loading would run code for "
            "(convert the model again, with --trust if you trust where the file came from)"
        ) from None


def _class(dotted: str) -> Any:
    """The class named `dotted`, or None when its package is not installed."""
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def lume_model(path: str | os.PathLike[str], *, weights_only: bool) -> Any:
    """The lume-torch `TorchModel` of the config at `path`: its files loaded by lume-torch
    (which runs their code), or with `weights_only` loaded here as `load_weights_only` does
    and given to lume-torch as objects."""
    from lume_torch.base import parse_config
    from lume_torch.models import TorchModel

    if not weights_only:
        return TorchModel(str(path))
    kwargs = parse_config(str(path), TorchModel.model_fields)  # paths made absolute
    for field, allowed in FIELDS.items():
        value = kwargs.get(field)
        if isinstance(value, (str, os.PathLike)):
            kwargs[field] = load_weights_only(value, allowed)
        elif isinstance(value, list):
            kwargs[field] = [
                load_weights_only(v, allowed) if isinstance(v, (str, os.PathLike)) else v
                for v in value
            ]
    return TorchModel(**kwargs)


def load(path: Path, options: Mapping[str, Any]) -> LumeTorchRunner:
    """Load the lume-torch model config at `path` (and the files it names): with lume-torch, or
    with `weights_only` in the options, each file with `torch.load(..., weights_only=True)`."""
    try:
        with warnings.catch_warnings():  # what lume-torch's dependencies deprecate, on import
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            import lume_torch.models  # noqa: F401
    except ImportError:
        raise ProjectError(
            f"{path}: running this lume-torch model needs lume-torch, which is not installed: "
            "pip install lume-torch"
        ) from None
    weights_only = bool(options.get("weights_only", False))
    try:
        with warnings.catch_warnings():  # newer torch says TorchScript is deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
            model = lume_model(path, weights_only=weights_only)
    except Exception as exc:  # lume-torch's and torch's own errors: a damaged or missing file
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ProjectError(f"{path}: lume-torch cannot load the model ({text})") from None
    try:
        return LumeTorchRunner(model, options)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{path}: its binding's options are not valid ({exc})") from None
