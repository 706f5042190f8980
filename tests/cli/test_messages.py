"""What `modelcrate` says when a run cannot start: a temporary Prefect server that did not start
in time, a required input left out, a variables file with a misspelt key."""

from __future__ import annotations

import sys

import pytest

from modelcrate import MissingInputError, Model, PrefectStartError, runtime
from modelcrate.spec import parse_spec

VARIABLES = """\
input_variables:
  charge: {type: scalar, defualt: 1.0}
  n: {type: scalar, default: 2}
output_variables:
  y: {type: scalar}
"""

PREFECT_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server."


@pytest.fixture(scope="module")
def misspelt(make_project, tmp_path_factory):
    """A project whose input `charge` has no default: its `defualt:` is a misspelt key."""
    root = tmp_path_factory.mktemp("messages")
    variables = root / "variables.yml"
    variables.write_text(VARIABLES)
    yield make_project(variables, project_name="charged", dest=root / "charged")
    for name in [m for m in sys.modules if m.startswith("charged")]:
        del sys.modules[name]


def _warning(project) -> str:
    path = project / "src" / "charged" / "variables.yml"
    return (
        f"warning: {path}: input variable 'charge': key 'defualt' is not one modelcrate reads "
        "(it is kept as it is); did you mean 'default'?"
    )


def _errors(err: str) -> list[str]:
    """The lines of `err` but its warnings (the model warns when it is first imported)."""
    return [line for line in err.splitlines() if not line.startswith("warning: ")]


# -- a required input ----------------------------------------------------------------------------


def test_run_says_how_to_give_a_required_input_with_set(run_cli, misspelt, tmp_path):
    code, out, err = run_cli("run", misspelt, "-t", tmp_path)
    assert (code, out) == (2, "")
    assert _errors(err) == [
        "error: input 'charge' is required (it has no default); give it a value, "
        "e.g. --set charge=VALUE",
    ]


def test_run_with_prefect_refuses_a_missing_input_before_prefect_starts(
    run_cli, misspelt, tmp_path
):
    code, out, err = run_cli("run", misspelt, "--prefect", "-t", tmp_path)
    assert (code, out) == (2, "")
    assert _errors(err) == [
        "error: input 'charge' is required (it has no default); give it a value, "
        "e.g. --set charge=VALUE",
    ]


class Charged(Model):
    spec = parse_spec(
        "input_variables:\n  'a \"b\"': {type: scalar}\noutput_variables:\n  y: {type: scalar}"
    )

    def evaluate(self, inputs):
        return {"y": 0.0}


def test_the_python_api_names_no_option_of_any_command():
    with pytest.raises(MissingInputError) as info:
        Charged()()
    assert str(info.value) == "input 'a \"b\"' is required (it has no default); give it a value"
    assert info.value.name == 'a "b"'


@pytest.mark.parametrize(
    ("how", "hint"),
    [
        ("set", '--set a "b"=VALUE'),
        ("inputs", '--inputs \'{"a \\"b\\"": VALUE}\''),
        ("json", '\'{"a \\"b\\"": VALUE}\''),
    ],
)
def test_each_entry_point_hints_in_its_own_syntax(how, hint):
    with pytest.raises(MissingInputError) as info:
        Charged().batch([{'a "b"': 1.0}, {}])
    error = info.value.given_by(how)
    assert str(error) == (
        f"input set 1: input 'a \"b\"' is required (it has no default); give it a value, "
        f"e.g. {hint}"
    )


def test_a_missing_input_error_survives_pickling_with_its_hint():
    import pickle

    error = MissingInputError("x", "input set 2: ", "json")
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.name) == (str(error), "x")


# -- a temporary Prefect server that does not start in time ---------------------------------------


def test_run_with_prefect_says_the_temporary_server_did_not_start_in_time(
    run_cli, misspelt, tmp_path, monkeypatch
):
    from prefect.server.api import server
    from prefect.settings import get_current_settings

    def timed_out(self, timeout=None):
        raise RuntimeError(PREFECT_TIMED_OUT + " stdout: None")

    monkeypatch.setattr(server.SubprocessASGIServer, "start", timed_out)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    seconds = get_current_settings().server.ephemeral.startup_timeout_seconds
    code, out, err = run_cli("run", misspelt, "--prefect", "--set", "charge=1", "-t", tmp_path)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[-1] == (
        f"error: the temporary local Prefect server did not start within {seconds} s (the "
        "machine may be busy); run again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS "
        f"(now {seconds}), or start a server with `prefect server start` and set "
        "PREFECT_API_URL to the address it prints"
    )
    assert not any("internal error" in line or "Traceback" in line for line in lines)


def test_only_prefects_startup_timeout_becomes_a_prefect_start_error():
    with pytest.raises(PrefectStartError) as info, runtime.prefect_start_errors():
        try:
            raise RuntimeError(PREFECT_TIMED_OUT)
        except RuntimeError as exc:
            raise ValueError("while starting") from exc  # found through the chain
    assert info.value.exit_code == 1
    with pytest.raises(RuntimeError, match="something else"), runtime.prefect_start_errors():
        raise RuntimeError("something else")
    assert runtime.prefect_start_error(ValueError(PREFECT_TIMED_OUT)) is None


# -- warnings ------------------------------------------------------------------------------------


def test_check_prints_a_variables_file_warning_once(run_cli, misspelt):
    code, out, err = run_cli("check", misspelt)
    assert code == 1  # not a git repository: `version` fails
    assert (out + err).count("key 'defualt'") == 1
    assert _warning(misspelt) in err.splitlines()
