"""A migrated LUME-services package moved to the template's layout: its top-level package from
the project's root to src/ (each file a rename, so git's history follows it), its variables file
to src/PACKAGE/variables.yml, the old code's `os.path.join(os.path.dirname(__file__), "files",
"variables.yml")` pointed there, setuptools and MANIFEST.in on the new paths. Planned on the
migration's whole list of changes, after every other file was rewritten."""

from __future__ import annotations

import ast
import dataclasses
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._escape import python_string
from .._project import VARIABLES_FILE
from ._declared import Note
from ._lume_files import skipped, skipped_path
from ._plan import FileChange

SRC = "src"
_MANIFEST_PATHS = {"include": None, "exclude": None, "recursive-include": 1}
_MANIFEST_PATHS |= {"recursive-exclude": 1, "graft": 1, "prune": 1}
"""MANIFEST.in commands whose arguments are paths: all of them (None) or the first (1)."""


@dataclass(frozen=True)
class SrcMove:
    """The move of the package `top` (a folder at the project's root) under src/, and of its
    variables file `variables` to `package`/variables.yml (paths relative to the root)."""

    top: str
    package: str
    """The folder of the package that holds the model's new modules."""
    variables: str

    @property
    def new_variables(self) -> str:
        return f"{SRC}/{self.package}/{VARIABLES_FILE}"

    def moved(self, path: str) -> str:
        """Where `path` (relative to the root) is after the move."""
        if path == self.variables:
            return self.new_variables
        inside = path == self.top or path.startswith(self.top + "/")
        return f"{SRC}/{path}" if inside else path


@dataclass
class Relocated:
    """The migration's changes on the new layout, with notes and the wheel differences meant."""

    changes: list[FileChange]
    notes: list[Note] = field(default_factory=list)
    intended: set[tuple[str, str, str]] = field(default_factory=set)


def plan_move(
    root: Path, package_dir: Path, variables: Path, setuptools: dict[str, Any]
) -> SrcMove | str:
    """The move of the package holding `package_dir` under src/ (and `setuptools`, the
    `[tool.setuptools]` table, changed to find it there), or why it is not made."""
    top = package_dir
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    if top.parent != root:
        return "the package is not at the project's root"
    if (root / SRC).exists():
        return f"the project already has a {SRC}/ folder"
    others = sorted(
        p.name for p in root.iterdir() if p != top and p.is_dir() and (p / "__init__.py").is_file()
    )
    if others:
        return "the project has other top-level packages (" + ", ".join(others) + ")"
    taken = [
        k for k in ("package-dir", "py-modules", "ext-modules", "data-files") if k in setuptools
    ]
    if taken:
        return f"[tool.setuptools] has {taken[0]}, whose paths would move too"
    packages = setuptools.get("packages")
    find = packages.get("find") if isinstance(packages, dict) else None
    if isinstance(find, dict) and find.get("where") == ["."]:
        find["where"] = [SRC]
    elif isinstance(packages, list):
        setuptools["package-dir"] = {"": SRC}
    else:
        return "[tool.setuptools] packages are not found in the project's root folder"
    dotted = ".".join(package_dir.relative_to(root).parts)
    data = setuptools.setdefault("package-data", {})
    data[dotted] = [*data.get(dotted, []), VARIABLES_FILE]
    return SrcMove(
        top.name,
        package_dir.relative_to(root).as_posix(),
        variables.relative_to(root).as_posix(),
    )


def relocate(root: Path, changes: list[FileChange], move: SrcMove) -> Relocated:
    """`changes` on the new layout: every file under the package moved (rewritten where a
    change or the variables file's new path says so), MANIFEST.in's paths under src/."""
    by_path = {c.path: c for c in changes}
    out = Relocated([])
    files = _package_files(root, move.top, changes)
    rewritten: dict[str, str] = {}
    kept_copy = False
    for path in files:
        change = by_path.get(path)
        if not path.endswith(".py") or (change is not None and change.action in ("add", "remove")):
            continue  # the modules migrate adds read the variables file by its new path
        try:
            text = change.text if change is not None and change.text is not None else None
            text = text if text is not None else (root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        new, notes, reads_old = _point_at_variables(path, text, move)
        out.notes += notes
        kept_copy |= reads_old
        if new != text:
            rewritten[path] = new
    remaining = {c.path for c in changes if c.action != "remove"} | set(files)
    remaining -= {c.path for c in changes if c.action == "remove"}
    if not kept_copy:
        remaining.discard(move.variables)
    left = {f"{SRC}/{p}" for p in remaining if _inside(p, move.top)}
    for change in changes:
        if _inside(change.path, move.top):
            out.changes += _moved(root, change.path, change, rewritten, move, kept_copy, out)
        elif change.path == "MANIFEST.in":
            out.changes.append(_manifest(root, change, move, left) or change)
        else:
            out.changes.append(change)
    for path in files:
        if path not in by_path:
            out.changes += _moved(root, path, None, rewritten, move, kept_copy, out)
    if "MANIFEST.in" not in by_path:
        out.changes += [c for c in [_manifest(root, None, move, left)] if c is not None]
    out.notes += _old_paths_elsewhere(root, changes, move)
    out.notes.append(
        Note(
            f"{SRC}/{move.top}",
            0,
            f"the package, moved from {move.top}/ under {SRC}/ as the template lays it out",
            "git sees each file that keeps most of its text as renamed, so `git log --follow "
            f"FILE` shows its history; its variables file is now {move.new_variables}",
        )
    )
    return out


def _moved(
    root: Path,
    path: str,
    change: FileChange | None,
    rewritten: dict[str, str],
    move: SrcMove,
    kept_copy: bool,
    out: Relocated,
) -> list[FileChange]:
    """The change of the file at `path` under the package, on the new layout."""
    if change is not None and change.action == "remove":
        return [change]
    text = rewritten.get(path, change.text if change is not None else None)
    if change is not None and change.action == "add":
        return [FileChange(move.moved(path), "add", change.what, text)]
    what = "moved under src/" + (f": {change.what}" if change is not None else "")
    if path in rewritten:
        what += ("; " if change is not None else ": ") + "reads the variables file at its new path"
    if path != move.variables:
        return [FileChange(move.moved(path), "move", what, text, source=path)]
    new_data = move.new_variables.removeprefix(SRC + "/")
    if kept_copy:
        what = "moved under src/, kept for the code that reads it there" + (
            f"; {change.what}" if change is not None else ""
        )
        copy = text if text is not None else (root / path).read_text(encoding="utf-8")
        out.intended.add(("package data", "", new_data))
        return [
            FileChange(f"{SRC}/{path}", "move", what, text, source=path),
            FileChange(
                move.new_variables, "add", "the variables file, where the template has it", copy
            ),
        ]
    what = "the variables file, where the template has it" + (
        f"; {change.what}" if change is not None else ""
    )
    out.intended |= {("package data", path, ""), ("package data", "", new_data)}
    return [FileChange(move.new_variables, "move", what, text, source=path)]


def _old_paths_elsewhere(root: Path, changes: list[FileChange], move: SrcMove) -> list[Note]:
    """Notes on the strings of the project's other Python files (its tests) that name a path
    under the package's old folder."""
    notes = []
    written = {c.path: c.text for c in changes if c.text is not None}
    for path in sorted(root.glob("tests/**/*.py")):
        relative = path.relative_to(root).as_posix()
        if skipped_path(path.relative_to(root).parts):
            continue
        try:
            text = written.get(relative) or path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _inside(node.value.lstrip("./"), move.top)
            ):
                notes.append(
                    Note(
                        relative,
                        node.lineno,
                        f"names {node.value!r}, under the package's old folder",
                        f"kept; the package is now under {SRC}/ (and its variables file is "
                        f"{move.new_variables}): point it there",
                    )
                )
    return notes


def moved_note(note: Note, move: SrcMove) -> Note:
    """`note` naming the file where it is after the move."""
    return dataclasses.replace(note, file=move.moved(note.file))


def _inside(path: str, top: str) -> bool:
    return path.startswith(top + "/")


def _package_files(root: Path, top: str, changes: list[FileChange]) -> list[str]:
    """The files under the folder `top` (relative to the root): on disk, outside caches, and
    those the changes add."""
    found: set[str] = set()
    for folder, folders, names in os.walk(root / top):
        folders[:] = sorted(f for f in folders if not skipped(f, top=False))
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not name.endswith((".pyc", ".pyo")):
                found.add(path.relative_to(root).as_posix())
    found |= {c.path for c in changes if _inside(c.path, top)}
    return sorted(found)


def _point_at_variables(path: str, text: str, move: SrcMove) -> tuple[str, list[Note], bool]:
    """`text` of the module at `path` with each `os.path.join(os.path.dirname(__file__), ...)`
    of the variables file pointed at its new place; notes on the other references to it, and
    whether one reads it at its old place."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return text, [], False
    lines = text.splitlines(keepends=True)
    folder = posixpath.dirname(path)
    edits: list[tuple[int, int, int, str]] = []
    handled: set[int] = set()
    for node in ast.walk(tree):
        parts = _joined_from_here(node)
        if parts is None:
            continue
        target = posixpath.normpath(posixpath.join(folder, *(value for _, value in parts)))
        if target != move.variables:
            continue
        new = posixpath.relpath(f"{move.package}/{VARIABLES_FILE}", folder).split("/")
        first, last = parts[0][0], parts[-1][0]
        if first.lineno != last.end_lineno or last.end_col_offset is None:
            continue
        edits.append(
            (
                first.lineno,
                first.col_offset,
                last.end_col_offset,
                ", ".join(map(python_string, new)),
            )
        )
        handled |= {id(part) for part, _ in parts}
    notes: list[Note] = []
    reads_old = False
    name = posixpath.basename(move.variables)
    handled |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in handled
            and node.value.endswith(name)
            and "\n" not in node.value
        ):
            reads_old = True
            notes.append(
                Note(
                    move.moved(path),
                    node.lineno,
                    f"names the variables file ({node.value!r}) in a way migrate does not rewrite",
                    f"a copy is kept at {SRC}/{move.variables} for it; read "
                    f"{move.new_variables} instead (importlib.resources.files("
                    f"{move.package.replace('/', '.')!r}) / {VARIABLES_FILE!r}) and delete the copy",
                )
            )
    for line, start, end, replacement in sorted(edits, reverse=True):
        raw = lines[line - 1].encode("utf-8")
        lines[line - 1] = (raw[:start] + replacement.encode("utf-8") + raw[end:]).decode("utf-8")
    return "".join(lines), notes, reads_old


def _joined_from_here(node: ast.AST) -> list[tuple[ast.expr, str]] | None:
    """The parts after the first of `join(dirname(__file__), "a", os.pardir, "b")` (os.path's or
    path's), each with the path it names, or None for another call."""
    if not (isinstance(node, ast.Call) and _called(node.func) == "join") or node.keywords:
        return None
    if not node.args or not _is_here(node.args[0]):
        return None
    parts: list[tuple[ast.expr, str]] = []
    for arg in node.args[1:]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            parts.append((arg, arg.value))
        elif _called(arg) == "pardir":
            parts.append((arg, ".."))
        else:
            return None
    return parts or None


def _is_here(node: ast.expr) -> bool:
    """`dirname(__file__)` or `dirname(abspath(__file__))` (realpath too)."""
    if not (isinstance(node, ast.Call) and _called(node.func) == "dirname" and len(node.args) == 1):
        return False
    inner = node.args[0]
    if isinstance(inner, ast.Call) and _called(inner.func) in ("abspath", "realpath"):
        inner = inner.args[0] if len(inner.args) == 1 else inner
    return isinstance(inner, ast.Name) and inner.id == "__file__"


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _manifest(
    root: Path, change: FileChange | None, move: SrcMove, left: set[str]
) -> FileChange | None:
    """MANIFEST.in (as the migration left it) with the package's paths under src/, without the
    lines of folders that hold none of the package's files left (`left`) once the variables
    file has moved; None when nothing changes."""
    if change is not None and change.action == "remove":
        return None
    try:
        text = change.text if change is not None else None
        if text is None:
            path = root / "MANIFEST.in"
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines(keepends=True)
    dropped = 0
    for number, line in enumerate(lines):
        words = line.split()
        if not words or words[0] not in _MANIFEST_PATHS:
            continue
        count = _MANIFEST_PATHS[words[0]]
        paths = words[1:] if count is None else words[1 : 1 + count]
        moved = [f"{SRC}/{w}" if w == move.top or _inside(w, move.top) else w for w in paths]
        if moved == paths:
            continue
        rest = words[1 + len(paths) :]
        lines[number] = " ".join([words[0], *moved, *rest]) + "\n"
        if count == 1 and not any(_inside(p, moved[0]) for p in left):
            lines[number] = ""  # a folder the move left empty (the variables file's)
            dropped += 1
    new = "".join(lines)
    if new == text:
        return None
    what = (change.what + "; " if change is not None else "") + "its paths under src/"
    if dropped:
        what += ", without the folders left empty"
    return FileChange("MANIFEST.in", "modify", what, new)
