"""Writing a project all or nothing: render the template (and any files a verb adds) in a
temporary directory beside the destination, read everything back, make it a git repository,
then move it into place. Shared by `new` and `convert`."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..._errors import ModelcrateWarning, ProjectError
from ...spec import Spec, dump_spec, write_text_atomic
from .._git import git, git_available, git_toplevel
from .._options import ProjectOptions
from .._project import ANSWERS_FILE, PYPROJECT, variables_path
from ._releases import TEMPLATE_SOURCE, TemplateRelease, release_template, template_path
from ._render import template_answers
from ._verify import verify_project

FALLBACK_IDENTITY = ("modelcrate", "modelcrate@localhost")


def write_project(
    spec: Spec,
    dest: Path,
    options: ProjectOptions,
    *,
    git: bool,
    template: TemplateRelease | None,
    answers: Mapping[str, Any] | None = None,
    add_files: Callable[[Path], None] | None = None,
) -> tuple[bool, TemplateRelease | None]:
    """Render in a temporary directory beside `dest` (with `answers` beyond those of the spec
    and options), let `add_files` add its own files to it, check it, then move it into place;
    whether it became a git repository, and the template release it was rendered from."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ProjectError(f"{dest}: already exists and is not empty; choose another -o directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if template is None and git_available():
        template = release_template()
    outer = git_toplevel(dest.parent) if git else None
    if outer is not None and _ignored_by(outer, dest):
        outer = None  # the outer repository keeps it out: the project gets a repository of its own
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp's 0700 is for its secrecy, not the project's
        render(spec, options, work, template=template, answers=answers)
        if add_files is not None:
            add_files(work)
        verify_project(work, spec, variables_path(work, options.package_name))
        if outer is not None:
            _version_from(outer, dest, work)
        made_repo = git and outer is None and _git_init(work)
        if dest.exists():
            _move_into(work, dest)
        else:
            work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return made_repo, template


def _ignored_by(repository: Path, dest: Path) -> bool:
    """Whether the git repository at `repository` ignores the folder `dest` (`demo-model/` in
    its .gitignore, say)."""
    return git("check-ignore", "-q", "--", f"{dest}/", cwd=repository).returncode == 0


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _move_into(work: Path, dest: Path) -> None:
    """Move the project rendered in `work` into the existing empty directory `dest` (the working
    directory, say, which must stay where it is), entry by entry; undone on failure."""
    moved: list[Path] = []
    try:
        for entry in sorted(work.iterdir()):
            target = dest / entry.name
            entry.rename(target)
            moved.append(target)
    except BaseException:
        for target in moved:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        raise
    work.rmdir()


def render(
    spec: Spec,
    options: ProjectOptions,
    into: Path,
    *,
    template: TemplateRelease | None = None,
    answers: Mapping[str, Any] | None = None,
) -> None:
    """Render the template and the variables file into an existing empty directory.

    From `template` when given (the answers file then records its repository and version),
    else from the template bundled with modelcrate.
    """
    import copier  # heavy; only `new` needs it

    if template is None or template.checkout is not None:
        # A release known to hold exactly these files renders the same from them, without
        # copier's clone of the repository (70-100 ms of each `new`: benchmarks/bench_new.py).
        source, ref = str(template.checkout if template else template_path()), None
    else:
        source, ref = str(template.repository), template.version
    try:
        copier.run_copy(
            source,
            into,
            data={**template_answers(spec, options), **(answers or {})},
            vcs_ref=ref,
            defaults=True,
            quiet=True,
            overwrite=True,
            unsafe=True,  # modelcrate's own template: its escaping filters are a Jinja extension
        )
    except Exception as exc:  # copier's own errors: not the user's fault, but say what happened
        raise ProjectError(f"rendering the project template failed: {exc}") from exc
    _record_release(into / ANSWERS_FILE, template)
    write_text_atomic(variables_path(into, options.package_name), dump_spec(spec))


def _record_release(answers_file: Path, template: TemplateRelease | None) -> None:
    """Write in the answers file the release the project was rendered from (`_commit`), and as
    its source (`_src_path`) no path of this machine, which the answers file is committed from."""
    import yaml

    recorded = {"_commit": template.version} if template is not None else {}
    stamp = yaml.safe_dump(
        {**recorded, "_src_path": TEMPLATE_SOURCE},
        default_flow_style=False,
        allow_unicode=True,
        width=1_000,
    )
    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(("_commit:", "_src_path:"))]
    at = next((i for i, line in enumerate(kept) if not line.startswith("#")), len(kept))
    text = "".join(kept[:at]) + stamp + "".join(kept[at:])
    write_text_atomic(answers_file, text)


def _version_from(outer: Path, dest: Path, work: Path) -> None:
    """A project made inside an existing git repository gets no repository of its own (no
    repository nested in another); its version then comes from the outer one's tags."""
    up = Path(os.path.relpath(outer, dest)).as_posix()
    pyproject = work / PYPROJECT
    text = pyproject.read_text(encoding="utf-8").rstrip("\n")
    text += (
        "\n\n# The project is inside the git repository at "
        f"{up}: its version comes from that repository's tags.\n"
        f'[tool.hatch.version.raw-options]\nroot = "{up}"\n'
    )
    write_text_atomic(pyproject, text)
    warnings.warn(
        f"{dest} is inside the git repository {outer}: made no repository of its own (add and "
        "commit the project there); its version comes from that repository's tags, and its "
        ".github workflows run only once moved to the top of the repository",
        ModelcrateWarning,
        stacklevel=3,
    )


def _git_init(path: Path) -> bool:
    """`git init` and a first commit; False (with a warning) when git is missing or fails."""
    if not git_available():
        warnings.warn(
            "git is not installed: the project is not a git repository",
            ModelcrateWarning,
            stacklevel=3,
        )
        return False
    identity: list[str] = []
    if git("config", "user.email", cwd=path).returncode != 0:
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
        done = git(*args, cwd=path)
        if done.returncode != 0:
            warnings.warn(f"git {args[-1] if args[0] != '-c' else 'commit'} failed: {done.stderr.strip()}",
                          ModelcrateWarning, stacklevel=3)  # fmt: skip
            return False
    return True
