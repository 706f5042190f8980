"""`modelcrate deploy`: check a project, build its wheel, make the version's environment, create
its Prefect deployment and register the version and the deployment in the model registry. The
first version of a model deployed becomes its live version; later ones wait for `registry
promote`.

Nothing is registered until every step before it has passed: a failed check, an untagged or
uncommitted version (unless `dev`), a wheel that does not build or install, or a flow its own
environment cannot load stops the deploy with the registry as it was. The model, the
version, its deployment and (for a model's first version) its being live are registered in one
transaction, so a failure leaves the registry as it was; a Prefect deployment created by a deploy
whose registering then fails is deleted again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .._errors import DeployError, ProjectError
from ..runtime import FLOWS_GROUP, mask_uri
from ._deployments import (
    Deployed,
    FlowOfVersion,
    apply_deployment,
    check_server,
    prefect_api_url,
    read_flow,
    read_pool,
    remove_deployment,
)
from ._environments import VersionEnvironment, file_sha256, version_environment
from ._images import ImageJob, check_image, image_job
from ._services import check_pool_name, load_services_settings
from ._shared import (
    SharedEnvironment,
    masked_requirement,
    requirement_lines,
    shared_environment,
    unmet_requirements,
)

LOCAL_CHECKS = frozenset({"portable"})
"""Checks that only another machine needs passed: the version's environment is made here, from
this machine's paths."""


@dataclass(frozen=True)
class DeployReport:
    """What a deploy did: the version, its wheel and environment, its Prefect deployment, and
    what the registry says (`changed` False: it was deployed so already)."""

    model: str
    version: str
    api_url: str
    """The Prefect API the deployment is on."""
    wheel: Path
    environment: VersionEnvironment
    deployment: Deployed
    changed: bool
    messages: tuple[str, ...]
    image: str | None = None
    """The image its runs start from, on a Docker or Kubernetes pool."""
    shared_env: str | None = None
    """The shared environment its runs use, if it was deployed into one."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "api_url": mask_uri(self.api_url),
            "wheel": self.wheel.name,
            "wheel_sha256": self.environment.wheel_sha256,
            "environment": str(self.environment.path),
            "deployment": {
                "id": self.deployment.id,
                "name": self.deployment.name,
                "pool": self.deployment.pool,
            },
            "image": self.image,
            "shared_env": self.shared_env,
            "changed": self.changed,
            "messages": list(self.messages),
        }


def deploy_project(
    project: str | Path,
    *,
    pool: str | None = None,
    image: str | None = None,
    shared_env: str | None = None,
    dev: bool = False,
    wheel: Path | None = None,
    registry: str | None = None,
    say: Callable[[str], None] = print,
) -> DeployReport:
    """Deploy PROJECT's current version (see the module's docstring) to the work pool `pool`.
    On a process pool runs use the version's environment; on a Docker or Kubernetes pool they
    start from `image` (else the image the project publishes for the version, see `image_job`).
    With `shared_env`, a process pool's runs use that shared environment (see `_shared`),
    which must hold every requirement of the version. `say` gets a line per step. A `DeployError` (or the registry's error) says what stopped
    it."""
    from packaging.utils import canonicalize_name

    from ..packaging import RUNTIME_LOCK, build_project, check_project, read_project, variables_path
    from ..runtime import encode_value
    from ..spec import load_spec, spec_document
    from .registry import open_registry

    root = Path(project).expanduser().resolve()
    pool = check_pool_name(pool or load_services_settings().pool)
    if image is not None:
        check_image(image)
    api = prefect_api_url()  # a server to deploy to, answering, before any work is done
    check_server(api)
    work_pool = read_pool(pool)
    if image is not None and not work_pool.runs_images:
        raise DeployError(
            f"--image is for work pools that start images (docker, kubernetes); {pool!r} is a "
            "process pool, where each version runs in an environment of its own: leave --image out"
        )
    shared = _shared_environment(shared_env, work_pool.runs_images, root)
    say(f"Checking {root.name}...")
    failed = [check for check in check_project(root) if not check.ok]
    for check in [c for c in failed if c.name in LOCAL_CHECKS]:
        say(f"warning: {check.name}: {check.message} (deployed on this machine, it runs)")
    failed = [check for check in failed if check.name not in LOCAL_CHECKS]
    if failed:
        listed = "; ".join(f"{check.name}: {check.message}" for check in failed)
        raise DeployError(f"{root}: the checks failed, nothing was deployed ({listed})")
    with tempfile.TemporaryDirectory(prefix="modelcrate-deploy-") as tmp:
        if wheel is None:
            say("Building the wheel...")
            built = build_project(root, Path(tmp) / "dist")
            wheel_path, sdist_sha = built.wheel, file_sha256(built.sdist)
        else:
            wheel_path, sdist_sha = Path(wheel).expanduser().resolve(), None
        about = _wheel_metadata(wheel_path)
        version = about["version"]
        expected = read_project(root).name
        if canonicalize_name(about["name"]) != canonicalize_name(expected):
            raise DeployError(
                f"{wheel_path.name} is a wheel of {about['name']}, not of {expected} ({root})"
            )
        if not dev and _not_a_release(version):
            raise DeployError(
                f"{root}: version {version} is not a release (untagged commits or uncommitted "
                "changes); commit, tag it (git tag v1.0.0) and deploy again, or deploy it with --dev"
            )
        lock = root / RUNTIME_LOCK if (root / RUNTIME_LOCK).is_file() else None
        requirements = _requirements(lock, about["requires"])
        flows = about["entry_points"].get(FLOWS_GROUP, {})
        if not flows:
            raise DeployError(f"{wheel_path.name}: no flow in the {FLOWS_GROUP} entry points")
        entrypoint = next(iter(flows.values()))
        command: str | None = None
        if shared is None:
            say(f"Making the environment of {about['name']} {version}...")
            environment = version_environment(wheel_path, requirements=lock)
            flow = _flow_of(environment, entrypoint)
        else:
            environment, flow, command = _into_shared(
                shared, wheel_path, entrypoint, requirements, lock or root / RUNTIME_LOCK, say
            )
        model_name = next(iter(flows))
        package = entrypoint.split(":")[0].split(".")[0]
        spec = load_spec(variables_path(root, package.replace(".", "/")))
        job: ImageJob | None = None
        if work_pool.runs_images:
            job = image_job(
                root, pool=pool, pool_variables=work_pool.variables, version=version, image=image
            )
            for left in job.left_out:
                say(
                    f"warning: prefect.yaml's job variable {left!r} is not one the work pool "
                    f"{pool!r} ({work_pool.type}) takes; left out"
                )
        with open_registry(registry) as book:  # what the registry would refuse, before Prefect
            book.check_release(model_name, version, wheel_sha256=environment.wheel_sha256)
        say(f"Deploying {model_name} {version} to the work pool {pool!r}...")
        deployed = apply_deployment(
            flow,
            name=version if pool == load_services_settings().pool else f"{version}-{pool}",
            pool=pool,
            version=version,
            python=None if job or command else environment.python,
            job_variables=job.job_variables if job else {"command": command} if command else None,
            pull_steps=job.pull_steps if job else None,
            description=about.get("summary") or None,
            tags=[model_name],
        )
        try:  # registered only once the deployment exists
            with open_registry(registry) as book:
                release = book.register_release(
                    model_name,
                    version,
                    description=about.get("summary") or None,
                    wheel_sha256=environment.wheel_sha256,
                    sdist_sha256=sdist_sha,
                    package=package,
                    entry_points=about["entry_points"],
                    variables=cast(dict[str, Any], encode_value(spec_document(spec))),
                    image=job.image if job else None,
                    requirements=requirements,
                    deployment_id=deployed.id,
                    deployment_name=deployed.name,
                    work_pool=pool,
                    parameters_schema=flow.parameter_schema,
                )
        except BaseException:
            if deployed.created:  # made by this deploy: not left behind
                remove_deployment(deployed.id)
            raise
    return DeployReport(
        model_name,
        version,
        api,
        wheel_path,
        environment,
        deployed,
        release.changed,
        release.messages,
        job.image if job else None,
        shared.name if shared else None,
    )


_FLOW_FILE = ".modelcrate-flow.json"
"""The flow a version's environment holds, as read there once (its name and parameters)."""


def _flow_of(environment: VersionEnvironment, entrypoint: str) -> FlowOfVersion:
    """The flow at `entrypoint` in a version's environment: read by its Python the first time
    (a new interpreter importing Prefect: seconds), then from the note kept in the environment,
    which is made once per wheel and never changes."""
    import json

    note = environment.path / _FLOW_FILE
    try:
        kept = json.loads(note.read_text(encoding="utf-8"))
        if kept["entrypoint"] == entrypoint:
            return FlowOfVersion(entrypoint, str(kept["name"]), dict(kept["schema"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not read yet, or unreadable: read again
    flow = read_flow(environment.python, entrypoint)
    part = note.with_name(f"{note.name}.{os.getpid()}")
    try:
        part.write_text(
            json.dumps(
                {"entrypoint": entrypoint, "name": flow.name, "schema": flow.parameter_schema}
            ),
            encoding="utf-8",
        )
        os.replace(part, note)
    except OSError:
        part.unlink(missing_ok=True)  # a read-only environment: read again next time
    return flow


def _shared_environment(
    name: str | None, runs_images: bool, root: Path
) -> SharedEnvironment | None:
    """The shared environment `name` a deploy goes into, which must exist; None without one."""
    if name is None:
        return None
    if runs_images:
        raise DeployError(
            "--shared-env is for process pools; on a Docker or Kubernetes pool a shared "
            "environment is an image: give it with --image"
        )
    shared = shared_environment(name)
    if not shared.exists:
        raise DeployError(
            f"no shared environment {name!r}; make it with what the project needs: modelcrate "
            f"services shared-env {name} -r {root / 'requirements' / 'runtime.lock.txt'}"
        )
    return shared


def _into_shared(
    shared: SharedEnvironment,
    wheel: Path,
    entrypoint: str,
    requirements: list[str],
    lock: Path,
    say: Callable[[str], None],
) -> tuple[VersionEnvironment, Any, str]:
    """Check that `shared` holds every requirement of the version, keep its wheel there and
    read its flow; the environment, the flow and the command its runs start."""
    import shlex

    from ..packaging import find_uv, run_tool

    say(f"Checking the shared environment {shared.name!r}...")
    unmet = unmet_requirements(shared, requirements)
    if unmet:
        listed = "; ".join(unmet[:8]) + (f"; and {len(unmet) - 8} more" if len(unmet) > 8 else "")
        add = f"modelcrate services shared-env {shared.name} -r {shlex.quote(str(lock))}"
        if not lock.is_file():
            project = shlex.quote(str(lock.parent.parent))
            add = f"lock the project (modelcrate lock {project}), then {add}"
        raise DeployError(
            f"the shared environment {shared.name!r} does not hold what {wheel.name} needs: "
            f"{listed}; add it: {add}"
        )
    sha = file_sha256(wheel)
    kept = shared.wheel_path(wheel, sha)
    kept.parent.mkdir(parents=True, exist_ok=True)
    if not kept.is_file() or file_sha256(kept) != sha:
        part = kept.with_name(f".{kept.name}.{os.getpid()}")
        shutil.copyfile(wheel, part)
        os.replace(part, kept)
    uv = find_uv()
    if uv is None:
        raise DeployError("deploying into a shared environment needs uv: pip install uv")
    with tempfile.TemporaryDirectory(prefix="modelcrate-overlay-") as overlay:
        done = run_tool(
            [uv, "pip", "install", "-q", "--python", shared.python, "--no-deps", "--target",
             overlay, kept],
            timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise DeployError(
                f"{wheel.name} does not install into the shared environment {shared.name!r}: "
                f"{said[-1] if said else done.returncode}"
            )
        flow = read_flow(shared.python, entrypoint, path=Path(overlay))
    command = shlex.join(
        [str(shared.python), str(shared.launcher), str(kept), str(shared.overlay(sha))]
    )
    return VersionEnvironment(shared.path, shared.python, sha, made=False), flow, command


def _requirements(lock: Path | None, requires: list[str]) -> list[str]:
    """A version's requirements as lines: its lock's pins, else its wheel's own requirements
    (those of no extra). What the registry keeps: a URL's user and password masked."""
    return [masked_requirement(line) for line in _requirement_lines(lock, requires)]


def _requirement_lines(lock: Path | None, requires: list[str]) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    if lock is not None:
        return requirement_lines(lock)
    kept = []
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise DeployError(f"the wheel's requirement {line!r} cannot be read") from None
        if requirement.marker is None or "extra" not in str(requirement.marker):
            kept.append(str(requirement))
    return kept


def _not_a_release(version: str) -> bool:
    """Whether a version is one that git tags do not give: a development or local version."""
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(version)
    except InvalidVersion:
        return True
    return parsed.is_devrelease or parsed.local is not None


def _wheel_metadata(wheel: Path) -> dict[str, Any]:
    """A wheel's name, version, summary, entry points and requirements, from its dist-info."""
    from ..packaging import read_wheel

    try:
        report = read_wheel(wheel)
    except ProjectError as exc:
        raise DeployError(str(exc)) from None
    metadata = report.metadata
    name, version = str(metadata.get("name", "")), str(metadata.get("version", ""))
    if not name or not version or "\ufffd" in name + version:  # missing, or not UTF-8
        raise DeployError(f"{wheel}: its metadata has no readable name or version")
    return {
        "name": name,
        "version": version,
        "summary": metadata.get("summary"),
        "entry_points": report.entry_points,
        "requires": list(metadata.get("requires_dist", [])),
    }
