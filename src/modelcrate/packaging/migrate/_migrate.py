"""`migrate`: an old setup.py / setup.cfg package into a pyproject.toml package. Planned from what
the old files declare (read, never run), checked by building both wheels, then written in place
on a new git branch with one commit, or into a copy of the project."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import tomlkit

from ..._errors import MigrateError
from .._git import git, git_available, git_toplevel
from .._project import PYPROJECT
from ._declared import Declared, NoteDict
from ._document import (
    check_pyproject,
    keep_build_requires,
    parse_back,
    pyproject_summary,
    pyproject_text,
    read_pyproject_document,
)
from ._kept_setup import KEPT_MARK, kept_setup_py
from ._lume import lume_changes
from ._lume_files import first_symlink, left_behind
from ._lume_layout import moved_note, relocate
from ._manifest import manifest_notes
from ._parity import Parity, ParityDict, check_parity
from ._plan import FileChange, FileChangeDict, MigrationPlan
from ._pyproject import translate
from ._requirements import split_tokens, unread_requirement_files
from ._setup_cfg import SETUP_CFG, Section, is_setup_section, read_setup_cfg
from ._setup_py import SETUP_PY, read_setup_py
from ._tool_tables import ToolTables, tool_tables
from ._versioneer import remove_versioneer, tag_prefix
from ._write import apply_changes, apply_in_place, check_clean, commit_changes


class MigratedDict(TypedDict):
    """`Migrated.to_dict()`: what `modelcrate migrate --json` prints."""

    project: str
    already_migrated: bool
    written: bool
    destination: str | None
    branch: str | None
    commit: str | None
    changes: list[FileChangeDict]
    notes: list[NoteDict]
    parity: ParityDict | None


@dataclass(frozen=True)
class Migrated:
    """What `migrate_project` did: the plan, where it was written (None for a dry run, for an
    already migrated project, or when the wheels differ and that was not accepted), the wheel
    comparison, and the branch and commit made."""

    plan: MigrationPlan
    destination: Path | None = None
    parity: Parity | None = None
    branch: str | None = None
    commit: str | None = None

    @property
    def applied(self) -> bool:
        return self.destination is not None

    def to_dict(self) -> MigratedDict:
        """The migration as JSON-ready data."""
        plan = self.plan
        return {
            "project": str(plan.project),
            "already_migrated": plan.already_migrated,
            "written": self.applied,
            "destination": str(self.destination) if self.destination else None,
            "branch": self.branch,
            "commit": self.commit,
            "changes": [
                {"path": c.path, "action": c.action, "what": c.what, "source": c.source}
                for c in plan.changes
            ],
            "notes": [n.to_dict() for n in plan.notes],
            "parity": self.parity.to_dict() if self.parity else None,
        }


def plan_migration(project: str | os.PathLike[str]) -> MigrationPlan:
    """What migrating PROJECT would change; nothing is written."""
    root = Path(project).expanduser().resolve()
    if not root.is_dir():
        raise MigrateError(
            f"{project}: no such folder; give the folder that holds setup.py or setup.cfg"
        )
    has_py, has_cfg = (root / SETUP_PY).is_file(), (root / SETUP_CFG).is_file()
    has_toml = (root / PYPROJECT).is_file()
    if not (has_py or has_cfg or has_toml):
        raise MigrateError(
            f"{root}: has no setup.py, setup.cfg or pyproject.toml; give the folder of a Python "
            "package made with setuptools"
        )
    link = first_symlink(root)
    if link is not None:
        raise MigrateError(
            f"{link}: is a symbolic link, which migrate would follow and copy; replace it with "
            "the file it points to, or remove it, then migrate again"
        )
    existing = read_pyproject_document(root) if has_toml else tomlkit.document()
    cfg, sections = read_setup_cfg(root) if has_cfg else (Declared(), [])
    kept = has_py and (root / SETUP_PY).read_text(encoding="utf-8").startswith(KEPT_MARK)
    declares = (has_py and not kept) or any(is_setup_section(s.name) for s in sections)
    if not declares:
        if "project" in existing:
            return MigrationPlan(root, already_migrated=True)
        raise MigrateError(
            f"{root}: has no setup.py, and no [metadata] or [options] in setup.cfg; there is "
            "no setuptools package here to migrate"
        )
    if "project" in existing:
        raise MigrateError(
            f"{root / PYPROJECT}: already has a [project] table while setup.py or setup.cfg "
            "still declare the package; merge them by hand, or remove [project] and migrate again"
        )
    declared = cfg.merged(read_setup_py(root)) if has_py else cfg
    translated = translate(declared, root, tag_prefix=tag_prefix(sections, existing))
    keep_build_requires(existing, translated)
    tools = tool_tables(sections)
    lume = lume_changes(root, translated.project, translated.setuptools)
    for name, table in lume.tool.items():
        tools.tool.setdefault(name, table)  # setup.cfg's own first
    notes = [*translated.notes, *tools.notes, *lume.notes]
    changes: list[FileChange] = []
    text = pyproject_text(existing, translated, tools, notes)
    check_pyproject(root / PYPROJECT, text)
    changes.append(
        FileChange(
            PYPROJECT,
            "modify" if has_toml else "add",
            pyproject_summary(translated, tools),
            text,
        )
    )
    if has_py and translated.kept_setup_py:
        kept_text, kept_notes = kept_setup_py(root, translated.build_system["requires"])
        notes += kept_notes
        changes.append(
            FileChange(SETUP_PY, "modify", "only the C extensions are left in it", kept_text)
        )
    elif has_py:
        changes.append(
            FileChange(SETUP_PY, "remove", "everything it declared is in pyproject.toml")
        )
    if has_cfg:
        changes.append(_setup_cfg_change(root, sections, tools))
    notes += unread_requirement_files(root, translated.requirement_files)
    include_data = bool(translated.setuptools.get("include-package-data"))
    notes += manifest_notes(root, include_package_data=include_data)
    if translated.versioneer or translated.scm is not None:
        removal = remove_versioneer(root, sections, str(translated.project.get("name", "")))
        notes += removal.notes
        changes += [FileChange(p, "remove", "versioneer's") for p in removal.removed]
        changes += [
            FileChange(p, "modify", "versioneer's lines taken out", t)
            for p, t in removal.rewritten.items()
        ]
    changes += lume.changes
    intended = set(lume.intended)
    if lume.move is not None:  # the package under src/: every change and note on the new paths
        relocated = relocate(root, changes, lume.move)
        changes, intended = relocated.changes, intended | relocated.intended
        notes = [moved_note(n, lume.move) for n in notes] + relocated.notes
    _check_targets(root, changes)
    bogus = frozenset(t for name in translated.split_files for t in split_tokens(root, name))
    parse_back(root, changes)
    notes.sort(key=lambda note: (note.file != SETUP_PY, note.file, note.line))
    return MigrationPlan(
        root,
        tuple(changes),
        tuple(notes),
        bogus_requirements=bogus,
        conditional_requirements=frozenset(translated.conditional),
        intended=frozenset(intended),
    )


def migrate_project(
    project: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    check_wheels: bool = True,
    accept_differences: bool = False,
) -> Migrated:
    """Migrate PROJECT to pyproject.toml: in place on a new branch `modelcrate-migrate` with one
    commit, or into a copy at `output`. The two wheels are compared first; when they differ
    (and `accept_differences` is not given) nothing is written."""
    plan = plan_migration(project)
    if plan.already_migrated or dry_run:
        return Migrated(plan)
    root = plan.project
    dest = Path(output).expanduser().resolve() if output is not None else None
    repository = git_toplevel(root) if git_available() else None
    if repository is not None and repository != root and _ignored_by(repository, root):
        repository = None  # a folder its repository ignores: no history of it to keep
    if dest is not None and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise MigrateError(f"{dest}: already exists and is not empty; choose another -o directory")
    if dest is not None and dest.is_relative_to(repository or root):
        raise MigrateError(
            f"{dest}: is inside the project (or its repository), which -o copies; choose a "
            "directory outside it"
        )
    if repository is not None:
        check_clean(root, repository)
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()] if dest else []
    if dest is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(
        tempfile.mkdtemp(prefix=".modelcrate-migrate.", dir=dest.parent if dest else None)
    )
    written = False
    try:
        # -o copies the whole repository (its history); in place only the project is needed
        source = repository if repository is not None and dest is not None else root
        work = scratch / "work"
        shutil.copytree(source, work, symlinks=True, ignore=left_behind(source, root))
        inner = work / root.relative_to(source)
        apply_changes(plan, inner)
        parity = None
        if check_wheels:
            parity = check_parity(
                root,
                inner,
                removed=plan.removed,
                bogus=plan.bogus_requirements,
                conditional=plan.conditional_requirements,
                intended=plan.intended,
            )
            if not parity.built or (not parity.same and not accept_differences):
                return Migrated(plan, parity=parity)
        if dest is None:
            written = True
            branch, commit = apply_in_place(plan, root, repository)
            return Migrated(plan, root, parity, branch, commit)
        branch, commit = (None, None)
        if repository is not None:
            branch, commit = commit_changes(work, inner, plan)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
        written = True
        return Migrated(plan, dest / inner.relative_to(work), parity, branch, commit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for folder in made if not written else []:  # the folders made for -o, innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()


# -- pyproject.toml and setup.cfg ---------------------------------------------------------------


def _check_targets(root: Path, changes: list[FileChange]) -> None:
    """Refuse a plan whose files cannot be written: a folder of a file's path that is a file in
    the project (a `.github` file where the workflows go), or a file that is a folder there."""
    for change in changes:
        if change.action == "remove":
            continue
        target = root / change.path
        for folder in reversed(target.relative_to(root).parents[:-1]):
            if (root / folder).exists() and not (root / folder).is_dir():
                raise MigrateError(
                    f"{root / folder}: is a file, and migrate writes {change.path} in a folder of "
                    "that name; rename or remove it, then migrate again"
                )
        if target.exists() and not target.is_file():
            raise MigrateError(
                f"{target}: is not a file, and migrate writes one there; rename or remove it, "
                "then migrate again"
            )


def _ignored_by(repository: Path, folder: Path) -> bool:
    """Whether the git repository at `repository` ignores `folder`."""
    return git("check-ignore", "-q", "--", f"{folder}/", cwd=repository).returncode == 0


def _setup_cfg_change(root: Path, sections: list[Section], tools: ToolTables) -> FileChange:
    """setup.cfg without the sections that moved; removed when nothing is left."""
    lines = (root / SETUP_CFG).read_text(encoding="utf-8").splitlines(keepends=True)
    dropped: set[int] = set()
    for section in sections:
        if section.name in tools.moved:
            dropped.update(range(section.first, section.end))
            above = section.first - 1  # the comments just above a section are about it
            while above >= 1 and lines[above - 1].lstrip().startswith(("#", ";")):
                dropped.add(above)
                above -= 1
    kept = [line for number, line in enumerate(lines, start=1) if number not in dropped]
    text = "".join(kept).strip("\n") + "\n"
    left = [s.name for s in sections if s.name not in tools.moved]
    if not left:
        return FileChange(
            SETUP_CFG, "remove", "every section moved to pyproject.toml or was dropped"
        )
    return FileChange(SETUP_CFG, "modify", "kept for " + ", ".join(f"[{n}]" for n in left), text)
