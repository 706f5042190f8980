"""Fixtures of the command-line tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The injector example as a generated project with the reference model (not installed),
    one per test module; its modules are forgotten afterwards."""
    from modelcrate.cli import main

    root = tmp_path_factory.mktemp("cli-project")
    dest = root / "injector"
    variables = EXAMPLES / "injector" / "variables.yml"
    assert main(["new", str(variables), "-o", str(dest), "--yes", "--no-git"]) == 0
    shutil.copy(
        EXAMPLES / "injector" / "model.py", dest / "src" / "injector_surrogate" / "model.py"
    )
    yield dest
    for name in [m for m in sys.modules if m.startswith("injector_surrogate")]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(str(root))]
