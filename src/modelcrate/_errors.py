"""Errors and warnings a user can cause; each message is the sentence the user sees, and each
error class carries the exit code of the command line (in brackets).

ModelcrateError [2]         bad input, unless a subclass says otherwise
├── SpecError          a variables file cannot be read or breaks a rule
├── VariableValueError a value does not fit its variable (type, shape, range, choices)
│   ├── InputError
│   │   └── MissingInputError  a required input (one with no default) was not given
│   └── OutputError [1]    the model returned outputs that break its spec (a run-time failure)
├── ProjectError       project options are invalid, or a project or model cannot be found
├── SettingsError      a MODELCRATE_* environment variable cannot be understood
├── FileError          a file to read is too large or not a file; a path to write is not a file
├── ArtifactError      a trained model to convert cannot be read, is of a format not (yet)
│                      supported, or disagrees with the variables file given for it
├── MigrateError       an old project to migrate has no setup.py or setup.cfg, cannot be parsed,
│                      or cannot be migrated as asked (a dirty work tree, a taken branch)
├── TargetError        a result target URI is malformed, unreachable or refuses a write
│   ├── SaveError [1]          some targets of a run did not store its results (others may have)
│   └── PartialWriteError [1]  a target stored some results of a batch and refused others
├── RegistryError      the model registry's database cannot be opened, reached or migrated
│   ├── RegistryLookupError    a model or version is not in the registry
│   └── RegistryConflictError  a change breaks the registry's rules (another wheel, a retired version)
├── PrefectStartError [1]  the temporary local Prefect server of a flow run did not start in time
├── ClusterError       a Dask cluster cannot be started or reached, or its packages are missing
├── ServicesError [1]  the local services (a Prefect server, its worker) cannot be started or stopped
└── DeployError [1]    a version's environment or Prefect deployment cannot be made, or its run failed

ModelcrateWarning
├── SpecWarning        a variables file is readable but suspicious (default outside range, misspelt key)
├── ValueWarning       a value is outside its range and the variable's policy is "warn"
└── TargetWarning      a target holds something that is not a good result (left out of listings)
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Literal

__all__ = [
    "ArtifactError",
    "ClusterError",
    "DeployError",
    "ExitCode",
    "FileError",
    "InputError",
    "InputHint",
    "MigrateError",
    "MissingInputError",
    "ModelcrateError",
    "ModelcrateWarning",
    "OutputError",
    "PartialWriteError",
    "PrefectStartError",
    "ProjectError",
    "RegistryConflictError",
    "RegistryError",
    "RegistryLookupError",
    "SaveError",
    "ServicesError",
    "SettingsError",
    "SpecError",
    "SpecWarning",
    "TargetError",
    "TargetWarning",
    "ValueWarning",
    "VariableValueError",
]


class ExitCode(IntEnum):
    """The exit codes of the `modelcrate` command."""

    OK = 0
    FAILURE = 1  # a failure at run time: a target, a model's outputs, a failed check, a bug
    USAGE = 2  # bad input: a variables file, an option, an input value, a project or target
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15), after unwinding as from Ctrl-C


class ModelcrateError(Exception):
    """Base of every error modelcrate raises on purpose; `str()` is the user-facing sentence and
    `exit_code` the command line's exit code for it."""

    exit_code: ClassVar[ExitCode] = ExitCode.USAGE


class SpecError(ModelcrateError):
    """Raised when a variables file is missing, is not valid YAML, or declares invalid variables."""


class VariableValueError(ModelcrateError, ValueError):
    """Raised when a value does not match its variable's type, shape, range or choices."""


class InputError(VariableValueError):
    """Raised when an input value is missing, unknown or invalid for the model's spec."""


InputHint = Literal["set", "inputs", "json"]
"""How an entry point takes inputs, for the hint of a missing one: `modelcrate run --set`, a
package command's `--inputs JSON`, or a JSON argument (`python src/PKG/flow.py JSON`)."""


class MissingInputError(InputError):
    """Raised when a required input (one with no default) is not given. The message names the
    input; `given_by(how)` is the same error with a hint in the caller's own syntax."""

    def __init__(self, name: str, where: str = "", how: InputHint | None = None) -> None:
        self.name, self.where, self.how = name, where, how
        super().__init__(
            f"{where}input {name!r} is required (it has no default); {_hint(name, how)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by a flow run: keep the fields, not args
        return (type(self), (self.name, self.where, self.how))

    def given_by(self, how: InputHint | None) -> MissingInputError:
        """This error with the hint of an entry point that takes inputs `how`."""
        return MissingInputError(self.name, self.where, how)


def _hint(name: str, how: InputHint | None) -> str:
    import json

    if how == "set":
        return f"give it a value, e.g. --set {name}=VALUE"
    if how is None:
        return "give it a value"
    example = f"'{{{json.dumps(name)}: VALUE}}'"
    return f"give it a value, e.g. {'--inputs ' if how == 'inputs' else ''}{example}"


class OutputError(VariableValueError):
    """Raised when a model's `evaluate` returns outputs that do not match its spec."""

    exit_code = ExitCode.FAILURE


class ProjectError(ModelcrateError):
    """Raised when project options are invalid, or a project or installed model cannot be found."""


class TargetError(ModelcrateError):
    """Raised when a result target URI is malformed, or the target is unreachable or refuses."""


class SettingsError(ModelcrateError):
    """A `MODELCRATE_*` environment variable cannot be understood."""


class FileError(ModelcrateError):
    """Raised when a file to read is too large or unreadable, or a path to write to is not a
    regular file (a device, a directory, a pipe)."""


class ArtifactError(ModelcrateError):
    """Raised when a trained model to convert cannot be read, is of a format not (yet)
    supported, holds types or code not trusted, or disagrees with the variables file given."""


class MigrateError(ModelcrateError):
    """Raised when an old project to migrate has no setup.py, setup.cfg or pyproject.toml, one
    of them cannot be parsed, or the migration cannot be made as asked (uncommitted changes,
    a destination that exists, a branch already taken)."""


class SaveError(TargetError):
    """Some targets did not store the results; `stored` says what the others did store."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, stored: list[Any] | None = None) -> None:
        super().__init__(message)
        self.stored: list[Any] = stored or []  # runtime.Stored (this module imports no layer)


class PartialWriteError(TargetError):
    """Raised when a target stored some results of a batch and refused others; `locations`
    holds where each result is, None for a refused one."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, locations: list[str | None]) -> None:
        super().__init__(message)
        self.locations = locations


class RegistryError(ModelcrateError):
    """Raised when the model registry's URL is malformed or names an unknown driver, or its
    database cannot be reached, created or migrated (or was made by a newer modelcrate)."""


class RegistryLookupError(RegistryError):
    """Raised when a model or a version asked for is not in the registry."""


class RegistryConflictError(RegistryError):
    """Raised when a change breaks the registry's rules: a version registered again with
    another wheel, a retired version promoted or deployed, a name that cannot be stored."""


class PrefectStartError(ModelcrateError):
    """Raised when the temporary local Prefect server a flow run starts did not answer in time
    (often a busy machine): neither a bug nor bad input."""

    exit_code = ExitCode.FAILURE


class ClusterError(ModelcrateError):
    """Raised when the Dask cluster of a run cannot be started or reached, or what running on
    Dask needs is not installed."""


class ServicesError(ModelcrateError):
    """Raised when the local services of deployments (a Prefect server and its worker) cannot
    be started, reached or stopped."""

    exit_code = ExitCode.FAILURE


class DeployError(ModelcrateError):
    """Raised when a model version's environment or its Prefect deployment cannot be made, or a
    run of a deployment fails."""

    exit_code = ExitCode.FAILURE


class ModelcrateWarning(UserWarning):
    """Base of modelcrate's warnings."""


class SpecWarning(ModelcrateWarning):
    """Warned when a variables file loads but something in it looks wrong."""


class ValueWarning(ModelcrateWarning):
    """Warned when a value is out of range and its variable's policy is "warn"."""


class TargetWarning(ModelcrateWarning):
    """Warned when a target holds something that is not a good result: an altered or damaged
    document (left out of listings), or a temporary file a killed writer left."""
