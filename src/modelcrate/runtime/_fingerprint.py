"""What code a model runs: a fingerprint of its package's files, and whether they hold changes
not yet committed to git. Both are worked out once per process per package."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger("modelcrate.runtime")

SKIPPED_DIRECTORIES = frozenset({"__pycache__", "build", "dist", "results"})
"""Folders of a package that hold what tools or runs write, not the model's code or data
(unless one holds an `__init__.py`: then it is a subpackage of that name)."""
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".dist-info", ".db", ".sqlite")
"""Files (and folders) of these kinds are generated (compiled code, metadata, result stores)."""
_SKIPPED_PARTS = ("-journal", "-wal", "-shm")  # what SQLite writes beside a result store
_GIT_TIMEOUT = 10.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CodeFingerprint:
    """The code a model class runs: `fingerprint` is the SHA-256 of its package's files (None
    when its source is nowhere on disk); `dirty` says whether those files differ from the git
    commit they were checked out from (None when they are not in a git work tree, or git is not
    there to tell)."""

    fingerprint: str | None
    dirty: bool | None = None
    files: int = 0
    """How many files went into the fingerprint."""


def code_fingerprint(model: object) -> CodeFingerprint:
    """The fingerprint of the code of a model (an instance or its class), worked out the first
    time it is asked for in a process and remembered."""
    cls = model if isinstance(model, type) else type(model)
    return _of_class(cls)


@functools.lru_cache(maxsize=256)
def _of_class(cls: type) -> CodeFingerprint:
    try:
        root, single = _code_location(cls)
        extra = _spec_file(cls)
        return _of_files(root, tuple(sorted({p for p in (single, extra) if p is not None})))
    except (OSError, RuntimeError, ValueError) as exc:  # a link loop, say: never fail a run
        log.warning("cannot fingerprint the code of %s: %s", cls.__qualname__, exc)
        return CodeFingerprint(None)


def _code_location(cls: type) -> tuple[Path | None, Path | None]:
    """(the folder of the outermost regular package that holds the class's module, or None;
    the module's own file when it is in no such package, or None)."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        package = sys.modules.get(".".join(parts[:end]))
        init = _file_of(package)
        if init is not None and init.name == "__init__.py" and hasattr(package, "__path__"):
            return init.parent, None
    return None, _file_of(sys.modules.get(cls.__module__))


def _file_of(module: ModuleType | None) -> Path | None:
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None
    path = Path(file)
    try:
        return path.resolve() if path.is_file() else None
    except OSError:
        return None


def _spec_file(cls: type) -> Path | None:
    """The variables file the class's spec was loaded from, when it is a file on disk."""
    spec = getattr(cls, "spec", None)
    source = getattr(spec, "source", None)
    if not isinstance(source, str) or source.startswith("<"):
        return None
    try:
        path = Path(source).resolve()
        return path if path.is_file() else None
    except OSError:
        return None


@functools.lru_cache(maxsize=64)
def _of_files(root: Path | None, extra: tuple[Path, ...]) -> CodeFingerprint:
    """The fingerprint of the files under `root` (generated ones left out) plus `extra`."""
    named: dict[str, Path] = {}
    if root is not None:
        for path in package_files(root):
            named[path.relative_to(root).as_posix()] = path
    for path in extra:
        if root is None or not path.is_relative_to(root):
            named[f"@/{path.name}"] = path  # outside the package: by name, not where it is
    if not named:
        return CodeFingerprint(None)
    digest = hashlib.sha256()
    for name in sorted(named):
        content = _file_digest(named[name])
        if content is None:  # a pipe, a device or a socket: not code or data
            del named[name]
            continue
        label = name.encode("utf-8", "surrogateescape")
        digest.update(len(label).to_bytes(8, "big") + label + content)
    if not named:
        return CodeFingerprint(None)
    where = ([root] if root is not None else []) + [
        p for p in extra if named.get(f"@/{p.name}") == p
    ]
    return CodeFingerprint(digest.hexdigest(), _git_dirty(where, root), len(named))


def package_files(root: Path) -> list[Path]:
    """The files of a package folder that make its code and data, in a fixed order: hidden and
    generated files and folders (see `SKIPPED_DIRECTORIES`, `SKIPPED_SUFFIXES`) left out."""
    found: list[Path] = []
    for folder, directories, files in os.walk(root, onerror=_log_walk_error):
        directories[:] = sorted(
            d for d in directories if not _skipped(d, directory=Path(folder, d))
        )
        found += [Path(folder, f) for f in sorted(files) if not _skipped(f, directory=None)]
    return found


def _skipped(name: str, *, directory: Path | None) -> bool:
    """Whether a file (`directory` None) or the folder `directory` called `name` is left out."""
    if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
        return True
    if directory is not None:
        return name in SKIPPED_DIRECTORIES and not (directory / "__init__.py").is_file()
    return any(name.endswith(s + p) for s in (".db", ".sqlite") for p in _SKIPPED_PARTS)


def _log_walk_error(error: OSError) -> None:
    log.debug("fingerprint: cannot list %s (%s)", error.filename, error.strerror)


def _file_digest(path: Path) -> bytes | None:
    """SHA-256 of a file's bytes, or None when it is not a regular file (a named pipe or a
    device is never read: it could block or never end); a file that cannot be read counts as
    its error's name, so a run never fails because of the fingerprint."""
    digest = hashlib.sha256()
    try:
        # Opened without blocking (a pipe with no writer would wait), then told apart.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                log.debug("fingerprint: %s is not a regular file; left out", path)
                return None
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        log.debug("fingerprint: cannot read %s (%s)", path, exc.strerror)
        return hashlib.sha256(f"unreadable: {type(exc).__name__}".encode()).digest()
    return digest.digest()


def _work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding `path` (without running git), or None; an
    installed package (under site-packages) is in none, whatever folder the environment is in."""
    if any(part in ("site-packages", "dist-packages") for part in path.parts):
        return None
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _git_dirty(paths: list[Path], root: Path | None) -> bool | None:
    """Whether git reports uncommitted changes (untracked files included) to the fingerprinted
    files among `paths`: one `git status` for the whole package; None when unknown."""
    top = _work_tree(paths[0] if paths[0].is_dir() else paths[0].parent)
    git = shutil.which("git") if top is not None else None
    if top is None or git is None:
        return None
    inside = [p.relative_to(top).as_posix() or "." for p in paths if p.is_relative_to(top)]
    # No file-system monitor: a command the repository's config names, which may hang (or do
    # anything); git finds the changes without it.
    command = [git, "--no-optional-locks", "-c", "core.fsmonitor=false", "status", "--porcelain"]
    command += ["-z"]
    command += ["--untracked-files=all", "--", *(f":(literal){p}" for p in inside)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            command,
            cwd=top,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("fingerprint: git status failed in %s (%s)", top, exc)
        return None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        log.debug("fingerprint: git status failed in %s (%s)", top, message[:1])
        return None
    return any(_counts(top / name, root) for name in _changed(done.stdout))


def _changed(output: bytes) -> Iterable[str]:
    """The paths (relative to the work tree) that `git status --porcelain -z` names."""
    entries = iter(output.split(b"\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        yield os.fsdecode(entry[3:])
        if entry[:1] in (b"R", b"C"):  # a rename or copy: its old path follows
            old = next(entries, b"")
            if old:
                yield os.fsdecode(old)


def _counts(path: Path, root: Path | None) -> bool:
    """Whether a changed path is one the fingerprint reads (not hidden, not generated)."""
    if root is None or not path.is_relative_to(root):
        return True
    parts = path.relative_to(root).parts
    folders = [root.joinpath(*parts[: i + 1]) for i in range(len(parts) - 1)]
    if any(_skipped(folder.name, directory=folder) for folder in folders):
        return False
    return not _skipped(parts[-1], directory=None) if parts else True
