"""What the registry returns: frozen records of models, versions and deployments, and the
outcome of a change. Each has `to_json()`, the shape `modelcrate registry ... --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar

Status = Literal["live", "registered", "retired"]
"""A version's state: the one the model serves (live), available, or withdrawn for good."""


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class DeploymentJSON(TypedDict):
    """A deployment in `--json` output (times in ISO 8601, UTC)."""

    model: str
    version: str
    deployment_id: str
    name: str
    work_pool: str
    parameters_schema: dict[str, Any] | None
    created: str | None


class VersionJSON(TypedDict):
    """A version in `--json` output."""

    model: str
    version: str
    status: Status
    is_live: bool
    retired_at: str | None
    created: str | None
    wheel_sha256: str
    sdist_sha256: str | None
    source_url: str | None
    source_commit: str | None
    package: str
    entry_points: dict[str, dict[str, str]]
    image: str | None
    variables: dict[str, Any]
    requirements: list[str] | None
    deployments: list[DeploymentJSON]


class ModelJSON(TypedDict):
    """A model, with its versions, in `--json` output."""

    name: str
    description: str | None
    author: str | None
    laboratory: str | None
    facility: str | None
    beampath: str | None
    created: str | None
    updated: str | None
    live_version: str | None
    versions: list[VersionJSON]


class OutcomeJSON(TypedDict):
    """The outcome of a change (`promote`, `retire`) in `--json` output."""

    changed: bool
    message: str
    previous_live: str | None
    live: str | None
    record: ModelJSON | VersionJSON | DeploymentJSON


@dataclass(frozen=True)
class DeploymentRecord:
    """A Prefect deployment of a model version."""

    model: str
    version: str
    deployment_id: str
    name: str
    work_pool: str
    parameters_schema: dict[str, Any] | None
    created: datetime

    def to_json(self) -> DeploymentJSON:
        """This deployment as JSON-ready data."""
        return {
            "model": self.model,
            "version": self.version,
            "deployment_id": self.deployment_id,
            "name": self.name,
            "work_pool": self.work_pool,
            "parameters_schema": self.parameters_schema,
            "created": _time(self.created),
        }


@dataclass(frozen=True)
class VersionRecord:
    """A registered version of a model, with its deployments."""

    model: str
    version: str
    wheel_sha256: str
    sdist_sha256: str | None
    source_url: str | None
    source_commit: str | None
    package: str
    entry_points: dict[str, dict[str, str]]
    image: str | None
    variables: dict[str, Any]
    created: datetime
    is_live: bool
    retired_at: datetime | None
    deployments: tuple[DeploymentRecord, ...] = field(default=())
    requirements: tuple[str, ...] | None = None
    """What its environment must hold (its lock's pins, else its wheel's requirements), as
    requirement lines; None for a version registered without them."""

    @property
    def status(self) -> Status:
        """live, retired, or registered (neither)."""
        if self.is_live:
            return "live"
        return "retired" if self.retired_at is not None else "registered"

    def to_json(self) -> VersionJSON:
        """This version as JSON-ready data."""
        return {
            "model": self.model,
            "version": self.version,
            "status": self.status,
            "is_live": self.is_live,
            "retired_at": _time(self.retired_at),
            "created": _time(self.created),
            "wheel_sha256": self.wheel_sha256,
            "sdist_sha256": self.sdist_sha256,
            "source_url": self.source_url,
            "source_commit": self.source_commit,
            "package": self.package,
            "entry_points": self.entry_points,
            "image": self.image,
            "variables": self.variables,
            "requirements": list(self.requirements) if self.requirements is not None else None,
            "deployments": [d.to_json() for d in self.deployments],
        }


@dataclass(frozen=True)
class ModelRecord:
    """A registered model, with its versions (oldest first)."""

    name: str
    description: str | None
    author: str | None
    laboratory: str | None
    facility: str | None
    beampath: str | None
    created: datetime
    updated: datetime
    versions: tuple[VersionRecord, ...] = field(default=())

    @property
    def live(self) -> VersionRecord | None:
        """The live version, if there is one."""
        return next((v for v in self.versions if v.is_live), None)

    def to_json(self) -> ModelJSON:
        """This model, its versions and their deployments as JSON-ready data."""
        live = self.live
        return {
            "name": self.name,
            "description": self.description,
            "author": self.author,
            "laboratory": self.laboratory,
            "facility": self.facility,
            "beampath": self.beampath,
            "created": _time(self.created),
            "updated": _time(self.updated),
            "live_version": live.version if live else None,
            "versions": [v.to_json() for v in self.versions],
        }


R = TypeVar("R", ModelRecord, VersionRecord, DeploymentRecord)


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What a change did: the record as it now is, whether anything changed, a sentence that
    says what happened, and the model's live version before and after."""

    record: R
    changed: bool
    message: str
    previous_live: str | None = None
    live: str | None = None

    def to_json(self) -> OutcomeJSON:
        """This outcome as JSON-ready data."""
        return {
            "changed": self.changed,
            "message": self.message,
            "previous_live": self.previous_live,
            "live": self.live,
            "record": self.record.to_json(),
        }


@dataclass(frozen=True)
class Release:
    """What recording a deployed version did (`Registry.register_release`): the version as it
    now is, whether anything changed, and a sentence per step (model, version, deployment, and
    making it live when it was the model's first)."""

    record: VersionRecord
    changed: bool
    messages: tuple[str, ...]
