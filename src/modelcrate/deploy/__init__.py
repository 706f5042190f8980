"""Deploying models: the local services that deployments run on (a Prefect server and a process
worker, `modelcrate services`). Above `runtime`; a packaged model never imports it."""

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

__all__ = [
    "SERVER",
    "WORKER",
    "ServicesSettings",
    "ServicesStatus",
    "load_services_settings",
    "running_api_url",
    "service_log",
    "services_status",
    "start_services",
    "stop_services",
]
