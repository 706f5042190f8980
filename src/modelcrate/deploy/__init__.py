"""Deploying models: the model registry (more of `modelcrate deploy` builds on it).

Above `packaging` in the layers: a packaged model never imports this at run time.
"""

from .registry import (
    DeploymentRecord,
    ModelRecord,
    Outcome,
    Registry,
    VersionRecord,
    open_registry,
)

__all__ = [
    "DeploymentRecord",
    "ModelRecord",
    "Outcome",
    "Registry",
    "VersionRecord",
    "open_registry",
]
