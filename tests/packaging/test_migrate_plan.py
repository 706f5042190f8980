"""What `migrate` plans for each old package of tests/fixtures/migrate: the pyproject.toml it
writes, the files it removes or keeps, and the notes on what it could not carry over."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tomlkit
import yaml
from _old_packages import FIXTURES

import modelcrate.packaging
from modelcrate._errors import MigrateError
from modelcrate.packaging import plan_migration
from modelcrate.spec import upgraded_text


def planned(name: str):
    plan = plan_migration(FIXTURES / name)
    changes = {c.path: c for c in plan.changes}
    pyproject = tomlkit.parse(changes["pyproject.toml"].text or "").unwrap()
    return plan, changes, pyproject, [str(n) for n in plan.notes]


def test_setup_py_with_versioneer_and_split_requirements():
    plan, changes, pyproject, notes = planned("beam-sim")
    project = pyproject["project"]
    assert pyproject["build-system"] == {
        "requires": ["setuptools>=77", "setuptools-scm>=8"],
        "build-backend": "setuptools.build_meta",
    }
    assert project["dynamic"] == ["version"] and "setuptools_scm" in pyproject["tool"]
    assert project["dependencies"] == ["packaging>=21"]
    assert project["readme"] == "README.md"
    assert project["license"] == "BSD-3-Clause"
    assert project["scripts"] == {"beam-sim": "beam_sim.cli:main"}
    assert pyproject["tool"]["setuptools"]["packages"] == {
        "find": {"where": ["."], "exclude": ["tests", "tests.*"], "namespaces": False}
    }
    assert {p for p, c in changes.items() if c.action == "remove"} == {
        "setup.py",
        "versioneer.py",
        "beam_sim/_version.py",
        ".gitattributes",
    }
    assert changes["setup.cfg"].text == (
        "[flake8]\nmax-line-length = 100\nexclude = versioneer.py, beam_sim/_version.py\n"
    )
    assert "versioneer" not in (changes["MANIFEST.in"].text or "")
    assert any(n.startswith("requirements.txt:1: setup.py:13 read this file") for n in notes)
    assert plan.bogus_requirements == {"#", "markup", "for", "the", "reports"}


def test_declarative_setup_cfg_with_extras_markers_entry_points_and_tool_tables():
    _, changes, pyproject, notes = planned("optics-fit")
    project, tool = pyproject["project"], pyproject["tool"]
    assert project["optional-dependencies"] == {
        "plot": ["matplotlib>=3.5", 'pillow; platform_system != "Emscripten"'],
        "mpi": ['mpi4py>=3.1; sys_platform == "linux"'],
    }
    assert project["gui-scripts"] == {"optics-fit-gui": "optics_fit.cli:gui"}
    assert project["entry-points"] == {"lume.models": {"optics-fit": "optics_fit.model:OpticsFit"}}
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])
    assert tool["setuptools"]["dynamic"] == {"version": {"attr": "optics_fit.__version__"}}
    assert tool["setuptools"]["include-package-data"] is False
    assert tool["setuptools"]["package-data"] == {"optics_fit": ["data/*.json", "py.typed"]}
    assert set(tool) == {"setuptools", "pytest", "isort", "coverage", "mypy"}
    assert changes["setup.cfg"].text == "[flake8]\nmax-line-length = 100\n"
    assert "setup.cfg:89: [flake8]; kept in setup.cfg: flake8 does not read pyproject.toml" in notes


def test_src_layout_with_manifest_and_requirement_files():
    _, changes, pyproject, notes = planned("field-maps")
    project, setuptools = pyproject["project"], pyproject["tool"]["setuptools"]
    assert project["version"] == "0.3.1"
    assert project["dependencies"] == [
        "packaging>=21",
        'colorama>=0.4; sys_platform == "win32"',
        'importlib_resources>=5; python_version < "3.10"',
    ]
    assert (
        "setup.py:15: 'colorama>=0.4' is required only when sys_platform == \"win32\" (an if "
        "around it); kept as 'colorama>=0.4; sys_platform == \"win32\"': the condition is its "
        "environment marker" in notes
    )
    assert project["optional-dependencies"] == {"dev": ["pytest>=7"]}
    assert project["entry-points"] == {"field_maps.formats": {"txt": "field_maps.formats:read_txt"}}
    assert setuptools["package-dir"] == {"": "src"}
    assert setuptools["packages"] == {"find": {"where": ["src"], "namespaces": False}}
    assert setuptools["include-package-data"] is True
    assert "MANIFEST.in" not in changes  # kept as it is
    assert any(n.startswith("MANIFEST.in: MANIFEST.in; kept") for n in notes)


def test_what_only_a_build_knows_is_reported_with_file_and_line_never_dropped_silently():
    _, _, pyproject, notes = planned("laser-env")
    assert "dependencies" not in pyproject["project"]
    assert "entry-points" not in pyproject["project"] and "scripts" not in pyproject["project"]
    assert [n.split(";")[0] for n in notes] == [
        "setup.py:14: install_requires=requirements is changed inside a for loop at line 14",
        "setup.py:19: extras_require=extras is changed inside an if at line 19",
        "setup.py:22: entry_points=entry_points is changed inside an if at line 22",
        "setup.py:29: version=read_version() is the result of calling read_version()",
    ]
    assert "read from laser_env.__version__" in notes[-1]


@pytest.mark.parametrize("name", ["beam-sim", "optics-fit", "field-maps", "laser-env"])
def test_a_plan_writes_nothing(name):
    before = {p: p.stat().st_mtime_ns for p in (FIXTURES / name).rglob("*")}
    plan_migration(FIXTURES / name)
    assert {p: p.stat().st_mtime_ns for p in (FIXTURES / name).rglob("*")} == before


def test_c_extensions_with_literal_arguments_become_the_ext_modules_table():
    _, changes, pyproject, notes = planned("fast-track")
    assert pyproject["tool"]["setuptools"]["ext-modules"] == [
        {
            "name": "fast_track._kick",
            "define-macros": [["KICK_SCALE", "2"]],
            "sources": ["fast_track/_kick.c"],
        }
    ]
    assert changes["setup.py"].action == "remove"
    assert any("[[tool.setuptools.ext-modules]]" in n for n in notes)


COMPUTED_EXTENSIONS = """\
import glob

from setuptools import Extension, setup
import numpy

SOURCES = sorted(glob.glob("fast_track/*.c"))
UNUSED = "kept out"

setup(
    name="fast-track",
    version="0.9.0",
    ext_modules=[Extension("fast_track._kick", SOURCES, include_dirs=[numpy.get_include()])],
)
"""


def test_computed_c_extensions_stay_in_a_setup_py_of_their_own(tmp_path):
    shutil.copytree(FIXTURES / "fast-track", tmp_path / "p")
    project = tmp_path / "p"
    (project / "setup.py").write_text(COMPUTED_EXTENSIONS)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61", "wheel", "Cython>=3"]\n'
        'build-backend = "setuptools.build_meta"\n\n[tool.black]\n# wide lines\nline-length = 100\n'
    )
    plan = plan_migration(project)
    changes = {c.path: c for c in plan.changes}
    kept = changes["setup.py"].text or ""
    assert kept.endswith(
        "import glob\nfrom setuptools import Extension, setup\nimport numpy\n\n"
        'SOURCES = sorted(glob.glob("fast_track/*.c"))\n\n'
        'setup(ext_modules=[Extension("fast_track._kick", SOURCES, '
        "include_dirs=[numpy.get_include()])])\n"
    )
    text = changes["pyproject.toml"].text or ""
    assert "[tool.black]\n# wide lines\nline-length = 100\n" in text  # kept, comment and all
    pyproject = tomlkit.parse(text).unwrap()
    assert pyproject["build-system"]["requires"] == ["setuptools>=77", "Cython>=3"]
    notes = [str(n) for n in plan.notes]
    assert (
        "setup.py: the kept setup.py imports numpy when building; add it to [build-system] requires in pyproject.toml"
        in notes
    )
    for change in plan.changes:
        (project / change.path).write_text(change.text or "")
    assert plan_migration(project).already_migrated


def small_project(tmp_path, setup_py: str, files: dict[str, str]):
    for name, text in {"setup.py": setup_py, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    plan = plan_migration(tmp_path)
    text = next(c.text for c in plan.changes if c.path == "pyproject.toml") or ""
    return tomlkit.parse(text).unwrap(), [str(n) for n in plan.notes]


def test_a_version_read_by_exec_comes_from_the_module_that_holds_it(tmp_path):
    pyproject, notes = small_project(
        tmp_path,
        "from pathlib import Path\nfrom setuptools import setup\n"
        "here = Path(__file__).resolve().parent\n"
        'exec((here / "kicker" / "version.py").read_text())\n'
        'setup(name="kicker", version=__version__, packages=["kicker"],\n'
        '      long_description=(here / "README.md").read_text())\n',
        {"kicker/__init__.py": "", "kicker/version.py": '__version__ = "3.2.1"\n'},
    )
    assert pyproject["tool"]["setuptools"]["dynamic"] == {
        "version": {"attr": "kicker.version.__version__"}
    }
    assert pyproject["project"]["readme"] == "README.md"
    assert notes[0].startswith(
        "setup.py:5: version=__version__ is a name setup.py does not assign (exec, a star import); "
        "read from kicker.version.__version__"
    )


def test_setuptools_scm_options_are_kept_with_their_new_names(tmp_path):
    pyproject, _ = small_project(
        tmp_path,
        "from setuptools import setup\n"
        'setup(name="kicker", use_scm_version={"write_to": "kicker/_version.py", '
        '"local_scheme": "no-local-version"}, setup_requires=["setuptools_scm", "cython"])\n',
        {"kicker/__init__.py": ""},
    )
    assert pyproject["tool"]["setuptools_scm"] == {
        "local_scheme": "no-local-version",
        "version_file": "kicker/_version.py",
    }
    assert pyproject["build-system"]["requires"] == [
        "setuptools>=77",
        "setuptools-scm>=8",
        "cython",
    ]
    assert pyproject["project"]["dynamic"] == ["version"]


def test_a_lume_services_template_project_becomes_a_modelcrate_project():
    _, changes, pyproject, notes = planned("injector-surrogate")
    assert pyproject["project"]["entry-points"] == {
        "modelcrate.models": {
            "injector-surrogate": "injector_surrogate.modelcrate_model:InjectorSurrogate"
        },
        "modelcrate.flows": {
            "injector-surrogate": "injector_surrogate.modelcrate_flow:injector_surrogate_flow"
        },
    }
    dependencies = pyproject["project"]["dependencies"]
    assert dependencies[0].startswith("modelcrate")
    assert dependencies[1:] == ["numpy>=1.24", "prefect>=3.9,<4"]
    assert pyproject["project"]["requires-python"] == ">=3.10"
    assert changes["setup.cfg"].action == "remove"  # it held only [versioneer]
    init = changes["src/injector_surrogate/__init__.py"].text or ""
    assert "from . import _version" not in init and "get_versions" not in init
    # the template's idiom for the variables file, pointed at where it now is
    assert 'VARIABLE_FILE = os.path.join(os.path.dirname(__file__), "variables.yml")' in init
    added = {path for path, change in changes.items() if change.action == "add"}
    assert added == {
        "pyproject.toml",
        "src/injector_surrogate/lume_compat.py",
        "src/injector_surrogate/modelcrate_model.py",
        "src/injector_surrogate/modelcrate_flow.py",
        "tests/test_modelcrate_model.py",
        "Dockerfile",
        "_entrypoint.sh",
        "prefect.yaml",
        "README.md",
        ".github/workflows/tests.yml",
        ".github/workflows/release.yml",
        ".github/workflows/image.yml",
    }
    # the package under src/, as the template lays it out: every file a move
    moved = {c.source: c.path for c in changes.values() if c.action == "move"}
    assert moved == {
        "injector_surrogate/__init__.py": "src/injector_surrogate/__init__.py",
        "injector_surrogate/model.py": "src/injector_surrogate/model.py",
        "injector_surrogate/flow/__init__.py": "src/injector_surrogate/flow/__init__.py",
        "injector_surrogate/flow/flow.py": "src/injector_surrogate/flow/flow.py",
        "injector_surrogate/files/variables.yml": "src/injector_surrogate/variables.yml",
    }
    assert changes["src/injector_surrogate/flow/flow.py"].text is None  # a rename alone
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["where"] == ["src"]
    assert setuptools["package-data"] == {"injector_surrogate": ["variables.yml"]}
    # versioneer's lines out, and the folder the variables file left
    assert changes["MANIFEST.in"].text == "include requirements.txt\n"
    readme = changes["README.md"].text or ""
    assert "| `distgen:t_dist:length:value` |" in readme and "| `sigma_x` |" in readme
    assert pyproject["project"]["optional-dependencies"]["dev"][1:] == [
        "pytest>=8",
        "ruff>=0.6",
        "build>=1.2",
    ]
    assert pyproject["tool"]["ruff"]["line-length"] == 100
    assert changes["requirements.txt"].text == "\n".join(dependencies) + "\n"
    deployments = yaml.safe_load(changes["prefect.yaml"].text or "")["deployments"]
    assert [d["entrypoint"] for d in deployments] == [
        "src/injector_surrogate/modelcrate_flow.py:injector_surrogate_flow",
        "src/injector_surrogate/modelcrate_flow.py:sweep_flow",
        "injector_surrogate.modelcrate_flow:injector_surrogate_flow",
    ]
    dockerfile = changes["Dockerfile"].text or ""
    assert (
        'ENV MODELCRATE_MODEL="injector-surrogate"' in dockerfile and "USER 1000:1000" in dockerfile
    )
    serve = pyproject["project"]["optional-dependencies"]["serve"]
    assert serve == [dependencies[0].replace("modelcrate", "modelcrate[serve]", 1)]
    model = changes["src/injector_surrogate/model.py"].text or ""
    old = (FIXTURES / "injector-surrogate" / "injector_surrogate" / "model.py").read_text()
    assert model.splitlines()[:2] == [
        "from injector_surrogate.lume_compat import BaseModel",
        "from injector_surrogate.lume_compat import variables_from_yaml",
    ]
    assert model.splitlines()[2:] == old.splitlines()[2:]  # the model's own code is kept
    adapter = changes["src/injector_surrogate/modelcrate_model.py"].text or ""
    assert "return _values(self.lume_model.evaluate(variables))" in adapter  # a dict by name
    flow = changes["src/injector_surrogate/modelcrate_flow.py"].text or ""
    assert "from injector_surrogate.modelcrate_model import InjectorSurrogate" in flow
    assert "def injector_surrogate_flow(" in flow
    environment = yaml.safe_load(changes["environment.yml"].text or "")
    assert environment["dependencies"][:2] == ["python=3.11", "pip"]
    assert environment["dependencies"][2]["pip"] == dependencies
    lume = [n for n in notes if "lume" in n.lower() or "prefect" in n.lower()]
    check = [n for n in notes if n.startswith("pyproject.toml: `modelcrate check`")]
    assert check == [
        "pyproject.toml: `modelcrate check`; variables, entry-points, flow, evaluate, readme and "
        "dockerfile pass; left to you: version (setuptools-scm reads the tags of the project's "
        "git repository, and the project is not the top of one: `git init` it, or set "
        "[tool.setuptools_scm] root)"
        + (
            "; portable (modelcrate is required by a path of this machine, as this modelcrate "
            "was installed; require a release or a git URL before CI or an image builds it)"
            if "file:" in dependencies[0]
            else ""
        )
    ]
    assert lume == [
        "environment.yml: the conda environment; kept; lume-model and Prefect 1/2 taken out, "
        "python=3.11, and pip installs what pyproject.toml requires",
        "pyproject.toml: the LUME-services `orchestration` entry points; replaced by "
        "`modelcrate.models` and `modelcrate.flows`, through which modelcrate finds the model "
        "and its flow",
        "pyproject.toml: requirements lume-model>=1.0, prefect==1.2.4; replaced by "
        f"{', '.join(dependencies)} (the model runs on lume_compat, the flow on Prefect 3)",
        "src/injector_surrogate/flow/flow.py: the old Prefect 1 flow (its tasks: evaluate); kept "
        "for reference; nothing imports it, and it needs its old Prefect to run; the flow is now "
        "src/injector_surrogate/modelcrate_flow.py, and each task is listed here",
        "src/injector_surrogate/model.py: InjectorSurrogate, a lume-model BaseModel; kept; it "
        "runs behind modelcrate.Model as InjectorSurrogate of "
        "injector_surrogate.modelcrate_model, with src/injector_surrogate/variables.yml as its "
        "spec",
        "src/injector_surrogate/model.py: imports of lume-model 0.x (which no longer installs "
        "beside modelcrate); pointed at injector_surrogate.lume_compat; the code is kept as it "
        "was",
        "src/injector_surrogate/variables.yml: a LUME variables file (1 input, 1 output); "
        "upgraded to the current form (variable_class, default_value, value_range, unit), as "
        "`modelcrate upgrade-variables` does",
    ]
    variables = changes["src/injector_surrogate/variables.yml"]
    assert variables.action == "move"
    assert variables.text == upgraded_text(
        FIXTURES / "injector-surrogate" / "injector_surrogate" / "files" / "variables.yml"
    )
    assert "variable_class: ScalarVariable" in variables.text


@pytest.mark.parametrize(
    ("name", "shape_line", "flow"),
    [
        (
            "bunch-compressor",
            "return _values(self.lume_model.evaluate(list(variables.values())))",
            "src/bunch_compressor/flow.py: the old Prefect 2 flow (its tasks: preprocess, "
            "evaluate, save_results)",
        ),
        (
            "gun-laser",
            "raise NotImplementedError(",
            "src/gun_laser/flow.py: the old Prefect 2 flow (its tasks: evaluate)",
        ),
    ],
)
def test_lume_services_projects_of_later_years(name, shape_line, flow):
    _, changes, pyproject, notes = planned(name)
    package = name.replace("-", "_")
    assert shape_line in (changes[f"src/{package}/modelcrate_model.py"].text or "")
    assert any(n.startswith(flow + "; kept for reference") for n in notes)
    environment = yaml.safe_load(changes["environment.yml"].text or "")
    pip = environment["dependencies"][-1]["pip"]
    assert not any(p.startswith(("lume", "prefect>=2")) for p in pip)
    assert pip == pyproject["project"]["dependencies"]
    missing = [n for n in notes if "not in the repository" in n]
    if name == "bunch-compressor":
        assert missing == [
            "src/bunch_compressor/model.py:13: names the file 'calibration.json', which is not "
            "in the repository; add it (or have the code fetch it) before the model can run"
        ]
    else:
        assert missing == []


def test_setup_cfg_alone_with_values_read_from_files(tmp_path):
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = kicker\nversion = 1.0\ndescription = file: SUMMARY.txt\n"
        "classifiers = file: classifiers.txt\n[options]\npy_modules = kicker\n"
    )
    (tmp_path / "SUMMARY.txt").write_text("Kicks\nparticles.\n")
    (tmp_path / "classifiers.txt").write_text("# trove\nTopic :: Scientific/Engineering\n")
    plan = plan_migration(tmp_path)
    assert [(c.path, c.action) for c in plan.changes] == [
        ("pyproject.toml", "add"),
        ("setup.cfg", "remove"),
    ]
    text = plan.changes[0].text or ""
    project = tomlkit.parse(text).unwrap()["project"]
    assert project["description"] == "Kicks particles."
    assert project["classifiers"] == ["Topic :: Scientific/Engineering"]
    assert tomlkit.parse(text).unwrap()["tool"]["setuptools"]["py-modules"] == ["kicker"]


def test_a_name_only_a_build_knows_is_one_error(tmp_path):
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\nimport json\nsetup(\n    name=json.load(open('m.json'))['name'],\n)\n"
    )
    with pytest.raises(MigrateError) as caught:
        plan_migration(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/setup.py:4: the package's name cannot be read without running setup.py; "
        'give setup() a literal name (name="my-package"), then migrate again'
    )


def test_a_value_without_a_literal_form_is_noted_not_written(tmp_path):
    pyproject, notes = small_project(
        tmp_path,
        "from setuptools import setup, find_packages\n"
        'setup(name="kicker", version="1", package_data={"kicker": [find_packages()]})\n',
        {"kicker/__init__.py": ""},
    )
    assert "package-data" not in pyproject["tool"]["setuptools"]
    assert (
        "setup.py: package-data.kicker has no literal value; left out of pyproject.toml; add it "
        "by hand" in notes
    )


def test_versioneer_configured_in_pyproject_gives_way_too(tmp_path):
    pyproject, notes = small_project(
        tmp_path,
        "import versioneer\nfrom setuptools import setup\n"
        'setup(name="kicker", version=versioneer.get_version(), packages=["kicker"])\n',
        {
            "kicker/__init__.py": "",
            "pyproject.toml": '[tool.versioneer]\nVCS = "git"\ntag_prefix = "release-"\n',
        },
    )
    assert "versioneer" not in pyproject["tool"]
    assert pyproject["tool"]["setuptools_scm"] == {"tag_regex": "^release\\-(?P<version>\\d.*)$"}
    assert "pyproject.toml: [tool.versioneer]; removed: setuptools-scm makes the versions" in notes


def test_requirement_files_setup_py_never_read_are_noted(tmp_path):
    _, notes = small_project(
        tmp_path,
        "from setuptools import setup\n"
        "setup(name='kicker', version='1', install_requires=open('requirements.txt').readlines())\n",
        {
            "requirements.txt": "-r requirements/base.txt\n",
            "requirements/base.txt": "packaging\n",
            "requirements-docs.txt": "sphinx\n",
        },
    )
    assert [n for n in notes if "not read by" in n] == [
        "requirements-docs.txt: not read by setup.py or setup.cfg; kept for `pip install -r`; "
        "declare its requirements as an extra in [project.optional-dependencies] if the package "
        "should offer them"
    ]


def test_a_lume_project_with_odd_files_is_planned_and_they_are_noted(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    package = project / "bunch_compressor"
    (package / "scratch.py").write_text("def broken(:\n")  # not Python: left alone
    (package / "notes.py").write_bytes(b"\xff\xfe not text")
    with (project / "MANIFEST.in").open("a") as manifest:
        manifest.write("include weights/model.pt\n")
    plan = plan_migration(project)
    notes = [str(n) for n in plan.notes]
    assert "src/bunch_compressor/modelcrate_model.py" in {c.path for c in plan.changes}
    assert (
        "MANIFEST.in:5: names 'weights/model.pt', which is not in the repository; kept; add it, "
        "or take the line out" in notes
    )


def test_a_lume_project_whose_package_has_a_file_of_the_same_name_is_only_noted(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    (project / "bunch_compressor" / "modelcrate_flow.py").write_text("# the user's own\n")
    plan = plan_migration(project)
    paths = {c.path for c in plan.changes}
    assert "bunch_compressor/modelcrate_model.py" not in paths
    assert "bunch_compressor/files/variables.yml" in paths  # still upgraded
    assert (
        "bunch_compressor/modelcrate_flow.py: already exists; so the modelcrate project is not "
        "made around the lume-model model; rename the file and migrate again"
    ) in [str(n) for n in plan.notes]


def test_a_lume_project_gets_the_template_workflows_as_new_renders_them():
    _, changes, _, _ = planned("bunch-compressor")
    template = (
        (Path(modelcrate.packaging.__file__).parent / "scaffold" / "template" / "project")
        / ".github"
        / "workflows"
    )
    names = sorted(p.name.removesuffix(".jinja") for p in template.iterdir())
    assert names == ["image.yml", "release.yml", "tests.yml"]
    for name in names:
        workflow = yaml.safe_load(changes[f".github/workflows/{name}"].text or "")
        assert workflow["jobs"] and workflow["permissions"] == {}, name
    tests = changes[".github/workflows/tests.yml"].text or ""
    assert tests == (template / "tests.yml").read_text()
    image = yaml.safe_load(changes[".github/workflows/image.yml"].text or "")
    assert "${OWNER,,}/bunch-compressor" in str(image["jobs"]["image"]["steps"])


def test_a_lume_project_with_another_top_level_package_keeps_its_layout_and_says_why(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    (project / "tests").mkdir()
    (project / "tests" / "__init__.py").write_text("")
    plan = plan_migration(project)
    assert not [c for c in plan.changes if c.action == "move" or c.path.startswith("src/")]
    assert "bunch_compressor/modelcrate_model.py" in {c.path for c in plan.changes}
    (check,) = [str(n) for n in plan.notes if n.what == "`modelcrate check`"]
    assert check.startswith(
        "pyproject.toml: `modelcrate check`; entry-points, flow, evaluate and dockerfile pass; "
        "left to you: variables and readme (they read src/PACKAGE/variables.yml, and "
        "bunch_compressor was not moved under src/: the project has other top-level packages "
        "(tests); move it there with bunch_compressor/files/variables.yml as its variables.yml)"
    )


def test_the_old_flows_plain_tasks_are_carried_over_and_each_task_is_listed():
    _, changes, _, notes = planned("bunch-compressor")
    flow = changes["src/bunch_compressor/modelcrate_flow.py"].text or ""
    carried = flow[
        flow.index("# The tasks of the old flow") : flow.rindex('\nif __name__ == "__main__":')
    ]
    assert carried == (
        "# The tasks of the old flow, carried over as they were written; the flows above do not\n"
        "# call them: call them where they belong, or delete them. The old flow is kept in\n"
        "#   src/bunch_compressor/flow.py\n"
        '\n\n@task\ndef preprocess(r56):\n    return {"BC1:chicane:R56": r56}\n'
        "\n\n@task\ndef save_results(outputs):\n    print(outputs)\n\n"
    )
    assert [n for n in notes if ", a task of the old flow;" in n] == [
        "src/bunch_compressor/flow.py:7: preprocess, a task of the old flow; carried over into "
        "src/bunch_compressor/modelcrate_flow.py as a Prefect 3 task, which the flow does not "
        "call yet: call it in the flow where it belongs",
        "src/bunch_compressor/flow.py:12: evaluate, a task of the old flow; not carried over: it "
        "runs the old model, which the new flow's `evaluate and store` task does through "
        "modelcrate.Model",
        "src/bunch_compressor/flow.py:20: save_results, a task of the old flow; carried over "
        "into src/bunch_compressor/modelcrate_flow.py as a Prefect 3 task, which the flow does "
        "not call yet: call it in the flow where it belongs",
    ]


def test_a_task_that_needs_its_module_or_has_arguments_is_said_so(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    flow = project / "bunch_compressor" / "flow.py"
    flow.write_text(
        flow.read_text()
        + "\n\nSCALE = 2.0\n\n\n@task\ndef scaled(x):\n    return SCALE * x\n"
        + "\n\n@task(retries=3)\ndef checked(x):\n    assert x > 0\n    return x\n"
        + "\n\n@task\ndef evaluate_and_store(x):\n    return x\n"
        + "\n\n@task\n@functools.cache\ndef cached(x):\n    return x\n"
    )
    plan = plan_migration(project)
    notes = [str(n) for n in plan.notes if ", a task of the old flow;" in str(n)]
    assert notes[-4:] == [
        "src/bunch_compressor/flow.py:38: scaled, a task of the old flow; not carried over: it "
        "reads SCALE from its module; copy it into src/bunch_compressor/modelcrate_flow.py with "
        "what it needs, and call it in the flow",
        "src/bunch_compressor/flow.py:43: checked, a task of the old flow; carried over into "
        "src/bunch_compressor/modelcrate_flow.py as a Prefect 3 task, which the flow does not "
        "call yet: call it in the flow where it belongs; its decorator's arguments (retries=3) "
        "are left out: give them back as Prefect 3's task takes them",
        "src/bunch_compressor/flow.py:49: evaluate_and_store, a task of the old flow; not "
        "carried over: src/bunch_compressor/modelcrate_flow.py defines evaluate_and_store "
        "itself; copy it under another name if the flow needs it",
        "src/bunch_compressor/flow.py:55: cached, a task of the old flow; not carried over: it "
        "has other decorators (@functools.cache); copy it into "
        "src/bunch_compressor/modelcrate_flow.py by hand if the flow needs it",
    ]
    text = next(c.text for c in plan.changes if c.path.endswith("modelcrate_flow.py")) or ""
    assert "\n@task\ndef checked(x):\n" in text and "def scaled" not in text


def test_tasks_that_would_hide_a_name_or_use_the_modules_are_not_carried(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    flow = project / "bunch_compressor" / "flow.py"
    flow.write_text(
        flow.read_text()
        + "\n\nCOUNTER = 0\n\n\n@task\ndef len(values):\n    return 0\n"
        + "\n\n@task\ndef bump():\n    global COUNTER\n    COUNTER += 1\n"
        + "\n\n@task\ndef countdown(n):\n    return n if n <= 0 else countdown(n - 1)\n"
        + "\f\n\n@task\ndef double(x):\n    y = 2 * x\n    return y\n"
    )
    plan = plan_migration(project)
    notes = [str(n) for n in plan.notes if ", a task of the old flow;" in str(n)]
    assert [n.split("; ", 2)[1] for n in notes[-4:]] == [
        "not carried over: its name would hide 'len' from the new flow (a builtin)",
        "not carried over: it reads COUNTER from its module",
        "carried over into src/bunch_compressor/modelcrate_flow.py as a Prefect 3 task, which "
        "the flow does not call yet: call it in the flow where it belongs",
        "carried over into src/bunch_compressor/modelcrate_flow.py as a Prefect 3 task, which "
        "the flow does not call yet: call it in the flow where it belongs",
    ]
    text = next(c.text for c in plan.changes if c.path.endswith("modelcrate_flow.py")) or ""
    assert "\n\n@task\ndef double(x):\n    y = 2 * x\n    return y\n" in text  # whole, once
    assert "def len" not in text and "def bump" not in text


def test_data_beside_the_variables_file_moves_with_the_package(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    (project / "bunch_compressor" / "files" / "calibration.json").write_text("{}\n")
    plan = plan_migration(project)
    changes = {c.path: c for c in plan.changes}
    calibration = changes["src/bunch_compressor/files/calibration.json"]
    assert (calibration.action, calibration.source) == (
        "move",
        "bunch_compressor/files/calibration.json",
    )
    assert changes["MANIFEST.in"].text == (
        "include requirements.txt\nrecursive-include src/bunch_compressor/files *\n"
    )
    # the model reads it by os.path.dirname(__file__), "files", ...: still right after the move
    assert not [n for n in plan.notes if "calibration.json" in str(n)]


def test_a_test_that_names_a_path_of_the_old_layout_is_listed(tmp_path):
    project = tmp_path / "bunch-compressor"
    shutil.copytree(FIXTURES / "bunch-compressor", project)
    (project / "tests").mkdir()
    (project / "tests" / "test_files.py").write_text(
        "from pathlib import Path\n\n\ndef test_variables():\n"
        '    assert Path("bunch_compressor/files/variables.yml").is_file()\n'
    )
    notes = [str(n) for n in plan_migration(project).notes]
    assert (
        "tests/test_files.py:5: names 'bunch_compressor/files/variables.yml', under the "
        "package's old folder; kept; the package is now under src/ (and its variables file is "
        "src/bunch_compressor/variables.yml): point it there"
    ) in notes
