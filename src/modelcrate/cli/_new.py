"""`modelcrate new VARIABLES`: make a project; the questions and their defaults are the library's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._output import shown_path
from ._questions import (
    answered_options,
    echo_next_steps,
    note_local_requirement,
    project_options,
)


@click.command()
@click.argument("variables", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Directory to create [default: ./REPO_NAME].",
)
@project_options
def new(variables: Path, output: Path | None, yes: bool, no_git: bool, **given: Any) -> None:
    """Make a complete, working project from a VARIABLES file (YAML of inputs and outputs)."""
    from ..packaging import default_project_name, new_project
    from ..spec import load_spec

    spec = load_spec(variables)  # fail on a bad file before asking anything
    default_name = default_project_name(variables, model_name=spec.model_name, output=output)
    options = answered_options(
        given, yes=yes, default_name=default_name, default_description=spec.model_description
    )
    destination = output or Path.cwd() / options.repo_name
    made = new_project(variables, destination, options, git=not no_git)

    here = made.path == Path.cwd().resolve()
    shown = "." if here else shown_path(made.path)
    click.echo(
        f"Created {options.repo_name} in {shown} ({len(spec.inputs)} inputs, {len(spec.outputs)} outputs)."
    )
    click.echo(
        f"  model class : src/{options.package_name}/model.py ({options.model_class}.evaluate is yours to fill in)"
    )
    click.echo(f"  flow        : src/{options.package_name}/flow.py ({options.flow_name})")
    click.echo(f"  modelcrate  : {options.modelcrate_requirement}")
    if not options.github_user:
        click.echo(
            "  GitHub      : no account known (--github-user, or `git config --global "
            "github.user NAME`): pyproject.toml has no Source URL; add one under [project.urls]"
        )
    note_local_requirement(options)
    echo_next_steps(shown, here, spec)
