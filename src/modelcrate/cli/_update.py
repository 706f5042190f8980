"""`modelcrate update PROJECT`: merge the current template into a generated project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._output import exit_failed, shown_path

if TYPE_CHECKING:
    from ..packaging import Updated


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "--to",
    "to",
    metavar="VERSION",
    help="Template version to update to [default: this modelcrate's version].",
)
def update(project: Path, to: str | None) -> None:
    """Bring PROJECT to the current template, keeping your edits (a three-way merge by copier).

    PROJECT must be a git repository with everything committed. Where you and the template
    changed the same lines, the file gets conflict markers, listed at the end (exit code 1).
    Review the result with `git diff`, then commit.
    """
    from ..packaging import update_project

    updated = update_project(project, to=to)
    shown = shown_path(updated.path)
    if updated.up_to_date:
        click.echo(f"{shown} is already up to date (template {updated.new_version}).")
        return
    count = len(updated.changed)
    move = (
        f"from template {updated.old_version} to {updated.new_version}"
        if updated.old_version != updated.new_version
        else f"at template {updated.new_version} (the variables changed)"
    )
    click.echo(f"Updated {shown} {move}: {count} file{'s' if count != 1 else ''} changed.")
    for name in updated.changed:
        click.echo(f"  {_mark(name, updated)} {name}")
    if not updated.conflicts:
        click.echo("Review with `git diff`, then commit.")
        return
    click.echo(f"Conflicts in {len(updated.conflicts)} file(s), marked inline:")
    for name in updated.conflicts:
        click.echo(f"  {name}")
    click.echo(
        "In each, keep what you want between `<<<<<<< before updating` and "
        "`>>>>>>> after updating`, delete the markers, then commit."
    )
    exit_failed()


def _mark(name: str, updated: Updated) -> str:
    """One letter for what the update did to a file: Conflict, Added, Deleted or Modified."""
    if name in updated.conflicts:
        return "C"
    return "A" if name in updated.added else "D" if name in updated.removed else "M"
