"""`modelcrate convert ARTIFACT`: a trained model into a complete project that runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._output import one_line, shown_path, stderr
from ._questions import (
    answered_options,
    echo_next_steps,
    note_local_requirement,
    project_options,
)


@click.command()
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Directory to create [default: ./REPO_NAME].",
)
@click.option(
    "--variables",
    type=click.Path(path_type=Path),
    help="A variables file giving the artifact's inputs and outputs their names, ranges, units "
    "and defaults (checked against the artifact) [default: inferred from the artifact; "
    "required for a TorchScript file, which gives their names, order and shapes].",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Load a joblib or pickle file (which runs the code it holds), a .skops file with "
    "types skops does not trust by default, or a lume-torch config whose files hold classes "
    "other than lume-torch's documented transformers and torch's layers (loaded by torch.load "
    "running their code). Only for files whose maker you trust.",
)
@project_options
def convert(
    artifact: Path,
    output: Path | None,
    variables: Path | None,
    trust: bool,
    yes: bool,
    no_git: bool,
    **given: Any,
) -> None:
    """Make a complete project that runs a trained model: an ONNX graph (.onnx), a
    scikit-learn estimator or pipeline (.skops; .joblib, .pkl with --trust), a TorchScript
    module (.pt, .ts; with --variables) or a lume-torch TorchModel config (.yml) and the files
    it names.

    The variables are read from the artifact (a lume-torch config's own; a TorchScript
    module's from --variables), or given with --variables; what it cannot say (ranges, units,
    guessed names) is printed for review and written in the project's README.
    """
    from ..packaging import convert_artifact, default_project_name, read_artifact

    conversion = read_artifact(artifact, variables=variables, trust=trust)  # before asking
    spec = conversion.spec
    default_name = default_project_name(artifact, model_name=spec.model_name, output=output)
    options = answered_options(
        given, yes=yes, default_name=default_name, default_description=spec.model_description
    )
    destination = output or Path.cwd() / options.repo_name
    made = convert_artifact(conversion, destination, options, git=not no_git)

    inferred = conversion.inferred
    here = made.path == Path.cwd().resolve()
    shown = "." if here else shown_path(made.path)
    plural = "s" if len(spec.outputs) != 1 else ""
    click.echo(
        one_line(
            f"Converted {artifact.name} ({inferred.summary}) into "
            + (shown if made.path.name == options.repo_name else f"{options.repo_name} in {shown}")
            + f" ({len(spec.inputs)} inputs, {len(spec.outputs)} output{plural})."
        )
    )
    for label, text in conversion.described:
        click.echo(one_line(f"  {label:<12}: {text}"))
    click.echo(
        f"  model class : src/{options.package_name}/model.py ({options.model_class} runs "
        f"{inferred.file_name}; artifact.json binds its variables)"
    )
    click.echo(
        f"  tests       : tests/test_artifact.py compares {len(conversion.samples)} input sets "
        "with the artifact's own outputs"
    )
    click.echo(f"  modelcrate  : {options.modelcrate_requirement}")
    if conversion.review:
        click.echo("Review (also in README.md):")
        for line in conversion.review:
            click.echo(one_line(f"  - {line}"))
    note_local_requirement(options)
    if not options.github_user:
        stderr(
            "note: no GitHub account known (--github-user, or `git config --global github.user "
            "NAME`): pyproject.toml has no Source URL; add one under [project.urls]"
        )
    echo_next_steps(shown, here, spec)
