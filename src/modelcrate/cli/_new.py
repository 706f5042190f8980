"""`modelcrate new VARIABLES`: make a project; the questions and their defaults are the library's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..packaging import CLIS, LICENSES, REGISTRIES
from ._output import shown_path, stderr

if TYPE_CHECKING:
    from ..packaging import Question


@click.command()
@click.argument("variables", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Directory to create [default: ./REPO_NAME].",
)
@click.option(
    "--name", "project_name", help="Project name, free text [default: from the variables file]."
)
@click.option(
    "--repo-name", help="Repository and distribution name [default: derived from the name]."
)
@click.option("--package-name", help="Python package name [default: derived from the name].")
@click.option("--model-class", help="Model class name [default: derived from the name].")
@click.option("--description", help="One-line description.")
@click.option("--author", help="Author's name.")
@click.option("--email", help="Author's e-mail address.")
@click.option(
    "--github-user",
    help="GitHub user or organisation owning the repository [default: git config github.user].",
)
@click.option("--github-url", help="Repository URL [default: https://github.com/USER/REPO_NAME].")
@click.option(
    "--license",
    "license_",
    type=click.Choice(LICENSES),
    help="License [default: BSD-3-Clause].",
)
@click.option(
    "--cli",
    "cli_kind",
    type=click.Choice(CLIS),
    help="Command-line interface for the package [default: click].",
)
@click.option(
    "--registry",
    type=click.Choice(REGISTRIES),
    help="Container registry for the image workflow [default: ghcr].",
)
@click.option(
    "--modelcrate-requirement",
    help="How the project depends on modelcrate: a path, a git URL or a version [default: where this modelcrate was installed from].",
)
@click.option("--no-git", is_flag=True, help="Do not make the project a git repository.")
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Ask nothing: take every answer from the options or the defaults.",
)
def new(variables: Path, output: Path | None, yes: bool, no_git: bool, **given: Any) -> None:
    """Make a complete, working project from a VARIABLES file (YAML of inputs and outputs)."""
    from ..packaging import (
        answer_questions,
        default_project_name,
        is_local_requirement,
        make_options,
        new_project,
    )
    from ..spec import load_spec

    spec = load_spec(variables)  # fail on a bad file before asking anything
    given = {
        "project_name": given.pop("project_name"),
        "license": given.pop("license_"),
        "cli": given.pop("cli_kind"),
        **given,
    }
    default_name = default_project_name(variables, model_name=spec.model_name, output=output)
    ask = None
    if not yes:
        if _interactive():
            ask = _prompt
        else:
            stderr(
                "warning: no terminal to ask on: took the default for every answer not given "
                "as an option (pass --yes to say so)"
            )
    answers = answer_questions(
        given, default_name=default_name, default_description=spec.model_description, ask=ask
    )
    options = make_options(**answers)
    destination = output or Path.cwd() / options.repo_name
    made = new_project(variables, destination, options, git=not no_git)

    import shlex

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
    if is_local_requirement(options.modelcrate_requirement):
        from ..packaging import portable_requirement

        found = portable_requirement(options.modelcrate_requirement)
        instead = f"e.g. --modelcrate-requirement '{found}'" if found else "its README says how"
        stderr(
            "note: the project depends on modelcrate by a path of this machine, so it installs "
            "nowhere else (CI, its image) and `modelcrate check` fails `portable`; point it at a "
            f"release or a git URL with --modelcrate-requirement, or later in pyproject.toml "
            f"({instead})"
        )
    click.echo("Next:")
    click.echo(
        f"  {'' if here else f'cd {shlex.quote(shown)} && '}python -m venv .venv && "
        ". .venv/bin/activate && pip install -e '.[dev]'"
    )
    click.echo(f"  pytest && modelcrate run .{_required_settings(spec)}")


def _required_settings(spec: Any) -> str:
    """`--set` options giving every required input (one without a default) a valid value,
    so the suggested `modelcrate run` works as printed."""
    import json
    import shlex

    from ..spec import plain_value

    options = []
    for variable in spec.inputs:
        if variable.has_default:
            continue
        value = plain_value(variable.sample())
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        options.append(f" --set {shlex.quote(f'{variable.name}={text}')}")
    return "".join(options)


def _interactive() -> bool:
    """Whether prompts can be answered (a terminal on stdin)."""
    return sys.stdin.isatty()


def _prompt(question: Question, default: str) -> str:
    """Ask one of `new`'s questions on the terminal; an answer its checks refuse is asked again."""
    from ..packaging import check_answer

    def checked(text: str) -> str:
        try:
            return check_answer(question.key, text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    if question.choices:
        kind = click.Choice(question.choices)
        return str(click.prompt(question.text, default=default, type=kind, show_choices=True))
    return str(click.prompt(question.text, default=default, value_proc=checked))
