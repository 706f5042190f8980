"""Deploying models: the local services that deployments run on (a Prefect server and a process
worker, `modelcrate services`), the model registry (what is deployed, which version is live),
each model version's own environment made from its wheel, and its Prefect deployment and the
runs of it. Above `packaging` in the layers: a packaged model never imports this at run time."""

from ._deploy import DeployReport, deploy_project
from ._deployments import (
    Deployed,
    FlowOfVersion,
    FlowRunOutcome,
    apply_deployment,
    idle_pool_warning,
    prefect_api_url,
    read_flow,
    remove_deployment,
    run_deployment,
)
from ._environments import VersionEnvironment, environments_root, file_sha256, version_environment
from ._runs import DeployedVersion, deployed_version, split_reference
from ._services import (
    SERVER,
    WORKER,
    ServicesSettings,
    ServicesStatus,
    load_services_settings,
    running_api_url,
    service_log,
    services_status,
    start_services,
    stop_services,
)
from ._shared import (
    SharedEnvironment,
    shared_environment,
    shared_requirements,
    unmet_requirements,
    update_shared_environment,
)
from .registry import (
    DeploymentRecord,
    ModelRecord,
    Outcome,
    Registry,
    VersionRecord,
    open_registry,
)

__all__ = [
    "SERVER",
    "WORKER",
    "DeployReport",
    "Deployed",
    "DeployedVersion",
    "DeploymentRecord",
    "FlowOfVersion",
    "FlowRunOutcome",
    "ModelRecord",
    "Outcome",
    "Registry",
    "ServicesSettings",
    "ServicesStatus",
    "SharedEnvironment",
    "VersionEnvironment",
    "VersionRecord",
    "apply_deployment",
    "deploy_project",
    "deployed_version",
    "environments_root",
    "file_sha256",
    "idle_pool_warning",
    "load_services_settings",
    "open_registry",
    "prefect_api_url",
    "read_flow",
    "remove_deployment",
    "run_deployment",
    "running_api_url",
    "service_log",
    "services_status",
    "shared_environment",
    "shared_requirements",
    "split_reference",
    "start_services",
    "stop_services",
    "unmet_requirements",
    "update_shared_environment",
    "version_environment",
]
