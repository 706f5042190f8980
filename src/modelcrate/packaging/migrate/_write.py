"""Writing a migration: the files of its plan put in place all together (each written beside
its file, then renamed), and in a git repository one commit on a new branch."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..._errors import MigrateError
from .._git import git
from ._plan import FileChange, MigrationPlan

BRANCH = "modelcrate-migrate"
T = TypeVar("T")
FALLBACK_IDENTITY = ("modelcrate", "modelcrate@localhost")


def check_clean(root: Path, repository: Path) -> None:
    """Refuse a project with uncommitted changes, or a repository whose branch is taken."""
    status = git("status", "--porcelain", "--", ".", cwd=root)
    if status.returncode != 0:
        raise MigrateError(f"{root}: git cannot read its state ({status.stderr.strip()})")
    if status.stdout.strip():
        first = status.stdout.splitlines()[0][3:]
        raise MigrateError(
            f"{root}: has uncommitted changes ({first}, ...); commit or stash them, then "
            "migrate again"
        )
    taken = git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", cwd=repository)
    if taken.returncode == 0:
        raise MigrateError(
            f"{repository}: the branch {BRANCH} already exists; delete it (git branch -D "
            f"{BRANCH}) or merge it, then migrate again"
        )


def apply_changes(plan: MigrationPlan, root: Path, then: Callable[[], T] | None = None) -> T | None:
    """Write the plan's files under `root`: every new text (and every moved file) beside its
    file first, then each moved into place, then the removals and the moved files' old paths,
    and the folders they leave empty; then `then` (the commit), whose result is returned. On
    any exception (an interrupt too) what was written is undone, each file as it was, and the
    exception raised again; a `MigrateError` saying how to recover when that cannot be done."""
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []  # folders made for new files (a project's first tests/), innermost last
    try:
        for change in plan.changes:
            if change.text is None and change.action != "move":
                continue
            target = root / change.path
            missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made.append(folder)
            temporary = target.with_name(f".{target.name}.migrate.tmp")
            staged.append((temporary, target))
            source = root / change.source if change.source is not None else target
            if change.text is None:
                shutil.copy2(source, temporary)
            else:
                temporary.write_text(change.text, encoding="utf-8")
                if source.exists():
                    shutil.copymode(source, temporary)
    except BaseException:
        _undo(root, staged, [], made)
        raise
    done: list[tuple[Path, Path | None]] = []  # each file put in place, and its old text's copy
    try:
        for temporary, target in staged:
            kept = _keep(target)
            done.append((target, kept))
            os.replace(temporary, target)
        for change in plan.changes:
            gone = change.path if change.action == "remove" else change.source
            if change.action in ("remove", "move") and gone is not None:
                path = root / gone
                if path.exists() and not any(path == t for t, _ in done):
                    kept = _keep(path)
                    done.append((path, kept))
                    path.unlink()
        result = then() if then is not None else None
    except BaseException as exc:
        left = _undo(root, staged, done, made)
        if left:
            raise MigrateError(
                f"{root}: the migration stopped ({type(exc).__name__}) and could not undo "
                f"everything: {', '.join(left)}; restore each from its .NAME.migrate.old copy "
                "beside it (or with git checkout), and delete the .migrate.tmp files"
            ) from None
        raise
    for _, kept in done:
        if kept is not None:
            kept.unlink(missing_ok=True)
    _remove_emptied(root, {p.parent for p, _ in done if not p.exists()})
    return result


def _keep(path: Path) -> Path | None:
    """A copy of the file at `path` beside it (a hard link where it can), to put back if the
    migration is undone; None when there is no file."""
    if not path.is_file():
        return None
    kept = path.with_name(f".{path.name}.migrate.old")
    kept.unlink(missing_ok=True)
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept


def _undo(
    root: Path,
    staged: list[tuple[Path, Path]],
    done: list[tuple[Path, Path | None]],
    made: list[Path],
) -> list[str]:
    """Put back what `apply_changes` wrote: each file as it was, no temporary files, no new
    folders; the paths (under `root`) that could not be put back."""
    left: list[str] = []
    for path, kept in reversed(done):
        try:
            if kept is not None:
                os.replace(kept, path)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            left.append(path.relative_to(root).as_posix())
    for temporary, _ in staged:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()
    return left


def _remove_emptied(root: Path, folders: set[Path]) -> None:
    """Remove the folders (below `root`) that moving files out of left empty, or holding
    only the bytecode of the modules that left."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and folder.is_relative_to(root) and folder.is_dir():
            cache = folder / "__pycache__"
            only_cache = [p.name for p in folder.iterdir()] == [cache.name]
            if only_cache and all(p.suffix == ".pyc" for p in cache.iterdir()):
                shutil.rmtree(cache, ignore_errors=True)
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def apply_in_place(
    plan: MigrationPlan, root: Path, repository: Path | None
) -> tuple[str | None, str | None]:
    """Write the plan in the project itself: on a new branch with one commit in a git
    repository (the branch and commit), else just the files. When it stops half way, the files
    are put back, and the repository back on its branch without the new one."""
    if repository is None:
        apply_changes(plan, root)
        return None, None
    head = git("symbolic-ref", "-q", "--short", "HEAD", cwd=root)
    original = head.stdout.strip() if head.returncode == 0 else ""
    original = original or git("rev-parse", "HEAD", cwd=root).stdout.strip()
    done = git("checkout", "-q", "-b", BRANCH, cwd=root)
    if done.returncode != 0:
        raise MigrateError(f"{root}: cannot create the branch {BRANCH}: {done.stderr.strip()}")
    try:
        committed = apply_changes(plan, root, lambda: commit_changes(repository, root, plan))
    except BaseException:
        _back_to(root, original)
        raise
    assert committed is not None
    return committed


def _back_to(root: Path, original: str) -> None:
    """The repository back on `original` without the branch the migration made (when nothing
    was committed on it); a `MigrateError` saying how when it cannot be done."""
    back = git("checkout", "-q", original, cwd=root)
    if back.returncode == 0 and git("rev-parse", "HEAD", cwd=root).returncode == 0:
        unmerged = git("rev-list", "--count", f"{original}..{BRANCH}", cwd=root).stdout.strip()
        if unmerged == "0" and git("branch", "-q", "-D", BRANCH, cwd=root).returncode == 0:
            return
    raise MigrateError(
        f"{root}: the migration stopped half way and git could not go back to {original}; run "
        f"`git checkout {original} && git branch -D {BRANCH}` there (after `git status`)"
    ) from None


def commit_changes(repository: Path, root: Path, plan: MigrationPlan) -> tuple[str, str]:
    """Create the branch (if not on it) and commit the plan's files; the branch and commit."""
    current = git("rev-parse", "--abbrev-ref", "HEAD", cwd=repository).stdout.strip()
    if current != BRANCH:
        git("checkout", "-q", "-b", BRANCH, cwd=repository)
    paths = [str(root / p) for p in plan.touched]
    git("add", "-A", "-f", "--", *paths, cwd=repository)  # a subpackage its .gitignore names too
    identity: list[str] = []
    if git("config", "user.email", cwd=repository).returncode != 0:
        name, email = FALLBACK_IDENTITY
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    done = git(*identity, "commit", "-q", "-F", "-", cwd=repository, stdin=_message(plan))
    if done.returncode != 0:
        raise MigrateError(
            f"{repository}: git could not commit the migration: {done.stderr.strip()}"
        )
    commit = git("rev-parse", "--short", "HEAD", cwd=repository).stdout.strip()
    return BRANCH, commit


def _message(plan: MigrationPlan) -> str:
    lines = [
        "Move the packaging from setup.py and setup.cfg to pyproject.toml",
        "",
        "Made by `modelcrate migrate`:",
        *(f"- {c.action} {_named(c)}: {c.what}" for c in plan.changes),
    ]
    if plan.notes:
        lines += ["", "Not carried over as it was:", *(f"- {note}" for note in plan.notes)]
    return "\n".join(lines) + "\n"


def _named(change: FileChange) -> str:
    return f"{change.source} -> {change.path}" if change.source is not None else change.path
