"""Generated files are code: no variables file or option of `new` becomes code in a project.

Each reproduced attack is a test below; a property-based test feeds hostile names, units,
descriptions, defaults and options through `new_project` and checks every project in a fresh
interpreter (it imports, its model evaluates its sample inputs) and that no payload ever ran.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tomllib
import yaml
from _projects import evaluate_body, evaluate_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcrate import ModelcrateError, ProjectError
from modelcrate.packaging import make_options, new_project

CANARY = "CANARY"
# What a payload does if it ever runs: make the canary file in the working directory.
RUN = 'open("CANARY", "w")'

CHECK_SCRIPT = r"""
import importlib, json, sys
failures = []
for root, package, cls in json.loads(sys.argv[1]):
    sys.path.insert(0, root + "/src")
    try:
        model = getattr(importlib.import_module(package), cls)()
        outputs = model(model.spec.sample_inputs())
        assert set(outputs) == set(model.spec.output_names), sorted(outputs)
        for variable in model.spec.outputs:
            checked = variable.check(outputs[variable.name])
            assert variable.range_problem(checked) is None, variable.name
        try:
            importlib.import_module(package + ".cli")
        except ModuleNotFoundError as exc:
            if exc.name != package + ".cli":
                raise
    except BaseException as exc:
        failures.append(f"{root}: {type(exc).__name__}: {exc}")
    finally:
        sys.path.remove(root + "/src")
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
print(json.dumps(failures))
"""


def variables_file(path: Path, inputs: dict, outputs: dict) -> Path:
    """Write a variables file of `inputs` and `outputs` (name -> fields) with a YAML dumper."""
    path.write_text(
        yaml.safe_dump(
            {"input_variables": inputs, "output_variables": outputs}, allow_unicode=True
        ),
        encoding="utf-8",
    )
    return path


def check_projects(projects: list[tuple[Path, str, str]], cwd: Path) -> list[str]:
    """Import and evaluate each (root, package, model class) in one fresh interpreter run in
    `cwd`; the problems found, one line per project."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT, json.dumps([(str(r), p, c) for r, p, c in projects])],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_model_tests(root: Path) -> subprocess.CompletedProcess[str]:
    """The project's own tests/test_model.py, run by pytest with `src` on the path."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_model.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": "src", "PYTHONDONTWRITEBYTECODE": "1"},
    )


def make(tmp_path: Path, inputs: dict, outputs: dict, **options) -> tuple[Path, object]:
    """A project (no git) for the variables; its path and options."""
    variables = variables_file(tmp_path / "variables.yml", inputs, outputs)
    opts = make_options(**{"project_name": "Hostile", **options})
    made = new_project(variables, tmp_path / "project", opts, git=False)
    return made.path, opts


def assert_harmless(tmp_path: Path, root: Path, options) -> None:
    """The project imports and evaluates in a fresh interpreter, and no payload ran."""
    assert check_projects([(root, options.package_name, options.model_class)], tmp_path) == []
    assert not (tmp_path / CANARY).exists() and not (root / CANARY).exists()


SCALAR_IN = {"x": {"type": "scalar", "default": 1.0, "range": [0, 2]}}
UNIT_ATTACK = "mm\n            **({} if " + RUN + " else {}),  #"


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [
        # A unit that closed the placeholder's comment and ran code when the model evaluated.
        (SCALAR_IN, {"y": {"type": "scalar", "units": UNIT_ATTACK}}),
        # An output name that closed the placeholder's string literal.
        (SCALAR_IN, {f'y": {RUN}, "z': {"type": "scalar"}}),
        # Quotes, backslashes, braces, colons and unicode in names, units and descriptions.
        (
            {'a"b\\c': {"type": "scalar", "default": 1.0, "units": '"""\\', "description": "'''"}},
            {"QUAD:IN20:121:BACT": {"type": "scalar", "units": "µm\\", "description": 'x"""'},
             "{y}\\": {"type": "array", "dtype": "str", "shape": [2]}, "é ü": {"type": "str"}},
        ),
        # Values whose repr is no Python: an infinite default, a range past the largest float.
        (SCALAR_IN, {"inf": {"type": "scalar", "default": float("inf")},
                     "big": {"type": "scalar", "range": [1e308, 1.7e308]},
                     "nan": {"type": "array", "default": [float("nan")], "shape": [1]}}),
    ],
    ids=["unit-comment", "output-name", "quotes-and-unicode", "inf-and-huge"],
)  # fmt: skip
def test_hostile_variables_make_a_project_that_imports_and_runs_nothing(tmp_path, inputs, outputs):
    root, options = make(tmp_path, inputs, outputs)
    assert_harmless(tmp_path, root, options)


def test_the_hostile_projects_own_model_tests_pass(tmp_path):
    root, _ = make(
        tmp_path,
        {'a"b\\c': {"type": "scalar", "default": 1.0, "units": f"\n{RUN}"}},
        {f'y": {RUN}, "z': {"type": "scalar", "units": '"""'},
         "big": {"type": "scalar", "range": [1e308, 1.7e308]},
         "inf": {"type": "scalar", "default": float("inf")}},
        description=f'x"""; {RUN}; """',
        author='A", email = "a@b.org" }, { name = "B',
    )  # fmt: skip
    done = run_model_tests(root)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (root / CANARY).exists()


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("x\nimport os; os.system('true')", "'\\n' at position 1"),
        ("a\x00b", "'\\x00' at position 1"),
        ("tab\there", "'\\t' at position 3"),
        ("zero\u200bwidth", "'\\u200b' at position 4"),
    ],
)
def test_a_name_with_a_control_character_is_refused_with_it_shown(tmp_path, run_cli, name, found):
    path = variables_file(tmp_path / "v.yml", {name: {"type": "scalar", "default": 1}}, {})
    code, out, err = run_cli("new", path, "-o", tmp_path / "p", "--yes", "--no-git")
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line == (
        f"error: {path}: input variable {name!r}: a name must not contain control or invisible "
        f"characters (found {found}); rename it"
    )
    assert not (tmp_path / "p").exists()


def test_epics_names_keep_working(tmp_path):
    root, options = make(
        tmp_path,
        {"QUAD:IN20:121:BCTRL": {"type": "scalar", "default": 0.0},
         "SOLN:IN20:121 BACT.RBV-x": {"type": "scalar", "default": 1.0}},
        {"OTRS:IN20:571:XRMS": {"type": "scalar"}},
    )  # fmt: skip
    assert_harmless(tmp_path, root, options)


def test_the_readmes_serve_example_sends_the_first_input_as_data(tmp_path):
    """The README's curl examples carry the first input's name and default as JSON in one shell
    word: a shell reads back exactly them and runs nothing, whatever quotes, `$(...)`, backticks
    or line separators they hold."""
    name = 'it\'s "$(touch CANARY)" `touch CANARY` \\ {x}'
    default = "'; touch CANARY; '\u2028 $HOME é \U0001f600"
    root, options = make(
        tmp_path, {name: {"type": "str", "default": default}}, {"y": {"type": "scalar"}}
    )
    readme = (root / "README.md").read_text(encoding="utf-8")
    examples = evaluate_examples(readme)
    assert len(examples) == 2 and all(len(e.splitlines()) <= 2 for e in examples)
    for command in examples:
        assert evaluate_body(command, tmp_path) == {"inputs": {name: default}}
    assert "\u2028" not in readme  # the line separator is written as its JSON escape
    assert_harmless(tmp_path, root, options)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=st.text())
def test_json_text_and_shell_words_read_back_as_they_were_on_one_line(text):
    from modelcrate.packaging._escape import json_text, shell_word

    line = json_text({"inputs": {text: [text, 1.5]}})
    assert line.isprintable() and json.loads(line) == {"inputs": {text: [text, 1.5]}}
    assert shlex.split(shell_word(line)) == [line]  # as a POSIX shell splits it
    if not text.isprintable():
        with pytest.raises(ValueError, match="a shell word on one line cannot hold"):
            shell_word(text)


def test_options_reach_pyproject_toml_as_the_same_strings(tmp_path):
    author, description = 'A", email = "a@b.org" }, { name = "B', 'x"""; ' + RUN + '; """\\'
    root, options = make(
        tmp_path, SCALAR_IN, {"y": {"type": "scalar"}}, author=author, description=description
    )
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["authors"] == [{"name": author, "email": options.email}]
    assert project["description"] == description
    assert [d for d in project["dependencies"] if d.startswith("modelcrate")] == [
        options.modelcrate_requirement
    ]
    assert_harmless(tmp_path, root, options)


def test_an_author_ending_in_a_backslash_writes_valid_toml(tmp_path, run_cli):
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    code, _, err = run_cli("new", variables, "-o", tmp_path / "p", "--yes", "--no-git",
                           "--name", "Slash", "--author", "A\\",
                           "--modelcrate-requirement", "0.1")  # fmt: skip
    assert (code, err) == (0, "")
    project = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())["project"]
    assert project["authors"][0]["name"] == "A\\"


def test_a_requirement_that_is_not_one_requirement_on_modelcrate_is_refused(tmp_path, run_cli):
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    evil = 'modelcrate", "evilpkg @ https://example.invalid/e.whl'
    code, out, err = run_cli("new", variables, "-o", tmp_path / "p", "--yes",
                             "--modelcrate-requirement", evil)  # fmt: skip
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"error: invalid project option: modelcrate_requirement: {evil!r} is ")
    assert not (tmp_path / "p").exists()
    with pytest.raises(ProjectError, match="a requirement on 'modelcrate-x', not on modelcrate"):
        make_options(project_name="X", modelcrate_requirement="modelcrate-x>=1")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"author": "A\x00B"}, "author: must not contain control characters or surrogates "
                               "(found '\\x00' at position 1)"),
        ({"description": "a\x1b[31mred"}, "description: must not contain control characters"),
        ({"author": "\ud800"}, "author: must not contain control characters or surrogates"),
        ({"email": "a@b"}, "email: 'a@b' is not an e-mail address"),
        ({"email": 'a"@b.org'}, "is not an e-mail address"),
        ({"github_user": "you/../x"}, "github_user: 'you/../x' is not a GitHub account name"),
        ({"github_user": "-you"}, "is not a GitHub account name"),
        ({"github_url": "javascript:alert(1)"}, "github_url: 'javascript:alert(1)' is not an "
                                               "http(s) URL"),
        ({"package_name": "json"}, "package_name: 'json' is the name of a module"),
        ({"package_name": "tasks"}, "package_name: 'tasks' is the name of a module"),
        ({"package_name": "\ufb01le"}, "package_name: '\ufb01le' is not a Python identifier"),
        ({"model_class": "flow"}, "model_class: 'flow' is a name the generated code uses"),
    ],
)  # fmt: skip
def test_options_that_cannot_be_written_safely_are_refused(answers, message):
    with pytest.raises(ProjectError) as caught:
        make_options(project_name="Ok", **answers)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_project_that_does_not_parse_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    from modelcrate.packaging import _escape

    monkeypatch.setitem(_escape.FILTERS, "toml", lambda value: f'"{value}"')  # no escaping
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    options = make_options(project_name="Broken", author="A\\")
    with pytest.raises(ProjectError, match=r"^pyproject\.toml: the generated file does not parse"):
        new_project(variables, tmp_path / "p", options, git=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.yml"]

    monkeypatch.setitem(_escape.FILTERS, "toml", _escape.toml_string)
    monkeypatch.setitem(_escape.FILTERS, "comment", lambda value: value)  # no escaping
    outputs = {"y": {"type": "scalar", "units": "mm\n)"}}
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, outputs)
    options = make_options(project_name="Broken")
    with pytest.raises(ProjectError, match=r"^src/broken/model\.py: the generated file does not"):
        new_project(variables, tmp_path / "p", options, git=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.yml"]


def test_pyproject_toml_is_checked_against_its_schema(tmp_path, monkeypatch):
    from modelcrate.packaging import _escape

    monkeypatch.setitem(_escape.FILTERS, "toml", lambda value: '"not a valid URL"')
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    with pytest.raises(ProjectError, match=r"^pyproject\.toml: the generated file does not parse"):
        new_project(variables, tmp_path / "p", make_options(project_name="Schema"), git=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.yml"]


# -- no machine path in committed files -----------------------------------------------------------


def test_committed_files_hold_no_path_of_this_machine(tmp_path, run_cli):
    checkout = Path(__file__).resolve().parents[2]
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    code, _, err = run_cli("new", variables, "-o", tmp_path / "p", "--yes", "--name", "Paths",
                           "--modelcrate-requirement", checkout)  # fmt: skip
    assert code == 0, err
    root = tmp_path / "p"
    committed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    assert ".copier-answers.yml" in committed and "pyproject.toml" in committed
    machine = {
        str(tmp_path),
        str(checkout),
        str(Path.home()),
        os.environ["MODELCRATE_TEMPLATE_REPOSITORY"],
    }
    for name in filter(None, committed):
        if name == "pyproject.toml":  # the file:// requirement itself lives there
            continue
        text = (root / name).read_text(encoding="utf-8")
        for path in machine:
            assert path not in text, f"{name} holds {path}"


# -- where the project is made --------------------------------------------------------------------


def test_new_into_the_empty_working_directory(tmp_path, monkeypatch, run_cli):
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inode = here.stat().st_ino
    code, out, err = run_cli(
        "new", variables, "-o", ".", "--yes", "--name", "Here", "--modelcrate-requirement", "0.1"
    )
    assert (code, err) == (0, ""), out
    assert out.startswith("Created here in . (1 inputs, 1 outputs).")
    assert here.stat().st_ino == inode  # the same directory, not one made in its place
    assert (here / "pyproject.toml").is_file() and (here / ".git").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "v.yml"]


def test_an_unwritable_output_directory_is_one_error_line(tmp_path, run_cli):
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    code, out, err = run_cli("new", variables, "-o", "/proc/x", "--yes", "--name", "Proc")
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: /proc/x: cannot make the project there (")
    assert line.endswith("); choose another -o directory")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750)])
def test_the_project_directory_follows_the_umask(tmp_path, umask, mode):
    variables = variables_file(tmp_path / "v.yml", SCALAR_IN, {"y": {"type": "scalar"}})
    old = os.umask(umask)
    try:
        made = new_project(variables, tmp_path / "p", make_options(project_name="Mask"), git=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(made.path.stat().st_mode) == mode
    assert stat.S_IMODE((made.path / "src").stat().st_mode) == mode


# -- property: whatever the text, the project is code we wrote ------------------------------------

PAYLOADS = [
    f'"); {RUN}; ("', f"'); {RUN}; ('", f'"""; {RUN}; """', f"\n{RUN}\n", f"\\\n{RUN}",
    '" }, { name = "x', "\\", '"', "'", "`", "|", "<!--", "#", "\r\n", "\x00", "${{ secrets.X }}",
    "{}", "%s", "$(touch CANARY)", "\u2028", "\U0001f600", "\u00b5", "QUAD:IN20:121:BACT",
]  # fmt: skip
PRINTABLE = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"])
# A name: anything printable, with quotes, backslashes, braces, colons, spaces and unicode.
NAMES = st.one_of(
    st.text(PRINTABLE, min_size=1, max_size=12),
    st.sampled_from(["x", "QUAD:IN20:121:BACT", 'y": 1, "z', "a\\", '"', "'''", "{y}", "é ü"]),
).filter(lambda name: name.strip() != "")
# Free text (units, descriptions): anything at all, newlines and control characters included.
TEXT = st.one_of(st.text(st.characters(codec="utf-8"), max_size=30), st.sampled_from(PAYLOADS))
# Option values: one line, no control characters (those are refused, tested above).
OPTION = st.one_of(
    st.text(PRINTABLE, max_size=30),
    st.sampled_from([p for p in PAYLOADS if p.isprintable() and p.strip()]),
)
NUMBERS = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def variables(draw):
    """Inputs and outputs of every kind the placeholder code writes, with hostile text."""

    def named(kinds: st.SearchStrategy) -> dict:
        names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        return {n: {**draw(kinds), "units": draw(TEXT), "description": draw(TEXT)} for n in names}

    lo = draw(st.floats(-1e308, 1e308))
    hi = draw(st.floats(lo, 1.7e308))
    inputs = named(st.one_of(
        st.builds(lambda d: {"type": "scalar", "default": d}, NUMBERS.filter(lambda v: v == v)),
        st.just({"type": "scalar", "default": lo, "range": [lo, hi]}),
        st.builds(lambda c: {"type": "enum", "choices": c, "default": c[0]},
                  st.lists(NAMES, min_size=1, max_size=3, unique=True)),
        st.builds(lambda t: {"type": "str", "default": t}, TEXT.filter(str.isprintable)),
    ))  # fmt: skip
    outputs = named(st.one_of(
        st.builds(lambda d: {"type": "scalar", "default": d}, NUMBERS),
        st.just({"type": "scalar", "range": [lo, hi]}),
        st.just({"type": "int", "range": [-5, 5]}),
        st.just({"type": "bool"}),
        st.builds(lambda t: {"type": "str", "default": t}, TEXT.filter(str.isprintable)),
        st.builds(lambda d: {"type": "array", "shape": [2], "dtype": d},
                  st.sampled_from(["float64", "int64", "str", "bool"])),
    ))  # fmt: skip
    # An input and an output may not share a name (refused, tested elsewhere).
    outputs = {(f"out {n}" if n in inputs else n): v for n, v in outputs.items()}
    return inputs, outputs


def test_hostile_text_anywhere_makes_projects_that_parse_import_and_run_nothing(tmp_path):
    """Every example makes a project (or is refused with one ModelcrateError line); then one
    fresh interpreter imports and evaluates them all, in a directory a payload would mark."""
    made: list[tuple[Path, str, str]] = []
    refused: list[str] = []
    workdir = tmp_path / "work"
    workdir.mkdir()

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec=variables(), project_name=OPTION, description=OPTION, author=OPTION)
    def generate(spec, project_name, description, author):
        inputs, outputs = spec
        where = Path(tempfile.mkdtemp(dir=tmp_path))
        try:
            variables_file(where / "variables.yml", inputs, outputs)
            options = make_options(
                project_name=f"p{len(made)} {project_name}", description=description, author=author
            )
            new_project(where / "variables.yml", where / "p", options, git=False)
        except ModelcrateError as exc:
            assert "\n" not in str(exc), str(exc)
            refused.append(str(exc))
            return
        made.append((where / "p", options.package_name, options.model_class))  # fmt: skip

    cwd = os.getcwd()
    os.chdir(workdir)  # a payload run while rendering would leave its canary here
    try:
        generate()
    finally:
        os.chdir(cwd)
    assert len(made) >= 20, refused  # most examples make a project
    assert check_projects(made, workdir) == []
    assert not list(workdir.iterdir()) and not any(tmp_path.rglob(CANARY))
    for root, _, _ in made[:2]:  # the project's own model tests, for two of them
        done = run_model_tests(root)
        assert done.returncode == 0, done.stdout[-3000:]
