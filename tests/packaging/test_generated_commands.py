"""A generated package's own commands, run as its user runs them: its command line
(`python -m PKG.cli`, the console script) and `python src/PKG/flow.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _projects import EXAMPLE_MODEL, without_prefect_settings

REQUIRED = """\
input_variables:
  x: {type: scalar}
  n: {type: scalar, default: 2}
output_variables:
  y: {type: scalar}
"""


def _python(project: Path, *args: str, env: dict | None = None, timeout: int = 120):
    """Run this Python in PROJECT with its src/ importable, as an installed project runs."""
    environment = {**(env or os.environ), "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )


@pytest.fixture(scope="module", params=["click", "argparse"])
def injector(request, make_project) -> Path:
    """The injector example with its reference model (its outputs hold a 64x64 image)."""
    return make_project(model=EXAMPLE_MODEL, project_name="injector-surrogate", cli=request.param)


MISSPELT = """\
input_variables:
  x: {type: scalar, defualt: 1}
  n: {type: scalar, default: 2}
output_variables:
  y: {type: scalar}
"""


@pytest.fixture(scope="module")
def misspelt(make_project, tmp_path_factory) -> Path:
    """A project whose input `x` has a misspelt `defualt:` (a warning) and so no default."""
    variables = tmp_path_factory.mktemp("misspelt") / "variables.yml"
    variables.write_text(MISSPELT)
    return make_project(variables, project_name="spelt")


def _misspelt_warning(project: Path) -> str:
    return (
        f"warning: {project / 'src' / 'spelt' / 'variables.yml'}: input variable 'x': key "
        "'defualt' is not one modelcrate reads (it is kept as it is); did you mean 'default'?"
    )


@pytest.fixture(scope="module")
def required(make_project, tmp_path_factory) -> Path:
    """A project whose input `x` has no default."""
    variables = tmp_path_factory.mktemp("required") / "variables.yml"
    variables.write_text(REQUIRED)
    return make_project(variables, project_name="req")


# -- the package's command line --------------------------------------------------------------------


def test_the_package_command_prints_the_table_that_run_prints(injector):
    done = _python(injector, "-m", "injector_surrogate.cli", "--inputs", '{"laser_radius": 0.5}')
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["output", "value", "unit"]
    assert [line.split()[0] for line in lines[1:]] == [
        "sigma_x", "sigma_y", "norm_emit_x", "beam_image"
    ]  # fmt: skip
    image = lines[-1]
    assert image.startswith("beam_image   array(64, 64) float64 [") and image.endswith("pC/mm^2")
    assert len(done.stdout) < 500  # the image summarised, not written out


def test_the_package_command_prints_every_output_in_full_with_json(injector):
    done = _python(injector, "-m", "injector_surrogate.cli", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    outputs = json.loads(done.stdout)
    assert sorted(outputs) == ["beam_image", "norm_emit_x", "sigma_x", "sigma_y"]
    assert len(done.stdout) > 10_000  # the whole image


def test_the_package_command_refuses_inputs_that_are_not_json(injector):
    done = _python(injector, "-m", "injector_surrogate.cli", "--inputs", "{laser")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: --inputs is not JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))"
    ]


DEEP = "[" * 50_000 + "]" * 50_000  # JSON nested deeper than Python's parser goes


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("[1]", "error: --inputs is a JSON list, not an object of inputs; give e.g. "
                '--inputs \'{"name": value}\''),
        ('"x"', "error: --inputs is a JSON string, not an object of inputs; give e.g. "
                '--inputs \'{"name": value}\''),
        (DEEP, "error: --inputs is not JSON (nested too deeply)"),
    ],
    ids=["list", "string", "too-deep"],
)  # fmt: skip
def test_the_package_command_refuses_json_that_is_not_an_object(injector, given, message):
    done = _python(injector, "-m", "injector_surrogate.cli", "--inputs", given)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [message]


def test_the_package_command_says_how_to_give_a_required_input_in_json(required):
    done = _python(required, "-m", "req.cli")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "error: input 'x' is required (it has no default); give it a value, "
        """e.g. --inputs '{"x": VALUE}'"""
    ]


def test_the_package_command_shows_a_warning_as_one_line_once(misspelt):
    done = _python(misspelt, "-m", "spelt.cli", "--inputs", '{"x": 1}')
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [_misspelt_warning(misspelt)]


def test_flow_py_shows_a_warning_as_one_line_once(misspelt):
    done = _python(misspelt, "src/spelt/flow.py", env=without_prefect_settings())
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        _misspelt_warning(misspelt),
        "error: input 'x' is required (it has no default); give it a value, "
        """e.g. '{"x": VALUE}'""",
    ]


def test_flow_py_says_the_temporary_prefect_server_did_not_start_in_time(required, tmp_path):
    env = {
        **without_prefect_settings(),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0",  # no time at all: it times out
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "MODELCRATE_TARGET": (tmp_path / "results").as_uri(),
    }
    done = _python(required, "src/req/flow.py", '{"x": 1}', env=env, timeout=300)
    assert (done.returncode, done.stdout) == (1, "")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: the temporary local Prefect server did not start within 0 s (the machine may be "
        "busy); run again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (now 0), or "
        "start a server with `prefect server start` and set PREFECT_API_URL to the address it "
        "prints"
    ]
    assert "Traceback" not in done.stderr


# -- python src/PKG/flow.py ------------------------------------------------------------------------

FLOW_ERRORS = {
    "required": ((), "error: input 'x' is required (it has no default); give it a value, "
                     """e.g. '{"x": VALUE}'"""),
    "not json": (("{x",), "error: the inputs are not JSON (Expecting property name enclosed in "
                          "double quotes: line 1 column 2 (char 1)); give an object of inputs"),
    "not an object": (("3",), "error: inputs must be a mapping or a list of mappings, not int"),
    "too deep": ((DEEP,), "error: the inputs are not JSON (nested too deeply); give an object "
                          "of inputs"),
    "wrong type": (('{"x": "abc"}',), "error: input 'x' expects a number, got 'abc'"),
    "unknown": (('{"x": 1, "z": 2}',), "error: unknown input 'z'; the inputs of req are: x, n"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FLOW_ERRORS))
def test_running_flow_py_with_bad_inputs_says_so_in_one_line(required, case):
    args, message = FLOW_ERRORS[case]
    done = _python(required, "src/req/flow.py", *args, env=without_prefect_settings())
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [message]


def test_flow_py_help_says_how_to_give_inputs(required):
    done = _python(required, "src/req/flow.py", "--help", env=without_prefect_settings())
    assert done.returncode == 0
    assert "python src/req/flow.py ['{\"name\": value, ...}']" in done.stdout


@pytest.mark.slow
def test_running_flow_py_runs_the_flow_once_and_says_where_the_result_is(required, tmp_path):
    env = {
        **without_prefect_settings(),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "MODELCRATE_TARGET": (tmp_path / "results").as_uri(),
    }
    done = _python(required, "src/req/flow.py", '{"x": 1}', env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    stored = [line for line in done.stdout.splitlines() if line.startswith("Stored result ")]
    assert len(stored) == 1 and str(tmp_path / "results") in stored[0]
