"""Which deployment `modelcrate run MODEL[@VERSION] --deployment` runs: the live version of the
model (or the one named) as the registry has it, with its variables, so that inputs are read and
checked here without the model being installed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .._errors import DeployError, InputError
from ..model import Model
from ..spec import Spec


@dataclass(frozen=True)
class DeployedVersion:
    """A deployed version: the model, the version, its Prefect deployment and its variables."""

    model: str
    version: str
    deployment: str
    """The deployment's full name, `FLOW/DEPLOYMENT`."""
    pool: str
    spec: Spec

    @cached_property
    def stand_in(self) -> Model:
        """A model with the deployed version's variables and name, and no `evaluate`: it reads
        and checks inputs here as the deployed model will."""
        return type("DeployedModel", (Model,), {"spec": self.spec, "name": self.model})()

    def check_inputs(self, input_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Check input sets as the deployed model will, before a run is asked for: an
        `InputError` names the set and the variable (a value outside its range, say). Returns
        the sets as the model will take them (defaults filled in)."""
        return self.stand_in.prepare_many(input_sets, start=0 if len(input_sets) > 1 else None)


def split_reference(reference: str, *, version_required: bool = False) -> tuple[str, str]:
    """`MODEL@VERSION` as (MODEL, VERSION), and `MODEL` as (MODEL, "") unless
    `version_required`; an `InputError` for anything else."""
    model, at, version = reference.strip().rpartition("@")
    if not at:
        model, version = reference.strip(), ""
    model, version = model.strip(), version.strip()
    if not model or (at and not version) or (version_required and not version):
        what = "MODEL@VERSION" if version_required else "MODEL or MODEL@VERSION"
        raise InputError(f"{reference!r} is not {what}; write e.g. injector-surrogate@1.2.0")
    return model, version


def deployed_version(
    reference: str, *, pool: str | None = None, registry: str | None = None
) -> DeployedVersion:
    """The version `reference` (`MODEL`: its live version; `MODEL@VERSION`) names, and its
    latest deployment (on the work pool `pool`, if given); a `DeployError` (or the registry's)
    says what is missing."""
    from ..runtime import decode_value
    from ..spec import parse_spec
    from .registry import open_registry

    model, version = split_reference(reference)
    with open_registry(registry) as book:
        if version:
            record = book.version(model, version)
        else:
            live = [v for v in book.model(model).versions if v.is_live]
            if not live:
                raise DeployError(
                    f"{model} has no live version; name one (MODEL@VERSION) or promote one: "
                    f"modelcrate registry promote {model}@VERSION"
                )
            record = live[0]
    if not record.deployments:
        raise DeployError(
            f"{model}@{record.version} is registered but not deployed; deploy it: "
            "modelcrate deploy PROJECT"
        )
    candidates = [d for d in record.deployments if pool is None or d.work_pool == pool]
    if not candidates:
        pools = ", ".join(sorted({d.work_pool for d in record.deployments}))
        raise DeployError(
            f"{model}@{record.version} is not deployed on the work pool {pool!r} (it is on: "
            f"{pools}); leave out --pool, or deploy it there: modelcrate deploy PROJECT --pool {pool}"
        )
    deployment = max(candidates, key=lambda d: d.created)
    spec = parse_spec(
        decode_value(record.variables), source=f"the registry's {model}@{record.version}"
    )
    return DeployedVersion(model, record.version, deployment.name, deployment.work_pool, spec)
