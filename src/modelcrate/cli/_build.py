"""`modelcrate build PROJECT`: build the sdist and wheel, show what the wheel holds and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._output import columns, exit_failed, shown_path, stderr
from ._progress import spinner


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "-o",
    "--outdir",
    type=click.Path(path_type=Path),
    help="Where to put the sdist and wheel [default: PROJECT/dist].",
)
@click.option(
    "--frontend",
    type=click.Choice(("auto", "uv", "build")),
    default="auto",
    show_default=True,
    help="The PEP 517 front end: uv, `python -m build`, or uv when installed else build.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def build(project: Path, outdir: Path | None, frontend: str, as_json: bool) -> None:
    """Build PROJECT's sdist and wheel, list the wheel's files, and check them.

    Warns about what should not be in the wheel (tests, caches, files that look like secrets,
    large files not declared in [tool.modelcrate] data) and fails with exit code 1 when an
    essential is missing (the variables file, the modelcrate.models and modelcrate.flows entry
    points and what they name, the declared license's file). Exit code 2: PROJECT is not a
    project or does not build.
    """
    from ..packaging import build_project, format_size

    with spinner(f"building {shown_path(project.absolute())}"):
        report = build_project(project, outdir, frontend=frontend)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        files = report.contents.files
        click.echo(columns(("path", "size"), [(f.path, format_size(f.size)) for f in files]))
        click.echo(
            f"{len(files)} file{'s' if len(files) != 1 else ''}, "
            f"{format_size(report.contents.size)} unpacked"
        )
        for problem in report.problems:
            stderr(f"{problem.level}: {problem.message}")
        click.echo(f"Built with {'uv' if report.frontend == 'uv' else 'python -m build'}:")
        for kind, path in (("sdist", report.sdist), ("wheel", report.wheel)):
            click.echo(f"  {kind}: {shown_path(path)} ({format_size(path.stat().st_size)})")
    if report.errors:
        exit_failed()
