"""The packaging layer's layout: one home per outside program and per shared fact, verbs that do
not import each other, a small public surface, and typed JSON reports."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import get_type_hints

import pytest

import modelcrate.packaging
from modelcrate import ProjectError
from modelcrate.packaging import (
    BuildReport,
    BuildReportDict,
    CheckResult,
    CheckResultDict,
    Conflict,
    ConflictDict,
    DependencyGraph,
    DependencyGraphDict,
    Node,
    NodeDict,
    Problem,
    WheelFile,
    WheelReport,
    WheelReportDict,
)
from modelcrate.packaging._git import git, git_identity
from modelcrate.packaging._tools import finish_tool, run_tool, start_tool
from modelcrate.packaging.scaffold._releases import template_path
from modelcrate.packaging.tooling import _graph

PACKAGING = Path(modelcrate.packaging.__file__).parent
CLI = PACKAGING.parent / "cli"
MODULES = sorted(
    p for p in PACKAGING.rglob("*.py") if "template" not in p.relative_to(PACKAGING).parts
)
VERBS = {
    "convert/_convert.py",
    "migrate/_migrate.py",
    "scaffold/_new.py",
    "scaffold/_update.py",
    "tooling/_build.py",
    "tooling/_check.py",
    "tooling/_graph.py",
    "tooling/_lock.py",
}
# The questions of `new` still ask git for the user's identity themselves; once they use
# `_git.git_identity`, this set is empty.


def _name(path: Path) -> str:
    return path.relative_to(PACKAGING).as_posix()


def _imports(path: Path) -> set[str]:
    """The modules `path` imports, as absolute dotted names (relative ones resolved)."""
    package = ["modelcrate", *path.relative_to(PACKAGING.parent).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_only_the_tools_module_runs_programs():
    running = {
        _name(p)
        for p in MODULES
        if any(m == "subprocess" or m.startswith("subprocess.") for m in _imports(p))
    }
    assert running == {"_tools.py"}


def test_packaging_imports_no_private_runtime_module():
    private = {
        _name(p): sorted(m for m in _imports(p) if m.startswith("modelcrate.runtime._"))
        for p in MODULES
    }
    assert {name: found for name, found in private.items() if found} == {}


def test_no_verb_imports_another_and_the_subpackages_stay_apart():
    """scaffold and tooling never import each other; convert uses scaffold's project writer
    (not its verbs), and neither imports convert; migrate stands alone."""
    for path in MODULES:
        name = _name(path)
        if name == "__init__.py":  # the layer's surface re-exports every verb
            continue
        imported = _imports(path)
        for verb in VERBS - {name}:
            module = "modelcrate.packaging." + verb.removesuffix(".py").replace("/", ".")
            assert module not in imported, f"{name} imports the verb module {module}"
        for own, other in (
            ("scaffold/", "tooling"),
            ("tooling/", "scaffold"),
            ("scaffold/", "convert"),  # convert writes through scaffold, not the reverse
            ("tooling/", "convert"),
            ("convert/", "tooling"),
            *((own, "migrate") for own in ("scaffold/", "tooling/", "convert/")),
            *(("migrate/", other) for other in ("scaffold", "tooling", "convert")),
        ):
            if name.startswith(own):
                crossing = [m for m in imported if m.startswith(f"modelcrate.packaging.{other}")]
                assert not crossing, f"{name} imports {crossing}"


def test_the_cli_uses_only_public_names_of_packaging():
    used = set()
    for path in CLI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module == "packaging":
                used |= {alias.name for alias in node.names}
    assert used <= set(modelcrate.packaging.__all__)
    assert all(hasattr(modelcrate.packaging, name) for name in modelcrate.packaging.__all__)


def test_template_filters_keep_the_import_path_template_releases_record():
    from modelcrate.packaging._escape import TemplateFilters  # noqa: F401

    copier_yml = (template_path() / "copier.yml").read_text(encoding="utf-8")
    assert "modelcrate.packaging._escape.TemplateFilters" in copier_yml


# -- typed JSON reports ---------------------------------------------------------------------------


def _keys(typed: type) -> set[str]:
    return set(get_type_hints(typed))


def test_check_result_json_has_its_typed_shape():
    data = CheckResult("readme", False, "no README.md").to_dict()
    assert data == {"name": "readme", "ok": False, "message": "no README.md"}
    assert set(data) == _keys(CheckResultDict)


def test_graph_json_has_its_typed_shape():
    leaf = Node("beta", None, "<2")
    cut = Node("alpha", "1.0", ">=1", cycle=True)
    graph = DependencyGraph(
        "my-model",
        "0.1",
        (Node("alpha", "1.0", ">=1", (leaf, cut)),),
        (Conflict("alpha", "beta<2", None), Conflict("alpha", "gamma>1", "0.5")),
    )
    data = graph.to_dict()
    assert set(data) == _keys(DependencyGraphDict)
    node = data["dependencies"][0]
    assert set(node) == NodeDict.__required_keys__
    assert NodeDict.__optional_keys__ == {"cycle", "truncated"}
    assert set(node["children"][1]) == NodeDict.__required_keys__ | {"cycle"}
    cut_by_depth = graph.to_dict(depth=1)["dependencies"][0]
    assert set(cut_by_depth) == NodeDict.__required_keys__ | {"truncated"}
    assert [set(c) for c in data["conflicts"]] == [_keys(ConflictDict)] * 2
    assert [c["kind"] for c in data["conflicts"]] == ["missing", "mismatch"]


def test_build_json_has_its_typed_shape_in_the_order_printed(tmp_path):
    contents = WheelReport(
        tmp_path / "m-0.1-py3-none-any.whl",
        (WheelFile("m/__init__.py", 10),),
        {"modelcrate.models": {"m": "m.model:M"}},
        ("m-0.1.dist-info/licenses/LICENSE",),
        {"name": "m"},
        (Problem("warning", "large", "m/big.bin"), Problem("error", "no flow")),
    )
    wheel = contents.to_dict()
    assert set(wheel) == _keys(WheelReportDict)
    report = BuildReport(tmp_path, "uv", tmp_path / "m.tar.gz", contents.path, contents)
    data = report.to_dict()
    assert list(data) == [
        "project", "frontend", "sdist", "wheel", "files", "size", "entry_points",
        "license_files", "metadata", "warnings", "errors",
    ]  # fmt: skip
    assert set(data) == _keys(BuildReportDict)
    assert data["warnings"] == [{"path": "m/big.bin", "message": "large"}]
    assert data["errors"] == [{"path": None, "message": "no flow"}]


# -- running programs -----------------------------------------------------------------------------


def _hanging_python(tmp_path: Path) -> Path:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexec sleep 30\n")
    python.chmod(0o755)
    return python


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for a program")
def test_a_program_past_its_timeout_is_stopped_with_timeout_error(tmp_path):
    with pytest.raises(TimeoutError, match=r"took more than 0\.2 s"):
        run_tool([_hanging_python(tmp_path)], timeout=0.2)
    process = start_tool([_hanging_python(tmp_path)], cwd=tmp_path, env=dict(os.environ))
    with pytest.raises(TimeoutError):
        finish_tool(process, timeout=0.2)
    assert process.returncode is not None  # killed, not left running


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for a program")
def test_graph_of_an_interpreter_that_hangs_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_graph, "DUMP_TIMEOUT_SECONDS", 0.2)
    python = _hanging_python(tmp_path)
    with pytest.raises(ProjectError) as caught:
        _graph.environment_dump(python)
    assert str(caught.value) == (
        f"{python}: listing its distributions took more than 0.2 s; check that this Python "
        "starts, or give another --python"
    )


def test_git_identity_is_what_git_is_configured_with(tmp_path, monkeypatch):
    config = tmp_path / "gitconfig"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)
    assert git_identity() == ("", "")
    git("config", "--global", "user.name", "Ada Lovelace")
    git("config", "--global", "user.email", "ada@example.org")
    assert git_identity() == ("Ada Lovelace", "ada@example.org")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    assert git_identity() == ("", "")
