"""`modelcrate lock PROJECT`: write hashed lock files of the runtime and development dependencies."""

from __future__ import annotations

from pathlib import Path

import click

from ._output import shown_path
from ._progress import spinner


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "--format",
    "format_",
    type=click.Choice(("uv", "pipenv")),
    default="uv",
    show_default=True,
    help="uv: requirements/runtime.lock.txt and dev.lock.txt (pip-installable with "
    "--require-hashes); pipenv: Pipfile and Pipfile.lock.",
)
@click.option(
    "-U",
    "--upgrade",
    is_flag=True,
    help="Re-resolve every pin instead of keeping the current ones.",
)
def lock(project: Path, format_: str, upgrade: bool) -> None:
    """Pin every dependency of PROJECT, with hashes, for each Python version it allows.

    The runtime set (what the container installs) is a subset of the development set (what CI
    installs), at the same versions.
    """
    from ..packaging import lock_project

    with spinner(f"locking {shown_path(project.absolute())} with {format_}"):
        locked = lock_project(project, format=format_, upgrade=upgrade)  # type: ignore[arg-type]
    for file in locked.files:
        try:
            shown = file.path.relative_to(Path.cwd())
        except ValueError:
            shown = file.path
        click.echo(f"Wrote {shown} ({file.pins} {file.noun}{'' if file.pins == 1 else 's'})")
