"""Results tell code apart: each records a fingerprint of its model package's files (part of
its id) and whether those files held changes not committed to git."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelcrate.runtime import code_fingerprint

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1.0"

[project.entry-points."modelcrate.models"]
{name} = "{package}.model:TinyModel"
"""
VARIABLES = """\
input_variables:
  x: {variable_class: ScalarVariable, default_value: 1.0, value_range: [0, 10]}
output_variables:
  y: {variable_class: ScalarVariable}
"""
MODEL = """\
from importlib.resources import files

from modelcrate import Model, load_spec


class TinyModel(Model):
    spec = load_spec(files(__package__) / "variables.yml")
    name = "tiny-model"
    version = "0.1.0"

    def evaluate(self, inputs):
        return {{"y": {formula}}}
"""


def write_project(root: Path, formula: str = "0.0", *, package: str = "tiny_model") -> Path:
    """A one-input project as `modelcrate new` lays it out: pyproject.toml and src/PACKAGE."""
    folder = root / "src" / package
    folder.mkdir(parents=True, exist_ok=True)
    name = package.replace("_", "-")
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, package=package))
    (folder / "__init__.py").write_text("")
    (folder / "variables.yml").write_text(VARIABLES)
    set_formula(root, formula)
    return root


def package_of(project: Path) -> Path:
    [folder] = (project / "src").iterdir()
    return folder


def set_formula(project: Path, formula: str) -> None:
    (package_of(project) / "model.py").write_text(MODEL.format(formula=formula))


@pytest.fixture
def projects(tmp_path):
    """Makes projects whose packages this process may import (each under its own name), and
    forgets those packages afterwards."""
    made: list[str] = []

    def make(package: str, formula: str = "0.0") -> Path:
        made.append(package)
        return write_project(tmp_path / package, formula, package=package)

    yield make
    for name in [m for m in sys.modules if m.split(".")[0] in made]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]


def modelcrate(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """`modelcrate ARGS` in a new interpreter (a new process: nothing remembered)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCRATE_", "GIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "modelcrate", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_in_new_process(project: Path, *args: object) -> dict:
    """The document `modelcrate run PROJECT ARGS --json` stores in PROJECT/../results, run in
    a new interpreter."""
    results = project.parent / "results"
    done = modelcrate("run", project, "-t", results, "--json", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def run_here(run_cli, project: Path, *args: object) -> dict | list:
    """The document(s) `modelcrate run PROJECT ARGS --json` stores in PROJECT/../results."""
    code, out, err = run_cli("run", project, "-t", project.parent / "results", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def list_table(run_cli, results: Path) -> list[list[str]]:
    """The rows of `modelcrate results list -t RESULTS`, header first, cells split on spaces."""
    code, out, err = run_cli("results", "list", "-t", results)
    assert code == 0, err
    return [line.split() for line in out.strip().splitlines()[:-1]]


def git(project: Path, *args: str) -> None:
    identity = ["-c", "user.name=Ada", "-c", "user.email=ada@example.org"]
    subprocess.run([GIT, *identity, *args], cwd=project, check=True, capture_output=True)


def committed(project: Path) -> Path:
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "first")
    return project


# -- the id is of inputs and code --------------------------------------------------------------


def test_editing_model_py_gives_another_id_and_code(tmp_path, run_cli):
    project = write_project(tmp_path / "tiny")
    placeholder = run_in_new_process(project, "--set", "x=2")
    again = run_in_new_process(project, "--set", "x=2")
    set_formula(project, "2 * inputs['x']")
    real = run_in_new_process(project, "--set", "x=2")

    assert again["id"] == placeholder["id"]  # the same code and inputs: the same id
    assert again["fingerprint"] == placeholder["fingerprint"]
    assert placeholder["inputs"] == real["inputs"] and placeholder["version"] == real["version"]
    assert placeholder["outputs"] == {"y": 0.0} and real["outputs"] == {"y": 4.0}
    assert real["fingerprint"] != placeholder["fingerprint"]
    assert real["id"] != placeholder["id"]
    rows = list_table(run_cli, tmp_path / "results")
    assert rows[0] == ["id", "model", "version", "code", "created", "inputs"]
    assert {row[0]: row[3] for row in rows[1:]} == {
        placeholder["id"][:12]: placeholder["fingerprint"][:12],
        real["id"][:12]: real["fingerprint"][:12],
    }
    code, out, _ = run_cli("results", "show", real["id"][:12], "-t", tmp_path / "results")
    assert code == 0 and f"\ncode     {real['fingerprint']}\n" in out


def test_copies_of_the_same_package_have_the_same_code_wherever_they_are(projects, run_cli):
    one = run_here(run_cli, projects("tiny_one", "inputs['x'] + 1"), "--set", "x=3")
    two = run_here(run_cli, projects("tiny_two", "inputs['x'] + 1"), "--set", "x=3")
    other = run_here(run_cli, projects("tiny_other", "inputs['x'] + 2"), "--set", "x=3")
    assert len(one["fingerprint"]) == 64
    assert one["fingerprint"] == two["fingerprint"] != other["fingerprint"]
    assert one["id"] == two["id"] != other["id"]


def test_the_variables_file_and_data_files_are_part_of_the_code(projects, run_cli):
    plain = run_here(run_cli, projects("tiny_plain"))
    described = projects("tiny_described")
    with (package_of(described) / "variables.yml").open("a") as stream:
        stream.write("model: {description: with a description}\n")
    with_data = projects("tiny_data")
    (package_of(with_data) / "weights").mkdir()
    (package_of(with_data) / "weights" / "layer1.npy").write_bytes(b"\x93NUMPY")
    with_subpackage = projects("tiny_sub")  # a subpackage named like a results folder is code
    (package_of(with_subpackage) / "results").mkdir()
    (package_of(with_subpackage) / "results" / "__init__.py").write_text("")
    more = [run_here(run_cli, p) for p in (described, with_data, with_subpackage)]
    assert len({c["fingerprint"] for c in [plain, *more]}) == 4


def test_generated_files_in_the_package_leave_the_code_as_it_is(projects, run_cli):
    plain = run_here(run_cli, projects("tiny_clean"))
    project = projects("tiny_cluttered")
    package = package_of(project)
    # what importing, tools and runs leave in a package folder
    (package / "__pycache__" / "extra").mkdir(parents=True)
    (package / "__pycache__" / "extra" / "model.cpython-311.pyc").write_bytes(b"\0")
    (package / "stale.pyc").write_bytes(b"\0")
    (package / ".mypy_cache").mkdir()
    (package / ".mypy_cache" / "x.json").write_text("{}")
    (package / "results" / "tiny-model").mkdir(parents=True)
    (package / "results" / "tiny-model" / "abc.json").write_text("{}")
    (package / "results.db").write_text("")
    (package / "results.db-journal").write_text("")
    (package / "tiny_model.egg-info").mkdir()
    (package / "tiny_model.egg-info" / "PKG-INFO").write_text("")
    cluttered = run_here(run_cli, project)
    assert cluttered["fingerprint"] == plain["fingerprint"]
    assert code_fingerprint(sys.modules["tiny_cluttered.model"].TinyModel).files == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_or_device_in_the_package_is_not_read_and_leaves_the_code_as_it_is(tmp_path):
    plain = run_in_new_process(write_project(tmp_path / "plain"))
    project = write_project(tmp_path / "odd")
    package = package_of(project)
    os.mkfifo(package / "incoming.dat")  # no writer: opening it to read would wait forever
    (package / "zeros.dat").symlink_to("/dev/zero")  # endless
    odd = run_in_new_process(project)
    assert odd["fingerprint"] == plain["fingerprint"]
    assert odd["id"] == plain["id"]


def test_a_model_in_a_single_module_is_fingerprinted_by_its_file_and_variables(tmp_path):
    (tmp_path / "variables.yml").write_text(VARIABLES)
    source = textwrap.dedent(
        """\
        import json
        from modelcrate import Model, load_spec
        from modelcrate.runtime import code_fingerprint, make_result

        class Single(Model):
            spec = load_spec("variables.yml")

            def evaluate(self, inputs):
                return {"y": FORMULA}

        model = Single()
        result = make_result(model, model.prepare({}), model({}))
        print(json.dumps([result.id, result.fingerprint, code_fingerprint(model).files]))
        """
    )

    def run(formula: str) -> list:
        (tmp_path / "single.py").write_text(source.replace("FORMULA", formula))
        done = subprocess.run(
            [sys.executable, "single.py"], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first, edited = run("1.0"), run("2.0")
    assert first[2] == 2  # single.py and variables.yml
    assert edited[0] != first[0] and edited[1] != first[1]


def test_a_model_without_source_on_disk_has_no_fingerprint():
    from modelcrate import Model
    from modelcrate.spec import parse_spec

    namespace: dict = {"Model": Model, "parse_spec": parse_spec}
    exec(  # a class typed at a prompt: its module has no file
        "class Typed(Model):\n"
        "    spec = parse_spec({'input_variables': {'x': {'type': 'scalar', 'default': 1.0}},"
        " 'output_variables': {'y': {'type': 'scalar'}}})\n"
        "    def evaluate(self, inputs):\n"
        "        return {'y': 1.0}\n",
        namespace,
    )
    namespace["Typed"].__module__ = "__typed_at_a_prompt__"
    code = code_fingerprint(namespace["Typed"])
    assert (code.fingerprint, code.dirty, code.files) == (None, None, 0)


# -- a dirty tree is marked -------------------------------------------------------------------


@needs_git
def test_uncommitted_changes_to_the_package_mark_the_result_dirty(tmp_path, run_cli):
    project = committed(write_project(tmp_path / "tiny"))
    (project / "notes.txt").write_text("outside the package: not the model's code\n")
    clean = run_in_new_process(project, "--set", "x=1")
    assert clean["dirty"] is False

    set_formula(project, "inputs['x'] * 3")
    dirty = run_in_new_process(project, "--set", "x=1")
    assert dirty["dirty"] is True and dirty["id"] != clean["id"]
    rows = {row[0]: row[3:5] for row in list_table(run_cli, tmp_path / "results")[1:]}
    assert rows[dirty["id"][:12]] == [dirty["fingerprint"][:12], "dirty"]
    assert rows[clean["id"][:12]][0] == clean["fingerprint"][:12]
    code, out, err = run_cli("results", "show", dirty["id"][:12], "-t", tmp_path / "results")
    assert code == 0, err
    assert f"\ncode     {dirty['fingerprint']} (uncommitted changes)\n" in out

    git(project, "commit", "-q", "-am", "the real model")
    now = run_in_new_process(project, "--set", "x=1")
    assert now["dirty"] is False
    assert now["fingerprint"] == dirty["fingerprint"] and now["id"] == dirty["id"]


@needs_git
def test_a_module_not_yet_added_to_git_marks_the_result_dirty(projects, run_cli):
    # no .gitignore: the untracked __pycache__ folders that imports leave are not the code
    clean = committed(projects("tiny_tracked"))
    (package_of(clean) / "__pycache__").mkdir()
    (package_of(clean) / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    assert run_here(run_cli, clean)["dirty"] is False
    untracked = committed(projects("tiny_untracked"))
    (package_of(untracked) / "physics.py").write_text("C = 299792458\n")
    assert run_here(run_cli, untracked)["dirty"] is True


@needs_git
def test_an_installed_copy_is_not_taken_for_the_work_tree_around_it(projects, run_cli):
    project = projects("tiny_installed")
    # as pip installs a package into a virtual environment inside a project's work tree
    site = project / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    package_of(project).rename(site / "tiny_installed")
    (project / "src" / "tiny_installed").symlink_to(site / "tiny_installed")
    committed(project)
    (site / "tiny_installed" / "physics.py").write_text("C = 299792458\n")
    assert run_here(run_cli, project)["dirty"] is None


def fake_git(folder: Path, script: str) -> str:
    """A PATH of a folder holding only a `git` that runs `script`."""
    folder.mkdir()
    git_file = folder / "git"
    git_file.write_text("#!/bin/sh\n" + script)
    git_file.chmod(git_file.stat().st_mode | stat.S_IEXEC)
    return str(folder)


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for git")
def test_git_missing_or_failing_never_fails_a_run(projects, run_cli, tmp_path, monkeypatch):
    missing = projects("tiny_no_git")
    (missing / ".git").mkdir()  # looks like a work tree
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert run_here(run_cli, missing)["dirty"] is None

    failing = projects("tiny_bad_git")
    (failing / ".git").mkdir()
    script = 'echo "fatal: not a git repository" >&2; exit 128\n'
    monkeypatch.setenv("PATH", fake_git(tmp_path / "bin", script))
    document = run_here(run_cli, failing)
    assert document["dirty"] is None
    assert list_table(run_cli, tmp_path / "results")[1][3] == document["fingerprint"][:12]


@needs_git
def test_the_dirty_check_runs_no_command_of_the_repository_config(projects, run_cli, tmp_path):
    project = committed(projects("tiny_monitored"))
    ran = tmp_path / "monitor-ran"
    # git status runs a configured file-system monitor (here: one that would also take a minute)
    hook = f"touch '{ran}'; sleep 60; true"
    git(project, "config", "core.fsmonitor", hook)
    assert run_here(run_cli, project)["dirty"] is False
    assert not ran.exists()


@needs_git
@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for git")
def test_git_runs_once_per_process_whatever_the_number_of_results(
    projects, run_cli, tmp_path, monkeypatch
):
    project = projects("tiny_many", "inputs['x']")
    git(project, "init", "-q")
    calls = tmp_path / "git-calls"
    monkeypatch.setenv(
        "PATH", fake_git(tmp_path / "bin", f'echo "$@" >> "{calls}"\nexec "{GIT}" "$@"\n')
    )
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps([{"x": float(i)} for i in range(50)]))
    documents = run_here(run_cli, project, "--inputs", inputs)
    documents.append(run_here(run_cli, project, "--set", "x=9.5"))
    assert len(documents) == 51
    assert {d["dirty"] for d in documents} == {True}  # nothing committed yet
    assert len({d["fingerprint"] for d in documents}) == 1
    assert len(calls.read_text().splitlines()) == 1
