"""`modelcrate deploy PROJECT`: check, build, make the version's environment, create its Prefect
deployment and register it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from ._output import stderr
from ._registry import registry_option


@click.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--pool",
    help="The Prefect work pool to deploy to: a process pool, or a Docker or Kubernetes one "
    "[default: the local services' pool, $MODELCRATE_SERVICES_POOL, else modelcrate].",
)
@click.option(
    "--image",
    metavar="REF",
    help="On a Docker or Kubernetes pool: the version's image [default: the image the project's "
    "workflow publishes for the version's git tag, as prefect.yaml names it].",
)
@click.option(
    "--shared-env",
    metavar="NAME",
    help="On a process pool: run the version in the shared environment NAME (made with "
    "`modelcrate services shared-env`), which must hold every requirement of its lock, instead "
    "of an environment of its own.",
)
@click.option(
    "--dev",
    is_flag=True,
    help="Deploy a version that is not a release (untagged commits, uncommitted changes).",
)
@click.option(
    "--wheel",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Deploy this wheel of the project instead of building one.",
)
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print what was deployed as JSON.")
def deploy(
    project: Path,
    pool: str | None,
    image: str | None,
    shared_env: str | None,
    dev: bool,
    wheel: Path | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Deploy PROJECT's current version: run its checks, build its wheel, install the wheel
    into an environment of this version's own, create (or update) the Prefect deployment of
    its flow on the work pool, and register the version and the deployment in the model
    registry. On a process pool, runs of the deployment use the version's environment, so
    versions deployed side by side each run their own code; on a Docker or Kubernetes pool they
    start from the version's image, with the job variables of the project's prefect.yaml.
    With --shared-env, runs use one environment shared by many models (the version's wheel is
    installed without its dependencies at its first run).

    The Prefect server is the one PREFECT_API_URL names, else the local services'
    (`modelcrate services start`). Deploying the same version again changes nothing.

    \b
    Examples:
      modelcrate services start
      modelcrate deploy my-model                # a tagged release
      modelcrate deploy my-model --dev          # what the working tree holds now
      modelcrate deploy my-model --pool k8s --image ghcr.io/my-lab/my-model:v1.2.0
      modelcrate services shared-env accel -r my-model/requirements/runtime.lock.txt
      modelcrate deploy my-model --shared-env accel
      modelcrate registry show injector-surrogate
    """
    from ..deploy import deploy_project

    report = deploy_project(
        project,
        pool=pool,
        image=image,
        shared_env=shared_env,
        dev=dev,
        wheel=wheel,
        registry=url,
        say=stderr,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
        return
    deployment = report.deployment
    if report.changed:
        click.echo(
            f"Deployed {report.model} {report.version} as {deployment.name} on the work pool "
            f"{deployment.pool!r}{f' (image {report.image})' if report.image else ''}"
            f"{f' in the shared environment {report.shared_env!r}' if report.shared_env else ''}. Run it "
            "with:\n"
            f"  modelcrate run {shlex.quote(f'{report.model}@{report.version}')} --deployment"
        )
    else:
        click.echo(
            f"{report.model} {report.version} is deployed already as {deployment.name} on the "
            f"work pool {deployment.pool!r}; nothing changed."
        )
