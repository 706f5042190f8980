"""A LUME-services package's files as the migration reads them: its modules that parse, the
names of the project's files, and notes on the files its code or MANIFEST.in names that are not
there."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path

from ._declared import Note

TOP_LEVEL_SKIPPED = frozenset({"build", "dist", "venv", ".venv", ".tox", ".nox", "node_modules"})
"""Folders at the project's top level the migration never reads, copies or moves: builds and
environments. Deeper down a folder of these names is the project's own (a subpackage `dist`)."""
SKIPPED = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
"""Folders the migration never reads, copies or moves at any depth: git's and caches (and
`*.egg-info`)."""


def skipped(name: str, *, top: bool) -> bool:
    """Whether the migration leaves out the folder `name`; `top` when it is at the project's
    top level."""
    return name in SKIPPED or name.endswith(".egg-info") or (top and name in TOP_LEVEL_SKIPPED)


def skipped_path(parts: tuple[str, ...]) -> bool:
    """Whether a path (its parts relative to the project's root) is inside a folder the
    migration leaves out."""
    return any(skipped(part, top=i == 0) for i, part in enumerate(parts[:-1]))


def left_behind(*tops: Path) -> Callable[[str, list[str]], set[str]]:
    """A `shutil.copytree` ignore that leaves out the folders the migration skips but git's
    (a copy keeps its history), `tops` being the folders whose top-level builds and
    environments are left out too."""
    top_folders = {os.path.normpath(t) for t in tops}

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = os.path.normpath(folder) in top_folders
        return {
            n
            for n in names
            if n != ".git" and skipped(n, top=top) and os.path.isdir(os.path.join(folder, n))
        }

    return ignore


def first_symlink(root: Path) -> Path | None:
    """The first symbolic link (to a file or a folder) among the project's files, outside the
    folders the migration never reads or copies; None when there is none."""
    for folder, folders, names in os.walk(root):
        here = Path(folder)
        folders[:] = sorted(f for f in folders if not skipped(f, top=here == root))
        for name in sorted([*folders, *names]):
            if (here / name).is_symlink():
                return here / name
    return None


_DATA_SUFFIXES = (
    ".pt",
    ".pth",
    ".h5",
    ".hdf5",
    ".onnx",
    ".pkl",
    ".pickle",
    ".joblib",
    ".npy",
    ".npz",
    ".csv",
    ".json",
    ".yml",
    ".yaml",
    ".txt",
    ".dat",
    ".keras",
    ".sav",
)


def package_modules(root: Path, package_dir: Path) -> list[tuple[Path, str, ast.Module]]:
    """The package's Python files that read and parse (the others are noted by the build, or
    by the user's own tests), with their text and syntax tree, outside environments and
    caches."""
    found = []
    for folder, folders, names in os.walk(package_dir):
        folders[:] = sorted(f for f in folders if not skipped(f, top=Path(folder) == root))
        for name in sorted(names):
            path = Path(folder) / name
            if not name.endswith(".py") or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
                found.append((path, text, ast.parse(text)))
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
                continue
    return found


def project_files(root: Path) -> set[str]:
    """The names of the project's files, outside git's folder, environments and caches."""
    names: set[str] = set()
    for folder, folders, files in os.walk(root):
        folders[:] = [f for f in folders if not skipped(f, top=Path(folder) == root)]
        names.update(files)
    return names


def missing_in_manifest(root: Path) -> list[Note]:
    """Files and folders MANIFEST.in names (without wildcards) that are not in the project."""
    path = root / "MANIFEST.in"
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    except (OSError, UnicodeDecodeError):
        return []
    notes = []
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0] not in ("include", "recursive-include", "graft"):
            continue
        named = words[1:] if words[0] == "include" else words[1:2]
        for word in named:
            if not any(c in word for c in "*?[") and not (root / word).exists():
                notes.append(
                    Note(
                        "MANIFEST.in",
                        number,
                        f"names {word!r}, which is not in the repository",
                        "kept; add it, or take the line out",
                    )
                )
    return notes


def missing_files(root: Path, package_dir: Path) -> list[Note]:
    """Data files the package's code names (a string ending in a data suffix) that are nowhere
    in the project."""
    present = project_files(root)
    notes = []
    for path, _, tree in package_modules(root, package_dir):
        named = {
            (node.value.rsplit("/", 1)[-1], node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "\n" not in node.value
            and node.value.lower().endswith(_DATA_SUFFIXES)
        }
        for name, line in sorted(named, key=lambda item: item[1]):
            if name not in present:
                notes.append(
                    Note(
                        path.relative_to(root).as_posix(),
                        line,
                        f"names the file {name!r}, which is not in the repository",
                        "add it (or have the code fetch it) before the model can run",
                    )
                )
    return notes
