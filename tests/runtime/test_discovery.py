"""Finding a model by project directory or by installed name."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import EntryPoint

import pytest

from modelcrate import ProjectError
from modelcrate.runtime import _discovery
from modelcrate.runtime._discovery import MODELS_GROUP, find


@pytest.fixture
def installed(monkeypatch):
    """Pretend one model, `demo-model`, is installed, pointing at a stand-in object."""
    ep = EntryPoint("demo-model", "modelcrate.runtime._discovery:Found", MODELS_GROUP)
    monkeypatch.setattr(
        _discovery, "entry_points", lambda group: [ep] if group == MODELS_GROUP else []
    )
    return ep


def test_installed_name_resolves(installed):
    found = find("demo_model")
    assert found.obj is _discovery.Found and found.project is None


def test_folder_named_like_an_installed_model_does_not_shadow_it(installed, tmp_path, monkeypatch):
    (tmp_path / "demo-model").mkdir()  # e.g. the results folder of that model
    monkeypatch.chdir(tmp_path)
    assert find("demo-model").entry_point == installed.value


def test_folder_without_pyproject_is_named_in_the_error(installed, tmp_path):
    with pytest.raises(ProjectError, match=r"no pyproject\.toml"):
        find(tmp_path)


def test_project_directory_reads_its_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project.entry-points."modelcrate.models"]\nx = "modelcrate.runtime._discovery:Found"\n'
    )
    found = find(tmp_path)
    assert found.obj is _discovery.Found and found.project == tmp_path.resolve()


def test_project_without_entry_points_says_what_to_add(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ProjectError, match=r"declares no \[project.entry-points"):
        find(tmp_path)


def _package(root, name: str, value: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    (root / name / "model.py").write_text(f"WHICH = {value!r}\n")


@pytest.fixture
def shadowed_project(tmp_path, monkeypatch):
    """A project whose package name is also importable from elsewhere (as when another project
    of that name, or an older build of this one, is installed in the environment)."""
    name = "shadowed_model_pkg"
    _package(tmp_path / "site", name, "installed")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    project = tmp_path / "project"
    _package(project / "src", name, "project")
    (project / "pyproject.toml").write_text(
        f'[project.entry-points."modelcrate.models"]\nx = "{name}.model:WHICH"\n'
    )
    yield project, name
    for module in [m for m in sys.modules if m.split(".")[0] == name]:
        del sys.modules[module]


def test_a_project_runs_its_own_code_not_an_installed_package_of_that_name(shadowed_project):
    project, _ = shadowed_project
    assert find(project).obj == "project"


def test_a_package_of_that_name_already_imported_from_elsewhere_is_an_error(shadowed_project):
    project, name = shadowed_project
    importlib.import_module(name)  # the installed one
    with pytest.raises(
        ProjectError, match=rf"a package '{name}' from .*site.* is already imported"
    ):
        find(project)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "shadowed_modle_pkg.model:WHICH",
            r"there is no package 'shadowed_modle_pkg' in .*src "
            r"\(it has: shadowed_model_pkg\); fix the entry point in pyproject.toml",
        ),
        (
            "shadowed_model_pkg.modle:WHICH",
            r"there is no module 'shadowed_model_pkg.modle' in "
            r".*src; fix the entry point in pyproject.toml",
        ),
        (
            "shadowed_model_pkg.model:WHCH",
            r"shadowed_model_pkg.model has no attribute 'WHCH'; "
            r"fix the entry point",
        ),
    ],
)
def test_an_entry_point_typo_is_named(shadowed_project, reference, message):
    project, _ = shadowed_project
    (project / "pyproject.toml").write_text(
        f'[project.entry-points."modelcrate.models"]\nx = "{reference}"\n'
    )
    with pytest.raises(ProjectError, match=message):
        find(project)
