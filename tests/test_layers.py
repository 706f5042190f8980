"""The layers of DESIGN.md hold: a lower layer never imports a higher one, and a packaged model at
run time loads no template, build or packaging tool.

Checked two ways: statically, every import statement under src/modelcrate (inside functions too)
against the order of the layers; and in fresh interpreters, what importing each layer, and a
generated model's package, actually loads.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _projects import EXAMPLE_MODEL, ROOT

PACKAGE = ROOT / "src" / "modelcrate"
TESTS = ROOT / "tests"

# Lowest first: a module may import its own layer and the layers before it, never one after.
LAYERS = ["_errors", "spec", "model", "runtime", "serve", "packaging", "deploy", "cli"]
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}
RANK["_version"] = RANK["_errors"]  # written at build time; imports nothing
# The package root re-exports the errors, Model and the spec's loader: importing it (or a name
# from it) loads the model layer, so it counts as that layer.
ROOT_RANK = RANK["model"]
# Data, not modules of modelcrate: the template's files are rendered into generated projects.
NOT_MODULES = [PACKAGE / "packaging" / "scaffold" / "template"]

# Tools for making and building projects: never loaded by what runs inside a packaged model.
PROJECT_TOOLS = ["copier", "jinja2", "questionary", "build", "uv"]
# Loaded by a run only when it needs them: Prefect for a flow, a driver for its target, rich
# (through Prefect, or the command line on a terminal) to draw progress.
ON_DEMAND = ["prefect", "sqlalchemy", "pymongo", "rich"]
# The registry's database drivers: `modelcrate.deploy` loads them, nothing a packaged model runs.
REGISTRY_DRIVERS = ["pymysql", "alembic"]
# The libraries that run a converted model's artifact: loaded only when a model of its kind runs.
ARTIFACT_RUNTIMES = ["onnxruntime", "sklearn", "skops", "torch", "lume_torch"]
HIGHER = {
    layer: [f"modelcrate.{above}" for above in LAYERS[RANK[layer] + 1 :]]
    for layer in ("model", "runtime")
}


def _modules() -> list[tuple[str, Path]]:
    """Every module of modelcrate: (dotted name, file)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(path.is_relative_to(data) for data in NOT_MODULES):
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def _imported(name: str, path: Path) -> list[tuple[int, str]]:
    """Every module an import statement of this module names: (line, dotted name). `from X
    import y` names X.y too, since y may be a submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if node.module:  # `from .. import x` imports x, not the package as a dependency
                found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _rank(module: str) -> int | None:
    """The rank of the layer a modelcrate module belongs to; None outside modelcrate."""
    parts = module.split(".")
    if parts[0] != "modelcrate":
        return None
    if len(parts) > 1 and parts[1] in RANK:
        return RANK[parts[1]]
    return ROOT_RANK  # the root, or a name it re-exports


def test_every_part_of_modelcrate_is_in_a_layer():
    parts = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")
    }
    unplaced = sorted(parts - set(RANK) - {"__init__", "__main__"})  # the root sits above
    assert unplaced == [], f"add {unplaced} to LAYERS in tests/test_layers.py, at its level"


def _violations(name: str, path: Path) -> list[str]:
    """The imports of this module that reach above its layer, as `file:line: what`."""
    layer = name.split(".")[1] if "." in name else None
    if layer not in RANK:  # the package root and __main__ sit above the layers
        return []
    return [
        f"{name}:{line}: {layer} imports {imported}"
        for line, imported in _imported(name, path)
        if (_rank(imported) or 0) > RANK[layer]
    ]


def test_lower_layers_never_import_higher_ones():
    assert [v for name, path in _modules() for v in _violations(name, path)] == []


def test_the_static_check_sees_imports_inside_functions(tmp_path):
    """The check itself: relative and absolute imports, at the top and inside a function."""
    module = tmp_path / "modelcrate" / "runtime" / "_steps.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from .._errors import SaveError\n"
        "from .. import spec\n"
        "from modelcrate import ProjectError\n"
        "def run():\n"
        "    from ..packaging import new_project\n"
        "    if True:\n"
        "        from .. import cli\n"
        "    import modelcrate.spec, numpy\n"
    )
    assert _violations("modelcrate.runtime._steps", module) == [
        "modelcrate.runtime._steps:5: runtime imports modelcrate.packaging",
        "modelcrate.runtime._steps:5: runtime imports modelcrate.packaging.new_project",
        "modelcrate.runtime._steps:7: runtime imports modelcrate.cli",
    ]
    assert _violations("modelcrate.spec._load", module) == [  # the same lines, in a lower layer
        "modelcrate.spec._load:3: spec imports modelcrate",
        "modelcrate.spec._load:3: spec imports modelcrate.ProjectError",
        "modelcrate.spec._load:5: spec imports modelcrate.packaging",
        "modelcrate.spec._load:5: spec imports modelcrate.packaging.new_project",
        "modelcrate.spec._load:7: spec imports modelcrate.cli",
    ]


def test_test_modules_do_not_import_each_other():
    """Shared helpers live in tests/_*.py and tests/conftest.py, not in a test module."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.is_relative_to(TESTS / "fixtures"):  # other projects' code, not modelcrate's tests
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if not node.level else ["." + (node.module or "")]
            else:
                continue
            for imported in names:
                last = imported.rpartition(".")[2]
                if imported.startswith(("tests", ".")) or last.startswith(("test_", "conftest")):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {imported}")
    assert wrong == []


# -- what a fresh interpreter loads ----------------------------------------------------------------

LOADED = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_by(names: tuple[str, ...], cwd: Path, env: dict[str, str]) -> set[str]:
    """The modules a fresh interpreter holds after importing `names`."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *names],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


PACKAGED = "injector_surrogate"  # the example, generated
# what is imported -> what must not be loaded then
MUST_NOT_LOAD = {
    ("modelcrate",): [*HIGHER["model"], *PROJECT_TOOLS, *ON_DEMAND, *ARTIFACT_RUNTIMES],
    # (importing modelcrate.spec runs the package root, which imports Model: the static check
    # above is what keeps spec's own modules from importing the model layer)
    ("modelcrate.spec",): [*HIGHER["model"], *PROJECT_TOOLS, *ON_DEMAND],
    ("modelcrate.model",): [*HIGHER["model"], *PROJECT_TOOLS, *ON_DEMAND],
    ("modelcrate.runtime",): [
        *HIGHER["runtime"],
        *PROJECT_TOOLS,
        *ON_DEMAND,
        *REGISTRY_DRIVERS,
        *ARTIFACT_RUNTIMES,
    ],
    # the model registry: no project tool, and its database is reached only when it is used
    ("modelcrate.deploy",): ["modelcrate.cli", *PROJECT_TOOLS, "prefect", *REGISTRY_DRIVERS],
    # a packaged model as `modelcrate run` loads it (by its entry point): not even Prefect
    (PACKAGED, f"{PACKAGED}.model"): [
        *HIGHER["runtime"],
        *PROJECT_TOOLS,
        *ON_DEMAND,
        *REGISTRY_DRIVERS,
    ],
    # its flow and its command line: Prefect, but still no tool for making projects
    (f"{PACKAGED}.flow", f"{PACKAGED}.cli"): [*HIGHER["runtime"], *PROJECT_TOOLS, "pymysql"],
}


@pytest.fixture(scope="module")
def loaded(make_project, tmp_path_factory) -> dict[tuple[str, ...], set[str]]:
    """For each import of MUST_NOT_LOAD, what a fresh interpreter then holds (all run at once);
    the packaged model is the example project, generated with its model and not installed."""
    project = make_project(project_name="injector-surrogate", model=EXAMPLE_MODEL)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    packaged = {
        **env,
        "PYTHONPATH": str(project / "src"),
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-home")),
    }
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {
            names: pool.submit(
                _loaded_by, names, *((project, packaged) if PACKAGED in names[0] else (ROOT, env))
            )
            for names in MUST_NOT_LOAD
        }
        return {names: future.result() for names, future in futures.items()}


@pytest.mark.parametrize("imported", list(MUST_NOT_LOAD), ids=" ".join)
def test_an_import_loads_nothing_it_must_not(loaded, imported):
    held = loaded[imported]
    assert set(imported) <= held  # the import itself happened
    assert sorted(name for name in MUST_NOT_LOAD[imported] if name in held) == []


def test_the_fresh_interpreters_load_what_they_should(loaded):
    """So that nothing missing above is a check that looked at nothing."""
    assert {"modelcrate.spec", "modelcrate.model"} <= loaded[("modelcrate.runtime",)]
    assert {"prefect", "modelcrate.runtime"} <= loaded[(f"{PACKAGED}.flow", f"{PACKAGED}.cli")]
    assert {"modelcrate.deploy.registry", "sqlalchemy"} <= loaded[("modelcrate.deploy",)]
