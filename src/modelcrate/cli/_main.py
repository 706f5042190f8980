"""The `modelcrate` command: parses arguments, calls one library function per verb, prints.

Each verb lives in a module of its own, imported only when that verb runs (so `run` does not pay
for the packaging tools). The exit code of an error is the one its class carries
(`modelcrate._errors.ExitCode`): 0 success; 1 a failure at run time; 2 bad input.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .._errors import ExitCode, ModelcrateError, ProjectError
from ..runtime._warnings import warning_lines
from ._output import one_line, stderr

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = ExitCode.OK, ExitCode.FAILURE, ExitCode.USAGE

VERBS = {
    "new": "._new:new",
    "convert": "._convert:convert",
    "migrate": "._migrate:migrate",
    "upgrade-variables": "._upgrade_variables:upgrade_variables",
    "run": "._run:run",
    "sweep": "._sweep:sweep",
    "serve": "._serve:serve",
    "services": "._services:services",
    "results": "._results:results",
    "registry": "._registry:registry",
    "deploy": "._deploy:deploy",
    "check": "._check:check",
    "build": "._build:build",
    "lock": "._lock:lock",
    "graph": "._graph:graph",
    "update": "._update:update",
}
"""Each verb and the module:command that implements it, in the order `--help` lists them."""

TOOL_VERBS = frozenset(
    {"new", "convert", "migrate", "check", "build", "lock", "graph", "update", "deploy"}
)
"""The verbs that make or work on projects: they need the `tools` extra."""
TOOL_MODULES = ("copier", "packaging", "validate_pyproject", "tomlkit", "uv")
"""What the `tools` extra installs (`pip install 'modelcrate[tools]'`), by import name."""


def tools_hint(reinstall: bool = False) -> str:
    """The command that installs the project tools into this environment: from PyPI, or from
    the folder (a checkout) this modelcrate was installed from, which PyPI may not have."""
    import json
    import shlex
    from importlib.metadata import PackageNotFoundError, distribution
    from urllib.parse import unquote, urlsplit

    command = "pip install --force-reinstall" if reinstall else "pip install"
    try:
        info = json.loads(distribution("modelcrate").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        info = {}
    url = urlsplit(str(info.get("url", "")))
    if "dir_info" in info and url.scheme == "file":
        editable = "-e " if info["dir_info"].get("editable") else ""
        return f"{command} {editable}{shlex.quote(unquote(url.path) + '[tools]')}"
    return f"{command} 'modelcrate[tools]'"


def missing_tools() -> list[str]:
    """The modules of the `tools` extra that are not installed (a packaged model's environment
    holds modelcrate's runtime only)."""
    return [name for name in TOOL_MODULES if importlib.util.find_spec(name) is None]


def _needs_tools(verb: str, missing: list[str]) -> click.Command:
    """A stand-in for a verb whose tools are missing: listed by `--help`, one error when used."""

    def refuse(**_: object) -> None:
        raise ProjectError(
            f"`modelcrate {verb}` needs modelcrate's project tools, which are not installed in "
            f"this environment ({', '.join(missing)} missing): {tools_hint()}"
        )

    return click.Command(
        verb,
        callback=refuse,
        help=f"(Needs the project tools: {tools_hint()}.)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _broken_tool(error: ImportError) -> str | None:
    """The project tool (a module of the `tools` extra) whose own import failed with `error`:
    it is installed, but one of its dependencies is missing or broken; None for any other."""
    frames = []
    trace = error.__traceback__
    while trace is not None:
        frames.append(str(trace.tb_frame.f_globals.get("__name__", "")).partition(".")[0])
        trace = trace.tb_next
    return next((name for name in reversed(frames) if name in TOOL_MODULES), None)


class _Verbs(click.Group):
    """A group whose commands are imported when they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in VERBS:
            return None
        if cmd_name in TOOL_VERBS and (missing := missing_tools()):
            return _needs_tools(cmd_name, missing)
        module, _, name = VERBS[cmd_name].partition(":")
        command: click.Command = getattr(importlib.import_module(module, __package__), name)
        return command


@click.group(
    cls=_Verbs,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 success; 1 a failure at run time (a target that did not store the "
    "results, outputs that break the variables, a failed check, conflicts, a migrated wheel "
    "that differs from the old one, a temporary Prefect "
    "server that did not start in time, local services that did not start, a deploy that "
    "failed, or an internal error); 2 bad input (a variables file, an option, an input value, a project, an old project to migrate, a target or "
    "the model registry), with one 'error: ...' line saying what "
    "to fix; 130 interrupted (Ctrl-C) and 143 terminated (SIGTERM), each after stopping what "
    "it started (serve ends with 0 on either).",
)
@click.version_option(package_name="modelcrate", prog_name="modelcrate")
@click.option("-v", "--verbose", is_flag=True, help="Show progress logs, and tracebacks on errors.")
def cli(verbose: bool) -> None:
    """Package scientific and machine-learning models: make a project from a variables file,
    run it, and store its results.

    \b
    Start with:
      modelcrate new variables.yml -o my-model      make a project
      modelcrate convert model.onnx -o my-model     make one that runs a trained model
      modelcrate migrate old-project --dry-run      move a setup.py package to pyproject.toml
      modelcrate run my-model --set x=2             run it and store the result
    """
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")


def _internal_error(exc: BaseException, verbose: bool) -> int:
    """Report a bug (ours or in the model's code) in one line; re-raise it with --verbose. An
    error that is the trace of Ctrl-C or SIGTERM is reported as that."""
    if _stopped_by(exc):
        return _stopped(exc)
    if verbose:
        raise exc
    stderr(
        f"error: internal error: {type(exc).__name__}: {one_line(str(exc))} "
        "(a bug in modelcrate or in the model's code; `modelcrate --verbose ...` shows the "
        "traceback)"
    )
    return ExitCode.FAILURE


def _reader_left() -> bool:
    """Whether standard output is a pipe whose reading end was closed."""
    import select

    if not hasattr(select, "poll"):  # pragma: no cover - Windows: no way to ask; assume so
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError):  # not a real file (output captured by a caller)
        return False


def _discard_stdout() -> None:
    """Send what is left for standard output to the null device, so that the interpreter's last
    flush does not fail again on the closed pipe."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (output captured by a caller)
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's or a service manager's stop, `kill PID`), raised where the
    program was so that it unwinds as it does after Ctrl-C: a flow run is marked, a local Dask
    cluster and a temporary Prefect server are stopped, and what was stored stays."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the unwinding is not cut short
    raise Terminated()


_SIGNAL_NAMES = {"Terminated": "Terminated", "TerminationSignal": "Terminated",
                 "KeyboardInterrupt": "KeyboardInterrupt"}  # fmt: skip
"""The exceptions a stop signal raises, by name (Prefect raises its own TerminationSignal for
SIGTERM while a flow runs), and what they mean."""


def _stopped_by(exc: BaseException) -> str | None:
    """Which stop signal an error is the trace of ("Terminated", "KeyboardInterrupt"), if any:
    the signal's own exception (ours, Python's, Prefect's) in its chain, or pydantic's error for
    one that landed inside a serializer, which names the signal's exception in its message
    only. A model's own error that mentions a signal is not one."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, Terminated):
            return "Terminated"
        if isinstance(cause, KeyboardInterrupt):
            return "KeyboardInterrupt"
        kind, module = type(cause).__name__, type(cause).__module__
        if kind == "TerminationSignal" and module.startswith("prefect."):
            return "Terminated"
        if kind == "PydanticSerializationError" and module.startswith("pydantic_core"):
            # "Error calling function `name`: ExceptionType: message"
            raised = str(cause).split("`: ", 1)[-1].split(":", 1)[0].strip()
            if raised in _SIGNAL_NAMES:
                return _SIGNAL_NAMES[raised]
        cause = cause.__cause__ or cause.__context__
    return None


def _stopped(exc: BaseException) -> int:
    """Say that a stop signal ended the command; its exit code."""
    if _stopped_by(exc) == "Terminated":
        stderr("Terminated.")
        return ExitCode.TERMINATED
    stderr("Aborted.")
    return ExitCode.INTERRUPTED


@contextmanager
def _unwinding_on_sigterm() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises `Terminated` instead of ending
    the process where it stands, which would leave its child processes (a temporary Prefect
    server, Dask workers) running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (errors print one `error: ...` line)."""
    args = sys.argv[1:] if argv is None else list(argv)
    verbose = False  # what click parsed from -v/--verbose, once the arguments are read
    with warning_lines(stderr), _unwinding_on_sigterm():
        try:
            with cli.make_context("modelcrate", args) as ctx:
                verbose = bool(ctx.params.get("verbose"))
                result: Any = cli.invoke(ctx)
        except ModelcrateError as exc:
            if verbose:
                import traceback

                traceback.print_exc()
            stderr(f"error: {one_line(str(exc))}")
            return int(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt) as exc:
            return _stopped(exc)
        except click.exceptions.UsageError as exc:  # a missing argument, an unknown option, ...
            command = exc.ctx.command_path if exc.ctx else "modelcrate"
            message = one_line(exc.format_message()).rstrip(".")
            stderr(f"error: {message}; see '{command} --help'")
            return ExitCode.USAGE
        except click.exceptions.ClickException as exc:
            stderr(f"error: {one_line(exc.format_message())}")
            return exc.exit_code
        except click.exceptions.Exit as exc:  # --help, --version, or a verb's report of failure
            return exc.exit_code
        except ImportError as exc:
            verb = next((arg for arg in args if not arg.startswith("-")), "")
            tool = _broken_tool(exc) if verb in TOOL_VERBS else None
            if tool is None:  # not one of the project tools: a bug, here or in the model
                return _internal_error(exc, verbose)
            if verbose:
                raise
            stderr(
                f"error: `modelcrate {verb}` needs modelcrate's project tools, which are broken "
                f"in this environment ({tool}: {one_line(str(exc))}): {tools_hint(reinstall=True)}"
            )
            return ExitCode.USAGE
        except BrokenPipeError as exc:
            if not _reader_left():  # a pipe to another program (a tool, a database) broke
                return _internal_error(exc, verbose)
            _discard_stdout()  # the reader left early (`modelcrate ... | head -1`): not an error
            return ExitCode.OK
        except Exception as exc:  # a bug (ours or in the model's code): say so in one line
            return _internal_error(exc, verbose)
        except SystemExit:  # the model's own sys.exit: its code stands
            raise
        except BaseException as exc:  # a stop signal's own (Prefect's), or a model's oddity
            return _internal_error(exc, verbose)
    return result if isinstance(result, int) else ExitCode.OK
