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
    assert run_time == {"OutputError", "SaveError", "PartialWriteError", "PrefectStartError"}


@pytest.fixture
def broken_outputs_project(tmp_path):
    """A project whose model returns an output of the wrong kind."""
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
                "Broken Outputs",
            ]
        )
        == 0
    )
    model = dest / "src" / "broken_outputs" / "model.py"
    text = model.read_text()
    start = text.index("        return {")
    model.write_text(text[:start] + '        return {"y": "not a number"}\n')
    yield dest
    for name in [m for m in sys.modules if m.startswith("broken_outputs")]:
        del sys.modules[name]


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
