"""The model registry: which models and versions exist, where each is deployed, which is live.

    with open_registry() as registry:          # $MODELCRATE_REGISTRY, else the user's SQLite file
        registry.register_model("injector-surrogate", author="...", facility="LCLS")
        registry.register_version("injector-surrogate", "1.2.0", wheel_sha256=..., package=...,
                                  variables=...)
        registry.record_deployment("injector-surrogate", "1.2.0", deployment_id=..., name=...,
                                   work_pool="local")
        registry.promote("injector-surrogate", "1.2.0")

Errors are `RegistryError`s: `RegistryLookupError` for an unknown model or version,
`RegistryConflictError` for a change the rules refuse.
"""

from ._database import REGISTRY_ENV, default_registry_path, registry_url
from ._records import (
    DeploymentJSON,
    DeploymentRecord,
    ModelJSON,
    ModelRecord,
    Outcome,
    OutcomeJSON,
    Release,
    Status,
    VersionJSON,
    VersionRecord,
)
from ._registry import Registry, VersionFacts, open_registry

__all__ = [
    "REGISTRY_ENV",
    "DeploymentJSON",
    "DeploymentRecord",
    "ModelJSON",
    "ModelRecord",
    "Outcome",
    "OutcomeJSON",
    "Registry",
    "Release",
    "Status",
    "VersionFacts",
    "VersionJSON",
    "VersionRecord",
    "default_registry_path",
    "open_registry",
    "registry_url",
]
