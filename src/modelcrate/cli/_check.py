"""`modelcrate check PROJECT`: the conformance check, one line per failure and a summary table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._output import columns, exit_failed

DETAIL_WIDTH = 72


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "--python",
    type=click.Path(path_type=Path),
    help="The interpreter that imports the project "
    "[default: PROJECT/.venv/bin/python if there is one, else modelcrate's].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def check(project: Path, python: Path | None, as_json: bool) -> None:
    """Check that PROJECT conforms, for CI and before a deploy.

    \b
    variables     src/PACKAGE/variables.yml loads and equals the model class's spec
    entry-points  modelcrate.models is a modelcrate.Model subclass, modelcrate.flows a flow
    flow          the flow has a valid parameter schema and can become a deployment
    evaluate      the model on its defaults returns every output, right kind, shape, range
    readme        README.md's variable tables equal the ones rendered from variables.yml
    dockerfile    the image runs as a non-root user and installs the wheel
    portable      no dependency or lock file names a path of this machine (file:...)
    version       the version comes from git tags (hatch-vcs or setuptools-scm)

    Exit code 1 when a check fails; 2 when PROJECT is not a project.
    """
    from ..packaging import check_project

    results = check_project(project, python=python)
    failed = [r for r in results if not r.ok]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for result in failed:
            click.echo(f"FAIL {result.name}: {result.message}")
        if failed:
            click.echo()
        rows = [
            (r.name, "ok" if r.ok else "FAIL", _shorten(r.message, DETAIL_WIDTH)) for r in results
        ]
        click.echo(columns(("check", "status", "detail"), rows))
        passed = len(results) - len(failed)
        click.echo(f"{passed} of {len(results)} checks passed.")
    if failed:
        exit_failed()


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
