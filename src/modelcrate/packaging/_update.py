"""`update_project`: bring a generated project to a newer template version, keeping the user's edits.

copier does the merge: it renders the template at the version the project was made with (`_commit`
in `.copier-answers.yml`) and at the new one, both with the project's answers, and applies the
difference to the project; where the user changed the same lines, the file gets inline conflict
markers. modelcrate adds what copier cannot know: the answers derived from the project's variables
file (README tables, placeholder code), the local repository of template releases, and a clear
refusal when the project is not in a state to be merged into.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ProjectError
from ..spec import load_spec
from ._new import ANSWERS_FILE, template_answers, variables_path
from ._options import ProjectOptions, make_options
from ._template_repository import (
    REPOSITORY_ENV,
    git,
    git_available,
    git_toplevel,
    release_template,
    template_repository,
    template_versions,
)

CONFLICT_MARKER = b"<<<<<<< "
# Answers that keep the value recorded when the project was made (the copyright year).
KEPT_ANSWERS = ("year",)


@dataclass(frozen=True)
class Updated:
    """What `update_project` did: from which template version to which, the files it changed
    and those left with conflict markers to resolve."""

    path: Path
    old_version: str
    new_version: str
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    up_to_date: bool = False


def update_project(
    project: str | os.PathLike[str],
    *,
    to: str | None = None,
    repository: Path | None = None,
) -> Updated:
    """Merge the changes between the project's template version and `to` (default: this
    modelcrate's) into `project`, a clean git working tree; conflicts become inline markers."""
    path = Path(project).expanduser().resolve()
    answers_file = path / ANSWERS_FILE
    if not path.is_dir():
        raise ProjectError(f"{project}: no such project directory")
    if not answers_file.is_file():
        raise ProjectError(
            f"{path}: has no {ANSWERS_FILE}; only a project made by `modelcrate new` can be updated"
        )
    answers = _read_answers(answers_file)
    old = str(answers.get("_commit") or "")
    if not old:
        raise ProjectError(
            f"{answers_file}: records no template version (_commit), so there is nothing to merge "
            "from; the project was made before modelcrate kept template versions"
        )
    if not git_available():
        raise ProjectError("git is not installed; `modelcrate update` merges through git")
    _check_clean(path)

    repository = repository or template_repository()
    current = release_template(repository).version
    target = _target_version(to, repository) if to else current
    data = _update_answers(path, answers, answers_file)
    recorded_data = {k: answers.get(k) for k in data}
    if old == target and recorded_data == data:
        return Updated(path, old, target, up_to_date=True)
    _refuse_downgrade(answers_file, old, target)
    source = _template_source(answers, answers_file, old, target, repository)
    _run_copier_update(path, source, target, data, recorded=str(answers.get("_src_path", "")))
    status = _changed_files(path)
    changed = tuple(sorted(status))
    return Updated(
        path,
        old,
        target,
        changed=changed,
        added=tuple(f for f in changed if status[f] in ("??", "A ")),
        removed=tuple(f for f in changed if "D" in status[f]),
        conflicts=tuple(f for f in changed if _has_conflict_markers(path / f)),
    )


def _read_answers(answers_file: Path) -> dict[str, Any]:
    import yaml

    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"{answers_file}: cannot be read ({exc}); restore it from git") from None
    if not isinstance(answers, dict):
        raise ProjectError(f"{answers_file}: is not a mapping of answers; restore it from git")
    return answers


def _check_clean(path: Path) -> None:
    """Refuse a project that is not a git working tree, or that has uncommitted changes."""
    done = git("status", "--porcelain", "--untracked-files=normal", "--", ".", cwd=path)
    if done.returncode != 0:
        raise ProjectError(
            f"{path}: is not a git repository; the update merges through git: "
            "run `git init && git add -A && git commit -m 'Before update'` first"
        )
    changed = [line[3:] for line in done.stdout.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:3]) + (
            f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        )
        raise ProjectError(
            f"{path}: has uncommitted changes ({shown}); commit them, or set them aside with "
            "`git stash --include-untracked` (and `git stash pop` after the update)"
        )


def _target_version(to: str, repository: Path) -> str:
    """The tag in `repository` that names version `to` (`0.2` finds `0.2.0`)."""
    from packaging.version import InvalidVersion, Version

    tags = template_versions(repository)
    if to in tags:
        return to
    try:
        wanted = Version(to)
    except InvalidVersion:
        raise ProjectError(f"--to {to}: not a version; give e.g. 0.2.0") from None
    for tag in tags:
        if Version(tag) == wanted:
            return tag
    held = ", ".join(tags) or "none"
    raise ProjectError(f"--to {to}: {repository} holds no such template version (it has: {held})")


def _refuse_downgrade(answers_file: Path, old: str, target: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        going_back = Version(target) < Version(old)
    except InvalidVersion:
        raise ProjectError(
            f"{answers_file}: _commit {old!r} is not a template version; restore the file from git"
        ) from None
    if going_back:
        raise ProjectError(
            f"{answers_file}: the project is at template {old}, newer than {target}; "
            "an update cannot go back (use a newer modelcrate, or --to a newer version)"
        )


def _update_answers(path: Path, answers: dict[str, Any], answers_file: Path) -> dict[str, Any]:
    """The answers modelcrate derives for the template, from the project's recorded answers and
    its variables file as it is now (so README tables follow the variables)."""
    package = str(answers.get("package_name", ""))
    spec_file = variables_path(path, package)
    if not package or not spec_file.is_file():
        raise ProjectError(
            f"{spec_file}: not found; the update derives the README tables and placeholder code "
            f"from it: restore it, or fix package_name in {ANSWERS_FILE}"
        )
    spec = load_spec(spec_file)
    given = {k: answers[k] for k in ProjectOptions.model_fields if answers.get(k) is not None}
    try:
        options = make_options(**given)
    except ProjectError as exc:
        raise ProjectError(f"{answers_file}: {exc}") from None
    data = template_answers(spec, options)
    for key in KEPT_ANSWERS:
        data.pop(key, None)
    return data


def _holds(repository: Path, *versions: str) -> bool:
    try:
        tags = template_versions(repository)
    except ProjectError:
        return False
    return all(v in tags for v in versions)


def _template_source(
    answers: dict[str, Any], answers_file: Path, old: str, target: str, repository: Path
) -> Path:
    """The template repository to merge from: the one the project records if it is here and
    holds both versions, else the local one."""
    recorded = str(answers.get("_src_path") or "")
    candidates = [Path(recorded)] if recorded and Path(recorded).exists() else []
    for candidate in [*candidates, repository]:
        if _holds(candidate, old, target):
            return candidate
    where = f"the recorded {recorded} is not on this machine" if not candidates else recorded
    raise ProjectError(
        f"{answers_file}: made with template {old}, which {repository} does not hold ({where}); "
        f"run `modelcrate update` once with modelcrate {old} to add it, or set {REPOSITORY_ENV} "
        "to a template repository that has it"
    )


def _run_copier_update(
    path: Path, source: Path, target: str, data: dict[str, Any], *, recorded: str
) -> None:
    """copier's update of `path` to `target` from the template repository `source`."""
    import copier

    options: dict[str, Any] = {
        "data": data,
        "vcs_ref": target,
        "defaults": True,
        "overwrite": True,
        "quiet": True,
        "conflict": "inline",
    }
    try:
        if recorded == str(source):
            copier.run_update(path, **options)
            return
        # The recorded source is elsewhere (another machine): copier's `run_update` always reads
        # the template from there, so point its worker at the local repository instead.
        try:
            from copier._main import Worker
        except ImportError:  # pragma: no cover - copier before 9.5
            from copier.main import Worker  # type: ignore[no-redef]
        with Worker(dst_path=path, src_path=str(source), **options) as worker:
            worker.subproject.last_answers["_src_path"] = str(source)
            worker.run_update()
    except ProjectError:
        raise
    except Exception as exc:  # copier's errors: say what happened and how to undo it
        raise ProjectError(
            f"{path}: copier update failed: {exc}; `git checkout -- . && git clean -fd` "
            "undoes a partial update"
        ) from exc


def _changed_files(path: Path) -> dict[str, str]:
    """Files of `path` that differ from its last commit (relative to `path`), each with its
    two-letter `git status` code."""
    top = git_toplevel(path) or path
    done = git("status", "--porcelain", "-z", "--untracked-files=all", "--", ".", cwd=path)
    fields = iter(done.stdout.split("\0"))
    changed = {}
    for entry in fields:
        if not entry:
            continue
        status, name = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            next(fields, None)  # the rename's source path
        changed[(top / name).relative_to(path).as_posix()] = status
    return changed


def _has_conflict_markers(file: Path) -> bool:
    try:
        with file.open("rb") as handle:
            return any(line.startswith(CONFLICT_MARKER) for line in handle)
    except OSError:  # deleted, or a directory
        return False
