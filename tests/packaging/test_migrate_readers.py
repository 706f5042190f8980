"""The readers of `migrate`: setup.py from its syntax tree (never run), setup.cfg, requirements
files, setup.cfg's tool sections and versioneer's lines."""

from __future__ import annotations

import textwrap

import pytest

from modelcrate._errors import MigrateError
from modelcrate.packaging.migrate._declared import (
    Conditional,
    Extension,
    FileLines,
    FileText,
    FindPackages,
    Unresolved,
    VersioneerCommands,
    VersionFrom,
)
from modelcrate.packaging.migrate._requirements import (
    as_requirement,
    read_requirements,
    split_damage,
    split_tokens,
)
from modelcrate.packaging.migrate._setup_cfg import read_setup_cfg
from modelcrate.packaging.migrate._setup_py import read_setup_py
from modelcrate.packaging.migrate._tool_tables import tool_tables
from modelcrate.packaging.migrate._versioneer import remove_versioneer


def setup_py(tmp_path, text: str) -> dict:
    (tmp_path / "setup.py").write_text(textwrap.dedent(text))
    return read_setup_py(tmp_path).keywords


# -- setup.py ------------------------------------------------------------------------------------


def test_setup_py_literals_and_the_names_they_pass_through(tmp_path):
    keywords = setup_py(
        tmp_path,
        """
        from setuptools import setup, find_packages
        NAME = "beam-sim"
        BASE = ["numpy>=1.20"]
        EXTRA = {"plot": ["matplotlib"]}
        EXTRA["mpi"] = ["mpi4py"]
        BASE += ["scipy"]
        BASE.append("pyyaml")
        setup(name=NAME, version=f"1.{2}", install_requires=BASE, extras_require=EXTRA,
              packages=find_packages("src", exclude=["tests"]), package_dir={"": "src"},
              **dict(zip_safe=False))
        """,
    )
    assert keywords["name"] == "beam-sim"
    assert keywords["version"] == "1.2"
    assert keywords["install_requires"] == ["numpy>=1.20", "scipy", "pyyaml"]
    assert keywords["extras_require"] == {"plot": ["matplotlib"], "mpi": ["mpi4py"]}
    assert keywords["packages"] == FindPackages(where="src", exclude=("tests",))
    assert keywords["zip_safe"] is False


def test_setup_py_files_read_by_the_usual_idioms(tmp_path):
    keywords = setup_py(
        tmp_path,
        """
        import io, os
        from pathlib import Path
        from setuptools import setup
        import versioneer
        here = os.path.abspath(os.path.dirname(__file__))
        with io.open(os.path.join(here, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        with open("requirements.txt") as f:
            requirements = f.read().split()
        setup(
            long_description=readme,
            install_requires=requirements,
            tests_require=[l.strip() for l in open("test.txt") if not l.startswith("#")],
            license=(Path(__file__).parent / "LICENSE").read_text(),
            version=versioneer.get_version(),
            cmdclass=versioneer.get_cmdclass(),
        )
        """,
    )
    assert keywords["long_description"] == FileText("README.md")
    assert keywords["install_requires"] == FileLines("requirements.txt", "split", 10)
    assert keywords["tests_require"] == FileLines("test.txt", "lines", 14)
    assert keywords["license"] == FileText("LICENSE")
    assert keywords["version"] == VersionFrom("versioneer")
    assert keywords["cmdclass"] == VersioneerCommands()


def test_setup_py_try_blocks_are_read_on_the_path_of_a_normal_build(tmp_path):
    keywords = setup_py(
        tmp_path,
        """
        try:
            from setuptools import setup
        except ImportError:
            from distutils.core import setup
        try:
            long_description = open("README.rst").read()
        except OSError:
            long_description = ""
        setup(name="x", long_description=long_description)
        """,
    )
    assert keywords["long_description"] == FileText("README.rst")


def test_setup_py_values_only_a_build_knows_are_unresolved_with_their_line(tmp_path):
    keywords = setup_py(
        tmp_path,
        """
        import os, platform
        from setuptools import setup, Extension
        extras = {}
        if os.environ.get("GPU"):
            extras["gpu"] = ["cupy"]
        scripts = ["a=pkg:main"]
        for name in ("numpy",):
            scripts.append(name)
        setup(
            extras_require=extras,
            entry_points={"console_scripts": scripts},
            install_requires=["numpy", "torch" if platform.system() == "Linux" else "cpu-only"],
            version=open("VERSION").read().strip().split(".")[0],
            ext_modules=[Extension("pkg._fast", ["pkg/_fast.c"], define_macros=[("N", "1")])],
        )
        """,
    )
    assert keywords["extras_require"] == Unresolved(
        "setup.py", 5, "extras", "changed inside an if at line 5"
    )
    assert keywords["entry_points"]["console_scripts"].line == 8
    numpy, torch = keywords["install_requires"]
    assert numpy == "numpy" and isinstance(torch, Unresolved) and torch.line == 13
    assert isinstance(keywords["version"], Unresolved)
    assert keywords["ext_modules"] == [
        Extension("pkg._fast", (("define_macros", [["N", "1"]]), ("sources", ["pkg/_fast.c"])), 15)
    ]


def test_setup_py_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    setup_py(
        tmp_path,
        f"""
        from setuptools import setup
        open({str(marker)!r}, "w").write("ran")
        setup(name="x")
        """,
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("from setuptools import setup\nsetup(name='x'\n", "setup.py:2: not valid Python"),
        ("print('hello')\n", "setup.py: has no setup() call from setuptools"),
    ],
)
def test_setup_py_that_cannot_be_read_is_one_error_naming_the_line(tmp_path, text, message):
    (tmp_path / "setup.py").write_text(text)
    with pytest.raises(MigrateError) as caught:
        read_setup_py(tmp_path)
    assert message in str(caught.value)


# -- setup.cfg -----------------------------------------------------------------------------------


def test_setup_cfg_declarative_sections(tmp_path):
    (tmp_path / "setup.cfg").write_text(
        textwrap.dedent(
            """
            [metadata]
            name = optics-fit
            version = attr: optics_fit.__version__
            long_description = file: README.rst
            classifiers =
                Programming Language :: Python :: 3
            [options]
            packages = find:
            package_dir =
                =src
            install_requires =
                numpy>=1.20
                tomli; python_version < "3.11"
            include_package_data = True
            [options.packages.find]
            where = src
            exclude = tests
            [options.extras_require]
            plot = matplotlib; pillow
            [options.entry_points]
            console_scripts =
                optics-fit = optics_fit.cli:main
            """
        )
    )
    declared, sections = read_setup_cfg(tmp_path)
    keywords = declared.keywords
    assert keywords["version"] == VersionFrom("attr", "optics_fit.__version__")
    assert keywords["long_description"] == FileText("README.rst")
    assert keywords["packages"] == FindPackages(where="src", exclude=("tests",))
    assert keywords["package_dir"] == {"": "src"}
    assert keywords["install_requires"] == ["numpy>=1.20", 'tomli; python_version < "3.11"']
    assert keywords["extras_require"] == {"plot": ["matplotlib", "pillow"]}
    assert keywords["entry_points"] == {"console_scripts": ["optics-fit = optics_fit.cli:main"]}
    assert keywords["include_package_data"] is True
    assert declared.origin("install_requires") == ("setup.cfg", 12)
    assert [s.name for s in sections][:2] == ["metadata", "options"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[metadata]\nname = x\nno value here\n", "setup.cfg:3"),
        ("name = x\n", "setup.cfg:1"),
        ("[metadata]\nname = x\nname = y\n", "setup.cfg:3"),
    ],
)
def test_setup_cfg_with_a_syntax_error_is_one_error_naming_the_line(tmp_path, text, where):
    (tmp_path / "setup.cfg").write_text(text)
    with pytest.raises(MigrateError) as caught:
        read_setup_cfg(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / where)) and "fix it, then migrate again" in message
    assert "\n" not in message


# -- requirements --------------------------------------------------------------------------------


def test_requirements_files_as_pip_reads_them(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("numpy>=1.20  # arrays\n")
    (tmp_path / "requirements.txt").write_text(
        "# runtime\n-r requirements/base.txt\n"
        "scipy>=1.7; python_version >= '3.9'\n"
        "git+https://github.com/example-lab/map-tools.git@v0.2#egg=map-tools\n"
        "--index-url https://example.org/simple\n"
        "-c constraints.txt\n"
        "pyyaml \\\n  >=6\n"
        "not a requirement\n"
    )
    read = read_requirements(tmp_path, "requirements.txt")
    assert read.requirements == [
        "numpy>=1.20",
        'scipy>=1.7; python_version >= "3.9"',
        "map-tools @ git+https://github.com/example-lab/map-tools.git@v0.2",
        "pyyaml>=6",
    ]
    assert [(n.file, n.line) for n in read.notes] == [
        ("requirements.txt", 5),
        ("requirements.txt", 6),
        ("requirements.txt", 9),
    ]


def test_the_split_idiom_s_broken_tokens_are_noticed(tmp_path):
    (tmp_path / "requirements.txt").write_text("# core\nnumpy >= 1.20\nscipy\n")
    notes = split_damage(tmp_path, "requirements.txt", 12)
    assert [(n.file, n.line) for n in notes] == [("requirements.txt", 1), ("requirements.txt", 2)]
    assert "'numpy >= 1.20' was split into 'numpy', '>=', '1.20'" in notes[1].what
    assert "setup.py:12" in notes[1].what
    assert split_tokens(tmp_path, "requirements.txt") == {"#", "core", "numpy", ">=", "1.20"}
    assert as_requirement("numpy >= 1.20") == "numpy>=1.20"


# -- tool tables and versioneer ------------------------------------------------------------------


def test_tool_sections_move_where_their_tool_reads_pyproject(tmp_path):
    (tmp_path / "setup.cfg").write_text(
        "[tool:pytest]\naddopts = -ra\n  -q\nmarkers =\n  slow: slow tests\n"
        "[coverage:run]\nbranch = True\nsource = pkg\n[coverage:report]\nfail_under = 90.5\n"
        "[mypy]\nstrict = true\n[mypy-numpy.*]\nignore_missing_imports = True\n"
        "[isort]\nline_length = 100\n[flake8]\nmax-line-length = 100\n[bdist_wheel]\nuniversal=1\n"
    )
    tables = tool_tables(read_setup_cfg(tmp_path)[1])
    assert tables.tool == {
        "pytest": {"ini_options": {"addopts": "-ra -q", "markers": "slow: slow tests"}},
        "coverage": {"run": {"branch": True, "source": ["pkg"]}, "report": {"fail_under": 90.5}},
        "mypy": {
            "strict": True,
            "overrides": [{"module": ["numpy.*"], "ignore_missing_imports": True}],
        },
        "isort": {"line_length": 100},
    }
    assert tables.kept == ["flake8"]
    assert "bdist_wheel" in tables.moved
    assert any("flake8 does not read pyproject.toml" in str(n) for n in tables.notes)


def test_versioneer_lines_give_way_to_the_installed_metadata(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "_version.py").write_text("# versioneer\n")
    (package / "__init__.py").write_text(
        "from ._version import get_versions\n__version__ = get_versions()['version']\n"
        "del get_versions\n"
    )
    (tmp_path / "versioneer.py").write_text("")
    (tmp_path / ".gitattributes").write_text("pkg/_version.py export-subst\n")
    (tmp_path / "MANIFEST.in").write_text("include versioneer.py\ninclude README.md\n")
    (tmp_path / "setup.cfg").write_text("[versioneer]\nversionfile_source = pkg/_version.py\n")
    removal = remove_versioneer(tmp_path, read_setup_cfg(tmp_path)[1], 'odd"name')
    assert removal.removed == ["versioneer.py", "pkg/_version.py", ".gitattributes"]
    assert removal.rewritten["MANIFEST.in"] == "include README.md\n"
    init = removal.rewritten["pkg/__init__.py"]
    assert "get_versions" not in init and '_distribution_version("odd\\"name")' in init
    compile(init, "__init__.py", "exec")


@pytest.mark.parametrize(
    ("condition", "marker", "otherwise"),
    [
        (
            'platform.system() == "Windows"',
            'platform_system == "Windows"',
            'platform_system != "Windows"',
        ),
        ("sys.version_info < (3, 9)", 'python_version < "3.9"', 'python_version >= "3.9"'),
        (
            "sys.version_info >= (3, 8, 1)",
            'python_full_version >= "3.8.1"',
            'python_full_version < "3.8.1"',
        ),
        ('sys.platform.startswith("win")', 'sys_platform == "win32"', 'sys_platform != "win32"'),
        (
            'not (os.name == "nt" or sys.platform == "darwin")',
            '(os_name != "nt" and sys_platform != "darwin")',
            '(os_name == "nt" or sys_platform == "darwin")',
        ),
    ],
)
def test_setup_py_requirements_added_for_a_platform_or_python_keep_it_as_a_marker(
    tmp_path, condition, marker, otherwise
):
    keywords = setup_py(
        tmp_path,
        f"""
        import os, platform, sys
        from setuptools import setup
        requirements = ["numpy"]
        if {condition}:
            requirements.append("pywin32")
        else:
            requirements += ["uvloop"]
        setup(install_requires=requirements)
        """,
    )
    assert keywords["install_requires"] == [
        "numpy",
        Conditional("pywin32", marker, 6),
        Conditional("uvloop", otherwise, 8),
    ]


@pytest.mark.parametrize(
    "condition",
    [
        'os.environ.get("GPU")',
        'platform.system() in ("Linux", "Darwin")',
        "sys.version_info[0] == 3",
    ],
)
def test_setup_py_conditions_no_marker_can_say_are_unresolved(tmp_path, condition):
    keywords = setup_py(
        tmp_path,
        f"""
        import os, platform, sys
        from setuptools import setup
        requirements = ["numpy"]
        if {condition}:
            requirements.append("cupy")
        setup(install_requires=requirements)
        """,
    )
    assert isinstance(keywords["install_requires"], Unresolved)
