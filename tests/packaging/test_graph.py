"""`modelcrate graph`: the dependency tree of a project's environment, with conflicts."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _projects import CHECKOUT_REQUIREMENT, ROOT, find_uv
from packaging.markers import default_environment
from packaging.specifiers import SpecifierSet

from modelcrate import ProjectError
from modelcrate.packaging import render_tree
from modelcrate.packaging.tooling._graph import build_graph

# A hand-made environment: a cycle (alpha <-> beta), a version conflict (beta<2 with 2.1 installed),
# a missing requirement (gamma), one reached only through an extra (delta[fast] -> epsilon,
# missing), a dev-only dependency (pytest) and one for another platform (winonly).
DUMP = {
    "environment": default_environment(),
    "distributions": [
        {
            "name": "My_Model",
            "version": "1.0",
            "requires": [
                "alpha>=1",
                "beta<2",
                "gamma",
                "pytest>=8; extra == 'dev'",
                "winonly; sys_platform == 'no-such-platform'",
            ],
        },
        {"name": "alpha", "version": "1.5", "requires": ["beta>=1", "delta[fast]"]},
        {"name": "beta", "version": "2.1", "requires": ["alpha"]},
        {"name": "delta", "version": "0.1", "requires": ["epsilon>=2; extra == 'fast'"]},
        {"name": "pytest", "version": "8.3.0", "requires": []},
        {"name": "winonly", "version": "1.0", "requires": []},
        {"name": "unrelated", "version": "3.0", "requires": []},
    ],
}

TREE = """\
My_Model==1.0
├── alpha==1.5 (required: >=1)
│   ├── beta==2.1 (required: >=1)
│   │   └── alpha==1.5 (required: any) [cycle]
│   └── delta==0.1 (required: any)
│       └── epsilon [missing] (required: >=2)
├── beta==2.1 (required: <2) (see above)
└── gamma [missing] (required: any)

3 conflicts:
  delta requires epsilon>=2, but it is not installed
  My_Model requires beta<2, but 2.1 is installed
  My_Model requires gamma, but it is not installed"""


def test_tree_of_a_hand_made_environment():
    graph = build_graph(DUMP, "my-model")
    assert render_tree(graph) == TREE
    data = graph.to_dict()
    assert (data["project"], data["version"]) == ("My_Model", "1.0")
    alpha = data["dependencies"][0]
    assert alpha == {
        "name": "alpha",
        "version": "1.5",
        "required": ">=1",
        "children": [
            {
                "name": "beta",
                "version": "2.1",
                "required": ">=1",
                "children": [
                    {
                        "name": "alpha",
                        "version": "1.5",
                        "required": "",
                        "children": [],
                        "cycle": True,
                    }
                ],
            },
            {
                "name": "delta",
                "version": "0.1",
                "required": "",
                "children": [
                    {"name": "epsilon", "version": None, "required": ">=2", "children": []}
                ],
            },
        ],
    }
    assert {"package": "My_Model", "requirement": "beta<2", "installed": "2.1",
            "kind": "mismatch"} in data["conflicts"]  # fmt: skip
    assert {"package": "My_Model", "requirement": "gamma", "installed": None,
            "kind": "missing"} in data["conflicts"]  # fmt: skip
    json.dumps(data)  # JSON-ready


# Two packages requiring the same one with its own dependencies (a diamond), two levels deep.
SHARED = {
    "environment": default_environment(),
    "distributions": [
        {"name": "my-model", "version": "1.0", "requires": ["fastapi", "prefect", "sqlmodel"]},
        {"name": "fastapi", "version": "0.120", "requires": ["pydantic>=2", "starlette"]},
        {"name": "prefect", "version": "3.9", "requires": ["fastapi", "pydantic>=2.7"]},
        {"name": "sqlmodel", "version": "0.0.22", "requires": ["pydantic"]},
        {"name": "pydantic", "version": "2.9", "requires": ["pydantic-core", "typing-extensions"]},
        {"name": "pydantic-core", "version": "2.23", "requires": ["typing-extensions"]},
        {"name": "starlette", "version": "0.40", "requires": []},
        {"name": "typing-extensions", "version": "4.12", "requires": []},
    ],
}


def test_a_shared_dependency_is_listed_once_and_referred_back_to():
    assert (
        render_tree(build_graph(SHARED, "my-model"))
        == """\
my-model==1.0
├── fastapi==0.120 (required: any)
│   ├── pydantic==2.9 (required: >=2)
│   │   ├── pydantic-core==2.23 (required: any)
│   │   │   └── typing-extensions==4.12 (required: any)
│   │   └── typing-extensions==4.12 (required: any)
│   └── starlette==0.40 (required: any)
├── prefect==3.9 (required: any)
│   ├── fastapi==0.120 (required: any) (see above)
│   └── pydantic==2.9 (required: >=2.7) (see above)
└── sqlmodel==0.0.22 (required: any)
    └── pydantic==2.9 (required: any) (see above)

No conflicts."""
    )


def test_depth_limits_the_levels_shown():
    graph = build_graph(SHARED, "my-model")
    assert (
        render_tree(graph, depth=1)
        == """\
my-model==1.0
├── fastapi==0.120 (required: any) (...)
├── prefect==3.9 (required: any) (...)
└── sqlmodel==0.0.22 (required: any) (...)
(...): dependencies deeper than --depth 1 not shown

No conflicts."""
    )
    two = render_tree(graph, depth=2).splitlines()
    assert "│   ├── pydantic==2.9 (required: >=2) (...)" in two
    assert "│   ├── fastapi==0.120 (required: any) (see above)" in two
    assert "    └── pydantic==2.9 (required: any) (...)" in two
    assert [node["truncated"] for node in graph.to_dict(depth=1)["dependencies"]] == [True] * 3
    fastapi = graph.to_dict(depth=2)["dependencies"][0]
    assert [(c["name"], c.get("truncated", False)) for c in fastapi["children"]] == [
        ("pydantic", True), ("starlette", False)
    ]  # fmt: skip
    # JSON without a depth nests every subtree in full, wherever it appears
    prefect = graph.to_dict()["dependencies"][1]
    assert prefect["children"][1]["children"][0]["name"] == "pydantic-core"


def test_cli_depth(tmp_path, monkeypatch, run_cli):
    project = _pyproject(tmp_path)
    monkeypatch.setattr(
        "modelcrate.packaging.tooling._graph.environment_dump", lambda python: SHARED
    )
    code, out, _ = run_cli("graph", project, "--python", sys.executable, "--depth", "1")
    assert code == 0 and out.strip() == render_tree(build_graph(SHARED, "my-model"), depth=1)
    code, out, _ = run_cli("graph", project, "--python", sys.executable, "--depth", "1", "--json")
    assert code == 0 and json.loads(out)["dependencies"][0]["children"] == []
    code, _, err = run_cli("graph", project, "--depth", "0")
    assert code == 2
    assert err.startswith("error: Invalid value for '--depth': 0 is not in the range x>=1")


def test_dev_extra_is_followed_only_when_asked():
    names = [node.name for node in build_graph(DUMP, "my-model").dependencies]
    assert names == ["alpha", "beta", "gamma"]  # no pytest, no winonly (another platform)
    with_dev = build_graph(DUMP, "my-model", dev=True).dependencies
    assert [node.name for node in with_dev] == ["alpha", "beta", "gamma", "pytest"]
    assert with_dev[-1].required == ">=8"


def test_extras_that_name_the_project_again_are_followed():
    dump = {
        "environment": default_environment(),
        "distributions": [
            {
                "name": "my-model",
                "version": "1.0",
                "requires": [
                    "alpha",
                    "my-model[test]; extra == 'dev'",
                    "ruff; extra == 'dev'",
                    "pytest>=8; extra == 'test'",
                    "my-model[dev]; extra == 'test'",  # a loop of extras ends
                ],
            },
            {"name": "alpha", "version": "1.0", "requires": []},
            {"name": "ruff", "version": "0.6", "requires": []},
        ],
    }
    graph = build_graph(dump, "my-model", dev=True)
    assert [node.name for node in graph.dependencies] == ["alpha", "pytest", "ruff"]
    assert [str(c) for c in graph.conflicts] == [
        "my-model requires pytest>=8, but it is not installed"
    ]
    assert [node.name for node in build_graph(dump, "my-model").dependencies] == ["alpha"]


def test_project_not_installed():
    with pytest.raises(ProjectError, match="other-model is not installed"):
        build_graph(DUMP, "other-model")


def _pyproject(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "my-model"\nversion = "1.0"\n')
    return tmp_path


def test_cli_tree_json_and_exit_code_on_conflicts(tmp_path, monkeypatch, run_cli):
    project = _pyproject(tmp_path)
    monkeypatch.setattr("modelcrate.packaging.tooling._graph.environment_dump", lambda python: DUMP)
    code, out, _ = run_cli("graph", project, "--python", sys.executable)
    assert code == 1 and out.strip() == TREE
    code, out, _ = run_cli("graph", project, "--python", sys.executable, "--json")
    assert code == 1 and json.loads(out)["conflicts"][1]["requirement"] == "beta<2"


def test_cli_without_an_environment(tmp_path, run_cli):
    project = _pyproject(tmp_path)
    code, _, err = run_cli("graph", project)
    assert code == 2 and err.count("\n") == 1
    assert "no environment at .venv; create it" in err and "--python PATH" in err
    code, _, err = run_cli("graph", project, "--python", tmp_path / "nope" / "python")
    assert code == 2 and "no such interpreter" in err


def test_cli_with_the_project_not_installed(tmp_path, run_cli):
    code, _, err = run_cli("graph", _pyproject(tmp_path), "--python", sys.executable)
    assert code == 2 and "my-model is not installed in" in err and "pip install -e" in err


# -- slow: a generated project installed in its own .venv ------------------------------------------


@pytest.fixture(scope="module")
def installed_project(make_project):
    """A generated project installed (editable, with its dependencies) in PROJECT/.venv."""
    project = make_project(
        project_name="Graph Model", modelcrate_requirement=CHECKOUT_REQUIREMENT, git=True
    )
    uv = find_uv()
    venv = project / ".venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", python, "-e", project], check=True)
    return project, python


@pytest.mark.slow
def test_graph_of_a_generated_project(installed_project, run_cli):
    project, python = installed_project
    versions = json.loads(
        subprocess.run(
            [python, "-c", "import json, importlib.metadata as m; print(json.dumps("
             "{n: m.version(n) for n in ('prefect', 'fastapi', 'graph-model')}))"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    code, out, err = run_cli("graph", project, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["project"], data["version"]) == ("graph-model", versions["graph-model"])
    assert data["conflicts"] == []
    top = {node["name"]: node for node in data["dependencies"]}
    assert set(top) == {"click", "modelcrate", "numpy", "prefect"}
    assert top["prefect"]["version"] == versions["prefect"]
    assert SpecifierSet(top["prefect"]["required"]) == SpecifierSet(">=3.9,<4")
    assert {child["name"] for child in top["prefect"]["children"]} >= {"pydantic", "httpx"}
    # fastapi comes through Prefect, which bounds it
    assert any(c["name"] == "fastapi" for c in top["prefect"]["children"])
    assert top["modelcrate"]["required"] == f"@ {ROOT.as_uri()}"

    code, out, _ = run_cli("graph", project)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"graph-model=={versions['graph-model']}"
    assert any(f"── fastapi=={versions['fastapi']} (required: " in line for line in lines)
    assert any(line.startswith(f"└── prefect=={versions['prefect']} (required: ") for line in lines)
    assert lines[-1] == "No conflicts."

    # each subtree once: a dependency's own dependencies are listed where it first appears
    # (again only when they differ, as with an extra: sqlalchemy[asyncio] adds greenlet)
    def indent(line: str) -> int:
        return len(line) - len(line.lstrip("│ "))

    def name(line: str) -> str:
        return line.split("── ")[1].split(" ")[0]

    expanded = []
    for i, (line, below) in enumerate(itertools.pairwise(lines)):
        if "── " in line and indent(below) > indent(line):
            children = []
            for child in lines[i + 1 :]:
                if indent(child) <= indent(line) or "── " not in child:
                    break
                if indent(child) == indent(below):
                    children.append(name(child))
            expanded.append((name(line), tuple(children)))
    assert len(expanded) == len(set(expanded))
    assert any(line.endswith(" (see above)") for line in lines)
