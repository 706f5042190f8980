"""A shared environment: one environment holding the dependencies of a body of models, made from
requirement lists resolved together; versions deployed into it run their own wheel, installed
without dependencies into an overlay at their first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _projects import CHECKOUT_REQUIREMENT, SCALER_VARIABLES, free_port, scaler_model

from modelcrate._errors import DeployError
from modelcrate.deploy._shared import LAUNCHER, requirement_lines, shared_environment


def test_requirement_files_and_locks_are_read_as_requirement_lines(tmp_path):
    (tmp_path / "base.txt").write_text("pyyaml>=6  # the parser\n-r base.txt\n")
    lock = tmp_path / "runtime.lock.txt"
    lock.write_text(
        "# made by uv\n--index-url https://pypi.org/simple\n"
        "numpy==2.4.6 \\\n    --hash=sha256:"
        + "a" * 64
        + " \\\n    --hash=sha256:"
        + "b" * 64
        + "\n"
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:" + "c" * 64 + "\n"
        "modelcrate @ file:///opt/modelcrate\n-r base.txt\n"
    )
    assert requirement_lines(lock) == [
        "numpy==2.4.6",
        'colorama==0.4.6; sys_platform == "win32"',
        "modelcrate @ file:///opt/modelcrate",
        "pyyaml>=6",
    ]
    forms = tmp_path / "forms.txt"
    forms.write_text(
        "--requirement=base.txt\n-rother.txt\nnumpy==2.0 --hash sha256:" + "d" * 64 + "\n"
        "scipy>=1\t# a tab before the comment\n"
    )
    (tmp_path / "other.txt").write_text("h5py\n")
    assert requirement_lines(forms) == ["pyyaml>=6", "h5py", "numpy==2.0", "scipy>=1"]
    (tmp_path / "bad.txt").write_text("numpy\n\nnot a requirement!\n")
    with pytest.raises(DeployError, match=r"bad\.txt, line 3: not a requirement"):
        requirement_lines(tmp_path / "bad.txt")


def test_a_shared_environment_name_is_one_word(tmp_path):
    for name in ("../up", "a b", "", "x" * 64):
        with pytest.raises(DeployError, match="its name is letters"):
            shared_environment(name, root=tmp_path)
    assert shared_environment("accel", root=tmp_path).path == tmp_path / "shared" / "accel"


def test_the_launcher_is_python_of_the_standard_library_only():
    import ast

    tree = ast.parse(LAUNCHER)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported and "pathlib" in imported
    assert imported <= set(sys.stdlib_module_names)


@pytest.mark.slow
def test_versions_deployed_into_a_shared_environment_each_run_their_own_wheel(
    tmp_path, monkeypatch, make_project
):
    from modelcrate.deploy import load_services_settings, start_services, stop_services

    for name in [n for n in os.environ if n.startswith("PREFECT_API_URL")]:
        monkeypatch.delenv(name)
    env = {
        "MODELCRATE_SERVICES_DIR": str(tmp_path / "services"),
        "MODELCRATE_SERVICES_PORT": str(free_port()),
        "MODELCRATE_ENVIRONMENTS": str(tmp_path / "environments"),
        "MODELCRATE_REGISTRY": f"sqlite:///{tmp_path / 'registry.db'}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def modelcrate(*args):
        return subprocess.run(
            [sys.executable, "-m", "modelcrate", *args], capture_output=True, text=True,
            timeout=900,
        )  # fmt: skip

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
            cwd=project, check=True, capture_output=True,
        )  # fmt: skip

    variables = tmp_path / "variables.yml"
    variables.write_text(SCALER_VARIABLES)
    source = tmp_path / "model.py"
    source.write_text(scaler_model(2.0))
    project = make_project(variables, project_name="scaler", model=source, git=True)
    git("add", "-A")
    git("commit", "-qm", "The model")
    git("tag", "v1.0.0")
    start_services(load_services_settings(), say=lambda line: None)
    try:
        missing = modelcrate("deploy", str(project), "--shared-env", "accel")
        assert missing.returncode == 1, missing.stderr
        assert "no shared environment 'accel'; make it" in missing.stderr

        # an environment without modelcrate: the deploy lists what is missing, and stops
        small = tmp_path / "small.txt"
        small.write_text("pyyaml>=6\n")
        made = modelcrate("services", "shared-env", "accel", "-r", str(small))
        assert made.returncode == 0, made.stderr
        refused = modelcrate("deploy", str(project), "--shared-env", "accel")
        assert refused.returncode == 1, refused.stderr
        assert "does not hold what scaler-1.0.0" in refused.stderr
        assert "modelcrate" in refused.stderr and "(missing)" in refused.stderr
        assert "lock the project (modelcrate lock" in refused.stderr

        # two models that pin a dependency differently: refused, the environment as it was
        conflicting = tmp_path / "conflicting.txt"
        conflicting.write_text("pyyaml==5.4.1\n")
        conflict = modelcrate("services", "shared-env", "accel", "-r", str(conflicting))
        assert conflict.returncode == 1 and "could not be made up to date" in conflict.stderr
        assert shared_environment("accel").requirements() == ["pyyaml>=6"]  # as it was

        # the project's own requirements (the wheel's): then it deploys, and runs
        needs = tmp_path / "needs.txt"
        needs.write_text(f"{CHECKOUT_REQUIREMENT}\nprefect>=3.9,<4\n")  # what the project needs
        updated = modelcrate("services", "shared-env", "accel", "-r", str(needs))
        assert updated.returncode == 0, updated.stderr
        first = modelcrate("deploy", str(project), "--shared-env", "accel", "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["shared_env"] == "accel"

        (project / "src" / "scaler" / "model.py").write_text(scaler_model(3.0))
        git("commit", "-qam", "Another factor")
        git("tag", "v1.1.0")
        second = modelcrate("deploy", str(project), "--shared-env", "accel")
        assert second.returncode == 0, second.stderr

        results = str(tmp_path / "results")

        def output(reference):
            done = modelcrate(
                "run", reference, "--deployment", "--set", "x=1.5", "-t", results, "--json"
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)["outputs"]["y"]

        assert (output("scaler@1.0.0"), output("scaler@1.1.0")) == (3.0, 4.5)
        shared = shared_environment("accel")
        overlays = sorted(p.name for p in (shared.path / "overlays").iterdir())
        assert len(overlays) == 2 and all(
            (shared.path / "overlays" / name / ".complete").is_file() for name in overlays
        )
        assert len(list((shared.path / "wheels").glob("*/*.whl"))) == 2
        # nothing of the models was installed into the shared environment itself
        probe = subprocess.run(
            [shared.python, "-c", "import importlib.util as u; print(u.find_spec('scaler'))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert probe.stdout.strip() == "None"
        # the registry keeps each version's requirements: the environment is made from them
        shown = json.loads(modelcrate("registry", "show", "scaler@1.1.0", "--json").stdout)
        assert any(r.startswith("modelcrate") for r in shown["version"]["requirements"])
        from_registry = modelcrate("services", "shared-env", "accel", "scaler@1.1.0")
        assert from_registry.returncode == 0, from_registry.stderr
        again = modelcrate("services", "shared-env", "accel")  # every live version's
        assert again.returncode == 0, again.stderr
        assert "holds these requirements already" in again.stderr
    finally:
        stop_services(load_services_settings(), say=lambda line: None)


def test_deploying_into_a_shared_environment_on_an_image_pool_is_refused():
    from modelcrate.deploy._deploy import _shared_environment

    with pytest.raises(DeployError, match="--shared-env is for process pools"):
        _shared_environment("accel", True, Path("."))


def test_a_password_in_a_requirement_url_is_never_shown(tmp_path):
    from modelcrate.deploy._shared import masked_requirement

    line = "beam-tools @ git+https://user:s3cret@git.example.org/lab/beam-tools.git@v1"
    assert "s3cret" not in masked_requirement(line) and "git.example.org" in masked_requirement(
        line
    )
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "beam-tools @ git+https://user:s3cret@git.example.org/x.git ; python_version >\n"
    )
    with pytest.raises(DeployError) as caught:
        requirement_lines(bad)
    assert "s3cret" not in str(caught.value)
