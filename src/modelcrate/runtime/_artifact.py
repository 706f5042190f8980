"""`ArtifactModel`: a model whose `evaluate` runs a trained artifact shipped in its package.

`modelcrate convert` copies the artifact (an ONNX graph, a scikit-learn estimator, a TorchScript
module, a lume-torch model config and the files it names) into the
package beside a binding file, `artifact.json`, that says how the model's variables map onto
the artifact's tensors or columns, and the SHA-256 of the artifact and of each file it needs. The
generated model class names the binding file; this module reads it, checks the files against
their digests and loads the artifact once per process on first use (thread-safe), and runs it:
a whole batch in one call when every tensor has a batch axis.

Each kind of artifact is one module (`_onnx`, `_sklearn`, `_torch`, `_lume_torch`) with a
`load(path, options)` that returns a `Runner`; it is imported only when a model of its kind is
first used, so a packaged model never imports onnxruntime, scikit-learn or torch unless its kind
needs them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from .._errors import InputError, ModelcrateError, OutputError, ProjectError
from ..model import Model

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable  # Python 3.11; only annotations here

__all__ = [
    "BINDING_FILE",
    "BINDING_VERSION",
    "KINDS",
    "ArtifactModel",
    "Binding",
    "Runner",
    "Slot",
    "pack_inputs",
    "read_binding",
    "unpack_outputs",
]

BINDING_FILE = "artifact.json"
"""The binding file beside the artifact in a converted package."""
BINDING_VERSION = 1

KINDS: dict[str, str] = {
    "onnx": "._onnx",
    "sklearn": "._sklearn",
    "torchscript": "._torch",
    "lume-torch": "._lume_torch",
}
"""Each kind of artifact and the module (of this package) that loads and runs it."""


class Runner(Protocol):
    """A loaded artifact: runs named input arrays to the named outputs asked for."""

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class Slot:
    """One tensor (or column block) of the artifact and the variables it carries.

    With `variables`, the tensor's last axis holds those scalar variables, in order (a tensor of
    shape `[N, k]`); with `variable`, each row of the tensor is that one variable's value (a
    scalar for shape `[N]`, an array of shape `shape[1:]` otherwise). `batched`: the first axis
    is the batch axis; else the tensor is one input set's value, of shape `shape`.
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...]
    batched: bool = True
    variables: tuple[str, ...] = ()
    variable: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The variables this slot carries."""
        return self.variables or ((self.variable,) if self.variable is not None else ())

    def to_dict(self) -> dict[str, Any]:
        """The slot as the binding file records it."""
        data: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "batched": self.batched,
        }
        if self.variables:
            data["variables"] = list(self.variables)
        else:
            data["variable"] = self.variable
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Slot:
        """A slot from the binding file (`KeyError`, `TypeError` or `ValueError` when malformed)."""
        variables = tuple(str(v) for v in data.get("variables", ()))
        variable = data.get("variable")
        if bool(variables) == (variable is not None):
            raise ValueError(f"slot {data.get('name')!r} needs either variables or variable")
        np.dtype(str(data["dtype"]))  # a dtype numpy knows
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            shape=tuple(None if n is None else int(n) for n in data["shape"]),
            batched=bool(data["batched"]),
            variables=variables,
            variable=None if variable is None else str(variable),
        )


@dataclass(frozen=True)
class Binding:
    """What `artifact.json` says: the kind, the artifact's file (beside the binding file), its
    SHA-256, the input and output slots, options of the kind (how to load it), and the SHA-256
    of each other file the artifact needs (`files`: name beside the binding file -> digest).

    A digest of "" (a binding file written before digests were recorded) is not checked."""

    kind: str
    file: str
    sha256: str
    inputs: tuple[Slot, ...]
    outputs: tuple[Slot, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def batched(self) -> bool:
        """Whether a whole batch runs in one call (every tensor has a batch axis)."""
        return all(slot.batched for slot in (*self.inputs, *self.outputs))

    def to_dict(self) -> dict[str, Any]:
        """The binding as `artifact.json` holds it."""
        return {
            "modelcrate_artifact": BINDING_VERSION,
            "kind": self.kind,
            "file": self.file,
            "sha256": self.sha256,
            "inputs": [slot.to_dict() for slot in self.inputs],
            "outputs": [slot.to_dict() for slot in self.outputs],
            "options": dict(self.options),
            "files": dict(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Binding:
        """A binding from its JSON form (`KeyError`, `TypeError` or `ValueError` when malformed)."""
        if data.get("modelcrate_artifact") != BINDING_VERSION:
            raise ValueError(f"not a binding file of version {BINDING_VERSION}")
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
        file = _file_name(data["file"])
        listed = data.get("files", {})
        if not isinstance(listed, Mapping):
            raise ValueError("files must be a mapping of file names to their SHA-256")
        files = {_file_name(name): _digest(sha) for name, sha in listed.items()}
        return cls(
            kind=kind,
            file=file,
            sha256=_digest(data.get("sha256", "")),
            inputs=tuple(Slot.from_dict(s) for s in data["inputs"]),
            outputs=tuple(Slot.from_dict(s) for s in data["outputs"]),
            options=dict(data.get("options", {})),
            files=files,
        )


def _file_name(value: Any) -> str:
    """A file name beside the binding file (`ValueError` for a path or nothing)."""
    name = str(value)
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"file {name!r} must be a file name beside the binding file")
    return name


def _digest(value: Any) -> str:
    """A SHA-256 as 64 lowercase hex digits, or "" for none recorded (`ValueError` otherwise)."""
    text = str(value)
    if text and not (len(text) == 64 and all(c in "0123456789abcdef" for c in text)):
        raise ValueError(f"sha256 {text[:80]!r} is not 64 lowercase hex digits")
    return text


def read_binding(path: Traversable | Path) -> Binding:
    """Read a binding file; `ProjectError` naming the file when it is missing or malformed."""
    try:
        return Binding.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the artifact's binding file ({exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProjectError(
            f"{path}: not a valid artifact binding file ({exc}); make it again with "
            "`modelcrate convert`"
        ) from None


def pack_inputs(
    slots: Sequence[Slot], input_sets: Sequence[Mapping[str, Any]]
) -> dict[str, np.ndarray]:
    """The input tensors of a batch: each slot's variables stacked over the sets (shape
    `[N, ...]`; an unbatched slot's single set reshaped to its declared shape)."""
    count = len(input_sets)
    tensors = {}
    for slot in slots:
        dtype = np.dtype(slot.dtype)
        if slot.variables:
            tensor = _columns(input_sets, slot.variables, dtype, count)
        else:
            values = list(map(itemgetter(slot.variable), input_sets))
            if len(slot.shape) == int(slot.batched) and dtype.kind in "biuf":  # a scalar a row
                tensor = np.fromiter(values, dtype=dtype, count=count)
            else:
                tensor = np.asarray(values, dtype=dtype)
        if not slot.batched:
            tensor = tensor.reshape(tuple(-1 if n is None else n for n in slot.shape))
        tensors[slot.name] = tensor
    return tensors


def _columns(
    sets: Sequence[Mapping[str, Any]], names: Sequence[str], dtype: np.dtype[Any], count: int
) -> np.ndarray:
    """Scalar variables across the sets, as an array of shape `[N, len(names)]` of `dtype`."""
    if len(names) == 1:
        rows: Any = map(itemgetter(names[0]), sets)
    else:  # one tuple per set, flattened: a C loop, not a Python one per value
        rows = chain.from_iterable(map(itemgetter(*names), sets))
    if dtype.kind in "biuf":
        flat = np.fromiter(rows, dtype=dtype, count=count * len(names))
    else:
        flat = np.asarray(list(rows), dtype=dtype)
    return flat.reshape(count, len(names))


def unpack_outputs(
    slots: Sequence[Slot], arrays: Sequence[np.ndarray], count: int
) -> list[dict[str, Any]]:
    """One dict of outputs per input set from the output arrays of a batch of `count` sets:
    scalars as Python numbers (or text), array values as numpy arrays."""
    columns = {
        name: array.tolist() if array.ndim == 1 else list(array)
        for name, array in output_arrays(slots, arrays, count).items()
    }
    if len(columns) == 1:
        ((name, values),) = columns.items()
        return [{name: value} for value in values]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def output_arrays(
    slots: Sequence[Slot], arrays: Sequence[np.ndarray], count: int
) -> dict[str, np.ndarray]:
    """Each output variable's values over a batch of `count` sets, from the artifact's output
    arrays: an array per variable whose first axis is the set."""
    columns: dict[str, np.ndarray] = {}
    for slot, array in zip(slots, arrays, strict=True):
        array = np.asarray(array)
        if not slot.batched:
            array = array.reshape(1, -1) if slot.variables else array[np.newaxis, ...]
        if array.shape[:1] != (count,):
            raise OutputError(
                f"the artifact's output {slot.name!r} has shape {array.shape}, not {count} rows "
                "(one per input set)"
            )
        if slot.variables:
            flat = array.reshape(count, -1)
            if flat.shape[1] != len(slot.variables):
                raise OutputError(
                    f"the artifact's output {slot.name!r} has {flat.shape[1]} columns, not the "
                    f"{len(slot.variables)} its binding names"
                )
            for i, name in enumerate(slot.variables):
                columns[name] = flat[:, i]
        else:
            columns[str(slot.variable)] = array
    return columns


def pack_floats(
    slots: Sequence[Slot], matrix: np.ndarray, names: Sequence[str]
) -> dict[str, np.ndarray] | None:
    """The input tensors of a batch given as one float array (a row per set, a column per
    variable of `names`), as `pack_inputs` makes them from the same values as sets; None when
    a slot is not a batched block of floating-point scalars among `names`."""
    place = {name: i for i, name in enumerate(names)}
    every = list(range(len(names)))
    tensors = {}
    for slot in slots:
        dtype = np.dtype(slot.dtype)
        if not slot.batched or dtype.kind != "f" or not set(slot.names) <= place.keys():
            return None
        if slot.variables:
            columns = [place[name] for name in slot.variables]
            block = matrix if columns == every else matrix[:, columns]
        else:
            block = matrix[:, place[str(slot.variable)]]
        tensors[slot.name] = np.ascontiguousarray(block, dtype=dtype)
    return tensors


class _Loaded:
    """An artifact loaded for a model class: its binding and runner."""

    def __init__(self, binding: Binding, runner: Runner) -> None:
        self.binding = binding
        self.runner = runner
        self.wanted = [slot.name for slot in binding.outputs]

    def run(self, input_sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not input_sets:
            return []
        binding = self.binding
        if binding.batched:
            arrays = self.call(pack_inputs(binding.inputs, input_sets))
            return unpack_outputs(binding.outputs, arrays, len(input_sets))
        outputs = []
        for inputs in input_sets:
            arrays = self.call(pack_inputs(binding.inputs, [inputs]))
            outputs += unpack_outputs(binding.outputs, arrays, 1)
        return outputs

    def run_floats(self, matrix: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray] | None:
        """The output arrays of a batch given as one float array, a column per variable of
        `names`, in one call; None when the artifact's inputs do not take it as it is."""
        binding = self.binding
        if not binding.batched or not len(matrix):
            return None
        tensors = pack_floats(binding.inputs, matrix, names)
        if tensors is None:
            return None
        arrays = self.call(tensors)
        return output_arrays(binding.outputs, arrays, len(matrix))

    def call(self, tensors: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The artifact run on input tensors; an `InputError` with its own reason when it
        refuses them (a NaN or an infinity its library does not take, say): the inputs were
        valid for the variables, not for the artifact."""
        try:
            return self.runner(tensors, self.wanted)
        except ModelcrateError:
            raise
        except Exception as exc:
            said = " ".join(str(exc).split())
            said = said if len(said) <= 300 else said[:299] + "…"
            raise InputError(
                f"the model's {self.binding.file} refused these inputs "
                f"({type(exc).__name__}: {said or 'no reason given'}); give values it takes, "
                "or narrow the variables' ranges in variables.yml"
            ) from exc


_LOCK = threading.Lock()


def kind_module(kind: str) -> ModuleType:
    """The module that loads and runs artifacts of `kind` (imported now: it imports the kind's
    library); `convert` runs an artifact through it as the package will."""
    return importlib.import_module(KINDS[kind], __package__)


def load_artifact(binding_path: Traversable | Path) -> tuple[Binding, Runner]:
    """Read a binding file, check that the artifact and its files are those converted (their
    SHA-256), and load the artifact beside it with its kind's module."""
    binding = read_binding(binding_path)
    artifact = _beside(binding_path, binding.file)
    check_files(binding, Path(str(binding_path)).parent)
    module = kind_module(binding.kind)
    load: Callable[[Path, Mapping[str, Any]], Runner] = module.load
    return binding, load(artifact, binding.options)


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file at `path`, as hex digits."""
    digest = hashlib.sha256()  # (hashlib.file_digest is Python 3.11's)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(binding: Binding, folder: Path) -> None:
    """`ProjectError` naming the first file in `folder` whose SHA-256 is not the one the binding
    recorded at conversion (files without a recorded digest are not checked)."""
    recorded = {binding.file: binding.sha256, **binding.files}
    for name, expected in recorded.items():
        if not expected:
            continue
        path = folder / name
        try:
            found = file_sha256(path)
        except OSError as exc:
            raise ProjectError(
                f"{path}: cannot read the artifact's file ({exc.strerror or exc}); restore it, "
                "or convert the model again"
            ) from None
        if found != expected:
            raise ProjectError(
                f"{path}: the file changed since the model was converted (its SHA-256 is not "
                f"the one {BINDING_FILE} records); restore the file, or convert the model again"
            )


def _beside(path: Traversable | Path, name: str) -> Path:
    """The file `name` in the folder of `path`, as a filesystem path."""
    return Path(str(path)).parent / name


class ArtifactModel(Model):
    """A model that runs a trained artifact: set `artifact` to its binding file
    (`files("my_model") / "artifact.json"`); the artifact is loaded once per process, on first
    use, whichever thread asks first. Override `evaluate_batch` to add your own steps around
    `run_artifact`."""

    artifact: ClassVar[Traversable | Path]
    _loaded: ClassVar[_Loaded | None] = None

    def loaded(self) -> _Loaded:
        """The loaded artifact of this class (loaded now if it is not yet)."""
        cls = type(self)
        loaded = cls.__dict__.get("_loaded")
        if loaded is None:
            with _LOCK:
                loaded = cls.__dict__.get("_loaded")
                if loaded is None:
                    loaded = _Loaded(*load_artifact(cls.artifact))
                    cls._loaded = loaded
        return loaded

    def run_artifact(self, input_sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The artifact's outputs for complete, checked input sets (one call for a batch)."""
        return self.loaded().run(input_sets)

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run the artifact on one input set."""
        return self.run_artifact([inputs])[0]

    def evaluate_batch(self, input_sets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run the artifact on a batch of input sets (in one call when it has a batch axis)."""
        return self.run_artifact(input_sets)

    def evaluate_floats(self, inputs: np.ndarray) -> dict[str, np.ndarray] | None:
        """Run the artifact on a batch given as one float array (see `Model.evaluate_floats`),
        packed straight into its input tensors; None when `run_artifact` is overridden or the
        artifact's inputs are not floating-point scalars."""
        if type(self).run_artifact is not ArtifactModel.run_artifact:
            return None
        return self.loaded().run_floats(inputs, self.spec.input_names)
