"""TorchScript modules (`torch.jit.save` files): a module says neither the names nor the shapes
of its inputs and outputs, so a variables file gives them, in order, and one forward call on
sample inputs checks them against the module.

Inputs: a forward of one tensor takes k scalar inputs as one `[N, k]` tensor (or one array
input of shape `s` as `[N, *s]`); a forward of several tensors takes one input each (`[N]` a
scalar, `[N, *s]` an array). Outputs: one tensor gives the k scalar outputs as `[N, k]` (or the
one array output); a tuple gives one output per tensor; a dict gives the outputs by name. The
first axis is the batch axis: a batch runs in one forward call.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import ArtifactError
from ...runtime import Slot, kind_module, pack_inputs
from ...spec import ArrayVariable, Spec, Variable
from ._inferred import Inferred, listed, reason

SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".ptc")

PROBE_ROWS = 2
"""Input sets in the forward call that checks the variables against the module."""


def inspect(path: Path, *, trust: bool = False, variables: Spec | None = None) -> Inferred:
    """Load the TorchScript module at `path` and bind the variables of `variables` (required)
    to its inputs and outputs, checked by one forward call."""
    if variables is None:
        raise ArtifactError(
            f"{path}: a TorchScript module does not say what its inputs and outputs are called "
            "or what shapes they have; give them, in order, in a variables file with "
            "--variables FILE"
        )
    check_archive(path)
    try:
        import torch
    except ImportError:
        raise ArtifactError(
            f"{path}: converting a TorchScript model needs torch: pip install 'modelcrate[torch]'"
        ) from None
    TorchRunner = kind_module("torchscript").TorchRunner  # as the package runs it

    try:
        with warnings.catch_warnings():  # newer torch says TorchScript is deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch's own errors: a damaged archive, an unknown operator
        raise ArtifactError(
            f"{path}: torch cannot load it as TorchScript ({reason(exc)}); check that the file "
            "is complete, or save the module again with torch.jit.save"
        ) from None
    module.eval()
    source = variables.source or "the variables file"
    arguments = _arguments(module)
    dtype = _float_dtype(module)
    in_slots = _input_slots(path, source, arguments, variables.inputs, dtype)
    probe = pack_inputs(in_slots, [variables.sample_inputs()] * PROBE_ROWS)
    try:
        with torch.inference_mode():
            result = module(*(torch.from_numpy(probe[s.name]) for s in in_slots))
    except Exception as exc:  # the module's own error on tensors of the declared shapes
        shapes = ", ".join(f"[{', '.join(map(str, probe[s.name].shape))}]" for s in in_slots)
        raise ArtifactError(
            f"{source}: its inputs do not fit {path.name}: forward on tensors of shape {shapes} "
            f"(N={PROBE_ROWS} input sets) failed ({_last_line(exc)}); declare the inputs the module "
            "takes, in order"
        ) from None
    returns, out_slots = _output_slots(path, source, result, variables.outputs)
    options = {
        "arguments": [s.name for s in in_slots],
        "returns": returns,
        "results": [s.name for s in out_slots],
    }
    runner = TorchRunner(module, options)
    described = [
        ("inputs", "; ".join(_describe(s) for s in in_slots)),
        ("outputs", "; ".join(_describe(s) for s in out_slots)),
    ]
    return Inferred(
        kind="torchscript",
        file_name="model.pt",
        summary="a TorchScript module, run with torch",
        inputs=tuple(in_slots),
        outputs=tuple(out_slots),
        input_variables=tuple(variables.inputs),
        output_variables=tuple(variables.outputs),
        run=runner,
        options=options,
        requirements=(torch_requirement(),),
        described=tuple(described),
    )


def check_archive(path: Path) -> None:
    """`ArtifactError` unless `path` is a whole TorchScript archive (what `torch.jit.save`
    writes: a zip with the module's code), before torch is imported."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArtifactError(
            f"{path}: not a TorchScript archive ({reason(exc)}): the file is truncated or "
            "damaged, or not saved with torch.jit.save; save the module again"
        ) from None
    if not any("/code/" in name for name in names) or not any(
        name.endswith("/constants.pkl") for name in names
    ):
        raise ArtifactError(
            f"{path}: saved with torch.save, not torch.jit.save (it holds no TorchScript "
            "code); script the module (torch.jit.script) and save it with torch.jit.save"
        )


def torch_requirement() -> str:
    """torch from the minor release that ran the module here, up to the next major."""
    try:
        major, minor = version("torch").split("+")[0].split(".")[:2]
    except (PackageNotFoundError, ValueError):
        return "torch>=2.1"
    return f"torch>={major}.{minor},<{int(major) + 1}"


def _arguments(module: Any) -> list[str]:
    """The names of forward's tensor arguments (after self)."""
    try:
        schema = module.forward.schema
        return [a.name for a in schema.arguments[1:] if not a.has_default_value()]
    except AttributeError:  # not a scripted method: count nothing, let the probe decide
        return ["input"]


def _float_dtype(module: Any) -> str:
    """The element type of the module's first floating-point parameter or buffer (float32 if
    none): the inputs are given in it."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return str(tensor.dtype).removeprefix("torch.")
    return "float32"


def _input_slots(
    path: Path, source: str, arguments: list[str], inputs: Sequence[Variable], dtype: str
) -> list[Slot]:
    """One slot per forward argument, carrying the inputs in the variables file's order."""
    names = [v.name for v in inputs]
    if len(arguments) == 1:
        arrays = [v for v in inputs if isinstance(v, ArrayVariable)]
        if not arrays:
            return [Slot(arguments[0], dtype, (None, len(names)), True, variables=tuple(names))]
        if len(inputs) == 1:
            return [Slot(arguments[0], dtype, (None, *_shape(arrays[0])), True, variable=names[0])]
        raise ArtifactError(
            f"{source}: declares {len(inputs)} inputs ({listed(names)}), arrays among them, but "
            f"the forward of {path.name} takes one tensor; declare scalars (one [N, k] tensor) "
            "or one array"
        )
    if len(arguments) != len(inputs):
        raise ArtifactError(
            f"{source}: declares {len(inputs)} inputs ({listed(names)}), but the forward of "
            f"{path.name} takes {len(arguments)} tensors ({listed(arguments)}); declare one "
            "input per tensor, in order"
        )
    return [
        Slot(arg, dtype, (None, *_shape(v)), True, variable=v.name)
        for arg, v in zip(arguments, inputs, strict=True)
    ]


def _shape(variable: Variable) -> tuple[int | None, ...]:
    return tuple(variable.shape or ()) if isinstance(variable, ArrayVariable) else ()


def _output_slots(
    path: Path, source: str, result: Any, outputs: Sequence[Variable]
) -> tuple[str, list[Slot]]:
    """How forward's result carries the outputs: "tensor", "tuple" or "dict", and their slots."""
    names = [v.name for v in outputs]
    if isinstance(result, dict):
        given = [str(k) for k in result]
        if sorted(given) != sorted(names):
            raise ArtifactError(
                f"{source}: declares the outputs {listed(names)}, but {path.name} returns a dict "
                f"of {listed(given)}; declare the outputs under the names of its keys"
            )
        return "dict", [_one_output(path, source, result[v.name], v, v.name) for v in outputs]
    if isinstance(result, (tuple, list)):
        if len(result) != len(outputs):
            raise ArtifactError(
                f"{source}: declares {len(outputs)} outputs ({listed(names)}), but {path.name} "
                f"returns {len(result)} tensors; declare one output per tensor, in order"
            )
        return "tuple", [
            _one_output(path, source, tensor, v, f"output{i}")
            for i, (tensor, v) in enumerate(zip(result, outputs, strict=True))
        ]
    array = _array(path, result)
    arrays = [v for v in outputs if isinstance(v, ArrayVariable)]
    if arrays:
        if len(outputs) != 1:
            raise ArtifactError(
                f"{source}: declares {len(outputs)} outputs ({listed(names)}), arrays among "
                f"them, but {path.name} returns one tensor; declare scalars (one [N, k] "
                "tensor) or one array"
            )
        return "tensor", [_one_output(path, source, result, outputs[0], "output")]
    rows = array.reshape(array.shape[0], -1) if array.ndim >= 1 else array.reshape(1, -1)
    if array.shape[:1] != (PROBE_ROWS,) or rows.shape[1] != len(outputs):
        raise ArtifactError(
            f"{source}: declares {len(outputs)} scalar outputs ({listed(names)}), but "
            f"{path.name} returns a tensor of shape [{', '.join(map(str, array.shape))}] for "
            f"{PROBE_ROWS} input sets; declare one output per column"
        )
    dtype = str(array.dtype)
    return "tensor", [Slot("output", dtype, (None, len(outputs)), True, variables=tuple(names))]


def _one_output(path: Path, source: str, tensor: Any, variable: Variable, name: str) -> Slot:
    """The slot of one output tensor, checked against its variable's shape."""
    array = _array(path, tensor)
    want = _shape(variable)
    row = array.shape[1:]
    if not want and row == (1,):  # a column: one value a row
        return Slot(name, str(array.dtype), (None, 1), True, variables=(variable.name,))
    if not want and not row:
        return Slot(name, str(array.dtype), (None,), True, variable=variable.name)
    fits = len(row) == len(want) and all(
        w is None or w == n for w, n in zip(want, row, strict=True)
    )
    if array.shape[:1] != (PROBE_ROWS,) or not fits:
        shown = "(" + ", ".join("any" if n is None else str(n) for n in want) + ")"
        raise ArtifactError(
            f"{source}: output {variable.name!r} has shape {shown}, but {path.name} gives a "
            f"tensor of shape [{', '.join(map(str, array.shape))}] for {PROBE_ROWS} input sets "
            "there; declare the shape of one row"
        )
    return Slot(name, str(array.dtype), (None, *row), True, variable=variable.name)


def _array(path: Path, value: Any) -> np.ndarray:
    to_array = kind_module("torchscript").to_array

    try:
        return to_array(value)
    except Exception as exc:  # not a tensor: a string, a nested structure
        raise ArtifactError(
            f"{path}: its forward returns a {type(value).__name__}, not tensors ({reason(exc)}); "
            "convert takes modules that return a tensor, a tuple or a dict of tensors"
        ) from None


def _last_line(exc: BaseException) -> str:
    """The error of a scripted module without TorchScript's traceback: its last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return reason(exc)
    last = lines[-1]
    kind, colon, rest = last.partition(": ")
    return reason(ValueError(rest if colon and kind.endswith("Error") else last))


def _describe(slot: Slot) -> str:
    """A slot as the command prints it: `x0, x1 <- tensor 'x' [N, 2] float32`."""
    dims = ", ".join("N" if i == 0 else str(n) for i, n in enumerate(slot.shape))
    return f"{listed(list(slot.names))} <- tensor {slot.name!r} [{dims}] {slot.dtype}"
