"""`migrate`: an old setup.py / setup.cfg package into a pyproject.toml package. Planned from what
the old files declare (read, never run), checked by building both wheels, then written in place
on a new git branch with one commit, or into a copy of the project."""

from __future__ import annotations

import ast
import configparser
import contextlib
import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..._errors import MigrateError
from .._escape import one_line
from .._git import git, git_available, git_toplevel
from .._project import PYPROJECT
from ._declared import Declared, Note, NoteDict
from ._kept_setup import KEPT_MARK, kept_setup_py
from ._lume import lume_notes
from ._manifest import manifest_notes
from ._parity import LEFT_BEHIND, Parity, ParityDict, check_parity
from ._pyproject import Translated, translate
from ._requirements import split_tokens
from ._setup_cfg import SETUP_CFG, Section, is_setup_section, read_setup_cfg
from ._setup_py import SETUP_PY, read_setup_py
from ._tool_tables import ToolTables, tool_tables
from ._versioneer import remove_versioneer, tag_prefix

BRANCH = "modelcrate-migrate"
FALLBACK_IDENTITY = ("modelcrate", "modelcrate@localhost")
Action = Literal["add", "modify", "remove"]


class FileChangeDict(TypedDict):
    """A `FileChange` in `MigratedDict`."""

    path: str
    action: Action
    what: str


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
class FileChange:
    """One file the migration adds, modifies or removes, with what it does to it."""

    path: str
    action: Action
    what: str
    text: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    """What migrating a project changes, file by file, and what it cannot carry over as it was."""

    project: Path
    changes: tuple[FileChange, ...] = ()
    notes: tuple[Note, ...] = ()
    already_migrated: bool = False
    bogus_requirements: frozenset[str] = frozenset()

    @property
    def removed(self) -> list[str]:
        return [c.path for c in self.changes if c.action == "remove"]

    def diff(self) -> str:
        """The changes as a unified diff (a removed file by its name only)."""
        parts = []
        for change in self.changes:
            if change.action == "remove":
                parts.append(f"--- a/{change.path}\n+++ /dev/null (removed)\n")
                continue
            path = self.project / change.path
            old = path.read_text(encoding="utf-8") if change.action == "modify" else ""
            parts.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        (change.text or "").splitlines(keepends=True),
                        f"a/{change.path}" if change.action == "modify" else "/dev/null",
                        f"b/{change.path}",
                    )
                )
            )
        return "".join(parts)


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
            "changes": [{"path": c.path, "action": c.action, "what": c.what} for c in plan.changes],
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
    existing = _read_pyproject(root) if has_toml else tomlkit.document()
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
    translated = translate(declared, root, tag_prefix=tag_prefix(sections))
    _keep_build_requires(existing, translated)
    tools = tool_tables(sections)
    notes = [*translated.notes, *tools.notes]
    changes: list[FileChange] = []
    text = _pyproject_text(existing, translated, tools, notes)
    _check_pyproject(root / PYPROJECT, text)
    changes.append(
        FileChange(
            PYPROJECT,
            "modify" if has_toml else "add",
            _pyproject_summary(translated, tools),
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
    points = dict(translated.project.get("entry-points", {}))
    notes += lume_notes(root, points)
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
    bogus = frozenset(t for name in translated.split_files for t in split_tokens(root, name))
    _parse_back(root, changes)
    notes.sort(key=lambda note: (note.file != SETUP_PY, note.file, note.line))
    return MigrationPlan(root, tuple(changes), tuple(notes), bogus_requirements=bogus)


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
    if dest is not None and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise MigrateError(f"{dest}: already exists and is not empty; choose another -o directory")
    if repository is not None:
        _check_clean(root, repository)
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
        shutil.copytree(source, work, symlinks=True, ignore=LEFT_BEHIND)
        inner = work / root.relative_to(source)
        _apply(plan, inner)
        parity = None
        if check_wheels:
            parity = check_parity(root, inner, removed=plan.removed, bogus=plan.bogus_requirements)
            if not parity.built or (not parity.same and not accept_differences):
                return Migrated(plan, parity=parity)
        if dest is None:
            written = True
            branch, commit = _apply_in_place(plan, root, repository)
            return Migrated(plan, root, parity, branch, commit)
        branch, commit = (None, None)
        if repository is not None:
            branch, commit = _commit(work, inner, plan)
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


# -- writing ----------------------------------------------------------------------------------


def _check_clean(root: Path, repository: Path) -> None:
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


def _apply(plan: MigrationPlan, root: Path) -> None:
    """Write the plan's files under `root`: every new text beside its file first, then each
    moved into place, then the removals."""
    staged: list[tuple[Path, Path]] = []
    try:
        for change in plan.changes:
            if change.text is None:
                continue
            target = root / change.path
            temporary = target.with_name(f".{target.name}.migrate.tmp")
            temporary.write_text(change.text, encoding="utf-8")
            if target.exists():
                shutil.copymode(target, temporary)
            staged.append((temporary, target))
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, target in staged:
        os.replace(temporary, target)
    for change in plan.changes:
        if change.action == "remove":
            (root / change.path).unlink(missing_ok=True)


def _apply_in_place(
    plan: MigrationPlan, root: Path, repository: Path | None
) -> tuple[str | None, str | None]:
    if repository is None:
        _apply(plan, root)
        return None, None
    done = git("checkout", "-q", "-b", BRANCH, cwd=root)
    if done.returncode != 0:
        raise MigrateError(f"{root}: cannot create the branch {BRANCH}: {done.stderr.strip()}")
    _apply(plan, root)
    return _commit(repository, root, plan)


def _commit(repository: Path, root: Path, plan: MigrationPlan) -> tuple[str, str]:
    """Create the branch (if not on it) and commit the plan's files; the branch and commit."""
    current = git("rev-parse", "--abbrev-ref", "HEAD", cwd=repository).stdout.strip()
    if current != BRANCH:
        git("checkout", "-q", "-b", BRANCH, cwd=repository)
    paths = [str(root / c.path) for c in plan.changes]
    git("add", "-A", "--", *paths, cwd=repository)
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
        *(f"- {c.action} {c.path}: {c.what}" for c in plan.changes),
    ]
    if plan.notes:
        lines += ["", "Not carried over as it was:", *(f"- {note}" for note in plan.notes)]
    return "\n".join(lines) + "\n"


# -- pyproject.toml and setup.cfg ---------------------------------------------------------------


def _read_pyproject(root: Path) -> tomlkit.TOMLDocument:
    path = root / PYPROJECT
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except tomlkit.exceptions.ParseError as exc:
        raise MigrateError(
            f"{path}:{exc.line}: not valid TOML ({exc}); fix it, then migrate again"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrateError(f"{path}: cannot be read ({exc})") from None


def _parse_back(root: Path, changes: list[FileChange]) -> None:
    """Parse every rewritten Python file and setup.cfg before anything is written."""
    for change in changes:
        if change.text is None:
            continue
        try:
            if change.path.endswith(".py"):
                ast.parse(change.text)
            elif change.path.endswith(".cfg"):
                configparser.ConfigParser(interpolation=None).read_string(change.text)
        except (SyntaxError, ValueError, configparser.Error) as exc:
            raise MigrateError(
                f"{root / change.path}: cannot be rewritten without breaking it "
                f"({one_line(str(exc))}); migrate with the file edited by hand"
            ) from None


def _keep_build_requires(existing: tomlkit.TOMLDocument, translated: Translated) -> None:
    """Add the build requirements of an existing [build-system] (numpy, Cython) that are not
    the backend's own."""
    table = existing.get("build-system")
    old = table.get("requires", []) if isinstance(table, dict) else []
    requires = translated.build_system["requires"]
    names = {_requirement_name(r) for r in requires}
    for requirement in old:
        name = _requirement_name(str(requirement))
        if name not in names and name not in _BACKEND:
            requires.append(str(requirement))
            names.add(name)


_BACKEND = frozenset({"setuptools", "wheel", "setuptools-scm", "versioneer"})


def _requirement_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return text


def _pyproject_text(
    existing: tomlkit.TOMLDocument, translated: Translated, tools: ToolTables, notes: list[Note]
) -> str:
    """pyproject.toml: [build-system], [project], then [tool] (the existing tables kept), then
    the existing document's other tables."""
    document = tomlkit.document()
    document["build-system"] = _item(translated.build_system)
    document["project"] = _item(translated.project)
    tool = existing.get("tool")
    tool_table = tool if isinstance(tool, dict) else tomlkit.table(is_super_table=True)
    if "setuptools" in tool_table:
        notes.append(Note(PYPROJECT, 0, "[tool.setuptools] was there already", "replaced"))
    tool_table["setuptools"] = _item(translated.setuptools)
    if translated.scm is not None and "setuptools_scm" not in tool_table:
        tool_table["setuptools_scm"] = _item(translated.scm)
    for name, table in tools.tool.items():
        if name in tool_table:
            notes.append(
                Note(
                    PYPROJECT,
                    0,
                    f"[tool.{name}] was there already",
                    "kept; setup.cfg's is dropped",
                )
            )
        else:
            tool_table[name] = _item(table)
    document["tool"] = tool_table
    for key, value in existing.items():
        if key not in ("build-system", "project", "tool"):
            document[key] = value
    return tomlkit.dumps(document)


_INLINE = frozenset({"readme", "license", "version"})


def _item(value: Any, key: str = "") -> Any:
    """`value` as tomlkit items: tables for mappings, inline tables for small ones (a readme,
    a person), arrays on several lines when long."""
    if isinstance(value, dict):
        if key in _INLINE or (key in ("readme", "license") and isinstance(value, dict)):
            inline = tomlkit.inline_table()
            inline.update({k: _item(v, k) for k, v in value.items()})
            return inline
        table = tomlkit.table()
        for k, v in value.items():
            table[k] = _item(v, k)
        return table
    if isinstance(value, list):
        if (
            value
            and all(isinstance(v, dict) for v in value)
            and key not in ("authors", "maintainers")
        ):
            aot = tomlkit.aot()
            for v in value:
                aot.append(_item(v))
            return aot
        array = tomlkit.array()
        for v in value:
            if isinstance(v, dict):
                inline = tomlkit.inline_table()
                inline.update(v)
                array.append(inline)
            else:
                array.append(_item(v))
        if len(value) > 2 or sum(len(str(v)) for v in value) > 60:
            array.multiline(True)
        return array
    return value


def _check_pyproject(path: Path, text: str) -> None:
    """Parse the written pyproject.toml back and validate it against the pyproject schemas."""
    from validate_pyproject import api, errors

    try:
        api.Validator()(tomlkit.parse(text).unwrap())
    except (tomlkit.exceptions.ParseError, errors.ValidationError) as exc:
        message = getattr(exc, "message", str(exc))
        raise MigrateError(
            f"{path}: the pyproject.toml made from the old files is not valid ({message}); "
            "fix the value in setup.py or setup.cfg, then migrate again"
        ) from None


def _pyproject_summary(translated: Translated, tools: ToolTables) -> str:
    version = (
        "versions from git tags (setuptools-scm)"
        if translated.scm is not None
        else "version " + str(translated.project.get("version", "dynamic"))
    )
    parts = [f"[project] {translated.project.get('name', '?')}", "setuptools backend", version]
    moved = sorted(f"[tool.{name}]" for name in tools.tool)
    if moved:
        parts.append("from setup.cfg: " + ", ".join(moved))
    return "; ".join(parts)


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
