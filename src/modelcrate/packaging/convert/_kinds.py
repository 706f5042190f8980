"""Which kind of artifact a file is, by its name: each kind is one module with `SUFFIXES` and
`inspect(path, *, trust, variables)`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..._errors import ArtifactError
from . import _lume_torch, _onnx, _sklearn, _torch

KINDS: tuple[ModuleType, ...] = (_onnx, _sklearn, _torch, _lume_torch)
"""The kinds `convert` reads, each a module."""


def kind_of(path: Path) -> ModuleType:
    """The module of the kind of artifact at `path`; `ArtifactError` for any other file."""
    suffix = path.suffix.lower()
    for kind in KINDS:
        if suffix in kind.SUFFIXES:
            return kind
    known = ", ".join(s for kind in KINDS for s in kind.SUFFIXES)
    raise ArtifactError(
        f"{path}: unknown format {suffix or '(no suffix)'!r}; convert takes {known} files "
        "(name the file by its format)"
    )
