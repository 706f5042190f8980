"""What a deployment on a Docker or Kubernetes work pool runs: the version's image, and the job
variables the project's `prefect.yaml` gives its image deployment.

The image is the one `--image` names, else the one the project's image workflow publishes for
the version's git tag (the name in `prefect.yaml`, its `:latest` tag replaced by the version's
tag). The job variables are those of the `prefect.yaml` deployment on a pool of the same name,
else of its image deployment (the one whose job variables name an image), less those the pool's
base job template does not take, which are said.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import DeployError

PREFECT_YAML = "prefect.yaml"

# A container image reference as registries take it: [host[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
_IMAGE = re.compile(
    rf"{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[0-9a-f]{64})?"
)


@dataclass(frozen=True)
class ImageJob:
    """What an image deployment runs: the image, its job variables and its pull steps."""

    image: str
    job_variables: dict[str, Any]
    pull_steps: list[dict[str, Any]] = field(default_factory=list)
    left_out: tuple[str, ...] = ()
    """Job variables of `prefect.yaml` that the pool's base job template does not take."""


def check_image(reference: str, where: str = "--image") -> str:
    """`reference` if it is a container image reference, else a `DeployError` saying so."""
    if len(reference) > 255 or not _IMAGE.fullmatch(reference):
        raise DeployError(
            f"{where} {reference!r}: not an image reference; give one as registries name them, "
            "e.g. ghcr.io/my-lab/injector-surrogate:v1.2.0"
        )
    return reference


def image_job(
    root: Path,
    *,
    pool: str,
    pool_variables: frozenset[str] | None,
    version: str,
    image: str | None,
) -> ImageJob:
    """The image and job variables of PROJECT's `version` on the image pool `pool`, whose base
    job template takes `pool_variables` (None: any)."""
    entry = _image_entry(root, pool)
    work_pool = entry.get("work_pool") or {} if entry else {}
    variables = work_pool.get("job_variables") if isinstance(work_pool, dict) else None
    if variables is not None and not isinstance(variables, dict):
        raise DeployError(
            f"{root / PREFECT_YAML}: the job_variables of deployment "
            f"{str(entry.get('name') if entry else '')!r} are not a mapping (NAME: VALUE); fix "
            "them, or give --image"
        )
    given = dict(variables or {})
    if image is None:
        image = check_image(
            _published_image(root, given.get("image"), version), f"{root / PREFECT_YAML}: image"
        )
    given["image"] = check_image(image)
    left_out: tuple[str, ...] = ()
    if pool_variables is not None:
        left_out = tuple(sorted(k for k in given if k not in pool_variables))
        given = {k: v for k, v in given.items() if k in pool_variables}
    if pool_variables is not None and "image" not in pool_variables:
        raise DeployError(
            f"the work pool {pool!r} takes no image (its base job template has no 'image' "
            "variable); deploy to a Docker or Kubernetes pool"
        )
    pull = entry.get("pull") if entry else None
    steps = [step for step in pull if isinstance(step, dict)] if isinstance(pull, list) else []
    return ImageJob(image, given, steps, left_out)


def _image_entry(root: Path, pool: str) -> dict[str, Any] | None:
    """The deployment of `prefect.yaml` on the pool `pool`, else its first image deployment."""
    from ..spec import YAMLInputError, load_yaml

    path = root / PREFECT_YAML
    if not path.is_file():
        return None
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeployError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DeployError(f"{path}: cannot be read (not UTF-8 text)") from None
    except YAMLInputError as exc:
        raise DeployError(f"{path}: {exc}; fix it, or give --image") from None
    entries = document.get("deployments") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    found = [e for e in entries if isinstance(e, dict) and isinstance(e.get("work_pool"), dict)]
    for entry in found:
        if entry["work_pool"].get("name") == pool:
            return entry
    for entry in found:
        variables = entry["work_pool"].get("job_variables")
        if isinstance(variables, dict) and variables.get("image"):
            return entry
    return None


def _published_image(root: Path, named: object, version: str) -> str:
    """The image the project's workflow publishes for `version`: the name in `prefect.yaml`,
    tagged with the version's git tag."""
    if not isinstance(named, str) or not named.strip():
        raise DeployError(
            f"{root / PREFECT_YAML} names no image of the project; give the version's image: "
            f"--image REGISTRY/NAME:v{version}"
        )
    name = named.strip().split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if "OWNER" in name:
        raise DeployError(
            f"{root / PREFECT_YAML}: its image {named!r} still has the placeholder OWNER (the "
            "image workflow names it after the repository's account); put the account there, "
            f"or give the version's image: --image {name.replace('OWNER', 'my-lab')}:v{version}"
        )
    tag = _version_tag(root, version)
    if tag is None:
        raise DeployError(
            f"{root}: no git tag of version {version} at HEAD, so no image of it is published; "
            f"tag it (git tag v{version}) and push the tag, or give --image"
        )
    return f"{name}:{tag}"


def _version_tag(root: Path, version: str) -> str | None:
    """The git tag at HEAD that names `version` (`v1.2.0` or `1.2.0`), if there is one."""
    from packaging.version import InvalidVersion, Version

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "tag", "--points-at", "HEAD"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for tag in done.stdout.split():
        try:
            if Version(tag) == Version(version):
                return tag
        except InvalidVersion:
            continue
    return None
