"""The options and questions of the verbs that make a project (`new`, `convert`): declared once
here, answered by the library's questions (`packaging.answer_questions`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..packaging import CLIS, LICENSES, REGISTRIES
from ._output import stderr

if TYPE_CHECKING:
    from ..packaging import ProjectOptions, Question

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--name",
        "project_name",
        help="Project name, free text [default: the model's name in the variables file, else "
        "the -o directory's name, else the file's].",
    ),
    click.option(
        "--repo-name", help="Repository and distribution name [default: derived from the name]."
    ),
    click.option("--package-name", help="Python package name [default: derived from the name]."),
    click.option("--model-class", help="Model class name [default: derived from the name]."),
    click.option("--description", help="One-line description."),
    click.option("--author", help="Author's name."),
    click.option("--email", help="Author's e-mail address."),
    click.option(
        "--github-user",
        help="GitHub user or organisation owning the repository [default: git config github.user].",
    ),
    click.option(
        "--github-url", help="Repository URL [default: https://github.com/USER/REPO_NAME]."
    ),
    click.option(
        "--license",
        "license_",
        type=click.Choice(LICENSES),
        help="License [default: BSD-3-Clause].",
    ),
    click.option(
        "--cli",
        "cli_kind",
        type=click.Choice(CLIS),
        help="Command-line interface for the package [default: click].",
    ),
    click.option(
        "--registry",
        type=click.Choice(REGISTRIES),
        help="Container registry for the image workflow [default: ghcr].",
    ),
    click.option(
        "--modelcrate-requirement",
        help="How the project depends on modelcrate: a path, a git URL or a version [default: where this modelcrate was installed from].",
    ),
    click.option("--no-git", is_flag=True, help="Do not make the project a git repository."),
    click.option(
        "-y",
        "--yes",
        is_flag=True,
        help="Ask nothing: take every answer from the options or the defaults.",
    ),
]


def project_options(command: F) -> F:
    """The options of a verb that makes a project, after its own."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def answered_options(
    given: dict[str, Any], *, yes: bool, default_name: str, default_description: str | None
) -> ProjectOptions:
    """The project's options from those given, the rest asked on a terminal (unless `yes`) or
    taken from their defaults."""
    from ..packaging import answer_questions, make_options

    given = {
        "project_name": given.pop("project_name"),
        "license": given.pop("license_"),
        "cli": given.pop("cli_kind"),
        **given,
    }
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
        given, default_name=default_name, default_description=default_description, ask=ask
    )
    return make_options(**answers)


def note_local_requirement(options: ProjectOptions) -> None:
    """Say, when the project depends on modelcrate by a path of this machine, what that means."""
    from ..packaging import is_local_requirement, portable_requirement

    if not is_local_requirement(options.modelcrate_requirement):
        return
    found = portable_requirement(options.modelcrate_requirement)
    instead = f"e.g. --modelcrate-requirement '{found}'" if found else "its README says how"
    stderr(
        "note: the project depends on modelcrate by a path of this machine, so it installs "
        "nowhere else (CI, its image) and `modelcrate check` fails `portable`; point it at a "
        f"release or a git URL with --modelcrate-requirement, or later in pyproject.toml "
        f"({instead})"
    )


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


def echo_next_steps(shown: str, here: bool, spec: Any) -> None:
    """Print how to install, test and run the project just made (in `shown`, or here)."""
    import shlex

    click.echo("Next:")
    click.echo(
        f"  {'' if here else f'cd {shlex.quote(shown)} && '}python -m venv .venv && "
        ". .venv/bin/activate && pip install -e '.[dev]'"
    )
    click.echo(f"  pytest && modelcrate run .{required_settings(spec)}")


def required_settings(spec: Any) -> str:
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
