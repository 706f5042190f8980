"""`new_project`: render the project template for a variables file into a new directory."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

from .._errors import ModelcrateWarning, ProjectError
from ..spec import Spec, dump_spec, load_spec, write_text_atomic
from ._options import ProjectOptions
from ._render import template_data

log = logging.getLogger("modelcrate.packaging")

VARIABLES_FILE = "variables.yml"
FALLBACK_IDENTITY = ("modelcrate", "modelcrate@localhost")


def template_path() -> Path:
    """The copier template shipped inside modelcrate."""
    return Path(str(files("modelcrate.packaging") / "template"))


@dataclass(frozen=True)
class NewProject:
    """What `new_project` made: where, from which spec, and whether it is a git repository."""

    path: Path
    options: ProjectOptions
    spec: Spec
    git: bool


def new_project(
    variables: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    options: ProjectOptions,
    *,
    git: bool = True,
) -> NewProject:
    """Make a complete project for `variables` at `destination`, all or nothing.

    The project is rendered in a temporary directory beside the destination and renamed into
    place once complete, so a failure leaves nothing behind.
    """
    spec = load_spec(variables)
    dest = Path(destination).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ProjectError(f"{dest}: already exists and is not empty; choose another -o directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        render(spec, options, work)
        made_repo = git and _git_init(work)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("created %s in %s", options.repo_name, dest)
    return NewProject(path=dest, options=options, spec=spec, git=made_repo)


def render(spec: Spec, options: ProjectOptions, into: Path) -> None:
    """Render the template and the variables file into an existing empty directory."""
    import copier  # heavy; only `new` needs it

    data = {
        **options.model_dump(),
        **template_data(spec),
        "flow_name": options.flow_name,
        "image": options.image,
        "requirement_is_direct": " @ " in options.modelcrate_requirement,
        "year": date.today().year,
    }
    try:
        copier.run_copy(
            str(template_path()), into, data=data, defaults=True, quiet=True, overwrite=True
        )
    except Exception as exc:  # copier's own errors: not the user's fault, but say what happened
        raise ProjectError(f"rendering the project template failed: {exc}") from exc
    write_text_atomic(into / "src" / options.package_name / VARIABLES_FILE, dump_spec(spec))


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _git_init(path: Path) -> bool:
    """`git init` and a first commit; False (with a warning) when git is missing or fails."""
    if shutil.which("git") is None:
        warnings.warn(
            "git is not installed: the project is not a git repository",
            ModelcrateWarning,
            stacklevel=3,
        )
        return False
    identity: list[str] = []
    if _git("config", "user.email", cwd=path).returncode != 0:
        name, email = FALLBACK_IDENTITY
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
        warnings.warn(
            f"git has no user.email configured: the first commit is by {name} <{email}>; "
            "set yours with `git config --global user.email you@example.org`",
            ModelcrateWarning,
            stacklevel=3,
        )
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*identity, "commit", "-q", "-m", "Create project with modelcrate"],
    ):
        done = _git(*args, cwd=path)
        if done.returncode != 0:
            warnings.warn(f"git {args[-1] if args[0] != '-c' else 'commit'} failed: {done.stderr.strip()}",
                          ModelcrateWarning, stacklevel=3)  # fmt: skip
            return False
    return True
