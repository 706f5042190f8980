"""The adapter `migrate` writes around a lume-model model: each way an old `evaluate` takes its
input variables and gives back its outputs, and each way the old code finds its variables file
once it has moved to src/PACKAGE/variables.yml, run from the migrated source tree."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelcrate.packaging import migrate_project

SETUP = (
    'from setuptools import setup\nsetup(name="kicker-model", version="1.0", packages=["kicker"])\n'
)
VARIABLES = """\
input_variables:
  kick: {type: scalar, default: 2.0, range: [0.0, 5.0]}
  gain: {type: scalar, default: 3.0, range: [0.0, 5.0]}
output_variables:
  angle: {type: scalar}
"""
IMPORTS = """\
from lume_model.models import BaseModel
from lume_model.utils import variables_from_yaml
from lume_model.variables import ScalarOutputVariable
import os
"""
INIT = """\
    def __init__(self):
        with open(os.path.join(os.path.dirname(__file__), "files", "variables.yml")) as f:
            self.input_variables, self.output_variables = variables_from_yaml(f)
"""
EVALUATES = {
    "by name, variables back in a list": """\
    def evaluate(self, input_variables):
        self.output_variables["angle"].value = input_variables["kick"].value * input_variables["gain"].value
        return list(self.output_variables.values())
""",
    "a list, a dict of new variables back": """\
    def evaluate(self, input_variables):
        values = {v.name: v.value for v in input_variables}
        return {"angle": ScalarOutputVariable(name="angle", value=values["kick"] * values["gain"])}
""",
    "items(), plain values back": """\
    def evaluate(self, input_variables):
        values = {name: v.value for name, v in input_variables.items()}
        return {"angle": values["kick"] * values["gain"]}
""",
}


@pytest.mark.parametrize("evaluate", list(EVALUATES), ids=list(EVALUATES))
def test_the_old_evaluate_runs_behind_the_model_contract(tmp_path, evaluate):
    old = tmp_path / "old"
    (old / "kicker" / "files").mkdir(parents=True)
    (old / "setup.py").write_text(SETUP)
    (old / "kicker" / "__init__.py").write_text("")
    (old / "kicker" / "files" / "variables.yml").write_text(VARIABLES)
    source = IMPORTS + "\n\nclass Kicker(BaseModel):\n" + INIT + "\n" + EVALUATES[evaluate]
    (old / "kicker" / "model.py").write_text(source)
    migrated = migrate_project(old, output=tmp_path / "new", check_wheels=False)
    assert migrated.destination == tmp_path / "new"
    script = textwrap.dedent(
        """\
        from kicker.modelcrate_model import Kicker
        print(Kicker()({"gain": 4.0})["angle"])
        """
    )
    done = _run(script, tmp_path / "new")
    assert (done.returncode, done.stdout) == (0, "8.0\n"), done.stderr


def test_a_model_in_a_subpackage_gets_its_adapter_beside_the_variables(tmp_path):
    old = tmp_path / "old"
    (old / "kicker" / "files").mkdir(parents=True)
    (old / "kicker" / "models").mkdir()
    (old / "setup.py").write_text(SETUP.replace('["kicker"]', '["kicker", "kicker.models"]'))
    (old / "kicker" / "__init__.py").write_text("")
    (old / "kicker" / "models" / "__init__.py").write_text("")
    (old / "kicker" / "files" / "variables.yml").write_text(VARIABLES)
    init = INIT.replace("os.path.dirname(__file__), ", "os.path.dirname(__file__), os.pardir, ")
    source = (
        '"""The kicker surrogate; its variables in files/variables.yml"""\n'  # no read of it
        + IMPORTS
        + "\n\nclass Kicker(BaseModel):\n"
        + init
        + "\n"
        + EVALUATES["items(), plain values back"]
    )
    (old / "kicker" / "models" / "surrogate.py").write_text(source)
    migrated = migrate_project(old, output=tmp_path / "new", check_wheels=False)
    assert "src/kicker/modelcrate_model.py" in {c.path for c in migrated.plan.changes}
    surrogate = (tmp_path / "new" / "src" / "kicker" / "models" / "surrogate.py").read_text()
    assert 'os.path.join(os.path.dirname(__file__), "..", "variables.yml")' in surrogate
    assert not (tmp_path / "new" / "src" / "kicker" / "files").exists()  # no copy left behind
    script = "from kicker.modelcrate_model import Kicker\nprint(Kicker()({})['angle'])\n"
    done = _run(script, tmp_path / "new")
    assert (done.returncode, done.stdout) == (0, "6.0\n"), done.stderr


def test_a_variables_file_read_another_way_is_kept_where_the_code_reads_it(tmp_path):
    old = tmp_path / "old"
    (old / "kicker" / "files").mkdir(parents=True)
    (old / "setup.py").write_text(SETUP)
    (old / "kicker" / "__init__.py").write_text("")
    (old / "kicker" / "files" / "variables.yml").write_text(VARIABLES)
    init = INIT.replace(
        'os.path.join(os.path.dirname(__file__), "files", "variables.yml")',
        'HERE + "/files/variables.yml"',
    )
    source = (
        IMPORTS
        + "\nHERE = os.path.dirname(__file__)\n\n\nclass Kicker(BaseModel):\n"
        + init
        + "\n"
        + EVALUATES["items(), plain values back"]
    )
    (old / "kicker" / "model.py").write_text(source)
    migrated = migrate_project(old, output=tmp_path / "new", check_wheels=False)
    assert (
        "src/kicker/model.py:11: names the variables file ('/files/variables.yml') in a way "
        "migrate does not rewrite; a copy is kept at src/kicker/files/variables.yml for it; read "
        "src/kicker/variables.yml instead (importlib.resources.files('kicker') / "
        "'variables.yml') and delete the copy"
    ) in [str(n) for n in migrated.plan.notes]
    new = tmp_path / "new" / "src" / "kicker"
    assert (new / "files" / "variables.yml").read_text() == (new / "variables.yml").read_text()
    done = _run(
        "from kicker.modelcrate_model import Kicker\nprint(Kicker()({})['angle'])\n",
        tmp_path / "new",
    )
    assert (done.returncode, done.stdout) == (0, "6.0\n"), done.stderr


def _run(script: str, project: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` with the migrated project's src/ folder as the working directory."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=project / "src",
        capture_output=True,
        text=True,
        check=False,
    )


def _kicker_with_readme(tmp_path, readme):
    """An old LUME project of the kicker model with `readme` as its README.md, migrated into
    tmp_path/new."""
    old = tmp_path / "old"
    (old / "kicker" / "files").mkdir(parents=True)
    (old / "setup.py").write_text(SETUP)
    (old / "README.md").write_text(readme)
    (old / "kicker" / "__init__.py").write_text("")
    (old / "kicker" / "files" / "variables.yml").write_text(VARIABLES)
    source = "".join(
        (
            IMPORTS,
            "\n\nclass Kicker(BaseModel):\n",
            INIT,
            "\n",
            EVALUATES["items(), plain values back"],
        )
    )
    (old / "kicker" / "model.py").write_text(source)
    migrate_project(old, output=tmp_path / "new", check_wheels=False)


def test_a_readme_of_its_own_gets_the_tables_check_compares(tmp_path):
    from modelcrate.packaging.tooling._check import check_readme

    _kicker_with_readme(tmp_path, "# Kicker\n\nThe kicker's own words.\n")
    readme = (tmp_path / "new" / "README.md").read_text()
    assert readme.startswith("# Kicker\n\nThe kicker's own words.\n\n## Inputs\n\n| Name |")
    checked = check_readme(tmp_path / "new", tmp_path / "new" / "src" / "kicker" / "variables.yml")
    assert checked.ok, checked.message


def test_a_readme_with_tables_of_the_same_columns_has_them_made_again(tmp_path):
    from modelcrate.packaging.tooling._check import check_readme

    outdated = (
        "# Kicker\n\n## Inputs\n\n| Name | Kind | Unit | Default | Range | Description |\n"
        "|---|---|---|---|---|---|\n| `kick` | scalar |  | 1 | [0, 5] |  |\n\nMore words.\n"
    )
    _kicker_with_readme(tmp_path, outdated)
    readme = (tmp_path / "new" / "README.md").read_text()
    assert readme.count("| Name | Kind | Unit | Default | Range | Description |") == 1
    assert "| `gain` | scalar |  | 3 | [0, 5] |  |\n\nMore words.\n\n## Outputs\n\n" in readme
    checked = check_readme(tmp_path / "new", tmp_path / "new" / "src" / "kicker" / "variables.yml")
    assert checked.ok, checked.message
