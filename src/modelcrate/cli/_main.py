"""The `modelcrate` command: parses arguments, calls one library function per verb, prints.

Exit codes: 0 success; 1 a failure at run time (a target that did not store the results, a built
wheel that lacks an essential, a failed `check`, conflicts left by `update` or `graph`, or a bug in
modelcrate or in the model's code); 2 bad input (a variables file, an option, an input value, a
project or target that is wrong).
Heavy imports (copier, Prefect) happen inside the verbs that need them.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from .._errors import InputError, ModelcrateError, SaveError
from ._build import build
from ._check import check
from ._graph import graph
from ._lock import lock
from ._output import columns, one_line, shown_path
from ._results import results
from ._update import update

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _stderr(f"warning: {one_line(str(message))}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="modelcrate", prog_name="modelcrate")
@click.option("-v", "--verbose", is_flag=True, help="Show progress logs, and tracebacks on errors.")
def cli(verbose: bool) -> None:
    """Package scientific and machine-learning models: make a project from a variables file,
    run it, and store its results.

    \b
    Start with:
      modelcrate new variables.yml -o my-model      make a project
      modelcrate run my-model --set x=2             run it and store the result
    """
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")


# -- new ------------------------------------------------------------------------------------------

_LICENSE_CHOICES = ("MIT", "BSD-3-Clause", "Apache-2.0", "GPL-3.0", "none")


@cli.command()
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
@click.option("--github-user", help="GitHub user or organisation owning the repository.")
@click.option("--github-url", help="Repository URL [default: https://github.com/USER/REPO_NAME].")
@click.option(
    "--license",
    "license_",
    type=click.Choice(_LICENSE_CHOICES),
    help="License [default: BSD-3-Clause].",
)
@click.option(
    "--cli",
    "cli_kind",
    type=click.Choice(("click", "argparse", "none")),
    help="Command-line interface for the package [default: click].",
)
@click.option(
    "--registry",
    type=click.Choice(("ghcr", "dockerhub", "scr")),
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
    from ..packaging import make_options, modelcrate_requirement, new_project
    from ..spec import load_spec

    spec = load_spec(variables)  # fail on a bad file before asking anything
    answers = {
        "project_name": given.pop("project_name"),
        "license": given.pop("license_"),
        "cli": given.pop("cli_kind"),
        **given,
    }
    if answers["modelcrate_requirement"] is not None:
        answers["modelcrate_requirement"] = modelcrate_requirement(
            answers["modelcrate_requirement"]
        )
    default_name = spec.model_name or _name_from_path(variables)
    if not yes and _interactive():
        answers = _ask(answers, default_name)
    answers["project_name"] = answers["project_name"] or default_name
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


def _name_from_path(path: Path) -> str:
    stem = path.stem if path.stem.lower() not in ("variables", "vars", "model", "config") else ""
    return (stem or path.resolve().parent.name or "my model").replace("_", " ")


def _ask(answers: dict[str, Any], default_name: str) -> dict[str, Any]:
    """Prompt for every answer not given as an option, defaults derived from the project name."""
    from ..packaging._options import derived_defaults, git_identity, github_account

    answers = dict(answers)

    def ask(key: str, text: str, default: str, choices: tuple[str, ...] | None = None) -> None:
        if answers.get(key) is None:
            kind = click.Choice(choices) if choices else str
            answers[key] = click.prompt(
                text, default=default, type=kind, show_choices=bool(choices)
            )

    ask("project_name", "Project name", default_name)
    derived = derived_defaults(answers["project_name"])
    ask("repo_name", "Repository name", derived["repo_name"])
    ask("package_name", "Python package name", answers["repo_name"].replace("-", "_"))
    ask("model_class", "Model class name", derived["model_class"])
    ask("description", "Description", f"{answers['project_name']}, packaged with modelcrate.")
    name, email = git_identity()
    ask("author", "Author", name or "Your Name")
    ask("email", "E-mail", email or "you@example.org")
    ask("github_user", "GitHub user or organisation", github_account(answers["author"]))
    ask("license", "License", "BSD-3-Clause", _LICENSE_CHOICES)
    ask("cli", "Command-line interface", "click", ("click", "argparse", "none"))
    ask("registry", "Container registry", "ghcr", ("ghcr", "dockerhub", "scr"))
    return answers


# -- upgrade-variables ----------------------------------------------------------------------------


@cli.command("upgrade-variables")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write [default: rewrite FILE in place].",
)
def upgrade_variables(file: Path, output: Path | None) -> None:
    """Rewrite a variables FILE of any LUME generation in the current one
    (variable_class, default_value, value_range, unit, read_only)."""
    from ..spec import dump_spec, load_spec, parse_spec, write_text_atomic

    spec = load_spec(file)
    text = dump_spec(spec)
    with warnings.catch_warnings():  # what it warned about was said when it was read
        warnings.simplefilter("ignore")
        parse_spec(text, source=str(file))  # what is written must read back
    target = output or file
    if _holds_text(target, text):
        click.echo(f"{target} is already in the current form; nothing to do.")
        return
    write_text_atomic(target, text)
    click.echo(f"Wrote {target} in the current form.")


def _holds_text(path: Path, text: str) -> bool:
    """Whether `path` is a regular file (links followed) holding exactly `text`."""
    from ..spec import MAX_FILE_BYTES

    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return False
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


# -- run ------------------------------------------------------------------------------------------


@cli.command()
@click.argument("model_ref", metavar="PROJECT|MODEL")
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input value; repeat for several.",
)
@click.option(
    "-i",
    "--inputs",
    "inputs_file",
    metavar="FILE",
    help="A JSON file of inputs (an object, or a list of objects for a batch); - reads stdin.",
)
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    metavar="URI",
    help="Where to store results: a directory, file:///path, sqlite:///results.db, "
    "postgresql://user@host/db, mongodb://host/db or @name (MODELCRATE_TARGETS__NAME); "
    "repeat for several [default: $MODELCRATE_TARGET, else PROJECT/results or ./results].",
)
@click.option(
    "--prefect",
    is_flag=True,
    help="Run through the package's Prefect flow instead of calling the steps directly.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored result documents as JSON.")
def run(
    model_ref: str,
    settings: tuple[str, ...],
    inputs_file: str | None,
    targets: tuple[str, ...],
    prefect: bool,
    as_json: bool,
) -> None:
    """Evaluate a model and store the result.

    PROJECT is a project directory made by `modelcrate new`; MODEL is the name of an installed
    model package. Inputs not given take their defaults.
    """
    from .. import runtime

    model, project = runtime.find_model(model_ref)
    input_sets = _read_inputs(model, inputs_file, settings)
    # Relative paths given here are relative to the cwd; the default is PROJECT/results.
    uris = list(targets) or runtime.default_target_uris(project)
    opened = runtime.resolve_targets(uris)  # a bad URI fails before the model runs
    # each target as the user named it, password masked, by the name its results carry
    shown = {
        t.name: runtime.mask_uri(str(uri).strip()) for uri, t in zip(uris, opened, strict=True)
    }
    try:
        if prefect:
            flow_targets = [_flow_target(str(uri), t) for uri, t in zip(uris, opened, strict=True)]
            stored = _run_with_prefect(model_ref, project, input_sets, flow_targets)
        else:
            stored = runtime.run(model, input_sets, opened)
    except SaveError as exc:
        if exc.stored:
            _print_stored(exc.stored, as_json, shown)
        raise
    _print_stored(stored, as_json, shown)


def _flow_target(given: str, target: Any) -> str:
    """How a flow run is given a target: by a name resolved inside the run when the URI holds
    a secret (flow parameters are stored by Prefect), else by its URI."""
    import os
    import secrets

    from ..runtime import TARGET_ENV, uri_secrets

    given = given.strip()
    if given.startswith("@"):
        return given
    if not uri_secrets(target.uri):
        return target.uri
    name = f"run_{secrets.token_hex(8)}"
    os.environ[f"{TARGET_ENV}S__{name.upper()}"] = target.uri  # read when the flow resolves it
    return f"@{name}"


def _read_inputs(
    model: Any, inputs_file: str | None, settings: tuple[str, ...]
) -> list[dict[str, Any]]:
    from ..spec import load_input_sets, parse_text

    sets: list[dict[str, Any]] = [{}] if inputs_file is None else load_input_sets(inputs_file)
    for setting in settings:
        name, sep, text = setting.partition("=")
        if not sep or not name:
            raise InputError(f"--set {setting!r}: write NAME=VALUE, e.g. --set x=2")
        try:
            variable = model.spec.input(name)
        except KeyError:
            known = ", ".join(model.spec.input_names)
            raise InputError(
                f"--set {setting}: {model.name} has no input {name!r}; its inputs are: {known}"
            ) from None
        try:
            value = parse_text(variable, text)
        except ValueError as exc:
            raise InputError(f"--set {setting}: input {name!r} {exc}") from None
        for inputs in sets:
            inputs[name] = value
    return sets


def _run_with_prefect(
    model_ref: str, project: Path | None, input_sets: list[dict], targets: list[str]
) -> list:
    import platformdirs

    from ..runtime import FLOWS_GROUP, find, use_local_prefect

    home = (
        project / ".prefect"
        if project
        else Path(platformdirs.user_cache_dir("modelcrate")) / "prefect"
    )
    if use_local_prefect(home):
        _stderr(
            "Running the Prefect flow on a temporary local Prefect server (takes a few seconds)..."
        )
    flow = find(model_ref, FLOWS_GROUP).obj
    if not click.get_current_context().find_root().params.get("verbose"):
        _one_line_prefect_failures()
    return flow(inputs=input_sets if len(input_sets) > 1 else input_sets[0], targets=targets)


class _NoTraceback:
    """A logging filter that keeps a record's message but drops its traceback."""

    @staticmethod
    def filter(record: Any) -> bool:
        record.exc_info = record.exc_text = None
        return True


def _one_line_prefect_failures() -> None:
    """Prefect logs a failed task or flow run with its traceback; the error line modelcrate
    prints after it says the same, so keep Prefect's line and drop the traceback (--verbose
    shows it)."""
    import logging

    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTraceback) for f in logger.filters):
            logger.addFilter(_NoTraceback())


def _print_stored(stored: list, as_json: bool, shown: dict[str, str]) -> None:
    if as_json:
        docs = [dict(item.result.to_document(), locations=item.locations) for item in stored]
        click.echo(json.dumps(docs if len(docs) > 1 else docs[0], indent=2))
        return
    from ..runtime import summarize

    first = stored[0].result
    if len(stored) > 1:
        click.echo(f"Stored {len(stored)} results of {first.model} {first.version} in:")
        holding = {name for item in stored for name in item.targets}
        for name, given in shown.items():
            if name in holding:
                count = sum(name in item.targets for item in stored)
                more = "" if count == len(stored) else f" ({count} of them)"
                click.echo(f"  {given}{more}")
        return
    click.echo(f"Stored result {first.hash[:12]} of {first.model} {first.version} in:")
    for location in stored[0].locations:
        click.echo(f"  {location}")
    rows = [
        (name, summarize(value), first.units.get(name, "")) for name, value in first.outputs.items()
    ]
    click.echo(columns(("output", "value", "unit"), rows))


cli.add_command(results)
cli.add_command(check)
cli.add_command(update)
cli.add_command(build)
cli.add_command(lock)
cli.add_command(graph)

# -- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (errors print one `error: ...` line)."""
    args = sys.argv[1:] if argv is None else list(argv)
    verbose = "-v" in args or "--verbose" in args
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("default")
        try:
            # click returns (not raises) the code of a verb's `click.exceptions.Exit(code)`
            code = cli.main(args=args, prog_name="modelcrate", standalone_mode=False)
        except ModelcrateError as exc:
            if verbose:
                import traceback

                traceback.print_exc()
            _stderr(f"error: {one_line(str(exc))}")
            return EXIT_FAILURE if isinstance(exc, SaveError) else EXIT_USAGE
        except click.exceptions.Abort:
            _stderr("Aborted.")
            return 130
        except click.exceptions.UsageError as exc:  # a missing argument, an unknown option, ...
            command = exc.ctx.command_path if exc.ctx else "modelcrate"
            message = one_line(exc.format_message()).rstrip(".")
            _stderr(f"error: {message}; see '{command} --help'")
            return EXIT_USAGE
        except click.exceptions.ClickException as exc:
            _stderr(f"error: {one_line(exc.format_message())}")
            return exc.exit_code
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except Exception as exc:  # a bug (ours or in the model's code): say so in one line
            if verbose:
                raise
            _stderr(
                f"error: internal error: {type(exc).__name__}: {one_line(str(exc))} "
                "(a bug in modelcrate or in the model's code; run with --verbose for the traceback)"
            )
            return EXIT_FAILURE
    return code if isinstance(code, int) else EXIT_OK
