"""`modelcrate check`: fresh projects pass every check; a project broken on purpose fails its own
check, with a message saying what to fix, and still passes the others.

Each check of a project imports Prefect in a child interpreter (a few seconds), so the projects
are made and checked once, concurrently, in a module fixture; the tests read the results.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from _projects import CHECKOUT_REQUIREMENT, EXAMPLE_MODEL, RELEASE_REQUIREMENT, ROOT, find_uv

from modelcrate import ProjectError
from modelcrate.packaging import (
    CHECKS,
    CheckResult,
    check_project,
)
from modelcrate.packaging.tooling._check import dockerfile_instructions

ALL_KINDS = ROOT / "tests" / "e2e" / "variables" / "all_kinds.yml"
PACKAGE = "injector_surrogate"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _model(project: Path) -> Path:
    return project / "src" / PACKAGE / "model.py"


# The class's spec no longer the file's: sigma_x's range changed in code.
_RANGE_CHANGED = """            "beam_image": density,
        }


_shipped = InjectorSurrogateModel.spec
_sigma_x = _shipped.outputs[0].model_copy(update={"value_range": (0.0, 100.0)})
InjectorSurrogateModel.spec = _shipped.model_copy(
    update={"outputs": (_sigma_x, *_shipped.outputs[1:])}
)
"""

# Each breaks one thing; the check it should fail and what its message must say.
BREAKAGES = {
    "spec-not-from-the-file": (
        lambda p: _edit(
            _model(p), '            "beam_image": density,\n        }\n', _RANGE_CHANGED
        ),
        "variables",
        "InjectorSurrogateModel.spec differs from src/injector_surrogate/variables.yml: output "
        "'sigma_x' has value_range [0.0, 100.0] in the class's spec, [0.0, inf] in the file",
    ),
    "missing-output": (
        lambda p: _edit(_model(p), '"norm_emit_x": norm_emit,', ""),
        "evaluate",
        "output 'norm_emit_x' is missing",
    ),
    "wrong-shape": (
        lambda p: _edit(_model(p), '"beam_image": density,', '"beam_image": density[:32],'),
        "evaluate",
        "output 'beam_image' expects shape (64, 64), got (32, 64)",
    ),
    "out-of-range": (
        lambda p: _edit(_model(p), '"sigma_x": abs(sigma_x),', '"sigma_x": -abs(sigma_x),'),
        "evaluate",
        "output 'sigma_x' is -",
    ),
    "entry-point-typo": (
        lambda p: _edit(
            p / "pyproject.toml", "model:InjectorSurrogateModel", "model:InjectorSurogate"
        ),
        "entry-points",
        '[project.entry-points."modelcrate.models"] injector-surrogate = '
        '"injector_surrogate.model:InjectorSurogate": injector_surrogate.model has no attribute '
        "'InjectorSurogate'; fix the entry point",
    ),
    "readme-out-of-sync": (
        lambda p: _edit(p / "README.md", "| kG*m | 0.35 |", "| kG*m | 0.4 |"),
        "readme",
        "inputs table row `SOL1:BCTRL`: Default is `0.4`, variables.yml gives `0.35`",
    ),
    "root-dockerfile": (
        lambda p: _edit(p / "Dockerfile", "CMD [", "USER root\nCMD ["),
        "dockerfile",
        "`USER root` runs the image as root",
    ),
    "checkout-requirement": (
        lambda p: _edit(
            p / "pyproject.toml", f'"{RELEASE_REQUIREMENT}"', f'"{CHECKOUT_REQUIREMENT}"'
        ),
        "portable",
        "is a path of this machine, so the project does not install anywhere else",
    ),
    "machine-path-in-a-lock-file": (
        lambda p: (
            (p / "requirements").mkdir()
            or (p / "requirements" / "runtime.direct.txt").write_text(
                f"# modelcrate lock\n{CHECKOUT_REQUIREMENT}\n"
            )
        ),
        "portable",
        "requirements/runtime.direct.txt line 2: file:",
    ),
    "hard-coded-version": (
        lambda p: _edit(p / "pyproject.toml", 'dynamic = ["version"]', 'version = "0.1.0"'),
        "version",
        '[project] version = "0.1.0" is hard-coded',
    ),
}


@pytest.fixture(scope="module")
def make(make_project):
    """`make(parent, name, example=...)`: a git project at parent/name, of the example with its
    reference model, or else of every kind of variable with the generated placeholder model."""

    def make(parent: Path, name: str, *, example: bool) -> Path:
        if example:
            kind = {"project_name": "Injector Surrogate", "model": EXAMPLE_MODEL}
        else:
            kind = {"variables": ALL_KINDS, "project_name": "All Kinds"}
        return make_project(
            **kind, modelcrate_requirement=RELEASE_REQUIREMENT, git=True, dest=parent / name
        )

    return make


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelcrate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def checked(make, tmp_path_factory):
    """Every project made, broken as named, and checked, at once.

    Two go through the command line in a child process: the placeholder project as text, the
    one with a root Dockerfile as JSON (which gives its results); the others through the library.
    """
    root = tmp_path_factory.mktemp("check")
    projects = {"placeholder": make(root, "placeholder", example=False)}
    projects["example"] = make(root, "example", example=True)
    for name, (breaks, _, _) in BREAKAGES.items():
        projects[name] = make(root, name, example=True)
        breaks(projects[name])
    by_cli = {"placeholder": (), "root-dockerfile": ("--json",)}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        cli = {
            name: pool.submit(_cli, "check", *options, projects[name])
            for name, options in by_cli.items()
        }
        results = {
            name: pool.submit(check_project, path)
            for name, path in projects.items()
            if name not in by_cli
        }
        found = {name: {r.name: r for r in f.result()} for name, f in results.items()}
        ran = {name: f.result() for name, f in cli.items()}
    found["root-dockerfile"] = {
        item["name"]: CheckResult(**item) for item in json.loads(ran["root-dockerfile"].stdout)
    }
    return projects, found, ran


def test_a_fresh_project_passes_every_check_on_the_command_line(checked):
    _, _, cli = checked
    done = cli["placeholder"]
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["check", "status", "detail"]
    assert [line.split()[:2] for line in lines[1:-1]] == [[name, "ok"] for name in CHECKS]
    assert lines[-1] == "8 of 8 checks passed."


def test_the_example_model_passes_every_check(checked):
    _, found, _ = checked
    assert list(found["example"]) == list(CHECKS)
    assert {check: r.message for check, r in found["example"].items() if not r.ok} == {}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_broken_project_fails_its_own_check_and_passes_the_others(checked, name):
    _, found, _ = checked
    _, check, message = BREAKAGES[name]
    results = found[name]
    assert not results[check].ok
    assert message in results[check].message
    assert "\n" not in results[check].message
    others = {c: r.message for c, r in results.items() if c != check and not r.ok}
    assert others == {}


def test_each_breakage_has_its_own_message(checked):
    _, found, _ = checked
    messages = [found[name][check].message for name, (_, check, _) in BREAKAGES.items()]
    assert len(set(messages)) == len(messages)


def test_evaluate_failures_say_what_to_fix(checked):
    _, found, _ = checked
    message = found["wrong-shape"]["evaluate"].message
    assert message.startswith("InjectorSurrogateModel.evaluate on the default inputs:")
    assert message.endswith(
        "fix InjectorSurrogateModel.evaluate in src/injector_surrogate/model.py"
    )
    assert "outside the range [0, inf]" in found["out-of-range"]["evaluate"].message


def test_readme_failure_names_the_line_and_how_to_regenerate(checked):
    projects, found, _ = checked
    message = found["readme-out-of-sync"]["readme"].message
    line = int(re.search(r"line (\d+)", message).group(1))
    readme = (projects["readme-out-of-sync"] / "README.md").read_text().splitlines()
    assert readme[line - 1].startswith("| `SOL1:BCTRL` |")
    assert "`modelcrate update`" in message


def test_command_line_json_gives_every_result_and_exit_code_1(checked):
    _, _, cli = checked
    done = cli["root-dockerfile"]
    assert done.returncode == 1, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)] == list(CHECKS)


def test_command_line_prints_each_failure_then_a_summary_table(run_cli, monkeypatch, tmp_path):
    import modelcrate.packaging

    results = [CheckResult(name, name != "readme", f"{name} message") for name in CHECKS]
    results[-1] = CheckResult("version", False, "pyproject.toml: " + "x" * 100)
    monkeypatch.setattr(modelcrate.packaging, "check_project", lambda project, python: results)
    code, out, _ = run_cli("check", tmp_path)
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == ["FAIL readme: readme message", "FAIL version: " + results[-1].message, ""]
    assert re.split(r"\s{2,}", lines[3]) == ["check", "status", "detail"]
    assert re.split(r"\s{2,}", lines[4]) == ["variables", "ok", "variables message"]
    assert re.split(r"\s{2,}", lines[8]) == ["readme", "FAIL", "readme message"]
    assert lines[11].endswith("...") and len(lines[11]) < 100
    assert lines[-1] == "6 of 8 checks passed."


def test_a_project_that_cannot_be_imported_fails_the_import_checks_only(checked, tmp_path):
    projects, _, _ = checked
    broken_python = tmp_path / "python"
    broken_python.write_text("#!/bin/sh\necho 'no module named modelcrate' >&2\nexit 1\n")
    broken_python.chmod(0o755)
    results = {r.name: r for r in check_project(projects["example"], python=broken_python)}
    for name in ("variables", "entry-points", "flow", "evaluate"):
        assert not results[name].ok
        assert "no module named modelcrate" in results[name].message
    assert all(results[name].ok for name in ("readme", "dockerfile", "portable", "version"))


def test_not_a_project_is_bad_input(run_cli, tmp_path):
    code, _, err = run_cli("check", tmp_path)
    assert code == 2
    assert (
        err.strip()
        == f"error: {tmp_path}: no pyproject.toml; give a project made by `modelcrate new`"
    )
    with pytest.raises(ProjectError, match="no such interpreter"):
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
        check_project(tmp_path, python=tmp_path / "missing-python")


def test_the_generated_ci_workflow_runs_the_check(checked):
    projects, _, _ = checked
    workflow = yaml.safe_load((projects["example"] / ".github/workflows/tests.yml").read_text())
    runs = [step.get("run") for step in workflow["jobs"]["test"]["steps"]]
    assert "modelcrate check ." in runs
    assert runs.index("modelcrate check .") > runs.index("pytest")


def test_dockerfile_instructions_join_continued_lines():
    text = "FROM a AS b\n# note\nRUN x \\\n    # inside\n    && y\nUSER  model\n"
    assert dockerfile_instructions(text) == [
        (1, "FROM", "a AS b"),
        (3, "RUN", "x && y"),
        (6, "USER", "model"),
    ]


def test_a_dockerfile_without_user_or_wheel_fails(tmp_path):
    from modelcrate.packaging.tooling._check import check_dockerfile

    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nUSER model\nFROM python:3.11-slim\n")
    result = check_dockerfile(tmp_path)
    assert not result.ok and "final stage has no USER line" in result.message
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN pip install numpy\nUSER 1000\n"
    )
    result = check_dockerfile(tmp_path)
    assert (
        not result.ok
        and "no RUN line of the final stage pip-installs the built wheel" in result.message
    )


@pytest.mark.slow
def test_a_project_venv_is_the_default_interpreter(make, tmp_path):
    project = make(tmp_path, "venv-project", example=True)
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    venv = project / ".venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], check=True)
    results = {r.name: r for r in check_project(project)}
    assert "cannot import modelcrate" in results["evaluate"].message  # an empty .venv is used
    subprocess.run(
        # modelcrate from this checkout: the project depends on a released version range
        [uv, "pip", "install", "-q", "--python", venv / "bin" / "python", ROOT, "-e", project],
        check=True,
        timeout=600,
    )
    results = check_project(project)
    assert {r.name: r.message for r in results if not r.ok} == {}
    assert not list((project / "src").rglob("__pycache__"))  # the check leaves src as it was


def test_a_broken_project_venv_is_an_error_not_a_silent_fallback(tmp_path, run_cli):
    project = tmp_path / "p"
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (project / ".venv" / "bin" / "python").symlink_to(tmp_path / "removed-python3.11")
    for verb in ("check", "graph"):
        code, out, err = run_cli(verb, project)
        assert code == 2 and out == ""
        assert err.startswith(f"error: {project / '.venv'}: has no working python (")
        assert "recreate it (rm -rf .venv, then" in err and err.count("\n") == 1


def test_the_wheel_must_be_installed_in_the_final_stage(tmp_path):
    from modelcrate.packaging.tooling._check import check_dockerfile

    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11 AS build\nRUN pip install dist/*.whl && pytest\n"
        "FROM python:3.11-slim\nCOPY app.py /app.py\nUSER nobody\n"
    )
    result = check_dockerfile(tmp_path)
    assert not result.ok
    assert "no RUN line of the final stage pip-installs the built wheel" in result.message


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_project_below_the_top_of_its_git_repository_needs_the_scm_root(tmp_path):
    from modelcrate.packaging.tooling._check import check_version, read_pyproject

    mono = tmp_path / "mono"
    (mono / "models" / "p").mkdir(parents=True)
    _git(mono, "init", "-q")
    project = mono / "models" / "p"
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\n'
        '[project]\nname = "p"\ndynamic = ["version"]\n'
        '[tool.hatch.version]\nsource = "vcs"\n'
    )
    result = check_version(project, read_pyproject(project))
    assert not result.ok
    assert result.message == (
        f"the git repository starts at {mono.resolve()}, above the project, and hatch-vcs looks "
        "for tags only in the project folder (builds get version 0.0.0); add "
        '[tool.hatch.version.raw-options] root = "../.."'
    )
    pyproject.write_text(
        pyproject.read_text() + '[tool.hatch.version.raw-options]\nroot = "../.."\n'
    )
    assert check_version(project, read_pyproject(project)).ok


def test_readme_tables_reflowed_by_a_formatter_still_match(tmp_path):
    from modelcrate.packaging.tooling._check import check_readme

    variables = tmp_path / "variables.yml"
    variables.write_text(
        "input_variables:\n  x: {type: scalar, default: 1, range: [0, 2], units: mm}\n"
        "output_variables:\n  y: {type: scalar}\n"
    )
    readme = tmp_path / "README.md"
    # as Prettier or mdformat pad them
    readme.write_text(
        "## Inputs\n\n"
        "| Name | Kind   | Unit | Default | Range  | Description |\n"
        "| ---- | :----- | ---- | ------- | ------ | ----------- |\n"
        "| `x`  | scalar | mm   | 1       | [0, 2] |             |\n\n"
        "## Outputs\n\n"
        "| Name | Kind   | Unit | Range | Description |\n"
        "| ---- | ------ | ---- | ----- | ----------- |\n"
        "| `y`  | scalar |      |       |             |\n"
    )
    assert check_readme(tmp_path, variables).ok, check_readme(tmp_path, variables).message
    readme.write_text(readme.read_text().replace("| mm   |", "| cm   |"))
    result = check_readme(tmp_path, variables)
    assert not result.ok
    assert "line 5: inputs table row `x`: Unit is `cm`, variables.yml gives `mm`" in result.message


def test_the_package_of_a_nested_namespace_project(tmp_path):
    from modelcrate.packaging._project import project_package

    (tmp_path / "src" / "acme" / "models" / "inj").mkdir(parents=True)
    pyproject = {
        "project": {"entry-points": {"modelcrate.models": {"x": "acme.models.inj.model:M"}}}
    }
    assert project_package(tmp_path, pyproject) == "acme.models.inj"
    (tmp_path / "src" / "acme" / "models" / "inj" / "model").mkdir()  # a package of that name
    assert project_package(tmp_path, pyproject) == "acme.models.inj.model"
    (tmp_path / "src" / "acme" / "models" / "inj" / "variables.yml").write_text("")
    assert project_package(tmp_path, {}) == "acme.models.inj"  # found by its variables file


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_lock_file_that_is_a_pipe_or_endless_fails_portable_without_waiting(tmp_path):
    project = tmp_path / "odd"
    (project / "requirements").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "odd"\n')
    (project / "requirements" / "base.txt").write_text("# uv pip compile\nnumpy==2.1.0\n")
    os.mkfifo(project / "requirements" / "incoming.txt")  # no writer: a read would wait forever
    (project / "requirements" / "zeros.txt").symlink_to("/dev/zero")  # a read would never end
    failing_python = tmp_path / "python"
    failing_python.write_text("#!/bin/sh\nexit 1\n")
    failing_python.chmod(0o755)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelcrate",
            "check",
            "--json",
            "--python",
            failing_python,
            project,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    results = {r["name"]: r for r in json.loads(done.stdout)}
    assert results["portable"] == {
        "name": "portable",
        "ok": False,
        "message": "requirements/incoming.txt: not a regular file (a pipe, a device or a "
        "socket), so what it installs cannot be checked (and 1 more); replace it with the file "
        "itself",
    }


def test_a_lock_file_in_another_encoding_is_still_read(tmp_path):
    project = tmp_path / "latin"
    (project / "requirements").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "latin"\n')
    lock = "# Fran\xe7ois's lock\nmodelcrate @ file:///home/fran\xe7ois/modelcrate\n"
    (project / "requirements" / "base.txt").write_bytes(lock.encode("latin-1"))
    failing_python = tmp_path / "python"
    failing_python.write_text("#!/bin/sh\nexit 1\n")
    failing_python.chmod(0o755)
    [portable] = [r for r in check_project(project, python=failing_python) if r.name == "portable"]
    assert not portable.ok
    assert portable.message.startswith("requirements/base.txt line 2: file:///home/fran")


def test_a_url_that_ends_like_the_project_folder_is_not_a_path_of_this_machine(tmp_path):
    # As a checkout at /my-model in a container, whose repository is .../you/my-model.
    project = tmp_path / "my-model"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "my-model"\n\n[project.urls]\nSource = "https://git.example.org{project}"\n'
    )
    failing_python = tmp_path / "python"
    failing_python.write_text("#!/bin/sh\nexit 1\n")
    failing_python.chmod(0o755)
    [portable] = [r for r in check_project(project, python=failing_python) if r.name == "portable"]
    assert portable.ok, portable.message

    (project / "pyproject.toml").write_text(
        f'[project]\nname = "my-model"\ndependencies = ["data @ {project}/data"]\n'
    )
    [portable] = [r for r in check_project(project, python=failing_python) if r.name == "portable"]
    assert not portable.ok
    assert portable.message.startswith(f"pyproject.toml line 3: {project}"[:60])
