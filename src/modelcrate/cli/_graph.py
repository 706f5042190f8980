"""`modelcrate graph PROJECT [--json]`: the dependency tree of the project's environment."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._output import exit_failed


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "--python",
    type=click.Path(path_type=Path),
    help="The environment's interpreter [default: PROJECT/.venv/bin/python].",
)
@click.option("--dev", is_flag=True, help="Follow the project's dev extra too.")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    metavar="N",
    help="Show N levels of dependencies (1: direct ones only) [default: all].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
def graph(project: Path, python: Path | None, dev: bool, depth: int | None, as_json: bool) -> None:
    """Show which dependency of PROJECT pulls in what, with installed versions and conflicts.

    The tree lists a dependency's own dependencies once, where it first appears, and marks it
    "(see above)" after that; --json nests every subtree in full.

    Exits with 1 when an installed version does not match what requires it, or a requirement
    is not installed.
    """
    from ..packaging import dependency_graph, render_tree

    found = dependency_graph(project, python=python, dev=dev)
    if as_json:
        click.echo(json.dumps(found.to_dict(depth=depth), indent=2))
    else:
        click.echo(render_tree(found, depth=depth))
    if found.conflicts:
        exit_failed()
