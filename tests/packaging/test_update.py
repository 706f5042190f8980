"""`modelcrate update` merges a newer template version into a generated project, keeping the
user's edits: a template repository at two tags is made here, as template releases are."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from _projects import EXAMPLE

from modelcrate import ProjectError
from modelcrate.packaging import (
    TemplateRelease,
    make_options,
    new_project,
    release_template,
    update_project,
)
from modelcrate.packaging.scaffold._releases import (
    TEMPLATE_SOURCE,
    template_path,
    template_versions,
)

PACKAGE = "injector_surrogate"
MODEL = f"src/{PACKAGE}/model.py"
IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.org"]

OLD_DOCSTRING = (
    '"""The Injector Surrogate model: its inputs and outputs are declared in variables.yml."""'
)
NEW_DOCSTRING = '"""The Injector Surrogate model, as declared in variables.yml (template 0.2.0)."""'
USER_CODE = 'return {"x": inputs["laser_radius"] * 2}  # the user\'s model'


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory) -> Path:
    """A git repository of the template at 0.1.0 (as bundled) and 0.2.0, which adds
    docs/index.md (with the inputs table) and rewords the model's docstring."""
    repo = tmp_path_factory.mktemp("templates") / "template"
    shutil.copytree(template_path(), repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "Template 0.1.0")
    git(repo, "tag", "0.1.0")
    model = repo / "project" / "src" / "{{ package_name }}" / "model.py.jinja"
    text = model.read_text()
    old_line = (
        '"""The {{ project_name | docstring }} model: its inputs and outputs are declared in '
        'variables.yml."""'
    )
    assert old_line in text
    model.write_text(
        text.replace(
            old_line,
            '"""The {{ project_name | docstring }} model, as declared in variables.yml '
            '(template 0.2.0)."""',
        )
    )
    docs = repo / "project" / "docs"
    docs.mkdir()
    (docs / "index.md.jinja").write_text(
        "# {{ project_name }}\n\n## Inputs\n\n{{ inputs_table }}\n"
    )
    commit_all(repo, "Template 0.2.0")
    git(repo, "tag", "0.2.0")
    return repo


@pytest.fixture
def project(make_project, template_repo, tmp_path, monkeypatch) -> Path:
    """A project made from template 0.1.0, with the user's model committed."""
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(template_repo))
    path = make_project(
        project_name="Injector Surrogate",
        author="Ada",
        email="ada@example.org",
        git=True,
        template=TemplateRelease(template_repo, "0.1.0"),
        dest=tmp_path / "injector",
    )
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "0.1.0"
    assert answers["_src_path"] == TEMPLATE_SOURCE  # no path of this machine
    model = path / MODEL
    text = model.read_text()
    start = text.index("        return {")
    model.write_text(text[:start] + f"        {USER_CODE}\n")
    commit_all(path, "My model")
    return path


def answers_of(path: Path) -> dict:
    return yaml.safe_load((path / ".copier-answers.yml").read_text())


def test_update_keeps_the_users_edit_and_adds_the_new_templates_file(
    project, template_repo, run_cli
):
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Inputs", "Our own words.\n\n## Inputs"))
    (project / "notes.txt").write_text("mine\n")
    commit_all(project, "Prose and notes")
    variables_before = (project / f"src/{PACKAGE}/variables.yml").read_bytes()

    code, out, err = run_cli("update", project, "--to", "0.2.0")

    assert (code, err) == (0, ""), out
    assert "from template 0.1.0 to 0.2.0" in out
    model = (project / MODEL).read_text()
    assert USER_CODE in model  # the user's edit is kept ...
    assert NEW_DOCSTRING in model and OLD_DOCSTRING not in model  # ... beside the template's
    docs = (project / "docs" / "index.md").read_text()  # the file the new version introduced,
    assert "| `laser_radius` | scalar | mm |" in docs  # rendered with the spec-derived answers
    assert "Our own words." in readme.read_text()
    assert (project / "notes.txt").read_text() == "mine\n"
    assert (project / f"src/{PACKAGE}/variables.yml").read_bytes() == variables_before
    answers = answers_of(project)
    assert answers["_commit"] == "0.2.0"
    assert answers["_src_path"] == TEMPLATE_SOURCE
    assert "<<<<<<<" not in model
    assert "  A docs/index.md\n" in out and f"  M {MODEL}\n" in out
    assert "Review with `git diff`" in out


def test_a_conflicting_edit_gets_inline_markers_and_is_listed(project, run_cli):
    model = project / MODEL
    model.write_text(model.read_text().replace(OLD_DOCSTRING, '"""My own docstring."""'))
    commit_all(project, "My docstring")

    code, out, err = run_cli("update", project, "--to", "0.2.0")

    assert code == 1, (out, err)
    text = model.read_text()
    assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
    assert '"""My own docstring."""' in text and NEW_DOCSTRING in text
    assert USER_CODE in text
    conflicts = out[out.index("Conflicts in") :]
    assert MODEL in conflicts and "README.md" not in conflicts and f"  C {MODEL}\n" in out
    assert "delete the markers" in out
    assert (project / "docs" / "index.md").is_file()


def test_a_dirty_working_tree_is_refused(project, run_cli):
    (project / MODEL).write_text("# work in progress\n")

    code, out, err = run_cli("update", project, "--to", "0.2.0")

    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f"has uncommitted changes ({MODEL}); commit them, or set them aside with" in err
    assert "`git stash --include-untracked`" in err
    assert (project / MODEL).read_text() == "# work in progress\n"
    assert not (project / "docs").exists()


def test_an_up_to_date_project_is_left_alone_and_never_goes_back(project, run_cli):
    assert run_cli("update", project, "--to", "0.2.0")[0] == 0
    commit_all(project, "Update to 0.2.0")

    code, out, err = run_cli("update", project, "--to", "0.2")  # 0.2 is 0.2.0

    assert (code, err) == (0, "")
    assert "already up to date (template 0.2.0)" in out
    assert git(project, "status", "--porcelain") == ""
    code, _, err = run_cli("update", project, "--to", "0.1.0")
    assert code == 2 and "cannot go back" in err


def test_a_fresh_project_is_at_this_modelcrates_template(tmp_path, monkeypatch, run_cli):
    repo = tmp_path / "releases.git"
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(repo))
    made = new_project(EXAMPLE, tmp_path / "p", make_options(project_name="Injector Surrogate"))
    current = release_template(repo).version
    assert made.template == TemplateRelease(repo, current)
    assert answers_of(made.path)["_commit"] == current

    code, out, _ = run_cli("update", made.path)

    assert code == 0 and f"already up to date (template {current})" in out
    assert list(template_versions(repo)) == [current]  # tagged once, not per call


def test_new_renders_the_release_the_same_with_or_without_a_clone(tmp_path, monkeypatch):
    """`new` renders this modelcrate's release from the bundled files instead of a clone of the
    repository: the project must be exactly what copier makes from the repository at that tag."""
    repo = tmp_path / "releases.git"
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(repo))
    options = make_options(project_name="Injector Surrogate", author="Ada", email="a@b.org")
    release = release_template(repo)
    assert release.checkout is not None
    fast = new_project(EXAMPLE, tmp_path / "fast", options, git=False).path
    cloned = new_project(
        EXAMPLE,
        tmp_path / "cloned",
        options,
        git=False,
        template=TemplateRelease(repo, release.version),
    ).path

    def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
        return {
            p.relative_to(root).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert tree(fast) == tree(cloned)
    assert answers_of(fast)["_commit"] == release.version


def test_changed_variables_refresh_the_tables_at_the_same_version(project, run_cli):
    variables = project / f"src/{PACKAGE}/variables.yml"
    text = variables.read_text()
    assert "Bunch charge" in text
    variables.write_text(text.replace("Bunch charge", "Charge of the bunch"))
    commit_all(project, "Describe the charge better")

    code, out, _ = run_cli("update", project, "--to", "0.1.0")

    assert code == 0 and "at template 0.1.0 (the variables changed)" in out
    assert "Charge of the bunch" in (project / "README.md").read_text()
    assert USER_CODE in (project / MODEL).read_text()
    assert variables.read_text() == text.replace("Bunch charge", "Charge of the bunch")


def test_a_moved_template_repository_falls_back_to_the_local_one(
    project, template_repo, tmp_path, monkeypatch
):
    moved = tmp_path / "elsewhere" / "template"
    shutil.copytree(template_repo, moved)  # the recorded path stays, as on another machine ...
    answers_file = project / ".copier-answers.yml"
    text = answers_file.read_text()
    gone = str(tmp_path / "gone" / "template")
    # ... a path not here, as modelcrate recorded it before keeping machine paths out
    answers_file.write_text(text.replace(f"_src_path: {TEMPLATE_SOURCE}", f"_src_path: {gone}"))
    commit_all(project, "Made on another machine")
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(moved))

    updated = update_project(project, to="0.2.0")

    assert (updated.old_version, updated.new_version, updated.conflicts) == ("0.1.0", "0.2.0", ())
    assert answers_of(project)["_src_path"] == TEMPLATE_SOURCE
    assert (project / "docs" / "index.md").is_file()
    assert USER_CODE in (project / MODEL).read_text()


def test_a_template_version_nowhere_to_be_found_is_named(project, tmp_path, monkeypatch):
    answers_file = project / ".copier-answers.yml"
    text = answers_file.read_text()
    answers_file.write_text(text.replace(answers_of(project)["_src_path"], "/nowhere/template"))
    commit_all(project, "Made on another machine")
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(tmp_path / "empty.git"))

    with pytest.raises(ProjectError, match=r"made with template 0\.1\.0, which .* does not hold"):
        update_project(project)


def test_projects_that_cannot_be_updated_are_refused_with_the_reason(
    tmp_path, monkeypatch, run_cli
):
    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(tmp_path / "releases.git"))
    (tmp_path / "plain").mkdir()
    code, _, err = run_cli("update", tmp_path / "plain")
    assert code == 2 and ".copier-answers.yml" in err and "modelcrate new" in err

    made = new_project(EXAMPLE, tmp_path / "old", make_options(project_name="Old Project"))
    answers_file = made.path / ".copier-answers.yml"
    answers_file.write_text(
        "\n".join(line for line in answers_file.read_text().splitlines() if "_commit" not in line)
    )
    commit_all(made.path, "As made before template versions")
    code, _, err = run_cli("update", made.path)
    assert code == 2 and "records no template version" in err


def test_an_unknown_target_version_lists_the_versions_held(project, run_cli):
    code, _, err = run_cli("update", project, "--to", "9.9")
    assert code == 2 and "holds no such template version" in err and "0.2.0" in err
    assert git(project, "status", "--porcelain") == ""


def test_a_converted_project_stays_converted_through_an_update(
    template_repo, tmp_path, monkeypatch
):
    """The artifact's answers are recorded, and every template version renders with them."""
    from _artifacts import regressor, save_onnx

    from modelcrate.packaging import convert_artifact

    monkeypatch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(template_repo))
    artifact = save_onnx(regressor(), tmp_path / "reg.onnx")
    made = convert_artifact(
        artifact,
        tmp_path / "converted",
        make_options(project_name="Injector Surrogate", author="Ada", email="ada@example.org"),
        template=TemplateRelease(template_repo, "0.1.0"),
    )
    answers = answers_of(made.path)
    assert answers["artifact_kind"] == "onnx" and answers["artifact_file"] == "model.onnx"
    onnx_bytes = (made.path / "src" / PACKAGE / "model.onnx").read_bytes()

    updated = update_project(made.path, to="0.2.0")
    assert not updated.conflicts
    model = (made.path / MODEL).read_text()
    assert NEW_DOCSTRING in model and "(ArtifactModel):" in model  # still the artifact's model
    assert (made.path / "src" / PACKAGE / "model.onnx").read_bytes() == onnx_bytes
    assert (made.path / "tests" / "test_artifact.py").is_file()
    assert "onnxruntime" in (made.path / "pyproject.toml").read_text()
    assert answers_of(made.path)["artifact_kind"] == "onnx"
