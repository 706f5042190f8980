"""Fixtures of the command-line tests."""

from __future__ import annotations

import sys

import pytest
from _projects import EXAMPLE_MODEL


@pytest.fixture(scope="module")
def project(make_project, tmp_path_factory):
    """The injector example as a generated project with the reference model (not installed),
    as `modelcrate new VARIABLES --yes --no-git` makes it, one per test module; its modules are
    forgotten afterwards."""
    root = tmp_path_factory.mktemp("cli-project")
    dest = make_project(
        project_name="injector-surrogate", model=EXAMPLE_MODEL, dest=root / "injector"
    )
    yield dest
    for name in [m for m in sys.modules if m.startswith("injector_surrogate")]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(str(root))]
