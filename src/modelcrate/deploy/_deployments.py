"""Prefect deployments of model versions, and runs of them.

A version deployed to a process pool runs from its own environment (`version_environment`): the
deployment's `command` job variable is that environment's Python running Prefect's engine, and its
entry point is the flow's module path, so the flow is imported from the version's wheel, never
from a working tree. The flow's parameter schema is read in that environment too (modelcrate's
own environment need not have the model installed), for the server's form; each run checks its
inputs itself, by each variable's policy.

Prefect's client is imported here, in the process that deploys or asks for a run; the API is the
one `PREFECT_API_URL` names, else the local services' (`modelcrate services start`).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import DeployError
from ._services import FOREIGN_PYTHON, load_services_settings, running_api_url

_SCHEMA_PROBE = """
import json, sys
from prefect.utilities.callables import parameter_schema
from prefect.utilities.importtools import import_object
flow = import_object(sys.argv[1])
print(json.dumps({"name": flow.name, "schema": parameter_schema(flow).model_dump_for_openapi()}))
"""
"""Run by a version's Python: its flow's name and parameter schema, as JSON."""

FINAL_FAILURES = frozenset({"FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class FlowOfVersion:
    """A flow in a version's environment: its entry point (module path), name and parameters."""

    entrypoint: str
    name: str
    parameter_schema: dict[str, Any]


@dataclass(frozen=True)
class WorkPool:
    """A work pool on the Prefect server: its name, its type (`process`, `docker`,
    `kubernetes`...) and the job variables its base job template takes (None: any)."""

    name: str
    type: str
    variables: frozenset[str] | None

    @property
    def runs_images(self) -> bool:
        """Whether its runs start from an image (every type but `process`)."""
        return self.type != "process"


@dataclass(frozen=True)
class Deployed:
    """A Prefect deployment of a version: its id, full name (`FLOW/DEPLOYMENT`) and pool."""

    id: str
    name: str
    pool: str
    created: bool = False
    """Whether it was created now (False: an existing deployment was updated)."""


@dataclass(frozen=True)
class FlowRunOutcome:
    """How a run of a deployment ended: its id, name, final state and that state's message."""

    id: str
    name: str
    state: str
    message: str

    @property
    def failed(self) -> bool:
        return self.state in FINAL_FAILURES


def prefect_api_url() -> str:
    """The Prefect API deployments go to: `PREFECT_API_URL` (in the environment, or in the
    active Prefect profile: `prefect config set PREFECT_API_URL=...`), else the local
    services'."""
    configured = os.environ.get("PREFECT_API_URL", "").strip() or _profile_api_url()
    if configured:
        return configured
    local = running_api_url()
    if local is None:
        raise DeployError(
            "no Prefect server to deploy to: start the local one with `modelcrate services "
            "start`, or set PREFECT_API_URL to a server's API"
        )
    return local


def _profile_api_url() -> str:
    """`PREFECT_API_URL` of the active Prefect profile (`PREFECT_PROFILE`, else the profiles
    file's `active`), read from Prefect's profiles file (`PREFECT_PROFILES_PATH`, else
    `$PREFECT_HOME/profiles.toml`, else `~/.prefect/profiles.toml`); "" if it sets none. Only
    that file: a project's own files in the working directory never choose the server."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active")
    profile = (profiles.get("profiles") or {}).get(active) if isinstance(active, str) else None
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return url.strip() if isinstance(url, str) else ""


def read_flow(
    python: Path, entrypoint: str, *, path: Path | None = None, timeout: float = 300
) -> FlowOfVersion:
    """The flow at `entrypoint` (`package.flow:name`) as the version's Python sees it (with
    `path` first on its `sys.path`, if given)."""
    from ..packaging import run_tool

    env = _quiet_env()
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    try:
        done = run_tool([python, "-c", _SCHEMA_PROBE, entrypoint], env=env, timeout=timeout)
    except OSError as exc:
        raise DeployError(f"cannot read the flow {entrypoint}: {exc}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise DeployError(
            f"the version's environment cannot load its flow {entrypoint}: "
            f"{said[-1] if said else f'exit code {done.returncode}'}"
        )
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return FlowOfVersion(entrypoint, str(found["name"]), dict(found["schema"]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise DeployError(f"cannot read the parameters of the flow {entrypoint}") from None


def read_pool(pool: str) -> WorkPool:
    """The work pool `pool` on the Prefect server; a `DeployError` if there is none."""
    with _client() as client, _prefect_errors(f"read the work pool {pool!r}"):
        found = _read_pool(client, pool)
    template = found.base_job_template or {}
    properties = (template.get("variables") or {}).get("properties")
    variables = frozenset(properties) if isinstance(properties, dict) and properties else None
    return WorkPool(found.name, str(found.type), variables)


def _read_pool(client: Any, pool: str) -> Any:
    try:
        return client.read_work_pool(pool)
    except Exception as exc:
        if _not_found(exc):
            raise DeployError(
                f"no work pool {pool!r} on the Prefect server; give one that exists (--pool), "
                "or create it: prefect work-pool create NAME --type process"
            ) from None
        raise


def apply_deployment(
    flow: FlowOfVersion,
    *,
    name: str,
    pool: str,
    version: str,
    python: Path | None = None,
    job_variables: Mapping[str, Any] | None = None,
    pull_steps: list[dict[str, Any]] | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
) -> Deployed:
    """Create the deployment `name` of `flow` on `pool`, or update it if it exists: runs of it
    use `python` (a version's environment) on a process pool, or the image and settings that
    `job_variables` give on another kind of pool (after its `pull_steps`)."""
    variables = dict(job_variables or {})
    if python is not None:  # Prefect splits the command as a shell would: quoted
        variables.setdefault("command", shlex.join([str(python), "-m", "prefect.engine"]))
    with _client() as client, _prefect_errors("create the deployment"):
        _read_pool(client, pool)
        try:
            client.read_deployment_by_name(f"{flow.name}/{name}")
            created = False
        except Exception as exc:
            if not _not_found(exc):
                raise
            created = True
        flow_id = client.create_flow_from_name(flow.name)
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name=name,
            version=version,
            work_pool_name=pool,
            entrypoint=flow.entrypoint,
            parameter_openapi_schema=flow.parameter_schema,
            # the run checks its inputs itself, each variable by its policy: the schema's bounds
            # are for the form, and would refuse what the policy `warn` takes
            enforce_parameter_schema=False,
            job_variables=variables,
            pull_steps=list(pull_steps or []),
            description=description,
            tags=tags or [],
        )
    return Deployed(str(deployment_id), f"{flow.name}/{name}", pool, created)


IDLE_SECONDS = 90.0
"""A pool whose workers have not sent a heartbeat for this long has no worker to run on."""


def idle_pool_warning(pool: str, *, idle_seconds: float = IDLE_SECONDS) -> str | None:
    """A sentence saying that no worker has polled `pool` lately (a run of it would wait until
    one does), or None when one has; None too when it cannot be told."""
    from datetime import datetime, timezone

    try:
        with _client() as client:
            found = client.read_work_pool(pool)
            if found.type.endswith(":push") or found.type.startswith("prefect:"):
                return None  # a push or managed pool: no worker polls it
            workers = client.read_workers_for_work_pool(pool)
    except Exception as exc:  # what cannot be told is not warned of; the run says the rest
        if _not_found(exc):
            return (
                f"there is no work pool {pool!r} on the Prefect server any more; the run "
                "waits until it is made and a worker polls it"
            )
        return None
    beats = [w.last_heartbeat_time for w in workers if w.last_heartbeat_time is not None]
    if beats:
        age = (datetime.now(timezone.utc) - max(beats)).total_seconds()
        if age <= idle_seconds:
            return None
        seen = f"the last worker of the pool {pool!r} was seen {age / 60:.0f} min ago"
    else:
        seen = f"no worker has polled the pool {pool!r}"
    return (
        f"{seen}, so the run waits until one starts (modelcrate services start, or prefect "
        f"worker start --pool {shlex.quote(pool)}); Ctrl-C stops waiting, the run stays queued"
    )


def remove_deployment(deployment_id: str) -> None:
    """Delete a deployment (a deploy that failed after creating it cleans up with this)."""
    from uuid import UUID

    with _client() as client, _prefect_errors("delete the deployment"):
        client.delete_deployment(UUID(deployment_id))


def run_deployment(
    name: str,
    parameters: Mapping[str, Any],
    *,
    wait: bool = True,
    timeout: float | None = None,
    on_state: Callable[[str, str], None] | None = None,
    poll: float = 0.25,
) -> FlowRunOutcome:
    """Start a run of the deployment `name` (`FLOW/DEPLOYMENT`) with `parameters`; with `wait`,
    follow its states (`on_state(state, message)` at each change) until it ends."""
    with _client() as client, _prefect_errors(f"run {name}"):
        try:
            deployment = client.read_deployment_by_name(name)
        except Exception as exc:
            if not _not_found(exc):
                raise
            raise DeployError(
                f"no deployment {name!r} on the Prefect server (removed there?); deploy the "
                "version again: modelcrate deploy PROJECT"
            ) from None
        run = client.create_flow_run_from_deployment(deployment.id, parameters=dict(parameters))
        seen = None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = run.state
            shown = (
                state.type.value if state else "PENDING",
                (state.message or "") if state else "",
            )
            if shown != seen and on_state is not None:
                on_state(state.name if state else "Pending", shown[1])
            seen = shown
            if not wait or (state is not None and state.is_final()):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise DeployError(
                    f"the run {run.name} of {name} did not end within {timeout:g} s; it goes on "
                    f"(flow run {run.id})"
                )
            time.sleep(poll)
            run = client.read_flow_run(run.id)
    state = run.state
    return FlowRunOutcome(
        str(run.id),
        str(run.name),
        state.type.value if state else "PENDING",
        " ".join(((state.message or "") if state else "").split()),
    )


def _not_found(exc: BaseException) -> bool:
    """Whether a Prefect client error says that what was asked for does not exist."""
    from prefect.exceptions import ObjectNotFound

    response = getattr(exc, "response", None)
    return isinstance(exc, ObjectNotFound) or getattr(response, "status_code", None) == 404


@contextmanager
def _prefect_errors(doing: str) -> Iterator[None]:
    """Within the block, the Prefect client's failures (a server that does not answer, or
    refuses) are one `DeployError` saying what could not be done, the API's password masked."""
    try:
        yield
    except DeployError:
        raise
    except Exception as exc:
        from ..runtime import mask_secrets, mask_uri

        api = prefect_api_url()
        raise DeployError(
            f"cannot {doing} on the Prefect server at {mask_uri(api)}: "
            f"{mask_secrets(_reason(exc), api)}"
        ) from None


def check_server(api: str) -> None:
    """A `DeployError` unless the Prefect API at `api` answers."""
    import urllib.request

    from ..runtime import mask_uri

    try:
        with urllib.request.urlopen(f"{api.rstrip('/')}/health", timeout=5) as answer:
            if answer.status == 200:
                return
    except (OSError, ValueError):
        pass
    raise DeployError(
        f"the Prefect server at {mask_uri(api)} does not answer; start the local one "
        "(modelcrate services start) or check PREFECT_API_URL"
    )


@contextmanager
def _client() -> Iterator[Any]:
    """Prefect's client of the deployments' API. The API reaches Prefect's settings for the
    block only (in the environment too, which Prefect reads when it is first imported): the
    process's own environment is as it was after it, for what it runs next."""
    api = prefect_api_url()
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api
    try:
        from prefect.client.orchestration import get_client
        from prefect.settings import temporary_settings

        with temporary_settings(updates={"api.url": api}), get_client(sync_client=True) as client:
            yield client
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before


def _quiet_env() -> dict[str, str]:
    """The environment of a version's Python asked about its flow: no telemetry, and Prefect's
    home in the services' directory rather than the user's home, and none of the caller's
    Python search path: what it finds is the version's environment alone."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_PYTHON}
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    env.setdefault("PREFECT_HOME", str(load_services_settings().directory / "prefect-home"))
    return env


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
