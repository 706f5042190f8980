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

from ..._errors import ProjectError
from ...spec import load_spec, write_text_atomic
from .._git import git, git_available, git_toplevel
from .._options import ProjectOptions, make_options
from .._project import ANSWERS_FILE, read_project, variables_path
from ._releases import (
    REPOSITORY_ENV,
    TEMPLATE_SOURCE,
    release_template,
    template_repository,
    template_versions,
)
from ._render import ARTIFACT_ANSWERS, template_answers

CONFLICT_MARKER = b"<<<<<<< "
# Answers that keep the value recorded when the project was made (the copyright year).
KEPT_ANSWERS = ("year",)
# Answers the answers file does not record (pyproject.toml holds the requirement).
UNRECORDED_ANSWERS = ("modelcrate_requirement", "tools_requirement", "serve_requirement")


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
    recorded_data = {k: answers.get(k, data[k] if k in UNRECORDED_ANSWERS else None) for k in data}
    if old == target and recorded_data == data:
        return Updated(path, old, target, up_to_date=True)
    _refuse_downgrade(answers_file, old, target)
    source = _template_source(answers, answers_file, old, target, repository)
    _run_copier_update(path, source, target, data)
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
    # The requirement is not recorded in the answers file (it may be a path of this machine):
    # pyproject.toml holds it.
    given.setdefault("modelcrate_requirement", _modelcrate_requirement(path))
    try:
        options = make_options(**given)
    except ProjectError as exc:
        raise ProjectError(f"{answers_file}: {exc}") from None
    data = template_answers(spec, options)
    for key in KEPT_ANSWERS:
        data.pop(key, None)
    # A converted project's artifact, as `convert` recorded it (a template before `convert`
    # ignores these answers).
    data.update({key: answers[key] for key in ARTIFACT_ANSWERS if key in answers})
    return data


def _modelcrate_requirement(path: Path) -> str | None:
    """The project's requirement on modelcrate as its pyproject.toml states it, or None."""
    from packaging.utils import canonicalize_name

    try:
        dependencies = read_project(path).dependencies
    except ProjectError:
        return None
    found = [str(r) for r in dependencies if canonicalize_name(r.name) == "modelcrate"]
    return found[0] if found else None


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
    is_path = recorded not in ("", TEMPLATE_SOURCE) and Path(recorded).is_absolute()
    candidates = [Path(recorded)] if is_path and Path(recorded).exists() else []
    for candidate in [*candidates, repository]:
        if _holds(candidate, old, target):
            return candidate
    if not is_path:
        where = "the local repository of template releases"
    else:
        where = f"the recorded {recorded} is not on this machine" if not candidates else recorded
    raise ProjectError(
        f"{answers_file}: made with template {old}, which {repository} does not hold ({where}); "
        f"run `modelcrate update` once with modelcrate {old} to add it, or set {REPOSITORY_ENV} "
        "to a template repository that has it"
    )


def _run_copier_update(path: Path, source: Path, target: str, data: dict[str, Any]) -> None:
    """copier's update of `path` to `target` from the template repository `source`."""
    options: dict[str, Any] = {
        "data": data,
        "vcs_ref": target,
        "defaults": True,
        "overwrite": True,
        "quiet": True,
        "conflict": "inline",
        "unsafe": True,  # modelcrate's own template releases: their filters are a Jinja extension
    }
    try:
        # The answers file names no path of this machine (or one of another machine), and
        # records no modelcrate requirement: copier's `run_update` would read the old version
        # from there, with that answer missing, so the worker is given both.
        try:
            from copier._main import Worker
        except ImportError:  # pragma: no cover - copier before 9.5
            from copier.main import Worker
        with Worker(dst_path=path, src_path=str(source), **options) as worker:
            last = worker.subproject.last_answers
            last["_src_path"] = str(source)
            for derived in UNRECORDED_ANSWERS:
                last.setdefault(derived, data[derived])
            worker.run_update()
        _record_source(path / ANSWERS_FILE)
    except ProjectError:
        raise
    except Exception as exc:  # copier's errors: say what happened and how to undo it
        raise ProjectError(
            f"{path}: copier update failed: {exc}; `git checkout -- . && git clean -fd` "
            "undoes a partial update"
        ) from exc


def _record_source(answers_file: Path) -> None:
    """Put back in the answers file a source that is no path of this machine."""
    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(
        f"_src_path: {TEMPLATE_SOURCE}\n" if line.startswith("_src_path:") else line
        for line in lines
    )
    write_text_atomic(answers_file, text)


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
