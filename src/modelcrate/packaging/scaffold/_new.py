"""`new_project`: render the project template for a variables file into a new directory."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..._errors import ProjectError
from ...spec import Spec, load_spec
from .._options import ProjectOptions
from ._releases import TemplateRelease
from ._write import render, write_project

__all__ = ["NewProject", "new_project", "render"]

log = logging.getLogger("modelcrate.packaging")


@dataclass(frozen=True)
class NewProject:
    """What `new_project` made: where, from which spec and template release, and whether it is
    a git repository."""

    path: Path
    options: ProjectOptions
    spec: Spec
    git: bool
    template: TemplateRelease | None = None


def new_project(
    variables: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    options: ProjectOptions,
    *,
    git: bool = True,
    template: TemplateRelease | None = None,
) -> NewProject:
    """Make a complete project for `variables` at `destination`, all or nothing.

    The project is rendered from `template` (default: this modelcrate's release in the local
    template repository, so `modelcrate update` can later merge template changes into it) in a
    temporary directory beside the destination, and renamed into place once complete, so a
    failure leaves nothing behind.
    """
    spec = load_spec(variables)
    dest = Path(destination).expanduser().resolve()
    try:
        made_repo, template = write_project(spec, dest, options, git=git, template=template)
    except OSError as exc:
        raise ProjectError(
            f"{dest}: cannot make the project there ({exc.strerror or exc}); "
            "choose another -o directory"
        ) from None
    log.info("created %s in %s", options.repo_name, dest)
    return NewProject(path=dest, options=options, spec=spec, git=made_repo, template=template)
