"""`modelcrate migrate OLD_PROJECT` as a user runs it: a dry run changes nothing, in place it
commits once on a new branch keeping the history, `-o` migrates a copy, a second run is a no-op,
and bad input is one error line that leaves everything as it was. (The wheels are built and
compared in tests/e2e/test_migrated_packages.py.)"""

from __future__ import annotations

import pytest
from _old_packages import git, old_package, tree_hash

from modelcrate._errors import ExitCode

FAST = "--no-wheel-check"


def test_dry_run_prints_the_plan_and_the_report_and_writes_nothing(run_cli, tmp_path):
    project = old_package("beam-sim", tmp_path)
    before = tree_hash(project)
    code, out, err = run_cli("migrate", project, "--dry-run")
    assert (code, err) == (0, "")
    assert tree_hash(project) == before
    assert (
        "  A pyproject.toml: [project] beam-sim; setuptools backend; versions from git tags" in out
    )
    assert "  D versioneer.py: versioneer's" in out
    assert "  - requirements.txt:1: setup.py:13 read this file with .read().split()" in out
    assert out.rstrip().endswith(
        "Dry run: nothing was written (the wheels are compared when migrating)."
    )


def test_dry_run_diff_shows_each_change_and_writes_nothing(run_cli, tmp_path):
    project = old_package("optics-fit", tmp_path)
    before = tree_hash(project)
    code, out, _ = run_cli("migrate", project, "--dry-run", "--diff")
    assert code == 0 and tree_hash(project) == before
    assert "--- /dev/null\n+++ b/pyproject.toml\n" in out
    assert '+version = {attr = "optics_fit.__version__"}\n' in out
    assert "--- a/setup.py\n+++ /dev/null (removed)\n" in out
    assert "--- a/setup.cfg\n+++ b/setup.cfg\n" in out and "-[tool:pytest]\n" in out


def test_in_place_is_one_commit_on_a_new_branch_and_the_history_is_kept(run_cli, tmp_path):
    project = old_package("optics-fit", tmp_path)
    main = git(project, "rev-parse", "main")
    code, out, err = run_cli("migrate", project, FAST)
    assert code == 0, err
    assert git(project, "branch", "--show-current") == "modelcrate-migrate"
    assert git(project, "rev-parse", "main") == main  # the old branch is untouched
    assert git(project, "rev-list", "--count", "main..HEAD") == "1"
    assert git(project, "rev-list", "--count", "HEAD") == "3"
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "tag") == "v1.4.0"
    assert not (project / "setup.py").exists() and (project / "pyproject.toml").is_file()
    message = git(project, "log", "-1", "--format=%B")
    assert message.startswith("Move the packaging from setup.py and setup.cfg to pyproject.toml")
    assert "- setup.cfg:89: [flake8]; kept in setup.cfg" in message
    assert f"Committed on branch modelcrate-migrate in {project}" in out


def test_migrating_a_migrated_project_again_is_a_no_op_that_says_so(run_cli, tmp_path):
    project = old_package("field-maps", tmp_path)
    assert run_cli("migrate", project, FAST)[0] == 0
    before = tree_hash(project)
    code, out, _ = run_cli("migrate", project, FAST)
    assert code == 0
    assert out == f"{project} is already migrated (pyproject.toml declares it): nothing to do.\n"
    assert tree_hash(project) == before


def test_output_migrates_a_copy_with_its_history(run_cli, tmp_path):
    project = old_package("beam-sim", tmp_path)
    (project / ".venv" / "bin").mkdir(parents=True)  # ignored by git, and not copied
    (project / "build").mkdir()
    before = tree_hash(project)
    code, _, err = run_cli("migrate", project, "-o", tmp_path / "new" / "beam-sim", FAST)
    assert code == 0, err
    copy = tmp_path / "new" / "beam-sim"
    assert tree_hash(project) == before
    assert git(copy, "rev-list", "--count", "HEAD") == "3"
    assert git(copy, "branch", "--show-current") == "modelcrate-migrate"
    assert not (copy / "versioneer.py").exists() and not (copy / "setup.py").exists()
    assert not (copy / ".venv").exists() and not (copy / "build").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch left


def test_a_folder_that_is_no_repository_is_migrated_without_a_commit(run_cli, tmp_path):
    project = old_package("laser-env", tmp_path, repository=False)
    code, out, _ = run_cli("migrate", project, FAST)
    assert code == 0
    assert out.rstrip().endswith("(not a git repository: nothing was committed).")
    assert (project / "pyproject.toml").is_file() and not (project / "setup.py").exists()


def test_help_names_the_flags(run_cli):
    code, out, _ = run_cli("migrate", "--help")
    assert code == 0
    for flag in ("--dry-run", "--accept-differences", "--no-wheel-check", "-o, --output"):
        assert flag in out


def dirty(project):
    (project / "setup.py").write_text((project / "setup.py").read_text() + "\n# wip\n")


def branch_taken(project):
    git(project, "branch", "modelcrate-migrate")


def project_table_too(project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "half way")


def broken_setup_py(project):
    (project / "setup.py").write_text("from setuptools import setup\nsetup(name='x',\n")


def broken_setup_cfg(project):
    (project / "setup.cfg").write_text("[metadata]\nname = x\n[options\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            dirty,
            "has uncommitted changes (setup.py, ...); commit or stash them, then migrate again",
        ),
        (branch_taken, "the branch modelcrate-migrate already exists; delete it"),
        (project_table_too, "pyproject.toml: already has a [project] table while setup.py"),
        (broken_setup_py, "setup.py:2: not valid Python ('(' was never closed)"),
        (broken_setup_cfg, "setup.cfg:3: not a valid setup.cfg ("),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_written(run_cli, tmp_path, change, message):
    project = old_package("laser-env", tmp_path)
    change(project)
    before = tree_hash(project)
    code, _, err = run_cli("migrate", project, FAST)
    assert code == ExitCode.USAGE
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert tree_hash(project) == before


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "has no setup.py, setup.cfg or pyproject.toml; give the folder of a Python package"),
        (
            {"setup.cfg": "[flake8]\n"},
            "has no setup.py, and no [metadata] or [options] in setup.cfg",
        ),
        ({"pyproject.toml": "[project\n"}, "pyproject.toml:1: not valid TOML"),
        ({"setup.py": "import os\n"}, "has no setup() call from setuptools"),
        ({"setup.py": "setup()\x00\n"}, "setup.py: not valid Python (source code string cannot"),
        (
            {"setup.py": "x = " + "-" * 100_000 + "1\n"},
            "setup.py: nests its expressions too deeply",
        ),
        ({"setup.cfg": b"[metadata]\nname = \xff\n"}, "setup.cfg: cannot be read"),
    ],
)
def test_a_folder_with_nothing_to_migrate_is_one_error_line(run_cli, tmp_path, layout, message):
    for name, text in layout.items():
        path = tmp_path / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    code, _, err = run_cli("migrate", tmp_path, FAST)
    assert code == ExitCode.USAGE and err.count("\n") == 1 and message in err, err


def test_an_output_folder_that_is_not_empty_is_refused(run_cli, tmp_path):
    project = old_package("laser-env", tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("")
    code, _, err = run_cli("migrate", project, "-o", tmp_path / "taken", FAST)
    assert code == ExitCode.USAGE and "taken: already exists and is not empty" in err


def test_json_is_the_typed_report(run_cli, tmp_path):
    import json
    from typing import get_type_hints

    from modelcrate.packaging import MigratedDict

    project = old_package("laser-env", tmp_path)
    code, out, _ = run_cli("migrate", project, "--dry-run", "--json")
    report = json.loads(out)
    assert code == 0 and set(report) == set(get_type_hints(MigratedDict))
    assert report["written"] is False and report["parity"] is None
    assert report["notes"][0] == {
        "file": "setup.py",
        "line": 14,
        "what": "install_requires=requirements is changed inside a for loop at line 14",
        "instead": "left out of pyproject.toml; write the requirements in [project] dependencies "
        '(a condition such as a platform is an environment marker: `pkg; sys_platform == "win32"`)',
    }
    code, out, _ = run_cli("migrate", project, "--json", FAST)
    report = json.loads(out)
    assert code == 0 and report["written"] is True and report["branch"] == "modelcrate-migrate"
    assert report["commit"] == git(project, "rev-parse", "--short", "HEAD")


def test_an_output_folder_inside_the_project_is_refused(run_cli, tmp_path):
    project = old_package("laser-env", tmp_path)
    before = tree_hash(project)
    code, _, err = run_cli("migrate", project, "-o", project / "migrated", FAST)
    assert code == ExitCode.USAGE and "is inside the project (or its repository)" in err
    assert tree_hash(project) == before


def test_a_project_its_outer_repository_ignores_is_migrated_without_a_commit(run_cli, tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / ".gitignore").write_text("field-maps/\n")
    project = old_package("field-maps", tmp_path, repository=False)
    code, out, _ = run_cli("migrate", project, FAST)
    assert code == 0 and "nothing was committed" in out
    assert git(tmp_path, "branch", "--list") == ""  # the outer repository was left alone


def test_dry_run_of_a_lume_services_project_writes_nothing(run_cli, tmp_path):
    project = old_package("bunch-compressor", tmp_path)
    before = tree_hash(project)
    code, out, err = run_cli("migrate", project, "--dry-run")
    assert (code, err) == (0, "")
    assert tree_hash(project) == before
    assert (
        "  A src/bunch_compressor/modelcrate_model.py: BunchCompressorModel as a modelcrate.Model"
        in out
    )
    assert "  A tests/test_modelcrate_model.py: " in out
    assert (
        "  R bunch_compressor/files/variables.yml -> src/bunch_compressor/variables.yml: the "
        "variables file, where the template has it; upgraded to the current form" in out
    )
    assert "  R bunch_compressor/flow.py -> src/bunch_compressor/flow.py: moved under src/" in out
    assert "  A .github/workflows/tests.yml: the template's tests workflow" in out
    code, out, err = run_cli("migrate", project, "--dry-run", "--diff")
    assert code == 0 and tree_hash(project) == before
    assert "rename from bunch_compressor/model.py\nrename to src/bunch_compressor/model.py\n" in out


def test_a_lume_services_project_moves_under_src_in_a_copy_too(run_cli, tmp_path):
    import json

    project = old_package("gun-laser", tmp_path)
    before = tree_hash(project)
    code, out, _ = run_cli("migrate", project, "--dry-run", "--json")
    moves = [c for c in json.loads(out)["changes"] if c["action"] == "move"]
    assert {k: v for k, v in moves[-1].items() if k != "what"} == {
        "path": "src/gun_laser/flow.py",
        "action": "move",
        "source": "gun_laser/flow.py",
    }
    code, out, err = run_cli("migrate", project, "-o", tmp_path / "copy", FAST)
    assert code == 0, out + err
    assert tree_hash(project) == before  # the project itself is left as it was
    copy = tmp_path / "copy"
    assert not (copy / "gun_laser").exists()
    assert sorted(p.name for p in (copy / "src" / "gun_laser").iterdir()) == [
        "__init__.py",
        "flow.py",
        "lume_compat.py",
        "model.py",
        "modelcrate_flow.py",
        "modelcrate_model.py",
        "variables.yml",
    ]
    assert git(copy, "status", "--porcelain") == ""  # everything committed, old paths too
    log = git(copy, "log", "--follow", "--format=%s", "--", "src/gun_laser/flow.py")
    assert log.splitlines()[-1] == "First release"
    code, out, _ = run_cli("migrate", copy, FAST)
    assert code == 0 and "already migrated" in out


def test_in_place_a_lume_project_leaves_no_old_folder_behind(run_cli, tmp_path):
    project = old_package("bunch-compressor", tmp_path)
    cache = project / "bunch_compressor" / "__pycache__"
    cache.mkdir()
    (cache / "model.cpython-311.pyc").write_bytes(b"\0")  # ignored by git, as Python left it
    code, out, err = run_cli("migrate", project, FAST)
    assert code == 0, out + err
    assert not (project / "bunch_compressor").exists()
    assert git(project, "status", "--porcelain") == ""
    renamed = git(project, "show", "-M", "--name-status", "--format=", "HEAD").splitlines()
    assert "R100\tbunch_compressor/flow.py\tsrc/bunch_compressor/flow.py" in renamed


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("injector_surrogate/files/secret.txt", "/etc/passwd"),
        ("injector_surrogate/extra.py", "model.py"),
        ("injector_surrogate/linked", "flow"),
    ],
)
def test_a_symbolic_link_in_the_project_is_refused_before_anything_is_written(
    run_cli, tmp_path, name, target
):
    project = old_package("injector-surrogate", tmp_path)
    (project / name).symlink_to(target)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a link")
    before = tree_hash(project)
    for flags in (("--dry-run",), (FAST,)):
        code, _, err = run_cli("migrate", project, *flags)
        assert code == ExitCode.USAGE
        assert err.startswith(f"error: {project / name}: is a symbolic link"), err
        assert err.count("\n") == 1 and "replace it with the file" in err, err
        assert tree_hash(project) == before
        assert git(project, "branch", "--show-current") == "main"


def test_a_subpackage_named_dist_or_build_is_moved_and_in_both_wheels(tmp_path):
    from modelcrate.packaging import migrate_project

    project = old_package("injector-surrogate", tmp_path)
    for name in ("dist", "build"):
        (project / "injector_surrogate" / name).mkdir()
        (project / "injector_surrogate" / name / "__init__.py").write_text("VALUE = 1\n")
    git(project, "add", "-f", "-A")  # its .gitignore has dist/ and build/ at any depth
    git(project, "commit", "-q", "-m", "subpackages")
    (project / "dist").mkdir()  # the top-level build output is still left behind
    (project / "dist" / "old-1.0.tar.gz").write_bytes(b"\0")
    migrated = migrate_project(project, output=tmp_path / "copy", accept_differences=True)
    copy = tmp_path / "copy"
    assert migrated.parity is not None and migrated.parity.built, migrated.parity
    assert not (copy / "dist").exists()
    assert git(copy, "status", "--porcelain", "--ignored", "--", "src") == ""
    for name in ("dist", "build"):
        assert (copy / "src" / "injector_surrogate" / name / "__init__.py").is_file()
        module = f"injector_surrogate/{name}/__init__.py"
        assert migrated.parity.old is not None and module in migrated.parity.old.modules
        assert migrated.parity.new is not None and module in migrated.parity.new.modules


def readme_not_utf8(project):
    (project / "README.md").write_bytes(b"# lat\n\nEnergie \xe9lev\xe9e\n")


def github_a_file(project):
    (project / ".github").write_text("not a folder\n")


def readme_a_folder(project):
    (project / "README.md").mkdir()
    (project / "README.md" / "index.md").write_text("# lat\n")


@pytest.mark.parametrize(
    ("change", "name", "message"),
    [
        (readme_not_utf8, "README.md", "is not UTF-8 text (byte 0xe9 at offset 15)"),
        (github_a_file, ".github", "is a file, and migrate writes .github/workflows/"),
        (readme_a_folder, "README.md", "is not a file, and migrate writes the variable tables"),
    ],
)
def test_a_file_migrate_cannot_read_or_write_is_one_error_line_at_plan_time(
    run_cli, tmp_path, change, name, message
):
    project = old_package("injector-surrogate", tmp_path)
    change(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a hostile file")
    before = tree_hash(project)
    for flags in (("--dry-run",), (FAST,)):
        code, _, err = run_cli("migrate", project, *flags)
        assert code == ExitCode.USAGE
        assert err.startswith(f"error: {project / name}: {message}"), err
        assert err.count("\n") == 1 and "then migrate again" in err, err
        assert tree_hash(project) == before
        assert git(project, "branch", "--show-current") == "main"


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError], ids=["interrupt", "oserror"])
@pytest.mark.parametrize("after", [0, 3, 12])
def test_a_migration_stopped_while_writing_leaves_the_project_as_it_was(
    run_cli, tmp_path, monkeypatch, error, after
):
    import os
    from pathlib import Path

    from modelcrate.packaging import migrate_project
    from modelcrate.packaging.migrate import _write

    project = old_package("injector-surrogate", tmp_path)
    files = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    replace = os.replace
    calls = []

    def stopping(source, target):
        if Path(target).is_relative_to(project):  # not the scratch copy the wheels are built from
            calls.append(target)
        if Path(target).is_relative_to(project) and len(calls) == after + 1:
            raise error("stopped")
        replace(source, target)

    monkeypatch.setattr(_write.os, "replace", stopping)
    with pytest.raises(error):
        migrate_project(project, check_wheels=False)
    monkeypatch.setattr(_write.os, "replace", replace)
    assert len(calls) >= after + 1  # it stopped among the files put in place
    now = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert now == files
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(project, "branch", "--format=%(refname:short)") == "main"
    assert git(project, "branch", "--show-current") == "main"
    code, out, err = run_cli("migrate", project, FAST)
    assert code == 0, out + err
    assert git(project, "branch", "--show-current") == "modelcrate-migrate"


def test_a_commit_that_fails_leaves_the_project_as_it_was(tmp_path, monkeypatch):
    from modelcrate.packaging import migrate_project
    from modelcrate.packaging.migrate import _write

    project = old_package("injector-surrogate", tmp_path)

    def failing(*args):
        raise RuntimeError("no commit")

    monkeypatch.setattr(_write, "commit_changes", failing)
    with pytest.raises(RuntimeError):
        migrate_project(project, check_wheels=False)
    assert git(project, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""
    assert git(project, "branch", "--format=%(refname:short)") == "main"


def test_what_cannot_be_undone_is_one_error_saying_how_to_recover(run_cli, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    from modelcrate.packaging.migrate import _write

    project = old_package("injector-surrogate", tmp_path)
    replace = os.replace
    calls = []

    def stopping(source, target):
        if Path(target).is_relative_to(project):
            calls.append(target)
            if len(calls) > 3:  # stops the migration, then its undo
                raise OSError("disk gone")
        replace(source, target)

    monkeypatch.setattr(_write.os, "replace", stopping)
    code, _, err = run_cli("migrate", project, FAST)
    assert code == ExitCode.USAGE
    assert err.startswith(f"error: {project}: the migration stopped (OSError) and could not "), err
    assert err.count("\n") == 1 and ".migrate.old copy" in err, err
    assert git(project, "branch", "--show-current") == "main"
