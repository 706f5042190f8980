"""Old setuptools packages for the `migrate` tests: the fixtures under tests/fixtures/migrate,
copied into a git repository of their own (history and tags as a maintainer would have them)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "migrate"
OLD_PACKAGES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
IDENTITY = ["-c", "user.name=Ada Physicist", "-c", "user.email=ada@lab.example.org"]


def git(project: Path, *args: str) -> str:
    """Run git in `project`; its output (a failure raises)."""
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=project, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def old_package(name: str, where: Path, *, repository: bool = True, tag: str = "v1.4.0") -> Path:
    """A copy of the fixture `name` under `where`: a git repository with two commits, the
    first tagged `tag` (no repository when `repository` is false)."""
    project = where / name
    shutil.copytree(FIXTURES / name, project)
    if repository:
        git(project, "init", "-q", "-b", "main")
        readme = next(project.glob("README*"), None)
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "First release")
        git(project, "tag", tag)
        (project / "CHANGES.txt").write_text("Changes since the first release.\n")
        git(project, "add", "-A")
        git(
            project,
            "commit",
            "-q",
            "-m",
            "Note the changes" + (f" ({readme.name})" if readme else ""),
        )
    return project


def tree_hash(project: Path) -> str:
    """A hash of every file under `project` (its .git included): its paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        digest.update(str(path.relative_to(project)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()
