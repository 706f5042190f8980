"""modelcrate: package scientific and machine-learning models as installable, deployable projects."""

from ._errors import (
    ArtifactError,
    FileError,
    InputError,
    MissingInputError,
    ModelcrateError,
    ModelcrateWarning,
    OutputError,
    PartialWriteError,
    PrefectStartError,
    ProjectError,
    SaveError,
    SettingsError,
    SpecError,
    SpecWarning,
    TargetError,
    TargetWarning,
    ValueWarning,
    VariableValueError,
)
from .model import Model
from .spec import Spec, load_spec

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - running from a source tree that was never built
    __version__ = "0+unknown"

__all__ = [
    "ArtifactError",
    "FileError",
    "InputError",
    "MissingInputError",
    "Model",
    "ModelcrateError",
    "ModelcrateWarning",
    "OutputError",
    "PartialWriteError",
    "PrefectStartError",
    "ProjectError",
    "SaveError",
    "SettingsError",
    "Spec",
    "SpecError",
    "SpecWarning",
    "TargetError",
    "TargetWarning",
    "ValueWarning",
    "VariableValueError",
    "__version__",
    "load_spec",
]
