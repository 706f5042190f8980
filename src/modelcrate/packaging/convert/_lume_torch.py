"""lume-torch (formerly lume-model) `TorchModel` configs: the YAML file with `input_variables`,
`output_variables`, `model` and `input_transformers`/`output_transformers` (paths relative to the
config) that `TorchModel.dump` writes.

The variables are the config's own (lume-torch's variable classes are a generation of variables
file that `load_spec` reads). The model and transformer files are copied into the package beside
a copy of the config that names them there, and lume-torch itself loads and evaluates them, at
conversion and in the package, so the outputs are lume-torch's. lume-torch loads transformers
(and a model saved with torch.save) with `torch.load`, which runs any code the file holds; here
(and in the package) each such file is loaded with `torch.load(..., weights_only=True)` allowing
only the transformers lume-torch documents (botorch's affine input transforms, `torch.nn.Linear`)
and, in the model's file, torch's own layers (see `runtime._lume_torch`), and handed to lume-torch
as an object. A file holding any other class converts only with `--trust`, and is then loaded by
lume-torch itself.
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import yaml

from ..._errors import ArtifactError, SpecError
from ...runtime import Slot, kind_module
from ...spec import ArrayVariable, DistributionVariable, Spec, Variable, load_spec
from ._inferred import Inferred, listed, reason
from ._torch import torch_requirement

SUFFIXES = (".yml", ".yaml")

MODEL_CLASSES = ("TorchModel",)
"""The lume-torch model classes convert takes (by the last part of `model_class`, so that
`lume_model.models.TorchModel` of the old package is taken too)."""

FILE_FIELDS = ("model", "input_transformers", "output_transformers")
"""The fields of a config that name files."""

CONFIG_FILE = "lume_model.yml"
"""The config's name in the package."""


def inspect(path: Path, *, trust: bool = False, variables: Spec | None = None) -> Inferred:
    """Read the config at `path`, check the files it names, load it with lume-torch and bind
    each of its variables to one tensor of lume-torch's `evaluate`."""
    config = _read(path)
    files = _files(path, config)
    try:
        spec = load_spec(path)
    except SpecError as exc:
        raise ArtifactError(f"{path}: its variables cannot be read ({exc})") from None
    for role, declared in (("input", spec.inputs), ("output", spec.outputs)):
        for variable in declared:
            if isinstance(variable, DistributionVariable):
                raise ArtifactError(
                    f"{path}: {role} {variable.name!r} is a DistributionVariable, which a "
                    "TorchModel does not give (only lume-torch's probabilistic models do, and "
                    "convert does not take them); declare it as the tensor the model gives "
                    "(TorchScalarVariable or TorchNDVariable)"
                )
    try:
        with warnings.catch_warnings():  # what lume-torch's dependencies deprecate, on import
            warnings.simplefilter("ignore")
            import torch
            from lume_torch.models import TorchModel  # noqa: F401
    except ImportError:
        raise ArtifactError(
            f"{path}: converting a lume-torch model needs lume-torch and torch: "
            "pip install 'modelcrate[lume-torch]'"
        ) from None
    if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        raise ArtifactError(
            f"{path}: converting a lume-torch model needs torch 2.5 or newer (to load its files "
            f"weights only), not {torch.__version__}: pip install 'torch>=2.5'"
        )
    runtime = kind_module("lume-torch")  # loads and runs it as the package does
    untrusted = _untrusted(path, config, runtime)
    if untrusted and not trust:
        raise ArtifactError(
            f"{path}: {'; '.join(untrusted.values())}; lume-torch loads such a file with "
            "torch.load, which runs any code it holds: pass --trust to convert it if you trust "
            "where it came from"
        )
    weights_only = not untrusted
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = runtime.lume_model(path, weights_only=weights_only)
    except Exception as exc:  # lume-torch's, pydantic's and torch's own errors
        raise ArtifactError(
            f"{path}: lume-torch cannot load it as a TorchModel ({reason(exc)}); check that "
            "`TorchModel(config)` loads it where it was made"
        ) from None
    dtype = "float64" if str(config.get("precision", "double")) == "double" else "float32"
    inputs = [_slot(v, _dtype(config, "input_variables", v, dtype)) for v in spec.inputs]
    outputs = [_slot(v, _dtype(config, "output_variables", v, dtype)) for v in spec.outputs]
    options = {
        "shapes": {v.name: list(_row(v)) for v in spec.outputs},
        "weights_only": weights_only,
    }
    packaged = _packaged(config, files)
    contents = yaml.safe_dump(packaged, sort_keys=False, allow_unicode=True)
    if yaml.safe_load(contents) != packaged:  # what the package's copy says, read back
        raise ArtifactError(
            f"{path}: its copy for the package does not read back as the same config; "
            "please report this with the config"
        )
    notes = []
    if untrusted:
        notes.append(
            f"converted with --trust: lume-torch loads {listed(list(untrusted))} with "
            "torch.load, which runs the code the file holds, in the package too"
        )
    loading = (
        "with torch.load(weights_only=True) (lume-torch's transformers and torch's layers only)"
        if weights_only
        else "by lume-torch with torch.load, which runs their code (--trust)"
    )
    described = [
        ("config", f"{config.get('model_class') or 'TorchModel'}, {_precision(config)}"),
        ("files", f"{listed(list(files))}; loaded {loading}"),
        ("inputs", listed(list(spec.input_names))),
        ("outputs", listed(list(spec.output_names))),
    ]
    return Inferred(
        kind="lume-torch",
        file_name=CONFIG_FILE,
        summary="a lume-torch TorchModel, run with lume-torch",
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        input_variables=tuple(spec.inputs),
        output_variables=tuple(spec.outputs),
        run=runtime.LumeTorchRunner(model, options),
        options=options,
        requirements=(_lume_requirement(), torch_requirement()),
        described=tuple(described),
        notes=tuple(notes),
        declared=True,
        contents=contents.encode(),
        files={name: source for name, source in files.items()},
    )


def _read(path: Path) -> dict[str, Any]:
    """The config as a mapping; `ArtifactError` unless it is one with a `model` file."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ArtifactError(f"{path}: cannot read it as YAML ({reason(exc)})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), str):
        raise ArtifactError(
            f"{path}: not a lume-torch model config (no `model:` naming the model file); "
            "convert takes a TorchModel config, and `modelcrate new FILE` makes a project from "
            "a variables file"
        )
    model_class = str(config.get("model_class") or "TorchModel")
    if model_class.rpartition(".")[2] not in MODEL_CLASSES:
        raise ArtifactError(
            f"{path}: model_class {model_class!r} is not a TorchModel; convert takes lume-torch "
            "TorchModel configs (export other models to TorchScript or ONNX and convert that)"
        )
    return config


def _files(path: Path, config: dict[str, Any]) -> dict[str, Path]:
    """The files the config names (relative to its folder), by their names in the package."""
    folder = path.resolve().parent
    found: dict[str, Path] = {}
    for field in FILE_FIELDS:
        value = config.get(field)
        if value is None and field != "model":
            continue
        entries = [value] if field == "model" else value
        if not isinstance(entries, list):
            raise ArtifactError(
                f"{path}: {field} must be a list of file paths; list the transformer files"
            )
        for i, entry in enumerate(entries):
            where = field if field == "model" else f"{field}[{i}]"
            if not isinstance(entry, str) or not entry:
                raise ArtifactError(
                    f"{path}: {where} must be the path of a file saved by lume-torch, not "
                    f"{entry!r}; save the model with TorchModel.dump"
                )
            source = folder / entry
            if not source.resolve().is_relative_to(folder):
                raise ArtifactError(
                    f"{path}: {where} names {entry}, outside the config's folder ({folder}); "
                    "keep the files the config names beside it, or in a folder under it"
                )
            if not source.is_file():
                raise ArtifactError(
                    f"{path}: {where} names {entry}, which is not a file beside the config "
                    f"({source}); put it there, or fix the path"
                )
            found[_package_name(field, i, source)] = source
    return found


def _package_name(field: str, index: int, source: Path) -> str:
    suffix = source.suffix if source.suffix.isascii() and source.suffix[1:].isalnum() else ""
    if field == "model":
        return f"lume_model{suffix or '.pt'}"
    return f"lume_{field.removesuffix('s')}_{index}{suffix or '.pt'}"


def _packaged(config: dict[str, Any], files: dict[str, Path]) -> dict[str, Any]:
    """The config as the package keeps it: the same, with the files named as copied there and
    the model on the CPU."""
    names = iter(files)
    packaged = dict(config)
    for field in FILE_FIELDS:
        value = config.get(field)
        if field == "model":
            packaged[field] = next(names)
        elif value is not None:
            packaged[field] = [next(names) for _ in value]
    packaged["device"] = "cpu"
    return packaged


def _untrusted(path: Path, config: dict[str, Any], runtime: ModuleType) -> dict[str, str]:
    """The files of the config that do not load with `torch.load(..., weights_only=True)` and
    the classes lume-torch documents (by file name: what is in the way), read without loading
    them; TorchScript files load without running pickled code."""
    folder = path.resolve().parent
    found: dict[str, str] = {}
    for field in FILE_FIELDS:
        entries = [config["model"]] if field == "model" else (config.get(field) or [])
        for entry in entries:
            source = folder / entry
            if runtime.is_torchscript(source):
                continue
            try:
                classes = runtime.untrusted_classes(source, runtime.FIELDS[field])
            except ValueError as exc:
                found[source.name] = (
                    f"{source.name} is not a zip file of torch.save ({exc}), so what it holds "
                    "cannot be checked"
                )
                continue
            if classes:
                shown = ", ".join(classes[:6]) + (
                    f" and {len(classes) - 6} more" if len(classes) > 6 else ""
                )
                found[source.name] = f"{source.name} ({field}) holds {shown}"
    return found


def _row(variable: Variable) -> tuple[int, ...]:
    if isinstance(variable, ArrayVariable):
        return tuple(n if n is not None else -1 for n in (variable.shape or ()))
    return ()


def _dtype(config: dict[str, Any], role: str, variable: Variable, precision: str) -> str:
    """The element type lume-torch takes for a variable: an array's own (`dtype:
    torch.float32`, which lume-torch checks), else that of the model's precision."""
    declared = config.get(role)
    entry = declared.get(variable.name) if isinstance(declared, dict) else None
    given = entry.get("dtype") if isinstance(entry, dict) else None
    if isinstance(variable, ArrayVariable) and isinstance(given, str):
        name = given.removeprefix("torch.")
        try:
            return str(np.dtype(name))
        except TypeError:
            pass
    return precision


def _slot(variable: Variable, dtype: str) -> Slot:
    row = _row(variable)
    shape = (None, *(None if n < 0 else n for n in row))
    return Slot(variable.name, dtype, shape, True, variable=variable.name)


def _precision(config: dict[str, Any]) -> str:
    return f"precision {config.get('precision', 'double')}"


def _lume_requirement() -> str:
    """lume-torch from the minor release that loaded the config here, up to the next major."""
    try:
        major, minor = version("lume-torch").split(".")[:2]
    except (PackageNotFoundError, ValueError):
        return "lume-torch>=3"
    return f"lume-torch>={major}.{minor},<{int(major) + 1}"
