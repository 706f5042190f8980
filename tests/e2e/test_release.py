"""modelcrate as a release would ship it: its own sdist and wheel, versioned from a git tag, make
projects that depend on a version range, not on a path of this machine. Such a project installs
wherever modelcrate is published (here: a folder of its files, as an index), passes every check
including `portable`, and its runtime holds none of the tools that make projects.

Slow (builds modelcrate, and fresh environments with Prefect); run in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _projects import EXAMPLE, EXAMPLE_MODEL, ROOT, find_uv, sh, without_prefect_settings

pytestmark = pytest.mark.slow

TAG, VERSION = "v0.3.0", "0.3.0"
PACKAGING_TOOLS = {
    "copier",
    "questionary",
    "validate-pyproject",
    "uv",
    "plumbum",
    "dunamai",
    "build",
}
"""What only makes, builds, locks or updates projects: never in a packaged model's runtime."""


@pytest.fixture(scope="module")
def uv() -> str:
    found = find_uv()
    if found is None:
        pytest.skip("uv is not installed")
    return found


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """modelcrate's sdist and wheel built from this working tree, committed and tagged `v0.3.0`
    in a repository of its own (as the release workflow builds them on a tag); their folder."""
    work = tmp_path_factory.mktemp("release")
    tree = work / "modelcrate"
    listed = sh("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)
    git = ["git", "-c", "user.name=Release", "-c", "user.email=release@example.org"]
    sh("git", "init", "-q", cwd=tree)
    sh("git", "add", "-A", cwd=tree)
    sh(*git, "commit", "-q", "-m", "release", cwd=tree)
    sh(*git, "tag", "-a", TAG, "-m", TAG, cwd=tree)
    dist = work / "dist"
    sh(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, tree, timeout=600)
    return dist


def _venv(uv: str, where: Path, *install: str | Path, links: Path) -> Path:
    """A new environment with `install`; bytecode compiled as pip does by default (so the
    bundled template holds `__pycache__` folders, which `new` must not render)."""
    sh(uv, "venv", "-q", "--python", sys.executable, where)
    python = where / "bin" / "python"
    sh(uv, "pip", "install", "-q", "--compile-bytecode", "--python", python,
       "--find-links", links, *install, timeout=900)  # fmt: skip
    return python


@pytest.fixture(scope="module")
def project(release, uv, tmp_path_factory) -> Path:
    """`modelcrate new` run by modelcrate installed from its released wheel, with the project
    tools; the example project it made, with its reference model."""
    work = tmp_path_factory.mktemp("user")
    wheel = next(release.glob("modelcrate-*.whl"))
    user = _venv(uv, work / "tools", f"modelcrate[tools] @ {wheel.as_uri()}", links=release)
    made = sh(user.parent / "modelcrate", "new", EXAMPLE, "-o", work / "injector", "--yes",
              "--github-user", "ada")  # fmt: skip
    assert "note:" not in made.stderr  # no warning about a path of this machine
    project = work / "injector"
    shutil.copy(EXAMPLE_MODEL, project / "src" / "injector_surrogate" / "model.py")
    return project


def test_the_release_is_versioned_by_its_tag(release):
    names = sorted(p.name for p in release.iterdir())
    assert names == [f"modelcrate-{VERSION}-py3-none-any.whl", f"modelcrate-{VERSION}.tar.gz"]
    with zipfile.ZipFile(release / names[0]) as wheel:
        metadata = wheel.read(f"modelcrate-{VERSION}.dist-info/METADATA").decode()
    assert f"\nVersion: {VERSION}\n" in metadata
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, re.MULTILINE)
    tools = [r for r in requires if "extra == 'tools'" in r or 'extra == "tools"' in r]
    assert {re.split(r"[<>=;\[ ]", r)[0] for r in tools} >= {"copier", "validate-pyproject", "uv"}
    runtime = {re.split(r"[<>=;\[ ]", r)[0] for r in requires if "extra ==" not in r}
    assert not runtime & PACKAGING_TOOLS


def test_a_project_made_by_a_release_depends_on_a_version_range(project):
    text = (project / "pyproject.toml").read_text()
    assert '  "modelcrate>=0.3,<1",\n' in text
    assert '"modelcrate[tools]>=0.3,<1"' in text
    assert '\nserve = ["modelcrate[serve]>=0.3,<1"]\n' in text  # what the image installs too
    assert "file:" not in text and "allow-direct-references" not in text
    assert str(project.parent) not in (project / ".copier-answers.yml").read_text()


@pytest.fixture(scope="module")
def developed(project, release, uv) -> Path:
    """The project installed for development (`-e '.[dev]'`), modelcrate from the release."""
    return _venv(uv, project / ".venv", "-e", f"{project}[dev]", links=release)


def test_it_passes_every_check_including_portable(project, developed):
    done = subprocess.run(
        [developed.parent / "modelcrate", "check", project],
        capture_output=True, text=True, timeout=600, env=without_prefect_settings(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^portable\s+ok\s", done.stdout, re.MULTILINE)
    assert done.stdout.splitlines()[-1] == "8 of 8 checks passed."


def test_its_runtime_lock_holds_no_packaging_tool_and_no_path(project, developed, release):
    env = {**without_prefect_settings(), "UV_FIND_LINKS": str(release)}
    sh(developed.parent / "modelcrate", "lock", project, env=env, timeout=900)
    pins = {}
    for line in (project / "requirements" / "runtime.lock.txt").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line):
            pins[match.group(1).lower()] = match.group(2)
    assert pins["modelcrate"] == VERSION
    assert "prefect" in pins
    assert not set(pins) & PACKAGING_TOOLS, sorted(set(pins) & PACKAGING_TOOLS)
    for lock in (project / "requirements").iterdir():
        text = lock.read_text()
        assert "file:" not in text and str(project.parent) not in text, lock.name


def test_its_runtime_environment_runs_the_model_without_the_tools(project, release, uv, tmp_path):
    """The wheel's own dependencies only (what its image installs): the model runs; the project
    tools are absent, and the `modelcrate` command says how to get them."""
    python = _venv(uv, tmp_path / "runtime", project, links=release)
    found = sh(python, "-c", "import importlib.util as u; "
               "print([m for m in ('copier', 'validate_pyproject', 'uv', 'questionary') "
               "if u.find_spec(m)])")  # fmt: skip
    assert found.stdout.strip() == "[]"
    env = {**without_prefect_settings(), "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    results = tmp_path / "results"
    ran = sh(python.parent / "modelcrate", "run", "injector-surrogate", "--set",
             "laser_radius=0.5", "-t", results.as_uri(), env=env, cwd=tmp_path)  # fmt: skip
    assert "norm_emit_x" in ran.stdout
    refused = subprocess.run(
        [python.parent / "modelcrate", "new", EXAMPLE, "-o", tmp_path / "x"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "error: `modelcrate new` needs modelcrate's project tools, which are not installed in this "
        "environment (copier, "
    )
    assert refused.stderr.endswith(" missing): pip install 'modelcrate[tools]'\n")
    assert refused.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()
