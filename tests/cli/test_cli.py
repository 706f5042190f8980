"""The command line as a user meets it: help, exit codes, one-line errors, and the verbs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from modelcrate.runtime import FilesystemTarget
from modelcrate.spec import load_spec


def test_help_lists_the_verbs(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    for verb in ("new", "run", "upgrade-variables"):
        assert verb in out


@pytest.mark.parametrize("verb", ["new", "run", "upgrade-variables"])
def test_each_verb_has_help(run_cli, verb):
    code, out, _ = run_cli(verb, "--help")
    assert code == 0
    assert "Usage: modelcrate " + verb in out


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("modelcrate, version ")


def test_unknown_option_is_a_usage_error(run_cli):
    code, _, err = run_cli("run", "--no-such-option")
    assert code == 2 and "No such option" in err


def test_script_entry_point_exits_with_the_code(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "modelcrate", "upgrade-variables", str(tmp_path / "missing.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing.yml'}: no such file; give the path of your variables YAML file"
    ]
    assert "Traceback" not in done.stderr


# -- errors in variables files: one line, file and variable named, exit 2, nothing written -------

BAD_FILES = {
    "syntax": ("input_variables:\n  x: {type: scalar\n", "invalid YAML"),
    "unknown type": (
        "input_variables:\n  x: {type: scalr}\noutput_variables:\n  y: {type: scalar}\n",
        "unknown type 'scalr'",
    ),
    "bad range": (
        "input_variables:\n  x: {type: scalar, range: [5, 1]}\noutput_variables:\n  y: {type: scalar}\n",
        "lower bound 5 is above upper bound 1",
    ),
    "duplicate": (
        "input_variables:\n  x: {type: scalar}\n  x: {type: scalar}\noutput_variables:\n  y: {type: scalar}\n",
        "duplicate key 'x'",
    ),
    "input and output of one name": (
        "input_variables:\n  x: {type: scalar}\noutput_variables:\n  x: {type: scalar}\n",
        "variable 'x' is declared both as an input and as an output; rename one of them",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_variables_file_gives_one_line_and_writes_nothing(run_cli, tmp_path, case):
    text, expected = BAD_FILES[case]
    bad = tmp_path / "vars.yml"
    bad.write_text(text)
    out_dir = tmp_path / "project"
    code, _, err = run_cli("new", bad, "-o", out_dir, "--yes")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}")
    assert expected in lines[0]
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vars.yml"]


def test_new_warns_once_about_a_default_outside_its_range(run_cli, tmp_path):
    path = tmp_path / "vars.yml"
    path.write_text(
        "input_variables:\n  x: {type: scalar, default: 5, range: [0, 2], unitz: mm}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    code, _, err = run_cli(
        "new", path, "-o", tmp_path / "p", "--yes", "--no-git", "--modelcrate-requirement", "0.1"
    )
    assert code == 0, err
    assert err.splitlines() == [
        f"warning: {path}: input variable 'x': key 'unitz' is not one modelcrate reads "
        "(it is kept as it is); did you mean 'unit'?",
        f"warning: {path}: input variable 'x': default value is 5 outside the range [0, 2]",
    ]


def test_invalid_project_name_is_refused(run_cli, tmp_path, example_variables):
    for name in ("../escape", "a/b", "{{ evil }}"):
        code, _, err = run_cli(
            "new", example_variables, "-o", tmp_path / "p", "--yes", "--name", name
        )
        assert code == 2, name
        assert "project_name" in err and err.count("\n") == 1
    code, _, err = run_cli(
        "new", example_variables, "-o", tmp_path / "p", "--yes", "--package-name", "not-valid"
    )
    assert code == 2 and "package_name: 'not-valid' is not a Python identifier" in err
    assert not (tmp_path / "p").exists()


def test_new_refuses_a_non_empty_destination(run_cli, tmp_path, example_variables):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    code, _, err = run_cli("new", example_variables, "-o", tmp_path / "taken", "--yes")
    assert code == 2 and "already exists and is not empty" in err
    assert (tmp_path / "taken" / "file").read_text() == "mine"


def test_new_prompts_in_a_terminal_with_derived_defaults(
    run_cli, tmp_path, example_variables, monkeypatch
):
    from modelcrate.cli import _questions

    monkeypatch.setattr(_questions, "_interactive", lambda: True)
    answers = ["Beam Line Surrogate"] + [""] * 10  # accept every derived default
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("\n".join(answers) + "\n"))
    code, out, err = run_cli("new", example_variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0, err
    assert "Repository name [beam-line-surrogate]" in out
    assert "Model class name [BeamLineSurrogateModel]" in out
    assert (tmp_path / "p" / "src" / "beam_line_surrogate" / "model.py").is_file()
    assert (
        "class BeamLineSurrogateModel(Model)"
        in (tmp_path / "p" / "src" / "beam_line_surrogate" / "model.py").read_text()
    )


def test_the_prompt_offers_the_defaults_that_yes_takes(
    run_cli, tmp_path, example_variables, monkeypatch
):
    """One declaration of each question: a name starting with a digit gets the same package
    name at the prompt as with --yes (the prompt once offered one the library refused)."""
    from modelcrate.cli import _questions

    monkeypatch.setattr(_questions, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("3D Beam\n" + "\n" * 10))
    code, out, err = run_cli("new", example_variables, "-o", tmp_path / "asked", "--no-git")
    assert code == 0, err
    assert "Python package name [model_3d_beam]" in out
    code, _, err = run_cli(
        "new", example_variables, "-o", tmp_path / "yes", "--no-git", "--yes", "--name", "3D Beam"
    )
    assert code == 0, err
    assert (tmp_path / "asked" / "src" / "model_3d_beam").is_dir()
    assert (tmp_path / "yes" / "src" / "model_3d_beam").is_dir()


def test_a_refused_answer_is_asked_again(run_cli, tmp_path, example_variables, monkeypatch):
    from modelcrate.cli import _questions

    monkeypatch.setattr(_questions, "_interactive", lambda: True)
    answers = ["Beam", "", "json", "beam_model"] + [""] * 10
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("\n".join(answers) + "\n"))
    code, out, err = run_cli("new", example_variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0, err
    assert "'json' is the name of a module" in out + err
    assert (tmp_path / "p" / "src" / "beam_model").is_dir()


def test_new_without_terminal_takes_defaults(run_cli, tmp_path, example_variables):
    code, out, err = run_cli("new", example_variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0
    assert "warning: no terminal to ask on: took the default" in err
    assert "Created injector-surrogate" in out
    assert (tmp_path / "p" / "src" / "injector_surrogate" / "variables.yml").is_file()


def test_new_suggests_a_run_that_gives_every_required_input(run_cli, tmp_path):
    variables = tmp_path / "v.yml"
    variables.write_text(
        "input_variables:\n"
        "  laser_radius: {type: scalar, default: 0.4, range: [0.1, 1.0]}\n"
        "  energy: {variable_type: scalar, value_range: [50, 150]}\n"
        "  mode: {variable_class: EnumVariable, choices: [low light, b]}\n"
        "output_variables:\n"
        "  sigma_x: {type: scalar}\n"
    )
    code, out, _ = run_cli("new", variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0
    suggested = out.splitlines()[-1].strip()
    assert suggested == "pytest && modelcrate run . --set energy=100.0 --set 'mode=low light'"
    # and the suggestion runs as printed (the placeholder model returns zeros)
    code, out, err = run_cli("run", tmp_path / "p", *shlex.split(suggested)[5:])
    assert code == 0, err


# -- upgrade-variables ----------------------------------------------------------------------------

OLD = """\
input_variables:
  QUAD:IN20:121:BACT:
    type: scalar
    default: 1
    range: [0, inf]
    units: kG
    value_range_tolerance: 1.0e-8
output_variables:
  y:
    type: scalar
"""


def test_upgrade_variables_rewrites_in_place_and_is_idempotent(run_cli, tmp_path):
    path = tmp_path / "variables.yml"
    path.write_text(OLD)
    before = load_spec(path)
    code, out, _ = run_cli("upgrade-variables", path)
    assert code == 0 and "Wrote" in out
    text = path.read_text()
    assert "variable_class: ScalarVariable" in text and "default_value: 1.0" in text
    assert "value_range: [0.0, .inf]" in text and "unit: kG" in text
    assert "value_range_tolerance: 1.0e-08" in text
    after = load_spec(path)
    assert after.inputs == before.inputs and after.outputs == before.outputs
    code, out, _ = run_cli("upgrade-variables", path)
    assert code == 0 and "already in the current form" in out
    assert path.read_text() == text


def test_upgrade_variables_to_another_file(run_cli, tmp_path):
    src, dst = tmp_path / "old.yml", tmp_path / "new.yml"
    src.write_text(OLD)
    assert run_cli("upgrade-variables", src, "-o", dst)[0] == 0
    assert src.read_text() == OLD
    assert "variable_class" in dst.read_text()


# -- run ------------------------------------------------------------------------------------------


def test_run_stores_a_result_and_prints_the_outputs(run_cli, project, tmp_path):
    target = tmp_path / "results"
    code, out, err = run_cli(
        "run",
        project,
        "--set",
        "laser_radius=0.5",
        "--set",
        "SOL1:BCTRL=0.3",
        "--target",
        target.as_uri(),
    )
    assert code == 0, err
    results = FilesystemTarget(target).list(model="injector-surrogate")
    assert len(results) == 1
    result = results[0]
    assert result.inputs["laser_radius"] == 0.5 and result.inputs["SOL1:BCTRL"] == 0.3
    assert result.inputs["bunch_charge"] == 100.0  # default filled in
    assert result.outputs["beam_image"].shape == (64, 64)
    assert f"Stored result {result.id[:12]}" in out
    assert str(target / "injector-surrogate" / f"{result.id}.json") in out.replace("\n", "")
    assert "sigma_x" in out and "mm*mrad" in out


def test_run_defaults_to_the_project_results_directory(run_cli, project):
    code, _, err = run_cli("run", project)
    assert code == 0, err
    assert len(FilesystemTarget(project / "results").list()) == 1


def test_run_with_inputs_file_runs_a_batch(run_cli, project, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps([{"laser_radius": r} for r in (0.2, 0.3, 0.4)]))
    code, out, err = run_cli(
        "run", project, "--inputs", inputs, "--set", "gun_phase=2", "-t", tmp_path / "r"
    )
    assert code == 0, err
    results = FilesystemTarget(tmp_path / "r").list()
    assert sorted(r.inputs["laser_radius"] for r in results) == [0.2, 0.3, 0.4]
    assert all(r.inputs["gun_phase"] == 2.0 for r in results)
    assert "Stored 3 results" in out


def test_run_json_output(run_cli, project, tmp_path):
    code, out, _ = run_cli("run", project, "--json", "-t", tmp_path / "r")
    assert code == 0
    doc = json.loads(out)
    assert doc["model"] == "injector-surrogate" and doc["locations"]
    assert doc["outputs"]["beam_image"]["__ndarray__"]["shape"] == [64, 64]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "laser_radius=big"],
            "error: --set laser_radius=big: input 'laser_radius' expects a number, got 'big'",
        ),
        (["--set", "nope=1"], "has no input 'nope'; its inputs are: laser_radius"),
        (["--set", "laser_radius"], "write NAME=VALUE"),
        (["--set", "screen_distance=3"], "input 'screen_distance' is read-only"),
        (["--target", "ftp://host/x"], "unsupported target scheme 'ftp'"),
    ],
)
def test_run_errors_are_one_line(run_cli, project, args, message, tmp_path):
    code, _, err = run_cli(
        "run", project, *args, "-t" if "--target" not in args else "--target", tmp_path / "r"
    )
    assert code == 2
    assert err.count("\n") == 1 and message in err


@pytest.fixture(scope="module")
def int_project(make_project, tmp_path_factory):
    """A project whose one input is an integer."""
    variables = tmp_path_factory.mktemp("int-project") / "variables.yml"
    variables.write_text(
        "input_variables:\n  n_particles: {type: int, default: 1000, range: [1, 100000]}\n"
        "output_variables:\n  sigma_x: {type: scalar}\n"
    )
    return make_project(variables, project_name="int-model")


@pytest.mark.parametrize(
    ("typed", "json_value", "shown"),
    [("abc", '"abc"', "'abc'"), ("2.5", "2.5", "2.5")],
)
def test_an_integer_input_is_refused_in_one_wording_wherever_it_comes_from(
    run_cli, int_project, tmp_path, typed, json_value, shown
):
    """`--set` quotes the text it was given; a JSON file and Python quote the value."""
    from modelcrate import InputError, Model
    from modelcrate.spec import load_spec

    expected = "input 'n_particles' expects an integer, got "
    code, _, err = run_cli("run", int_project, "--set", f"n_particles={typed}", "-t", tmp_path)
    assert (code, err) == (2, f"error: --set n_particles={typed}: {expected}{typed!r}\n")
    inputs = tmp_path / "inputs.json"
    inputs.write_text(f'{{"n_particles": {json_value}}}')
    code, _, err = run_cli("run", int_project, "--inputs", inputs, "-t", tmp_path)
    assert (code, err) == (2, f"error: {expected}{shown}\n")

    class IntModel(Model):
        spec = load_spec(next(int_project.glob("src/*/variables.yml")))

        def evaluate(self, inputs):
            return {"sigma_x": 1.0}

    with pytest.raises(InputError) as info:
        IntModel()({"n_particles": json.loads(json_value)})
    assert str(info.value) == expected + shown


def test_run_out_of_range_warns_and_runs(run_cli, project, tmp_path):
    code, _, err = run_cli("run", project, "--set", "laser_radius=5", "-t", tmp_path / "r")
    assert code == 0
    assert "warning: input 'laser_radius' is 5 outside the range [0.1, 1]" in err


def test_run_unknown_model_names_what_is_installed(run_cli):
    code, _, err = run_cli("run", "no-such-model")
    assert code == 2
    assert "no-such-model: neither a project directory nor an installed model" in err


def test_run_without_prefect_does_not_import_prefect(project, tmp_path):
    code = (
        "import sys; from modelcrate.cli import main; "
        f"rc = main(['run', {str(project)!r}, '-t', {str(tmp_path)!r}]); "
        "assert rc == 0; assert 'prefect' not in sys.modules, 'prefect was imported'; "
        "assert 'copier' not in sys.modules, 'copier was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_prefect_failures_are_logged_without_their_traceback(caplog):
    import logging

    from modelcrate.cli._run import _one_line_prefect_failures

    _one_line_prefect_failures()
    _one_line_prefect_failures()  # once is enough: no second filter
    logger = logging.getLogger("prefect.task_runs")
    assert len(logger.filters) == 1
    try:
        raise ValueError("boom")
    except ValueError:
        with caplog.at_level(logging.ERROR, logger="prefect.task_runs"):
            logger.error("Task run failed with exception: ValueError('boom')", exc_info=True)
    (record,) = caplog.records
    assert record.getMessage() == "Task run failed with exception: ValueError('boom')"
    assert "Traceback" not in caplog.text
    logger.filters.clear()


def test_a_broken_project_tool_is_named_with_how_to_reinstall_it(tmp_path):
    from _projects import EXAMPLE

    broken = tmp_path / "site" / "copier"  # installed, but one of its own imports is missing
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("import plumbum_that_is_not_installed\n")
    done = subprocess.run(
        [sys.executable, "-m", "modelcrate", "new", str(EXAMPLE), "-o", "made", "--yes"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, "")
    from modelcrate.cli._main import tools_hint

    assert done.stderr.splitlines() == [
        "error: `modelcrate new` needs modelcrate's project tools, which are broken in this "
        "environment (copier: No module named 'plumbum_that_is_not_installed'): "
        f"{tools_hint(reinstall=True)}"
    ]
    assert not (tmp_path / "made").exists()


def test_the_outputs_table_shows_a_string_with_line_breaks_and_escapes_on_one_line(tmp_path):
    package = tmp_path / "talker" / "src" / "talker"
    package.mkdir(parents=True)
    (tmp_path / "talker" / "pyproject.toml").write_text(
        '[project]\nname = "talker"\nversion = "0.1.0"\n\n'
        '[project.entry-points."modelcrate.models"]\ntalker = "talker.model:Talker"\n'
    )
    (package / "__init__.py").write_text("")
    (package / "variables.yml").write_text(
        "input_variables:\n  x: {type: scalar, default: 1}\n"
        "output_variables:\n  said: {type: string}\n"
    )
    (package / "model.py").write_text(
        "from importlib.resources import files\n\n"
        "from modelcrate import Model, load_spec\n\n\n"
        "class Talker(Model):\n"
        '    spec = load_spec(files(__package__) / "variables.yml")\n\n'
        "    def evaluate(self, inputs):\n"
        '        return {"said": "first line\\nsecond \\x1b[2Jcleared"}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "modelcrate", "run", "talker", "-t", "results"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[-2:]
    assert header.split() == ["output", "value", "unit"]
    assert row == "said    first line\\nsecond \\x1b[2Jcleared"


@pytest.mark.parametrize(
    ("direct_url", "hint"),
    [
        (None, "pip install 'modelcrate[tools]'"),  # from an index
        (
            {"url": "file:///opt/m%20c", "dir_info": {"editable": True}},
            "pip install -e '/opt/m c[tools]'",
        ),
        ({"url": "file:///opt/mc", "dir_info": {}}, "pip install '/opt/mc[tools]'"),
        (
            {"url": "file:///d/mc-1.0-py3-none-any.whl", "archive_info": {}},
            "pip install 'modelcrate[tools]'",
        ),
    ],
    ids=["index", "editable-checkout", "checkout", "wheel"],
)
def test_the_tools_hint_installs_from_where_modelcrate_came_from(monkeypatch, direct_url, hint):
    """A checkout's modelcrate may be on no index: the hint points at the checkout."""
    import importlib.metadata
    import json as json_module

    from modelcrate.cli import _main

    class Dist:
        def read_text(self, name):
            return json_module.dumps(direct_url) if direct_url else None

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Dist())
    assert _main.tools_hint() == hint
