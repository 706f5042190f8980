"""End to end, a project made from hostile names and options installs and passes all its tests:
quotes, backslashes, unicode and colons in variable names, a description and an author written
to break out of their strings. Slow (a fresh environment with Prefect); run in CI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from _projects import ROOT, fresh_env, sh, without_prefect_settings

pytestmark = pytest.mark.slow

RUN = 'open("CANARY", "w")'


def test_a_hostile_project_installs_and_passes_its_own_tests(tmp_path):
    variables = tmp_path / "variables.yml"
    text = yaml.safe_dump(
        {
            "input_variables": {
                'QUAD:IN20:121:BCTRL "x"': {"type": "scalar", "default": 0.5, "range": [0, 1],
                                            "units": f"kG\n{RUN}", "description": '"""\\'},
                "é\\ü": {"type": "scalar", "default": 1.0},
            },
            "output_variables": {
                f'y": {RUN}, "z': {"type": "scalar", "units": "mm  # \\"},
                "\u03c3:x'": {"type": "array", "shape": [2], "dtype": "str"},
            },
        },
        allow_unicode=True,
    )  # fmt: skip
    variables.write_text(text, encoding="utf-8")
    project = tmp_path / "hostile"
    sh(sys.executable, "-m", "modelcrate", "new", variables, "-o", project, "--yes",
       "--name", "Hostile Model", "--description", f'x"""; {RUN}; """\\',
       "--author", 'A", email = "a@b.org" }, { name = "B\\', "--modelcrate-requirement", ROOT)  # fmt: skip

    python = fresh_env(project)
    env = without_prefect_settings()
    tests = sh(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    assert not any(Path(tmp_path).rglob("CANARY"))
