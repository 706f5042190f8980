"""Write a `Spec` in the current generation of LUME variable files (readable by lume-base and lume-torch)."""

from __future__ import annotations

import functools
import math
import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .._errors import FileError
from ._spec import Spec
from ._variables import Variable

_CLASS_NAMES = {
    "scalar": "ScalarVariable",
    "int": "IntVariable",
    "bool": "BoolVariable",
    "str": "StrVariable",
    "enum": "EnumVariable",
    "array": "NDVariable",
    "image": "ImageVariable",
    "distribution": "DistributionVariable",
}


def variable_document(variable: Variable) -> dict[str, Any]:
    """One variable as a mapping in the current generation (`variable_class`, `default_value`, ...)."""
    doc: dict[str, Any] = {"variable_class": _CLASS_NAMES[variable.kind]}
    if variable.description:
        doc["description"] = variable.description
    if variable.has_default:
        doc["default_value"] = plain_value(variable.default)
    value_range = getattr(variable, "value_range", None)
    if value_range is not None:
        doc["value_range"] = [plain_value(b) for b in value_range]
    if variable.unit:
        doc["unit"] = variable.unit
    doc["read_only"] = variable.read_only
    doc["default_validation_config"] = variable.policy
    for field in ("choices", "shape", "dtype", "distribution_type", "x_min", "x_max", "y_min",
                  "y_max", "x_label", "y_label", "axis_units"):  # fmt: skip
        value = getattr(variable, field, None)
        if value is not None and value != "" and field in variable.model_fields_set | {"dtype"}:
            doc[field] = plain_value(value)
    doc.update({k: plain_value(v) for k, v in variable.extras.items()})
    return doc


def spec_document(spec: Spec) -> dict[str, Any]:
    """The whole spec as a mapping: the kept metadata, then input and output variables."""
    doc = {k: plain_value(v) for k, v in spec.metadata.items()}
    doc["input_variables"] = {v.name: variable_document(v) for v in spec.inputs}
    doc["output_variables"] = {v.name: variable_document(v) for v in spec.outputs}
    return doc


def dump_spec(spec: Spec) -> str:
    """The spec as YAML text in the current generation."""
    return yaml.dump(spec_document(spec), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)  # fmt: skip


def upgraded_text(path: str | os.PathLike[str]) -> str:
    """The variables file at `path` (of any LUME generation) as text of the current one, read
    back before it is returned (`modelcrate upgrade-variables`)."""
    from ._load import load_spec, parse_spec

    text = dump_spec(load_spec(path))
    with warnings.catch_warnings():  # what it warned about was said when it was read
        warnings.simplefilter("ignore")
        parse_spec(text, source=str(path))  # what is written must read back
    return text


def write_spec(spec: Spec, path: str | os.PathLike[str]) -> Path:
    """Write the spec to `path` atomically (a temporary file renamed into place)."""
    return write_text_atomic(Path(path), dump_spec(spec))


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it: never half a file.

    A symbolic link is written through (its target is replaced, the link kept); an existing
    file keeps its permissions; a path that is not a regular file (a device, a directory, a
    pipe) raises `FileError` and nothing is written.
    """
    real = Path(os.path.realpath(path))
    mode = _writable_mode(Path(path), real)
    real.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        os.chmod(tmp, mode)  # mkstemp makes it private; give it the file's or a new file's mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _writable_mode(path: Path, real: Path) -> int:
    """The mode to give the file written at `real` (the resolved `path`); raise `FileError` if
    something other than a regular file is there."""
    try:
        status = real.stat()
    except FileNotFoundError:
        return new_file_mode()
    except OSError as exc:
        raise FileError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    if not stat.S_ISREG(status.st_mode):
        kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        shown = f"{path} (a link to {real})" if real != Path(os.path.abspath(path)) else str(path)
        raise FileError(f"{shown}: is {kind}; give the path of a regular file to write")
    return stat.S_IMODE(status.st_mode)


@functools.cache
def new_file_mode() -> int:
    """The mode `open()` gives a new file under this process's umask (e.g. 0o644)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def plain_value(value: Any) -> Any:
    """Numpy values and tuples as plain YAML-friendly Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    return value


class _Dumper(yaml.SafeDumper):
    """Writes infinities as `.inf` and keeps short lists (ranges, shapes) on one line."""


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.Node:
    if math.isinf(value):
        return dumper.represent_scalar("tag:yaml.org,2002:float", ".inf" if value > 0 else "-.inf")
    return yaml.SafeDumper.represent_float(dumper, value)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(not isinstance(v, (list, dict)) for v in value) and len(value) <= 16
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(float, _represent_float)
_Dumper.add_representer(list, _represent_list)
