"""`inspect_wheel`: what a built wheel holds, and what should or should not be in it.

Warnings: tests, compiled caches, files that look like secrets, large files not declared as data
(`[tool.modelcrate] data` in pyproject.toml). Errors (a model that cannot work once installed):
no variables file, no `modelcrate.models` or `modelcrate.flows` entry point, or one naming a module
or name the wheel does not define, a declared license without its file.
"""

from __future__ import annotations

import ast
import configparser
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypedDict

from .._errors import ProjectError
from ..runtime import FLOWS_GROUP, MODELS_GROUP
from ._project import VARIABLES_FILE, reference_package

LARGE_FILE_BYTES = 5 * 1024 * 1024
"""Files above this size get a warning unless `[tool.modelcrate] data` declares them."""

_SCANNED_BYTES = 1024 * 1024  # files up to this size are searched for private keys
_TEST_FOLDERS = {"tests", "test"}
_SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".pypirc",
    ".netrc",
    "credentials*.json",
)
_NOT_SECRET_NAMES = ("*.pub", ".env.example", ".env.sample", ".env.template")
_SECRET_TEXT = (
    (re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), "a private key"),
    # The name alone appears in documentation; a value assigned to it is a leaked key.
    (re.compile(rb"AWS_SECRET_ACCESS_KEY\s*[=:]\s*[\"']?[A-Za-z0-9/+=]{20,}"), "an AWS secret key"),
)
_LICENSE_NAMES = ("LICEN[CS]E*", "COPYING*", "NOTICE*")

Level = Literal["warning", "error"]


class ProblemDict(TypedDict):
    """A `Problem` in a report's JSON: the path inside the wheel (None if none) and the message."""

    path: str | None
    message: str


class WheelFileDict(TypedDict):
    """A `WheelFile` in a report's JSON."""

    path: str
    size: int


class WheelContentsDict(TypedDict):
    """What a wheel holds, as its JSON report shows it: the files, their total size, the entry
    points, license files and metadata, and its problems split into warnings and errors."""

    files: list[WheelFileDict]
    size: int
    entry_points: dict[str, dict[str, str]]
    license_files: list[str]
    metadata: dict[str, Any]
    warnings: list[ProblemDict]
    errors: list[ProblemDict]


class WheelReportDict(WheelContentsDict):
    """`WheelReport.to_dict()`: the wheel's path and what it holds."""

    path: str


@dataclass(frozen=True)
class Problem:
    """One finding about a wheel: a `warning` (should not be there) or an `error` (missing)."""

    level: Level
    message: str
    path: str | None = None


@dataclass(frozen=True)
class WheelFile:
    """A file in a wheel: its path inside the archive and its (uncompressed) size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class WheelReport:
    """What `inspect_wheel` found: files, entry points, license files, METADATA, problems."""

    path: Path
    files: tuple[WheelFile, ...]
    entry_points: dict[str, dict[str, str]]
    license_files: tuple[str, ...]
    metadata: dict[str, Any]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "warning")

    @property
    def size(self) -> int:
        """Total uncompressed size of the files."""
        return sum(f.size for f in self.files)

    def to_dict(self) -> WheelReportDict:
        """The report as JSON-ready data."""
        return {
            "path": str(self.path),
            "files": [{"path": f.path, "size": f.size} for f in self.files],
            "size": self.size,
            "entry_points": self.entry_points,
            "license_files": list(self.license_files),
            "metadata": self.metadata,
            "warnings": [_problem_dict(p) for p in self.warnings],
            "errors": [_problem_dict(p) for p in self.errors],
        }


def _problem_dict(problem: Problem) -> ProblemDict:
    return {"path": problem.path, "message": problem.message}


@dataclass(frozen=True)
class WheelMetadata:
    """What a wheel's dist-info says (its METADATA fields as `packaging.metadata` names them,
    and its entry points by group), and the files the wheel holds."""

    path: Path
    files: tuple[WheelFile, ...]
    dist_info: str
    metadata: dict[str, Any]
    entry_points: dict[str, dict[str, str]]


_UNREADABLE = (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error)
"""What reading a damaged, encrypted or oddly compressed zip archive raises."""


def read_wheel(path: str | Path) -> WheelMetadata:
    """A wheel's files, METADATA and entry points, reading its dist-info alone; a
    `ProjectError` naming the wheel when it cannot be read."""
    wheel = Path(path)
    with _reading(wheel) as archive:
        return _read_dist_info(wheel, archive)


def inspect_wheel(path: str | Path, *, data: Sequence[str] = ()) -> WheelReport:
    """List a wheel's files and entry points and report what should not be in it or is missing.

    `data` are glob patterns (paths inside the wheel) of large files that belong there on purpose.
    """
    wheel = Path(path)
    with _reading(wheel) as archive:
        read = _read_dist_info(wheel, archive)
        infos = [i for i in archive.infolist() if not i.is_dir()]
        texts = {i.filename: archive.read(i) for i in infos if i.file_size <= _SCANNED_BYTES}
    files, dist_info, metadata = read.files, read.dist_info, read.metadata
    entry_points = read.entry_points
    license_files = tuple(f.path for f in files if _is_license_file(f.path, dist_info))

    problems = [
        *_unwanted(files, texts, dist_info, tuple(data)),
        *_missing(files, entry_points, license_files, metadata, dist_info, texts),
    ]
    return WheelReport(wheel, files, entry_points, license_files, metadata, tuple(problems))


@contextmanager
def _reading(wheel: Path) -> Iterator[zipfile.ZipFile]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            yield archive
    except _UNREADABLE as exc:
        raise ProjectError(
            f"{wheel}: cannot read the wheel ({' '.join(str(exc).split()) or type(exc).__name__}); "
            "build it again"
        ) from None


def _read_dist_info(wheel: Path, archive: zipfile.ZipFile) -> WheelMetadata:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    dist_info = _dist_info(wheel, infos)
    names = {i.filename for i in infos}
    points = f"{dist_info}/entry_points.txt"
    return WheelMetadata(
        wheel,
        tuple(WheelFile(i.filename, i.file_size) for i in infos),
        dist_info,
        _metadata(archive.read(f"{dist_info}/METADATA")),
        _entry_points(archive.read(points) if points in names else b"", wheel),
    )


def _dist_info(wheel: Path, infos: list[zipfile.ZipInfo]) -> str:
    found = {
        i.filename.split("/")[0]
        for i in infos
        if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")
    }
    if len(found) != 1:
        raise ProjectError(
            f"{wheel}: not a wheel (expected one *.dist-info/METADATA, found {len(found)}); "
            "build it again"
        )
    return found.pop()


def _metadata(raw: bytes) -> dict[str, Any]:
    from packaging.metadata import parse_email

    parsed, _unparsed = parse_email(raw.decode("utf-8", errors="replace"))
    return dict(parsed)


def _entry_points(raw: bytes, wheel: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(raw.decode("utf-8", errors="replace"))
    except configparser.Error as exc:
        raise ProjectError(f"{wheel}: entry_points.txt cannot be read ({exc})") from None
    return {group: dict(parser[group]) for group in parser.sections()}


def _is_license_file(path: str, dist_info: str) -> bool:
    """License files: under *.dist-info/licenses/ (metadata 2.4), or named so in *.dist-info/."""
    if path.startswith(f"{dist_info}/licenses/"):
        return True
    parent, _, name = path.rpartition("/")
    return parent == dist_info and any(fnmatch(name, p) for p in _LICENSE_NAMES)


# -- what should not be there ---------------------------------------------------------------------


def _unwanted(
    files: tuple[WheelFile, ...], texts: dict[str, bytes], dist_info: str, data: tuple[str, ...]
) -> list[Problem]:
    problems: list[Problem] = []
    payload = [f for f in files if not f.path.startswith(f"{dist_info}/")]

    test_folders: dict[str, int] = {}
    compiled: list[str] = []
    for f in payload:
        parts = PurePosixPath(f.path).parts
        name = parts[-1]
        folder = next((i for i, part in enumerate(parts[:-1]) if part in _TEST_FOLDERS), None)
        if folder is not None:
            key = "/".join(parts[: folder + 1]) + "/"
            test_folders[key] = test_folders.get(key, 0) + 1
        elif fnmatch(name, "test_*.py") or fnmatch(name, "*_test.py") or name == "conftest.py":
            problems.append(
                Problem(
                    "warning",
                    f"{f.path} looks like a test module: tests belong in the project's tests/ "
                    "folder, outside the package",
                    f.path,
                )
            )
        if "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
            compiled.append(f.path)
    for test_folder, count in test_folders.items():
        problems.append(
            Problem(
                "warning",
                f"{test_folder} ({count} file{'s' if count != 1 else ''}) is a test folder inside "
                "the package: move it to the project's tests/ folder",
                test_folder,
            )
        )
    if compiled:
        problems.append(
            Problem(
                "warning",
                f"{len(compiled)} compiled Python file{'s' if len(compiled) != 1 else ''} "
                f"(__pycache__, .pyc) in the wheel, e.g. {compiled[0]}: delete them and keep them "
                "out with `__pycache__/` and `*.py[cod]` in .gitignore",
                compiled[0],
            )
        )

    for f in files:
        reason = _secret(f.path, texts.get(f.path))
        if reason:
            problems.append(
                Problem(
                    "warning",
                    f"{f.path} looks like {reason}: anyone who installs the wheel can read it; "
                    "remove it from the package and revoke the secret if it was ever published",
                    f.path,
                )
            )

    for f in payload:
        if f.size > LARGE_FILE_BYTES and not any(fnmatch(f.path, p) for p in data):
            problems.append(
                Problem(
                    "warning",
                    f"{f.path} is large ({format_size(f.size)}): if the model needs it, declare it "
                    f'in pyproject.toml as [tool.modelcrate] data = ["{f.path}"]; '
                    "otherwise remove it",
                    f.path,
                )
            )
    for pattern in data:
        if not any(fnmatch(f.path, pattern) for f in payload):
            problems.append(
                Problem(
                    "warning",
                    f"[tool.modelcrate] data pattern {pattern!r} matches no file in the wheel: "
                    "fix the pattern (a path inside the wheel, e.g. my_model/weights/*.onnx) "
                    "or add the file to the package",
                )
            )
    return problems


def _secret(path: str, text: bytes | None) -> str | None:
    """What a file looks like if it looks like a secret, from its name or its text."""
    name = PurePosixPath(path).name
    if any(fnmatch(name, p) for p in _SECRET_NAMES) and not any(
        fnmatch(name, p) for p in _NOT_SECRET_NAMES
    ):
        return "a secret (by its name)"
    for pattern, what in _SECRET_TEXT:
        if text is not None and pattern.search(text):
            return f"a secret (it contains {what})"
    return None


# -- what must be there ---------------------------------------------------------------------------


def _missing(
    files: tuple[WheelFile, ...],
    entry_points: dict[str, dict[str, str]],
    license_files: tuple[str, ...],
    metadata: dict[str, Any],
    dist_info: str,
    texts: dict[str, bytes],
) -> list[Problem]:
    problems: list[Problem] = []
    paths = {f.path for f in files}
    dist_name = str(metadata.get("name") or dist_info.split("-")[0])
    package = dist_name.replace("-", "_").replace(".", "_").lower()

    for group, example in ((MODELS_GROUP, "model:MyModel"), (FLOWS_GROUP, "flow:my_flow")):
        if not entry_points.get(group):
            problems.append(
                Problem(
                    "error",
                    f"the wheel has no `{group}` entry point: add it to pyproject.toml, e.g. "
                    f'[project.entry-points."{group}"] {dist_name} = "{package}.{example}"',
                )
            )
            continue
        for name, value in entry_points[group].items():
            module, _, attribute = (part.strip() for part in value.partition(":"))
            if module and not _has_module(paths, module):
                problems.append(
                    Problem(
                        "error",
                        f"entry point {group} {name} = {value}: the wheel has no module {module}; "
                        "fix the name in pyproject.toml [project.entry-points]",
                    )
                )
                continue
            source = texts.get(module.replace(".", "/") + ".py")
            wanted = attribute.split(".")[0].strip()
            if wanted and source is not None and not _may_define(source, wanted):
                problems.append(
                    Problem(
                        "error",
                        f"entry point {group} {name} = {value}: {module} defines no {wanted}; "
                        "fix the name in pyproject.toml [project.entry-points]",
                    )
                )

    packages = sorted(
        {
            reference_package(
                v.partition(":")[0].strip(),
                lambda folder: any(p.startswith(folder + "/") for p in paths),
            ).replace(".", "/")
            for v in entry_points.get(MODELS_GROUP, {}).values()
        }
        or {p.split("/")[0] for p in paths if p.count("/") == 1 and p.endswith("/__init__.py")}
    )
    for top in packages:
        if f"{top}/{VARIABLES_FILE}" not in paths:
            problems.append(
                Problem(
                    "error",
                    f"the wheel has no {top}/{VARIABLES_FILE} (the model's inputs and outputs): "
                    f"put the variables file at src/{top}/{VARIABLES_FILE}",
                    f"{top}/{VARIABLES_FILE}",
                )
            )

    declared = metadata.get("license_expression") or metadata.get("license")
    license_declared = declared and str(declared).strip().upper() not in ("UNKNOWN", "NONE")
    if license_declared and not license_files:
        problems.append(
            Problem(
                "error",
                f"the wheel declares the license {str(declared).splitlines()[0]} but ships no "
                "license file: put LICENSE in the project folder (pyproject.toml "
                'license-files = ["LICENSE"])',
            )
        )
    for listed in metadata.get("license_files", []):
        # metadata 2.4 puts them under licenses/; older backends at the top of the dist-info
        places = {f"{dist_info}/licenses/{listed}", f"{dist_info}/{listed}"}
        places.add(f"{dist_info}/{PurePosixPath(listed).name}")
        if not places & paths and license_files:
            problems.append(
                Problem(
                    "error",
                    f"METADATA lists the license file {listed} but the wheel does not ship it",
                )
            )
    return problems


def _may_define(source: bytes, name: str) -> bool:
    """Whether a module's source defines (or may define) the top-level `name`: by a class,
    function, assignment or import, also under a top-level `if` or `try`; a star import, a
    module `__getattr__` or source that does not parse count as maybe."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True

    def defines(statements: list[ast.stmt]) -> bool:
        for node in statements:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name in (name, "__getattr__"):
                    return True
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if alias.name == "*" or bound == name:
                        return True
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                        return True
            elif isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
                blocks = [getattr(node, f, []) for f in ("body", "orelse", "finalbody")]
                blocks += [h.body for h in getattr(node, "handlers", [])]
                if any(defines(block) for block in blocks):
                    return True
        return False

    return defines(tree.body)


def _has_module(paths: set[str], module: str) -> bool:
    """Whether the wheel holds `module` as source, a package, or a compiled extension."""
    base = module.replace(".", "/")
    return bool({f"{base}.py", f"{base}/__init__.py"} & paths) or any(
        p.startswith(f"{base}.") and p.endswith((".so", ".pyd")) for p in paths
    )


def format_size(size: int) -> str:
    """A size for people: `386 B`, `2.4 KiB`, `5.1 MiB`."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
