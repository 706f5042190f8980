"""The local git repository of template releases: the bundled template, one tag per modelcrate version.

copier updates a project by rendering the template at the version the project was made with and
at the new one, so both must be at hand as git tags. Each modelcrate adds its own bundled template
to this repository the first time it needs it, tagged with its version (PEP 440, as copier sorts
tags). A development install whose bundled template changed under an unchanged version gets a
numbered local tag (`0.2.0.dev3+g1234.1`), so no tag ever changes what it points at.

The repository lives under the user data directory, or where `MODELCRATE_TEMPLATE_REPOSITORY`
says; it is bare when its name ends in `.git` (copier recognises it by that), else a plain one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from ..._errors import ProjectError
from .._git import git, git_available
from .._tools import Completed

REPOSITORY_ENV = "MODELCRATE_TEMPLATE_REPOSITORY"
BRANCH = "refs/heads/releases"
FINGERPRINT_KEY = "Template-Fingerprint"
# What the answers file records as the template's source (`_src_path`): not a path of this
# machine; `modelcrate update` merges from the local repository of template releases.
TEMPLATE_SOURCE = "modelcrate-template-releases"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "modelcrate",
    "GIT_AUTHOR_EMAIL": "modelcrate@localhost",
    "GIT_COMMITTER_NAME": "modelcrate",
    "GIT_COMMITTER_EMAIL": "modelcrate@localhost",
}


def template_path() -> Path:
    """The copier template shipped inside modelcrate."""
    return Path(str(files("modelcrate.packaging.scaffold") / "template"))


def template_repository() -> Path:
    """Where template releases are kept: `$MODELCRATE_TEMPLATE_REPOSITORY`, else
    `template.git` in modelcrate's user data directory."""
    given = os.environ.get(REPOSITORY_ENV)
    if given:
        return Path(given).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("modelcrate")) / "template.git"


def template_version() -> str:
    """This modelcrate's version in PEP 440 normal form: the tag of its template release."""
    from packaging.version import InvalidVersion, Version

    from ... import __version__

    try:
        return str(Version(__version__))
    except InvalidVersion:  # pragma: no cover - a version string setuptools-scm never makes
        return "0+unknown"


@dataclass(frozen=True)
class TemplateRelease:
    """A template version in a repository: what copier gets as `src_path` and `vcs_ref`.

    `checkout`, when known, is a directory holding exactly that version's files (the bundled
    template it was made from), which renders the same without a clone.
    """

    repository: Path
    version: str
    checkout: Path | None = field(default=None, compare=False)


def _git_dir(repository: Path) -> Path:
    dot_git = repository / ".git"
    return dot_git if dot_git.exists() else repository


def _run_git(
    repository: Path, *args: str, stdin: str | None = None, env: dict | None = None
) -> Completed:
    """Run git on `repository`'s git directory."""
    return git(*args, git_dir=_git_dir(repository), stdin=stdin, env=env)


def _git(repository: Path, *args: str, stdin: str | None = None, env: dict | None = None) -> str:
    """Run git on `repository`; its output, or `ProjectError` with git's message."""
    done = _run_git(repository, *args, stdin=stdin, env=env)
    if done.returncode != 0:
        raise ProjectError(
            f"{repository}: git {args[0]} failed ({done.stderr.strip() or done.returncode}); "
            f"remove it to start a new template repository, or set {REPOSITORY_ENV}"
        )
    return done.stdout


def template_versions(repository: Path) -> dict[str, str]:
    """The tags of `repository` that are versions, newest first, each with its template
    fingerprint ("" for tags modelcrate did not make)."""
    from packaging.version import InvalidVersion, Version

    if not repository.exists():
        return {}
    out = _git(
        repository,
        "for-each-ref",
        "refs/tags",
        f"--format=%(refname:strip=2)%00%(trailers:key={FINGERPRINT_KEY},valueonly)%00",
    )
    found: dict[str, tuple[Version, str]] = {}
    for record in out.split("\0\n"):
        if not record.strip():
            continue
        name, _, fingerprint = record.partition("\0")
        name = name.strip()
        try:
            found[name] = (Version(name), fingerprint.strip())
        except InvalidVersion:
            continue
    ordered = sorted(found.items(), key=lambda item: item[1][0], reverse=True)
    return {name: fingerprint for name, (_, fingerprint) in ordered}


def _template_files(root: Path) -> list[str]:
    """The template's files relative to `root`, sorted, without Python caches."""
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            if not name.endswith((".pyc", ".pyo")):
                paths.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(paths)


def template_fingerprint(root: Path, paths: list[str] | None = None) -> str:
    """A hash of the template's file names, contents and executable bits."""
    digest = hashlib.sha256()
    for rel in paths if paths is not None else _template_files(root):
        file = root / rel
        executable = os.access(file, os.X_OK)
        digest.update(f"{rel}\0{int(executable)}\0".encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _create_repository(repository: Path) -> None:
    """Make an empty repository at `repository`, atomically (a concurrent maker may win)."""
    repository.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{repository.name}.", dir=repository.parent))
    try:
        bare = ["--bare"] if repository.name.endswith(".git") else []
        done = git("init", "-q", *bare, str(work))
        if done.returncode != 0:
            raise ProjectError(f"{repository}: git init failed: {done.stderr.strip()}")
        _git(work, "symbolic-ref", "HEAD", BRANCH)
        try:
            work.rename(repository)
        except OSError:
            if not repository.exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _variant_separator(version: str) -> str:
    return "." if "+" in version else "+"


def _is_variant(tag: str, version: str) -> bool:
    """Whether `tag` is `version` or one of its numbered local variants."""
    rest = tag.removeprefix(version + _variant_separator(version))
    return tag == version or (rest != tag and rest.isdigit())


def _next_tag(version: str, taken: dict[str, str]) -> str:
    """`version` if free, else `version` with the next free numbered local segment."""
    if version not in taken:
        return version
    sep = _variant_separator(version)
    n = 1
    while f"{version}{sep}{n}" in taken:
        n += 1
    return f"{version}{sep}{n}"


def release_template(
    repository: Path | None = None,
    *,
    source: Path | None = None,
    version: str | None = None,
) -> TemplateRelease:
    """Make sure `repository` holds the bundled template tagged with this modelcrate's version;
    return that release (a no-op after the first call of a version)."""
    if not git_available():
        raise ProjectError("git is not installed; modelcrate needs it to keep template versions")
    repository = repository or template_repository()
    source = source or template_path()
    version = version or template_version()
    paths = _template_files(source)
    fingerprint = template_fingerprint(source, paths)
    if not repository.exists():
        _create_repository(repository)
    for _ in range(3):  # another process may tag the same version at the same time
        tags = template_versions(repository)
        for tag, tag_fingerprint in tags.items():
            if tag_fingerprint == fingerprint and _is_variant(tag, version):
                return TemplateRelease(repository, tag, checkout=source)
        tag = _next_tag(version, tags)
        commit = _commit_template(repository, source, paths, tag, fingerprint)
        # The empty old value makes git refuse a tag that appeared meanwhile.
        if _run_git(repository, "update-ref", f"refs/tags/{tag}", commit, "").returncode == 0:
            _run_git(repository, "update-ref", BRANCH, commit)
            return TemplateRelease(repository, tag, checkout=source)
    raise ProjectError(f"{repository}: could not tag template version {version}; try again")


def _commit_template(
    repository: Path, source: Path, paths: list[str], tag: str, fingerprint: str
) -> str:
    """Commit the template files at `source` (on top of the releases branch); return the id."""
    with tempfile.TemporaryDirectory(prefix="modelcrate-template-index.") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(source)}
        _git(repository, "update-index", "--add", "--stdin", stdin="\n".join(paths) + "\n", env=env)
        tree = _git(repository, "write-tree", env=env).strip()
    parent = _run_git(repository, "rev-parse", "-q", "--verify", BRANCH).stdout.strip()
    message = f"modelcrate template {tag}\n\n{FINGERPRINT_KEY}: {fingerprint}\n"
    args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-"]
    return _git(repository, *args, stdin=message, env=_IDENTITY).strip()
