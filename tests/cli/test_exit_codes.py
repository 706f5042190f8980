"""Exit codes come from the errors: each error class carries its code, the CLI maps them once."""

from __future__ import annotations

import inspect

import pytest

import modelcrate._errors as errors
from modelcrate._errors import ExitCode, ModelcrateError


def test_every_error_class_carries_a_documented_exit_code():
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, ModelcrateError)
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.exit_code in (ExitCode.FAILURE, ExitCode.USAGE), cls
        assert f"{cls.__name__}" in errors.__doc__
    run_time = {c.__name__ for c in classes if c.exit_code == ExitCode.FAILURE}
    assert run_time == {
        "OutputError",
        "SaveError",
        "PartialWriteError",
        "PrefectStartError",
        "ServicesError",
        "DeployError",
    }


def make_broken_project(tmp_path, name: str, body: str):
    """A project named `name` whose model's `evaluate` is `body` (indented lines)."""
    import sys

    from modelcrate.cli import main

    variables = tmp_path / "vars.yml"
    variables.write_text(
        "input_variables:\n  x: {type: scalar, default: 1.0}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    dest = tmp_path / "broken"
    assert (
        main(
            [
                "new",
                str(variables),
                "-o",
                str(dest),
                "--yes",
                "--no-git",
                "--name",
                name,
            ]
        )
        == 0
    )
    package = name.lower().replace(" ", "_")
    model = dest / "src" / package / "model.py"
    text = model.read_text()
    start = text.index("        return {")
    model.write_text(text[:start] + body)
    yield dest
    for module in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[module]


@pytest.fixture
def broken_outputs_project(tmp_path):
    """A project whose model returns an output of the wrong kind."""
    yield from make_broken_project(tmp_path, "Broken Outputs", '        return {"y": "x"}\n')


@pytest.fixture
def terminated_project(tmp_path):
    """A project whose model is stopped by SIGTERM as it evaluates (its batch job's end)."""
    body = "        import os, signal\n        os.kill(os.getpid(), signal.SIGTERM)\n"
    yield from make_broken_project(tmp_path, "Terminated Model", body + "        return {}\n")


def test_outputs_that_break_the_variables_are_a_run_time_failure(run_cli, broken_outputs_project):
    code, _, err = run_cli("run", broken_outputs_project)
    assert code == ExitCode.FAILURE, err
    assert err.count("error:") == 1 and "Traceback" not in err


def test_verbose_is_what_click_parsed_not_any_argument_that_looks_like_it(run_cli, project):
    code, _, err = run_cli("run", project, "--set", "laser_radius=-v")
    assert code == ExitCode.USAGE
    assert "Traceback" not in err and err.count("\n") == 1


def test_help_lists_the_exit_codes(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    assert "Exit codes: 0 success; 1 a failure at run time" in " ".join(out.split())


def test_sigterm_unwinds_like_ctrl_c_and_exits_143(run_cli, terminated_project):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run_cli("run", terminated_project)
    assert (code, err.splitlines()[-1]) == (ExitCode.TERMINATED, "Terminated.")
    assert "Traceback" not in err and "error:" not in err
    assert signal.getsignal(signal.SIGTERM) is before  # put back as it was


class SerializationError(ValueError):
    """Stands for pydantic-core's error for an exception raised inside a serializer."""


SerializationError.__name__ = "PydanticSerializationError"
SerializationError.__module__ = "pydantic_core._pydantic_core"


@pytest.mark.parametrize(
    ("error", "stopped"),
    [
        (
            SerializationError("Error calling function `_ser_model`: TerminationSignal: "),
            "Terminated",
        ),
        (
            SerializationError("Error calling function `x`: KeyboardInterrupt: "),
            "KeyboardInterrupt",
        ),
        (SerializationError("Error calling function `x`: Terminated"), "Terminated"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (ValueError("a model's own error"), None),
        (RuntimeError("solver Terminated: step limit reached"), None),
        (ValueError("expected KeyboardInterrupt: got none"), None),
        (SerializationError("Error calling function `x`: ValueError: Terminated: no"), None),
    ],
)
def test_a_stop_signal_that_a_library_wrapped_in_its_own_error_is_still_a_stop(error, stopped):
    from modelcrate.cli._main import _stopped_by

    assert _stopped_by(error) == stopped
    wrapped = RuntimeError("the flow run failed")
    wrapped.__cause__ = error
    assert _stopped_by(wrapped) == stopped
