"""`new_project` renders a complete project for every answer that changes files."""

from __future__ import annotations

import itertools
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import tomllib
import yaml
from _projects import EXAMPLE, ROOT, evaluate_body, evaluate_examples

from modelcrate import ModelcrateWarning, ProjectError, SpecError, SpecWarning
from modelcrate.packaging import (
    CLIS,
    LICENSES,
    REGISTRIES,
    derived_defaults,
    make_options,
    modelcrate_requirement,
    new_project,
)
from modelcrate.packaging.scaffold._new import render
from modelcrate.spec import load_spec

COMMON_FILES = [
    ".copier-answers.yml",
    ".dockerignore",
    ".github/workflows/image.yml",
    ".github/workflows/release.yml",
    ".github/workflows/tests.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "README.md",
    "_entrypoint.sh",
    "environment.yml",
    "prefect.yaml",
    "pyproject.toml",
    "tasks.py",
    "tests/conftest.py",
    "tests/test_entry_points.py",
    "tests/test_flow.py",
    "tests/test_model.py",
]


def test_names_are_derived_from_the_project_name():
    assert derived_defaults("Injector Surrogate") == {
        "repo_name": "injector-surrogate",
        "package_name": "injector_surrogate",
        "model_class": "InjectorSurrogateModel",
    }
    assert derived_defaults("LCLS cu_inj NN model")["model_class"] == "LCLSCuInjNNModel"
    assert derived_defaults("3D field map")["package_name"] == "model_3d_field_map"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"project_name": "a/b"}, "project_name"),
        ({"project_name": "up..there"}, "project_name"),
        ({"project_name": "{{ 7*7 }}"}, "project_name"),
        ({"project_name": "ok", "author": "{% import os %}"}, "author"),
        ({"project_name": "ok", "package_name": "1abc"}, "package_name"),
        ({"project_name": "ok", "package_name": "class"}, "package_name"),
        ({"project_name": "ok", "model_class": "My-Model"}, "model_class"),
        ({"project_name": "ok", "repo_name": "Bad Name"}, "repo_name"),
        ({"project_name": "ok", "license": "WTFPL"}, "license"),
        ({"project_name": "ok", "email": "nobody"}, "email"),
        ({"project_name": "ok", "description": "two\nlines"}, "description"),
    ],
)
def test_invalid_answers_are_refused_with_the_field(answers, field):
    with pytest.raises(ProjectError, match=field):
        make_options(**answers)


def test_modelcrate_requirement_forms(tmp_path):
    assert modelcrate_requirement(str(ROOT)) == f"modelcrate @ {ROOT.as_uri()}"
    assert modelcrate_requirement("0.3.1") == "modelcrate==0.3.1"
    assert modelcrate_requirement("git+https://example.org/modelcrate.git@v1") == (
        "modelcrate @ git+https://example.org/modelcrate.git@v1"
    )
    assert modelcrate_requirement("modelcrate>=0.2,<1") == "modelcrate>=0.2,<1"
    with pytest.raises(ProjectError, match="not a modelcrate checkout"):
        modelcrate_requirement(str(tmp_path))
    with pytest.raises(ProjectError, match="not a path, URL, version or requirement"):
        modelcrate_requirement("no such thing")


def _check_project(root: Path, options) -> None:
    files = {
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    for name in COMMON_FILES:
        assert name in files, name
    package = f"src/{options.package_name}"
    for name in ("__init__.py", "model.py", "flow.py", "variables.yml", "py.typed"):
        assert f"{package}/{name}" in files
    assert ("LICENSE" in files) == (options.license != "none")
    assert (f"{package}/cli.py" in files) == (options.cli != "none")
    assert not any(name.endswith(".jinja") for name in files)
    assert not {"setup.py", "setup.cfg", "versioneer.py"} & files
    for name in files:
        path = root / name
        if name.endswith(".py"):
            compile(path.read_text(), str(path), "exec")
        elif name.endswith((".yml", ".yaml")):
            yaml.safe_load(path.read_text())
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == options.repo_name
    assert (
        "version" in project["dynamic"] and pyproject["tool"]["hatch"]["version"]["source"] == "vcs"
    )
    assert project["entry-points"]["modelcrate.models"] == {
        options.repo_name: f"{options.package_name}.model:{options.model_class}"
    }
    assert project["entry-points"]["modelcrate.flows"] == {
        options.repo_name: f"{options.package_name}.flow:{options.flow_name}"
    }
    assert ("scripts" in project) == (options.cli != "none")
    assert any(dep.startswith("modelcrate") for dep in project["dependencies"])
    assert "prefect>=3.9,<4" in project["dependencies"]  # which bounds fastapi itself
    assert not any(d.startswith("fastapi") for d in project["dependencies"])
    assert project["requires-python"] == ">=3.11"  # Prefect 3.9's
    dev = project["optional-dependencies"]["dev"]
    assert "pytest>=8" in dev
    # the runtime requirement on modelcrate, and the same with the project tools for development
    assert dev[0] == project["dependencies"][0].replace("modelcrate", "modelcrate[tools]", 1)
    # and with what serving needs, for the `serve` extra that the image installs
    serve = [project["dependencies"][0].replace("modelcrate", "modelcrate[serve]", 1)]
    assert project["optional-dependencies"]["serve"] == serve
    if options.license != "none":
        assert project["license"] == options.license
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert answers["license"] == options.license and answers["cli"] == options.cli
    # Derived answers are recorded too: `modelcrate update` re-renders the old version with them.
    assert answers["inputs_table"].startswith("| Name | Kind |")
    assert answers["inputs_table"] in (root / "README.md").read_text()
    image = (root / ".github/workflows/image.yml").read_text()
    assert options.image in image and "${{ github.ref_name }}" in image
    dockerfile = (root / "Dockerfile").read_text()
    assert "\nUSER 1000:1000\n" in dockerfile and "python -m build --wheel" in dockerfile


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every combination of license x cli x registry, rendered once."""
    spec = load_spec(EXAMPLE)
    root = tmp_path_factory.mktemp("combinations")
    made = {}
    for license_, cli, registry in itertools.product(LICENSES, CLIS, REGISTRIES):
        options = make_options(
            project_name="Combo Model", license=license_, cli=cli, registry=registry
        )
        out = root / f"{license_}-{cli}-{registry}"
        out.mkdir()
        render(spec, options, out)
        made[out] = options
    return made


def test_every_answer_combination_renders_a_complete_project(rendered):
    assert len(rendered) == len(LICENSES) * len(CLIS) * len(REGISTRIES)
    for root, options in rendered.items():
        _check_project(root, options)


def test_rendered_python_passes_ruff(rendered):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed beside this Python")
    for root in rendered:
        done = subprocess.run(
            [str(ruff), "check", "--no-cache", "."], cwd=root, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{root.name}:\n{done.stdout}"
        done = subprocess.run(
            [str(ruff), "format", "--check", "--no-cache", "."],
            cwd=root,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{root.name}:\n{done.stdout}"


def test_license_texts(rendered):
    for root, options in rendered.items():
        if options.license == "none":
            continue
        text = (root / "LICENSE").read_text()
        marker = {
            "MIT": "MIT License",
            "BSD-3-Clause": "BSD 3-Clause",
            "Apache-2.0": "Apache License",
            "GPL-3.0": "GNU GENERAL PUBLIC LICENSE",
        }
        assert marker[options.license] in text
        if options.license in ("MIT", "BSD-3-Clause"):
            assert options.author in text


def test_registry_secrets_are_named_in_the_readme(rendered):
    secrets = {"ghcr": "GITHUB_TOKEN", "dockerhub": "DOCKERHUB_TOKEN", "scr": "SCR_PASSWORD"}
    for root, options in rendered.items():
        assert secrets[options.registry] in (root / "README.md").read_text()
        assert secrets[options.registry] in (root / ".github/workflows/image.yml").read_text()


def test_readme_has_the_variable_tables(tmp_path):
    options = make_options(project_name="Injector Surrogate")
    render(load_spec(EXAMPLE), options, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert (
        "| `SOL1:BCTRL` | scalar | kG*m | 0.35 | [0.1, 0.6] | Solenoid integrated field |" in readme
    )
    assert "| `screen_distance` | scalar | m | 2 (read-only) | [2, 2] |" in readme
    assert (
        "| `beam_image` | image (64x64, float64) | pC/mm^2 |  | Screen image (charge density) |"
        in readme
    )
    assert "| `sigma_x` | scalar | mm | [0, ∞] |" in readme


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (EXAMPLE, {"laser_radius": 0.4}),
        # the first input, and every required one (a request without it is refused)
        (ROOT / "tests/e2e/variables/all_kinds.yml", {"QUAD:IN20:121:BACT": 1.0, "energy": 100.0}),
    ],
    ids=["injector", "all-kinds"],
)
def test_readme_shows_how_to_serve_the_model_with_its_own_inputs(tmp_path, variables, expected):
    spec = load_spec(variables)
    render(spec, make_options(project_name="Served Model"), tmp_path / "p")
    readme = (tmp_path / "p/README.md").read_text()
    section = readme[readme.index("## Serve over HTTP") : readme.index("## Build")]
    assert "pip install -e '.[serve]'\nmodelcrate serve .  " in section
    assert "docker run -p 8000:8000 -e MODELCRATE_SERVE_TOKEN IMAGE serve\n" in section
    examples = evaluate_examples(section)
    assert len(examples) == 2 and 'Bearer $MODELCRATE_SERVE_TOKEN" \\\n  -d ' in examples[1]
    for command in examples:
        assert evaluate_body(command, tmp_path) == {"inputs": expected}
    for name, value in expected.items():  # values the variables take
        variable = spec.input(name)
        assert variable.range_problem(variable.check(value)) is None


def test_variables_file_is_written_in_the_current_form(tmp_path):
    old = tmp_path / "old.yml"
    old.write_text(
        "input_variables:\n  x: {type: scalar, default: 1, range: [0, 2]}\noutput_variables:\n  y: {type: scalar}\n"
    )
    options = make_options(project_name="Old Style")
    made = new_project(old, tmp_path / "p", options, git=False)
    written = made.path / "src" / "old_style" / "variables.yml"
    assert "variable_class: ScalarVariable" in written.read_text()
    assert load_spec(written).inputs == load_spec(old).inputs


def test_a_default_outside_its_range_is_warned_once(tmp_path):
    path = tmp_path / "vars.yml"
    path.write_text(
        "input_variables:\n  x: {type: scalar, default: 5, range: [0, 2]}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    with pytest.warns(SpecWarning) as record:
        new_project(path, tmp_path / "p", make_options(project_name="Wide"), git=False)
    assert [str(w.message) for w in record] == [
        f"{path}: input variable 'x': default value is 5 outside the range [0, 2]"
    ]


def test_project_is_a_git_repository_with_a_first_commit(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig")
    )  # no identity configured
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made = new_project(EXAMPLE, tmp_path / "p", make_options(project_name="Git Model"))
    assert made.git
    assert any(
        issubclass(w.category, ModelcrateWarning) and "no user.email" in str(w.message)
        for w in caught
    )
    log = subprocess.run(
        ["git", "log", "--format=%an <%ae> %s"], cwd=made.path, capture_output=True, text=True
    )
    assert log.stdout.strip() == "modelcrate <modelcrate@localhost> Create project with modelcrate"
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=made.path, capture_output=True, text=True
    )
    assert status.stdout == ""


def test_a_project_inside_a_git_repository_becomes_part_of_it(tmp_path):
    import tomllib

    outer = tmp_path / "lab"
    (outer / "models").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=outer, check=True)
    with pytest.warns(ModelcrateWarning, match="is inside the git repository") as caught:
        made = new_project(EXAMPLE, outer / "models" / "p", make_options(project_name="Inner"))
    assert str(outer) in str(caught[0].message)
    assert not made.git and not (made.path / ".git").exists()  # no repository nested in another
    pyproject = tomllib.loads((made.path / "pyproject.toml").read_text())
    assert pyproject["tool"]["hatch"]["version"]["raw-options"] == {"root": "../.."}
    assert pyproject["tool"]["hatch"]["version"]["source"] == "vcs"


def test_a_project_the_outer_repository_ignores_gets_a_repository_of_its_own(tmp_path):
    """As the quick start's `demo-model/` in a clone of modelcrate, which ignores it."""
    import warnings

    outer = tmp_path / "clone"
    outer.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=outer, check=True)
    (outer / ".gitignore").write_text("demo-model/\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelcrateWarning)  # no "inside the git repository"
        made = new_project(EXAMPLE, outer / "demo-model", make_options(project_name="Demo"))
    assert made.git and (made.path / ".git").is_dir()
    assert "raw-options" not in (made.path / "pyproject.toml").read_text()


def test_a_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    import modelcrate.packaging.scaffold._write as new_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(new_module, "write_text_atomic", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        new_project(EXAMPLE, tmp_path / "p", make_options(project_name="Broken"), git=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_variables_file_fails_before_rendering(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        new_project(tmp_path / "missing.yml", tmp_path / "p", make_options(project_name="X"))
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("runtime", "tools"),
    [
        ("modelcrate>=0.3,<1", "modelcrate[tools]>=0.3,<1"),
        ("modelcrate @ file:///somewhere", "modelcrate[tools] @ file:///somewhere"),
        (
            "modelcrate[mongodb] @ git+https://h/m.git@v1",
            "modelcrate[mongodb,tools] @ git+https://h/m.git@v1",
        ),
        ("modelcrate", "modelcrate[tools]"),
    ],
)
def test_the_development_requirement_adds_the_tools_to_the_runtime_one(runtime, tools):
    from modelcrate.packaging._options import serve_requirement, tools_requirement

    assert tools_requirement(runtime) == tools
    assert serve_requirement(runtime) == tools.replace("tools", "serve")


@pytest.mark.parametrize(
    ("requirement", "local"),
    [
        ("modelcrate @ file:///somewhere", True),
        ("modelcrate @ git+file:///somewhere/repo", True),
        ("modelcrate @ git+https://host/modelcrate.git@v1", False),
        ("modelcrate @ https://host/modelcrate-1.0-py3-none-any.whl", False),
        ("modelcrate>=0.3,<1", False),
    ],
)
def test_a_path_of_this_machine_is_told_apart_from_a_portable_requirement(requirement, local):
    from modelcrate.packaging import is_local_requirement

    assert is_local_requirement(requirement) is local


def _checkout(tmp_path, remote: str | None) -> str:
    """A git repository with one commit (and `remote` as origin); a requirement on it by path."""
    import subprocess

    repo = tmp_path / "modelcrate"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.name=A", "-c", "user.email=a@b.org", "commit", "-q", "--allow-empty", "-m", "x")
    if remote:
        run("remote", "add", "origin", remote)
    return f"modelcrate @ {repo.as_uri()}"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        (
            "https://github.com/modelcrate/modelcrate.git",
            "git+https://github.com/modelcrate/modelcrate.git@",
        ),
        (
            "git@github.com:modelcrate/modelcrate.git",
            "git+ssh://git@github.com/modelcrate/modelcrate.git@",
        ),
        ("https://user:token@host/modelcrate.git", None),  # a secret stays out of files
        ("/some/local/path", None),
        (None, None),
    ],
    ids=["https", "scp", "token", "local", "no-remote"],
)
def test_a_checkout_with_a_remote_is_named_portably(tmp_path, remote, expected):
    import re

    from modelcrate.packaging import portable_requirement

    found = portable_requirement(_checkout(tmp_path, remote))
    if expected is None:
        assert found is None
    else:
        assert re.fullmatch(rf"modelcrate @ {re.escape(expected)}[0-9a-f]{{40}}", found), found
    assert portable_requirement("modelcrate>=0.3,<1") is None
