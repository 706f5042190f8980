"""Which kind of artifact a file is, by its name: each kind is one module with `SUFFIXES` and
`inspect(path, *, trust)`. Kinds still to come are refused in one line."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..._errors import ArtifactError
from . import _onnx, _sklearn

KINDS: tuple[ModuleType, ...] = (_onnx, _sklearn)
"""The kinds `convert` reads, each a module."""

NOT_YET = {
    (".pt", ".pth", ".ts", ".torchscript", ".ptc"): "TorchScript and PyTorch models",
}
"""Suffixes of kinds on the roadmap, and what they are called."""

_CONFIG_SUFFIXES = (".yml", ".yaml")


def kind_of(path: Path) -> ModuleType:
    """The module of the kind of artifact at `path`; `ArtifactError` for any other file."""
    suffix = path.suffix.lower()
    for kind in KINDS:
        if suffix in kind.SUFFIXES:
            return kind
    for suffixes, what in NOT_YET.items():
        if suffix in suffixes:
            raise ArtifactError(
                f"{path}: {what} are not yet supported by convert (ONNX and scikit-learn are); "
                "export the model to ONNX and convert the .onnx file"
            )
    if suffix in _CONFIG_SUFFIXES:
        raise ArtifactError(
            f"{path}: lume-torch model configs are not yet supported by convert; `modelcrate "
            "new` makes a project from its variables, or export the model to ONNX and convert that"
        )
    known = ", ".join(s for kind in KINDS for s in kind.SUFFIXES)
    raise ArtifactError(
        f"{path}: unknown format {suffix or '(no suffix)'!r}; convert takes {known} files "
        "(name the file by its format)"
    )
