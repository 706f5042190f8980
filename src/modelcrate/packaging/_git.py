"""Every git call of modelcrate: git in a work tree or on a repository's git directory, the
work tree that holds a folder, and the user's configured identity."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from ._tools import Completed, run_tool


def git_available() -> bool:
    """Whether git is installed (template releases, updates and new repositories need it)."""
    return shutil.which("git") is not None


def git(
    *args: str,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run git in `cwd` (default: the current folder), on `git_dir` when given, with `env`
    added to the environment; its exit code is for the caller to read."""
    command = ["git", *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]
    environment = {**os.environ, **env} if env else None
    return run_tool(command, cwd=cwd, env=environment, stdin=stdin)


def git_toplevel(path: Path) -> Path | None:
    """The top folder of the git work tree that holds the existing folder `path`, or None."""
    if not git_available():
        return path if (path / ".git").exists() else None
    done = git("rev-parse", "--show-toplevel", cwd=path)
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def git_identity() -> tuple[str, str]:
    """The user's git `user.name` and `user.email` as configured; empty strings for what is
    not set, or without git."""
    return git_setting("user.name"), git_setting("user.email")


def git_setting(key: str) -> str:
    """The value of the git setting `key` (e.g. `github.user`), or an empty string when it is
    not set or git is not installed."""
    if not git_available():
        return ""
    done = git("config", "--get", key)
    return done.stdout.strip() if done.returncode == 0 else ""
