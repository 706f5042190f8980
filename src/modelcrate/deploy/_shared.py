"""Shared environments: one virtual environment holding the dependencies of a body of models, as
facilities that run many models keep one image for them all (the LUME-services way).

A shared environment is made and brought up to date from requirement lists (a project's lock,
the requirements the registry keeps of its versions), resolved together so that two models
that pin a dependency differently are refused rather than one breaking the other. A version
deployed into it (`deploy --shared-env NAME`) must find every one of its requirements satisfied
there; its wheel is kept beside the environment, and the first run of the version installs it
with `--no-deps` into an overlay of its own (one per wheel, made whole or not at all), which its
runs put first on `sys.path`: two versions of one model run side by side, each its own code, on
the same dependencies.

    environments/shared/NAME/            the virtual environment (with pip, for the overlays)
                             requirements.txt   every requirement it was made from
                             wheels/            the wheels of the versions deployed into it
                             overlays/SHA/      a version's wheel, installed at its first run
                             launch.py          what a run starts: the overlay, then the flow
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import DeployError
from ._environments import _locked, environments_root, run_step
from ._services import check_pool_name

SHARED_DIR = "shared"
_COMPLETE = ".modelcrate-shared"
_REQUIREMENTS = "requirements.txt"
_LAUNCHER = "launch.py"

LAUNCHER = '''\
"""Start a run of a model version deployed into this shared environment: install its wheel
(without its dependencies, which this environment holds) into the overlay of that wheel unless a
run did so before, then run the flow with the overlay first on the path. Made by modelcrate."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

wheel, overlay = Path(sys.argv[1]), Path(sys.argv[2])
complete = overlay / ".complete"
if not complete.is_file():
    overlay.parent.mkdir(parents=True, exist_ok=True)
    work = overlay.with_name(f".{overlay.name}.{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--target", str(work), str(wheel)],
        check=True,
    )
    (work / ".complete").write_text(wheel.name + "\\n")
    try:
        work.rename(overlay)  # whole or not at all; another run may have got there first
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        if not complete.is_file():
            raise
paths = [str(overlay), *filter(None, [os.environ.get("PYTHONPATH")])]
os.environ["PYTHONPATH"] = os.pathsep.join(paths)
os.execv(sys.executable, [sys.executable, "-m", "prefect.engine"])
'''
"""The launcher a shared environment's deployments start (standard library only, so that it
does not depend on the modelcrate the environment holds)."""

_PROBE = """
import json, os, platform, sys
from importlib.metadata import distributions
names = {}
for dist in distributions():
    name = dist.metadata["Name"]
    if name:
        names.setdefault(name, dist.version)
env = {
    "implementation_name": sys.implementation.name,
    "implementation_version": platform.python_version(),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({"installed": names, "environment": env}))
"""
"""Run by a shared environment's Python: what it holds, and the values of environment markers."""


@dataclass(frozen=True)
class SharedEnvironment:
    """A shared environment: its name, where it is and its Python."""

    name: str
    path: Path

    @property
    def python(self) -> Path:
        return self.path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

    @property
    def launcher(self) -> Path:
        return self.path / _LAUNCHER

    @property
    def exists(self) -> bool:
        return (self.path / _COMPLETE).is_file() and self.python.is_file()

    def wheel_path(self, wheel: Path, sha256: str) -> Path:
        """Where a version's wheel is kept (its name, under a folder of its digest)."""
        return self.path / "wheels" / sha256[:16] / wheel.name

    def overlay(self, sha256: str) -> Path:
        """Where a version's wheel is installed at its first run."""
        return self.path / "overlays" / sha256[:16]

    def requirements(self) -> list[str]:
        """The requirement lines it was made from."""
        path = self.path / _REQUIREMENTS
        if not path.is_file():
            return []
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shared_environment(name: str, *, root: Path | None = None) -> SharedEnvironment:
    """The shared environment `name` (made or not; see `SharedEnvironment.exists`)."""
    try:
        check_pool_name(name)  # the same rule: a name that is a path's last part, and a word
    except DeployError:
        raise DeployError(
            f"shared environment {name!r}: its name is letters, digits, '.', '_' and '-' (at "
            "most 63), starting with a letter or digit"
        ) from None
    return SharedEnvironment(name, (root or environments_root()) / SHARED_DIR / name)


def update_shared_environment(
    name: str,
    requirements: Sequence[str],
    *,
    root: Path | None = None,
    say: Callable[[str], None] = print,
) -> SharedEnvironment:
    """Make the shared environment `name`, or bring it up to date, so that it holds
    `requirements` (requirement lines) beside everything it was made from before, resolved
    together; a `DeployError` says what conflicts or cannot be installed, and leaves the
    environment as it was."""
    from packaging.requirements import InvalidRequirement, Requirement

    from ..packaging import find_uv

    shared = shared_environment(name, root=root)
    given = []
    for line in requirements:
        try:
            given.append(str(Requirement(line)))  # written one way: the same line compares equal
        except InvalidRequirement as exc:
            reason = masked_requirement(" ".join(str(exc).split()))
            raise DeployError(
                f"{masked_requirement(line)!r} is not a requirement: {reason}"
            ) from None
    uv = find_uv()
    if uv is None:
        raise DeployError("making a shared environment needs uv: pip install uv")
    shared.path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(shared.path.parent / f".{name}.lock"):
        made = shared.exists
        before = shared.requirements() if made else []
        wanted = list(dict.fromkeys([*before, *given]))
        if not made:
            shutil.rmtree(shared.path, ignore_errors=True)  # a making cut short: again
            say(f"Making the shared environment {name!r} in {shared.path}...")
            _run([uv, "venv", "-q", "--seed", "--python", sys.executable, shared.path])
        elif wanted == before:
            say(f"The shared environment {name!r} holds these requirements already.")
            return shared
        # the list beside the environment (renamed into place once installed, on one filesystem)
        with tempfile.TemporaryDirectory(prefix=".modelcrate-shared-", dir=shared.path) as work:
            listed = Path(work) / _REQUIREMENTS
            listed.write_text("\n".join(wanted) + "\n", encoding="utf-8")
            listed.chmod(0o600)  # a private index's token in a URL stays the user's
            say(f"Installing {len(wanted)} requirements into {name!r} (resolved together)...")
            try:
                _run([uv, "pip", "install", "-q", "--python", shared.python, "-r", listed])
            except DeployError:
                if not made:
                    shutil.rmtree(shared.path, ignore_errors=True)
                raise
            os.replace(listed, shared.path / _REQUIREMENTS)
        _write_atomic(shared.launcher, LAUNCHER)  # runs may be starting: whole or not at all
        _write_atomic(shared.path / _COMPLETE, name + "\n")
    return shared


def unmet_requirements(shared: SharedEnvironment, requirements: Sequence[str]) -> list[str]:
    """Which of `requirements` the shared environment does not satisfy, each said with what it
    holds instead ("numpy==2.4.6 (it has 2.3.1)", "torch (missing)"); markers that do not apply
    to it are left out."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from ..packaging import run_tool

    done = run_tool([shared.python, "-c", _PROBE], timeout=120)
    if done.returncode != 0:
        raise DeployError(
            f"the shared environment {shared.name!r} ({shared.path}) cannot be asked what it "
            "holds; make it again: modelcrate services shared-env " + shared.name
        )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    installed = {canonicalize_name(k): v for k, v in found["installed"].items()}
    unmet = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            unmet.append(f"{masked_requirement(line)} (not a requirement)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(
            {**found["environment"], "extra": ""}
        ):
            continue
        have = installed.get(canonicalize_name(requirement.name))
        shown = masked_requirement(str(requirement).split(";")[0].strip())
        if have is None:
            unmet.append(f"{shown} (missing)")
        elif requirement.specifier and not requirement.specifier.contains(have, prereleases=True):
            unmet.append(f"{shown} (it has {have})")
    return unmet


def requirement_lines(path: Path, *, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """The requirements of a requirements file or lock, one line each (hashes, comments and
    options dropped; `-r FILE` followed); a `DeployError` names a line that is none."""
    from packaging.requirements import InvalidRequirement, Requirement

    path = path.expanduser().resolve()
    if path in _seen:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DeployError(f"{path}: cannot be read (not UTF-8 text)") from None
    entries: list[tuple[int, str]] = []
    current, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = (
            re.split(r"\s#", raw, maxsplit=1)[0].strip() if not raw.lstrip().startswith("#") else ""
        )
        if not line and not current:
            continue
        start = start or number
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            entries.append((start, current.strip()))
            current, start = "", 0
    if current.strip():
        entries.append((start, current.strip()))
    lines: list[str] = []
    for number, entry in entries:
        words = entry.split()
        include = _included(words)
        if include is not None:
            lines += requirement_lines(path.parent / include, _seen=_seen | {path})
            continue
        if entry.startswith("-"):  # another option (--index-url, -c ...): not a requirement
            continue
        kept: list[str] = []
        for word in words:  # --hash=sha256:... and --hash sha256:... dropped
            if word.startswith("--hash") or (kept and kept[-1] == "--hash"):
                kept.append("--hash")
                continue
            kept.append(word)
        text = " ".join(w for w in kept if w != "--hash")
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            reason = " ".join(str(exc).split())
            raise DeployError(
                f"{path}, line {number}: not a requirement ({masked_requirement(reason)})"
            ) from None
        lines.append(str(requirement))
    return lines


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def masked_requirement(text: str) -> str:
    """`text` with the user and password of every URL in it (a private index's token, say)
    replaced by `***`: requirement lines are shown and stored, their credentials never."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def _included(words: list[str]) -> str | None:
    """The file a `-r FILE`, `-rFILE`, `--requirement FILE` or `--requirement=FILE` line names."""
    first = words[0]
    if first in ("-r", "--requirement"):
        return words[1] if len(words) > 1 else None
    if first.startswith("--requirement="):
        return first.partition("=")[2] or None
    if first.startswith("-r") and not first.startswith("--"):
        return first[2:] or None
    return None


def shared_requirements(
    versions: Sequence[str],
    files: Sequence[Path],
    *,
    registry: str | None = None,
    everything: bool = False,
) -> list[str]:
    """The requirement lines of `files` and of the registered `versions` (MODEL: its live
    version; with `everything`, every model's live version)."""
    from ._runs import split_reference
    from .registry import open_registry

    lines = [line for path in files for line in requirement_lines(path)]
    if not versions and not everything:
        return lines
    with open_registry(registry) as book:
        if everything:
            records = [m.live for m in book.models() if m.live is not None]
        else:
            records = []
            for reference in versions:
                model, version = split_reference(reference)
                if version:
                    records.append(book.version(model, version))
                    continue
                live = book.model(model).live
                if live is None:
                    raise DeployError(f"{model} has no live version; name one: {model}@VERSION")
                records.append(live)
    for record in records:
        if record.requirements is None:
            if everything:
                continue
            raise DeployError(
                f"{record.model}@{record.version} was registered without its requirements; "
                "give its lock with -r, or deploy it again"
            )
        lines += record.requirements
    if not lines:
        raise DeployError(
            "no requirements to install: no live version keeps them in the registry; give a "
            "lock with -r, or name versions (MODEL@VERSION)"
        )
    return lines


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def _run(command: list[str | os.PathLike[str]]) -> None:
    run_step(
        command,
        failed="the shared environment could not be made up to date",
        timeout=1800,
        lines=3,
    )
