"""`modelcrate build`: a generated project builds; the wheel's contents are listed and checked."""

from __future__ import annotations

import json
import logging
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from _projects import CHECKOUT_REQUIREMENT

from modelcrate import ProjectError
from modelcrate.packaging import build_project
from modelcrate.packaging._wheel import LARGE_FILE_BYTES, inspect_wheel, read_wheel

PKG = "build_model"
DIST = "build-model"


@pytest.fixture(scope="module")
def project(make_project) -> Path:
    """A generated project, one per module; tests that change it work on a copy."""
    return make_project(project_name="Build Model", modelcrate_requirement=CHECKOUT_REQUIREMENT)


@pytest.fixture
def copy(project, tmp_path) -> Path:
    return Path(shutil.copytree(project, tmp_path / "project"))


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


# -- real builds ----------------------------------------------------------------------------------


def test_a_generated_project_builds_and_its_wheel_is_listed(run_cli, project, tmp_path):
    out = tmp_path / "dist"
    code, stdout, err = run_cli("build", project, "-o", out)

    assert code == 0, err
    assert err == ""  # no warnings, no errors
    rows = dict(re.findall(r"^(\S+)\s+(\d+(?:\.\d)? (?:B|KiB))$", stdout, re.MULTILINE))
    for module in ("__init__.py", "model.py", "flow.py", "cli.py", "variables.yml", "py.typed"):
        assert f"{PKG}/{module}" in rows
    assert rows[f"{PKG}/py.typed"] == "0 B"
    size = (project / "src" / PKG / "variables.yml").stat().st_size
    assert rows[f"{PKG}/variables.yml"] in (f"{size} B", f"{size / 1024:.1f} KiB")
    assert any(p.endswith(".dist-info/entry_points.txt") for p in rows)
    assert any(p.endswith(".dist-info/licenses/LICENSE") for p in rows)
    assert not any("tests" in p for p in rows)

    built = list(out.iterdir())  # the two archives, nothing left over
    (sdist,) = [p for p in built if p.name.endswith(".tar.gz")]
    (wheel,) = [p for p in built if p.name.endswith(".whl")]
    assert len(built) == 2
    assert f"  sdist: {sdist} (" in stdout and f"  wheel: {wheel} (" in stdout


@pytest.mark.slow
def test_python_m_build_front_end_and_the_json_report(run_cli, project, tmp_path):
    code, stdout, err = run_cli("build", project, "-o", tmp_path, "--frontend", "build", "--json")

    assert code == 0, err
    report = json.loads(stdout)
    assert report["frontend"] == "build"
    assert Path(report["wheel"]).is_file() and Path(report["sdist"]).is_file()
    assert report["warnings"] == [] and report["errors"] == []
    assert report["entry_points"]["modelcrate.models"] == {DIST: f"{PKG}.model:BuildModel"}
    assert report["entry_points"]["modelcrate.flows"] == {DIST: f"{PKG}.flow:build_model_flow"}
    assert report["metadata"]["name"] == DIST
    assert report["metadata"]["license_expression"] == "BSD-3-Clause"
    sizes = {f["path"]: f["size"] for f in report["files"]}
    assert sizes[f"{PKG}/model.py"] == (project / "src" / PKG / "model.py").stat().st_size


def test_stray_files_get_warnings_and_declared_data_does_not(run_cli, copy, tmp_path):
    package = copy / "src" / PKG
    (package / "tests").mkdir()
    (package / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    (package / ".env").write_text("TOKEN=abc\n")
    (package / "deploy_key.pem").write_text("not really a key\n")
    (package / "weights.bin").write_bytes(b"\0" * (LARGE_FILE_BYTES + 1))

    code, _, err = run_cli("build", copy, "-o", tmp_path / "one")
    assert code == 0, err  # built; warnings only
    warned = _warnings(err)
    assert any(f"{PKG}/tests/ (1 file) is a test folder" in w for w in warned)
    assert any(f"{PKG}/.env looks like a secret" in w for w in warned)
    assert any(f"{PKG}/deploy_key.pem looks like a secret" in w for w in warned)
    assert any(f"{PKG}/weights.bin is large (5.0 MiB)" in w for w in warned)
    assert len(warned) == 4 and not _errors(err)

    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'\n[tool.modelcrate]\ndata = ["{PKG}/*.bin"]\n')
    code, _, err = run_cli("build", copy, "-o", tmp_path / "two")
    assert code == 0, err
    assert not any("weights.bin" in w for w in _warnings(err))
    assert len(_warnings(err)) == 3


def _remove_license(project: Path) -> None:
    (project / "LICENSE").unlink()


def _remove_entry_points(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    text = re.sub(r'\[project\.entry-points\."modelcrate\.(models|flows)"\]\n[^\n]+\n', "", text)
    assert "modelcrate.models" not in text and "modelcrate.flows" not in text
    pyproject.write_text(text)


def _remove_variables(project: Path) -> None:
    (project / "src" / PKG / "variables.yml").unlink()


@pytest.mark.parametrize(
    ("breakage", "messages"),
    [
        (
            _remove_license,
            ["declares the license BSD-3-Clause but ships no license file"],
        ),
        (
            _remove_entry_points,
            [
                "the wheel has no `modelcrate.models` entry point",
                "the wheel has no `modelcrate.flows` entry point",
            ],
        ),
        (_remove_variables, [f"the wheel has no {PKG}/variables.yml"]),
    ],
    ids=["license", "entry-points", "variables"],
)
def test_a_missing_essential_fails_with_its_own_message(
    run_cli, copy, tmp_path, breakage, messages
):
    breakage(copy)

    code, stdout, err = run_cli("build", copy, "-o", tmp_path / "dist")

    assert code == 1
    errors = _errors(err)
    assert len(errors) == len(messages)
    for message in messages:
        assert any(message in line for line in errors), errors
    assert "wheel: " in stdout  # it was built: the report says where


def test_a_failing_build_is_one_line_and_verbose_shows_the_output(run_cli, copy, tmp_path, caplog):
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('license = "BSD-3-Clause"', 'license = "?"'))
    out = tmp_path / "dist"

    code, _, err = run_cli("build", copy, "-o", out)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {copy}: the build failed (")
    assert "project.license" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # nothing left behind

    with caplog.at_level(logging.INFO, logger="modelcrate.packaging"):  # what -v shows
        code, _, err = run_cli("-v", "build", copy, "-o", out)
    assert code == 2
    assert "Traceback" in caplog.text and "project.license" in caplog.text  # the build's output


def test_not_a_project_is_bad_input(run_cli, tmp_path):
    code, _, err = run_cli("build", tmp_path)
    assert (
        code == 2
        and err
        == f"error: {tmp_path}: no pyproject.toml; give a project made by `modelcrate new`\n"
    )


def test_a_malformed_data_setting_is_bad_input(run_cli, copy):
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.modelcrate]\ndata = "*.onnx"\n')
    code, _, err = run_cli("build", copy)
    assert code == 2 and "[tool.modelcrate] data must be a list of glob patterns" in err
    assert not (copy / "dist").exists()


# -- inspect_wheel on hand-made wheels -------------------------------------------------------------

METADATA = f"Metadata-Version: 2.4\nName: {DIST}\nVersion: 1.0\nLicense-Expression: MIT\n"
ENTRY_POINTS = (
    f"[modelcrate.models]\n{DIST} = {PKG}.model:M\n\n[modelcrate.flows]\n{DIST} = {PKG}.flow:f\n"
)


def _wheel(tmp_path: Path, extra: dict[str, bytes] | None = None, **replace: bytes | None) -> Path:
    """A minimal wheel of a model package; `extra` adds files, `replace` changes or drops some."""
    info = f"{PKG}-1.0.dist-info"
    files: dict[str, bytes | None] = {
        f"{PKG}/__init__.py": b"",
        f"{PKG}/model.py": b"class M: ...\n",
        f"{PKG}/flow.py": b"def f(): ...\n",
        f"{PKG}/variables.yml": b"input_variables: {}\n",
        f"{info}/METADATA": METADATA.encode(),
        f"{info}/entry_points.txt": ENTRY_POINTS.encode(),
        f"{info}/licenses/LICENSE": b"MIT License\n",
        f"{info}/RECORD": b"",
    }
    keys = {"metadata": f"{info}/METADATA", "entry_points": f"{info}/entry_points.txt"}
    keys |= {"license": f"{info}/licenses/LICENSE", "variables": f"{PKG}/variables.yml"}
    for key, content in replace.items():
        files[keys[key]] = content
    files |= extra or {}
    path = tmp_path / f"{PKG}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if content is not None:
                archive.writestr(name, content)
    return path


def test_a_complete_wheel_has_no_problems(tmp_path):
    report = inspect_wheel(_wheel(tmp_path))
    assert report.problems == ()
    assert report.entry_points["modelcrate.flows"] == {DIST: f"{PKG}.flow:f"}
    assert report.license_files == (f"{PKG}-1.0.dist-info/licenses/LICENSE",)
    assert report.metadata["version"] == "1.0"
    assert {f.path: f.size for f in report.files}[f"{PKG}/model.py"] == len(b"class M: ...\n")


KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({f"{PKG}/tests/__init__.py": b"", f"{PKG}/tests/test_a.py": b""}, "tests/ (2 files)"),
        ({f"{PKG}/test_model.py": b""}, "test_model.py looks like a test module"),
        ({f"{PKG}/conftest.py": b""}, "conftest.py looks like a test module"),
        ({f"{PKG}/__pycache__/model.cpython-311.pyc": b"\0"}, "1 compiled Python file"),
        ({f"{PKG}/old.pyc": b"\0"}, "1 compiled Python file"),
        ({f"{PKG}/.env": b"A=1"}, ".env looks like a secret (by its name)"),
        ({f"{PKG}/deploy_key.pem": b"x"}, "deploy_key.pem looks like a secret"),
        ({f"{PKG}/server.key": b"x"}, "server.key looks like a secret"),
        ({f"{PKG}/id_rsa": b"x"}, "id_rsa looks like a secret"),
        ({f"{PKG}/.pypirc": b"x"}, ".pypirc looks like a secret"),
        ({f"{PKG}/.netrc": b"x"}, ".netrc looks like a secret"),
        ({f"{PKG}/credentials-prod.json": b"{}"}, "credentials-prod.json looks like a secret"),
        ({f"{PKG}/settings.txt": KEY}, "settings.txt looks like a secret (it contains a private"),
        (
            {
                f"{PKG}/config.py": b'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"'
            },
            "config.py looks like a secret (it contains an AWS secret key)",
        ),
        ({f"{PKG}/big.onnx": b"\0" * (LARGE_FILE_BYTES + 1)}, "big.onnx is large (5.0 MiB)"),
    ],
    ids=lambda v: next(iter(v)).rpartition("/")[2] if isinstance(v, dict) else None,
)
def test_what_should_not_be_in_a_wheel_is_warned(tmp_path, extra, expected):
    report = inspect_wheel(_wheel(tmp_path, extra))
    assert report.errors == ()
    assert [p.message for p in report.warnings if expected in p.message], report.warnings
    assert len(report.warnings) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {f"{PKG}/id_rsa.pub": b"ssh-ed25519 AAAA"},
        {f"{PKG}/.env.example": b"TOKEN="},
        {f"{PKG}/settings.py": b'KEY = os.environ["AWS_SECRET_ACCESS_KEY"]\n'},
        {f"{PKG}/testing.py": b""},
        {f"{PKG}/data/small.npy": b"\0" * 1024},
    ],
    ids=["public-key", "env-example", "aws-name-only", "testing-module", "small-data"],
)
def test_look_alikes_are_not_warned(tmp_path, extra):
    assert inspect_wheel(_wheel(tmp_path, extra)).problems == ()


def test_declared_data_is_not_warned_and_a_pattern_matching_nothing_is(tmp_path):
    wheel = _wheel(tmp_path, {f"{PKG}/weights/big.onnx": b"\0" * (LARGE_FILE_BYTES + 1)})
    assert inspect_wheel(wheel, data=["*.onnx"]).problems == ()
    assert inspect_wheel(wheel, data=[f"{PKG}/weights/*"]).problems == ()
    report = inspect_wheel(wheel, data=[f"{PKG}/weights/*", "models/*.pt"])
    assert [p.message for p in report.warnings] == [
        "[tool.modelcrate] data pattern 'models/*.pt' matches no file in the wheel: fix the "
        "pattern (a path inside the wheel, e.g. my_model/weights/*.onnx) or add the file to the "
        "package"
    ]


def test_missing_essentials_are_errors(tmp_path):
    (tmp_path / "a").mkdir()
    report = inspect_wheel(_wheel(tmp_path / "a", license=None, variables=None))
    assert sorted(p.message.split(":")[0] for p in report.errors) == [
        "the wheel declares the license MIT but ships no license file",
        f"the wheel has no {PKG}/variables.yml (the model's inputs and outputs)",
    ]
    (tmp_path / "b").mkdir()
    typo = ENTRY_POINTS.replace(f"{PKG}.flow:f", f"{PKG}.flows:f").encode()
    report = inspect_wheel(_wheel(tmp_path / "b", entry_points=typo))
    assert [p.message for p in report.errors] == [
        f"entry point modelcrate.flows {DIST} = {PKG}.flows:f: the wheel has no module "
        f"{PKG}.flows; fix the name in pyproject.toml [project.entry-points]"
    ]
    (tmp_path / "c").mkdir()
    unlicensed = METADATA.replace("License-Expression: MIT\n", "").encode()
    assert inspect_wheel(_wheel(tmp_path / "c", metadata=unlicensed, license=None)).problems == ()


def test_not_a_wheel_is_a_project_error(tmp_path):
    bad = tmp_path / "x.whl"
    bad.write_text("not a zip")
    with pytest.raises(ProjectError, match="cannot read the wheel"):
        inspect_wheel(bad)
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("x/__init__.py", "")
    with pytest.raises(ProjectError, match=r"not a wheel \(expected one \*\.dist-info/METADATA"):
        inspect_wheel(bad)


def test_a_large_metadata_is_read_whole(tmp_path):
    described = METADATA + "Requires-Dist: numpy>=1.26\n\n" + "A long README.\n" * 150_000
    wheel = _wheel(tmp_path, metadata=described.encode())  # over 1 MiB
    for read in (inspect_wheel(wheel), read_wheel(wheel)):
        assert read.metadata["version"] == "1.0"
        assert read.metadata["requires_dist"] == ["numpy>=1.26"]


def test_a_damaged_file_in_a_wheel_is_a_project_error(tmp_path):
    wheel = _wheel(tmp_path)
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(f"{PKG}/model.py")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start : start + info.compress_size] = b"\xff" * info.compress_size  # not deflate data
    wheel.write_bytes(bytes(data))
    with pytest.raises(ProjectError, match=r"cannot read the wheel \(.*\); build it again$"):
        inspect_wheel(wheel)
    assert read_wheel(wheel).metadata["name"] == DIST  # the dist-info alone reads


def test_build_project_returns_the_report(project, tmp_path):
    report = build_project(project, tmp_path)
    assert report.frontend == "uv"
    assert report.wheel.parent == tmp_path and report.sdist.parent == tmp_path
    assert report.problems == ()
    assert f"{PKG}/variables.yml" in {f.path for f in report.contents.files}


def test_an_entry_point_to_a_name_the_module_does_not_define_is_an_error(tmp_path):
    typo = ENTRY_POINTS.replace(f"{PKG}.model:M", f"{PKG}.model:Model").encode()
    report = inspect_wheel(_wheel(tmp_path, entry_points=typo))
    assert [p.message for p in report.errors] == [
        f"entry point modelcrate.models {DIST} = {PKG}.model:Model: {PKG}.model defines no "
        "Model; fix the name in pyproject.toml [project.entry-points]"
    ]


@pytest.mark.parametrize(
    "source",
    [
        b"from ._impl import Model as M\n",
        b"try:\n    from fast import M\nexcept ImportError:\n    class M: ...\n",
        b"if True:\n    M: type = object\n",
        b"from ._impl import *\n",
        b"def __getattr__(name): ...\n",
        b"this is not python (\n",
    ],
)
def test_an_entry_point_name_that_may_be_defined_is_not_an_error(tmp_path, source):
    wheel = _wheel(tmp_path, {f"{PKG}/model.py": source})
    assert inspect_wheel(wheel).errors == ()


def test_a_license_file_at_the_top_of_an_older_dist_info_is_found(tmp_path):
    # Metadata 2.2 (setuptools before 77) lists License-File and ships it beside METADATA
    older = METADATA.replace("Metadata-Version: 2.4", "Metadata-Version: 2.2")
    older += "License-File: LICENSE\n"
    info = f"{PKG}-1.0.dist-info"
    wheel = _wheel(
        tmp_path, {f"{info}/LICENSE": b"MIT License\n"}, metadata=older.encode(), license=None
    )
    assert inspect_wheel(wheel).problems == ()


def test_an_entry_point_to_a_compiled_module_is_found(tmp_path):
    compiled = ENTRY_POINTS.replace(f"{PKG}.flow:f", f"{PKG}._flow:f").encode()
    extra = {f"{PKG}/_flow.cpython-311-x86_64-linux-gnu.so": b"\0"}
    assert inspect_wheel(_wheel(tmp_path, extra, entry_points=compiled)).problems == ()


def test_a_model_in_a_nested_namespace_package(tmp_path):
    nested = "acme/models/inj"
    entry_points = (
        f"[modelcrate.models]\n{DIST} = acme.models.inj.model:M\n\n"
        f"[modelcrate.flows]\n{DIST} = acme.models.inj.flow:f\n"
    ).encode()
    files = {
        f"{nested}/__init__.py": b"",
        f"{nested}/model.py": b"class M: ...\n",
        f"{nested}/flow.py": b"def f(): ...\n",
        f"{nested}/variables.yml": b"input_variables: {}\n",
    }
    wheel = _wheel(tmp_path, files, entry_points=entry_points, variables=None)
    assert inspect_wheel(wheel).problems == ()
    (tmp_path / "b").mkdir()
    del files[f"{nested}/variables.yml"]
    wheel = _wheel(tmp_path / "b", files, entry_points=entry_points, variables=None)
    assert [p.path for p in inspect_wheel(wheel).errors] == [f"{nested}/variables.yml"]


# -- the lowest build backend the generated pyproject.toml allows ----------------------------------


def _lowest_backend(project: Path) -> list[str]:
    """The project's build requirements, each pinned to the lowest version it allows."""
    import tomllib
    from packaging.requirements import Requirement

    pins = []
    for text in tomllib.loads((project / "pyproject.toml").read_text())["build-system"]["requires"]:
        requirement = Requirement(text)
        lowest = [s.version for s in requirement.specifier if s.operator == ">="]
        assert lowest, f"{text}: the build requirement has no lower bound"
        pins.append(f"{requirement.name}=={lowest[0]}")
    return pins


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()


@pytest.mark.slow
def test_the_lowest_allowed_build_backend_writes_the_license_metadata(project, tmp_path):
    """`license-files` as a list and an SPDX `license` need hatchling 1.27 (PEP 639): the
    generated project builds with the lowest versions its pyproject.toml allows, and one release
    older would write the legacy License field instead."""
    from _projects import find_uv, sh

    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    lowest = _lowest_backend(project)
    assert "hatchling==1.27" in lowest
    older = Path(shutil.copytree(project, tmp_path / "older-project"))
    pyproject = older / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"hatchling>=1.27"', '"hatchling>=1.26"'))
    for name, (source, pins) in {
        "lowest": (project, lowest),
        "older": (older, ["hatchling==1.26.3"]),
    }.items():
        constraints = tmp_path / f"{name}.txt"
        constraints.write_text("\n".join(pins) + "\n")
        out = tmp_path / name
        sh(
            uv,
            "build",
            "-q",
            "--wheel",
            "--out-dir",
            out,
            "--build-constraint",
            constraints,
            source,
        )
        metadata = _metadata(next(out.glob("*.whl")))
        if name == "lowest":
            assert "License-Expression: BSD-3-Clause" in metadata
            assert "License-File: LICENSE" in metadata
        else:
            assert "License-Expression" not in metadata
