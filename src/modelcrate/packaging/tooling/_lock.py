"""`lock_project`: hashed lock files of a project's runtime and development dependencies.

The default format is two requirements files compiled by `uv pip compile --universal
--generate-hashes` for every Python the project allows, dev first, then runtime constrained to
the dev pins (from uv's cache when it can), so the runtime set is a subset of the dev set with
the same versions; both are checked before they replace the old files. The runtime set is what
the project's image installs: the dependencies and, when the project declares it, the `serve`
extra; the dev set adds the `dev` extra. A direct
reference (`name @ path-or-URL`) cannot carry a hash: it is left out of the hashed files and
listed in `requirements/<set>.direct.txt`, to install with `--no-deps` after the lock.
`format="pipenv"` writes Pipfile and runs `pipenv lock` instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..._errors import ModelcrateWarning, ProjectError
from ...spec import write_text_atomic
from .._project import (
    DEV_DIRECT,
    DEV_EXTRA,
    DEV_LOCK,
    LOCK_DIR,
    LOCK_FILES,
    PIPFILE,
    PIPFILE_LOCK,
    RUNTIME_DIRECT,
    RUNTIME_LOCK,
    SERVE_EXTRA,
    ProjectMetadata,
    read_project,
)
from .._tools import find_pipenv as _pipenv
from .._tools import find_uv, run_tool

log = logging.getLogger("modelcrate.packaging")

LockFormat = Literal["uv", "pipenv"]
LOCK_FORMATS: tuple[str, ...] = LockFormat.__args__  # type: ignore[attr-defined]

COMPILE_COMMAND = "modelcrate lock ."


@dataclass(frozen=True)
class Pin:
    """One entry of a lock file: a name pinned to a version (None for a direct reference)."""

    name: str
    version: str | None
    marker: str
    hashes: tuple[str, ...]
    url: str | None = None


@dataclass(frozen=True)
class LockFile:
    """A file `lock_project` wrote, and how many entries (pins, or requirements) it holds."""

    path: Path
    pins: int
    noun: str = "pin"


@dataclass(frozen=True)
class Locked:
    """What `lock_project` did: the files written, and the direct references left out."""

    project: Path
    files: tuple[LockFile, ...]
    direct: tuple[str, ...]


def lock_project(
    project: str | os.PathLike[str], *, format: LockFormat = "uv", upgrade: bool = False
) -> Locked:
    """Write the project's lock files; reuse the pins already there unless `upgrade`.

    Raises `ProjectError` when the project cannot be read, the tool is missing, or the
    dependencies cannot be resolved.
    """
    if format not in LOCK_FORMATS:
        raise ProjectError(f"--format {format}: choose one of {', '.join(LOCK_FORMATS)}")
    meta = read_project(project)
    root = meta.path.parent
    if format == "pipenv":
        return _lock_pipenv(meta, upgrade=upgrade)

    uv = _uv()
    python = meta.lowest_python
    runtime_direct = _direct(_runtime_set(meta))
    dev_direct = _direct(_dev_set(meta))
    # The extras of each set, those the project declares (uv refuses an undeclared extra).
    serve_args = ["--extra", SERVE_EXTRA] if meta.serve else []
    dev_args = [*(["--extra", DEV_EXTRA] if meta.dev else []), *serve_args]
    serve = " + serve extra" if meta.serve else ""
    folder = root / LOCK_DIR
    folder.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lock-", dir=folder))
    try:
        dev_tmp, runtime_tmp = work / "dev.lock.txt", work / "runtime.lock.txt"
        for tmp, final in ((dev_tmp, DEV_LOCK), (runtime_tmp, RUNTIME_LOCK)):
            if not upgrade and (root / final).is_file():  # uv prefers the pins already in -o
                shutil.copyfile(root / final, tmp)
        log.info("resolving %s[dev] for Python %s and newer", meta.name, python)
        _compile(uv, meta, dev_tmp, python, dev_args, dev_direct, upgrade)
        log.info("resolving %s (runtime) within the dev pins", meta.name)
        constraint = dev_tmp.relative_to(root).as_posix()
        # Every package it can pick was just fetched for the dev set: try uv's cache alone first.
        runtime_args = ["-c", constraint, *serve_args]
        if not _compile(uv, meta, runtime_tmp, python, [*runtime_args, "--offline"],
                        runtime_direct, upgrade, check=False):  # fmt: skip
            _compile(uv, meta, runtime_tmp, python, runtime_args, runtime_direct, upgrade)

        dev_text = _with_header(
            dev_tmp.read_text(encoding="utf-8"), meta, f"development (dependencies + dev extra{serve})",
            python, DEV_LOCK, DEV_DIRECT if dev_direct else None,
        )  # fmt: skip
        runtime_text = _with_header(
            runtime_tmp.read_text(encoding="utf-8").replace(f"-c {constraint}", f"-c {DEV_LOCK}"),
            meta, f"runtime (dependencies{serve})", python, RUNTIME_LOCK,
            RUNTIME_DIRECT if runtime_direct else None,
        )  # fmt: skip
        dev_pins, runtime_pins = parse_lock(dev_text), parse_lock(runtime_text)
        verify_locks(meta, runtime_pins, dev_pins)

        files = [
            LockFile(write_text_atomic(root / DEV_LOCK, dev_text), len(dev_pins)),
            LockFile(write_text_atomic(root / RUNTIME_LOCK, runtime_text), len(runtime_pins)),
        ]
        for name, direct, of in (
            (DEV_DIRECT, dev_direct, DEV_LOCK),
            (RUNTIME_DIRECT, runtime_direct, RUNTIME_LOCK),
        ):
            if direct:
                text = _direct_text(meta, direct, of, name)
                files.append(
                    LockFile(write_text_atomic(root / name, text), len(direct), "requirement")
                )
            else:
                (root / name).unlink(missing_ok=True)  # a reference since replaced by a version
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if dev_direct:
        shown = ", ".join(str(r) for r in dev_direct)
        lists = " and ".join(
            name for name in (RUNTIME_DIRECT, DEV_DIRECT) if (root / name).exists()
        )
        warnings.warn(
            f"{shown}: a direct reference cannot carry a hash, so it is not in the lock files; "
            f"{lists} list it, to install with --no-deps after the lock",
            ModelcrateWarning,
            stacklevel=2,
        )
    return Locked(project=root, files=tuple(files), direct=tuple(str(r) for r in dev_direct))


def parse_lock(text: str) -> tuple[Pin, ...]:
    """The entries of a requirements file (continuation lines joined, comments dropped)."""
    entries: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            entries.append(current.strip())
            current = ""
    if current.strip():
        entries.append(current.strip())
    pins = []
    for entry in entries:
        if entry.startswith("-"):  # an option line (--index-url ...)
            continue
        words = entry.split()
        hashes = tuple(w.removeprefix("--hash=") for w in words if w.startswith("--hash="))
        try:
            req = Requirement(" ".join(w for w in words if not w.startswith("--")))
        except InvalidRequirement as exc:
            raise ProjectError(f"lock entry {entry!r} is not a requirement: {exc}") from None
        specs = list(req.specifier)
        exact = len(specs) == 1 and specs[0].operator == "=="
        pins.append(
            Pin(
                name=canonicalize_name(req.name),
                version=specs[0].version if exact else None,
                marker=str(req.marker or ""),
                hashes=hashes,
                url=req.url,
            )
        )
    return tuple(pins)


def read_lock(path: str | os.PathLike[str]) -> tuple[Pin, ...]:
    """The pins of a lock file written by `lock_project`."""
    return parse_lock(Path(path).read_text(encoding="utf-8"))


def verify_locks(meta: ProjectMetadata, runtime: tuple[Pin, ...], dev: tuple[Pin, ...]) -> None:
    """Check that every pin is exact and hashed, runtime ⊆ dev with the same versions, and the
    project's own version bounds (e.g. fastapi<0.151) hold; raise `ProjectError` if not."""
    for label, pins in ((RUNTIME_LOCK, runtime), (DEV_LOCK, dev)):
        for pin in pins:
            if pin.version is None or not pin.hashes:
                raise ProjectError(
                    f"{label}: {pin.name} is not pinned with a hash; "
                    "run `modelcrate lock --upgrade` or pin it to a version from an index"
                )
    in_dev = {(p.name, p.version) for p in dev}
    for pin in runtime:
        if (pin.name, pin.version) not in in_dev:
            raise ProjectError(
                f"{RUNTIME_LOCK}: {pin.name}=={pin.version} is not in {DEV_LOCK}; "
                "run `modelcrate lock --upgrade`"
            )
    for label, pins, declared in (
        (RUNTIME_LOCK, runtime, _runtime_set(meta)),
        (DEV_LOCK, dev, _dev_set(meta)),
    ):
        for req in declared:
            if req.url or req.marker:
                continue
            for pin in pins:
                if pin.name == canonicalize_name(req.name) and not req.specifier.contains(
                    pin.version or "", prereleases=True
                ):
                    raise ProjectError(
                        f"{label}: {pin.name}=={pin.version} breaks the project's requirement "
                        f"{req}; run `modelcrate lock --upgrade`"
                    )


def _runtime_set(meta: ProjectMetadata) -> tuple[Requirement, ...]:
    """What the runtime lock pins: the dependencies and the `serve` extra (the image's set)."""
    return (*meta.dependencies, *meta.serve)


def _dev_set(meta: ProjectMetadata) -> tuple[Requirement, ...]:
    """What the dev lock pins: the runtime set and the `dev` extra."""
    return (*_runtime_set(meta), *meta.dev)


def _uv() -> str:
    found = find_uv()
    if not found:
        raise ProjectError(
            "uv is not installed: pip install 'modelcrate[tools]' (modelcrate lock resolves with uv)"
        )
    return found


def _direct(requirements: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
    """The direct references (`name @ URL`) among `requirements`, each name once."""
    seen: dict[str, Requirement] = {}
    for req in requirements:
        if req.url:
            seen.setdefault(canonicalize_name(req.name), req)
    return tuple(seen.values())


def _compile(
    uv: str,
    meta: ProjectMetadata,
    output: Path,
    python: str,
    extra_args: list[str],
    direct: tuple[Requirement, ...],
    upgrade: bool,
    *,
    check: bool = True,
) -> bool:
    """Run `uv pip compile` into `output`; False if it failed and not `check`."""
    root = meta.path.parent
    cmd = [
        uv, "pip", "compile", meta.path.name, "--universal", "--python-version", python,
        "--generate-hashes", "--custom-compile-command", COMPILE_COMMAND, "--quiet",
        "-o", output.relative_to(root).as_posix(), *extra_args,
    ]  # fmt: skip
    for req in direct:
        cmd += ["--no-emit-package", req.name]
    if upgrade:
        cmd.append("--upgrade")
    done = run_tool(cmd, cwd=root)
    if done.returncode == 0:
        return True
    if not check:
        return False
    reason = " ".join(
        line.strip(" \u00d7\u2570\u2500\u25b6\u2502").removeprefix("error: ")
        for line in done.stderr.splitlines()
        if line.strip()
    )
    raise ProjectError(f"{meta.path}: uv could not lock the dependencies: {reason}")


def _with_header(
    text: str,
    meta: ProjectMetadata,
    what: str,
    python: str,
    path: str,
    direct_file: str | None,
) -> str:
    """uv's output with lines saying what the file is, how to install it, and what is left out."""
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    notes = [
        f"# The {what} pins of {meta.name}, hashed, for Python {python} and newer "
        f"(requires-python {meta.requires_python}) on every platform.",
        f"# Install: pip install --require-hashes -r {path}",
    ]
    if direct_file:
        notes.append(
            f"# then: pip install --no-deps -r {direct_file} (direct references cannot carry "
            "a hash, so they are listed there, not here)"
        )
    notes.append("# then the project itself with --no-deps.")
    return "".join(lines[:first]) + "".join(f"{n}\n" for n in notes) + "".join(lines[first:])


def _direct_text(
    meta: ProjectMetadata, direct: tuple[Requirement, ...], lock: str, name: str
) -> str:
    head = (
        f"# Direct references of {meta.name}: a path or URL cannot carry a hash, so these are not\n"
        f"# in {lock}. Install them after it, without their dependencies (pinned there):\n"
        f"#    pip install --no-deps -r {name}\n"
    )
    return head + "".join(f"{req}\n" for req in direct)


# -- pipenv ---------------------------------------------------------------------------------------


def _vcs_fields(url: str) -> dict[str, str]:
    """Pipfile fields of a VCS URL such as `git+ssh://git@host/x.git@v1#subdirectory=pkg`:
    the repository, the ref after an `@` in the path (not the user's `@` before the host), and
    the subdirectory."""
    from urllib.parse import parse_qs, urlsplit, urlunsplit

    vcs, _, rest = url.partition("+")
    parts = urlsplit(rest)
    path, at, ref = parts.path.rpartition("@")
    if not at:
        path, ref = parts.path, ""
    fields = {vcs: urlunsplit(parts._replace(path=path, fragment=""))}
    if ref:
        fields["ref"] = ref
    subdirectory = parse_qs(parts.fragment).get("subdirectory")
    if subdirectory:
        fields["subdirectory"] = subdirectory[0]
    return fields


def pipfile_text(meta: ProjectMetadata) -> str:
    """A Pipfile of the project's dependencies ([packages]), dev extra ([dev-packages]) and Python."""

    def entry(req: Requirement) -> str:
        fields: dict[str, object] = {}
        if req.url:
            url = req.url
            if url.startswith("file://"):
                from urllib.parse import unquote, urlsplit

                fields["path"] = unquote(urlsplit(url).path)
            elif "+" in url.split("://", 1)[0]:
                fields.update(_vcs_fields(url))
            else:
                fields["file"] = url
        else:
            fields["version"] = str(req.specifier) or "*"
        if req.extras:
            fields["extras"] = sorted(req.extras)
        if req.marker:
            fields["markers"] = str(req.marker)
        if list(fields) == ["version"]:
            return f"{_toml_key(req.name)} = {json.dumps(fields['version'])}"
        inner = ", ".join(f"{key} = {json.dumps(value)}" for key, value in fields.items())
        return f"{_toml_key(req.name)} = {{{inner}}}"

    lines = [
        "# Written by `modelcrate lock --format pipenv` from pyproject.toml; edit pyproject.toml.",
        "[[source]]",
        'url = "https://pypi.org/simple"',
        "verify_ssl = true",
        'name = "pypi"',
        "",
        "[packages]",
        *(entry(r) for r in meta.dependencies),
        "",
        "[dev-packages]",
        *(entry(r) for r in meta.dev),
        "",
        "[requires]",
        f'python_version = "{".".join(meta.lowest_python.split(".")[:2])}"',
    ]
    return "\n".join(lines) + "\n"


def _toml_key(name: str) -> str:
    return name if all(c.isalnum() or c in "-_" for c in name) else json.dumps(name)


def _lock_pipenv(meta: ProjectMetadata, *, upgrade: bool) -> Locked:
    pipenv = _pipenv()
    if not pipenv:
        raise ProjectError(
            "pipenv is not installed: `pip install pipenv`, or lock with uv (the default)"
        )
    root = meta.path.parent
    pipfile = write_text_atomic(root / PIPFILE, pipfile_text(meta))
    env = {**os.environ, "PIPENV_PIPFILE": str(pipfile), "PIPENV_VERBOSITY": "-1"}
    cmd = [*pipenv, "lock", *(["--clear"] if upgrade else [])]
    done = run_tool(cmd, cwd=root, env=env)
    if done.returncode != 0:
        reason = " ".join(line.strip() for line in done.stderr.splitlines()[-5:] if line.strip())
        raise ProjectError(f"{pipfile}: pipenv lock failed: {reason}")
    lock = json.loads((root / PIPFILE_LOCK).read_text(encoding="utf-8"))
    pins = len(lock.get("default", {})) + len(lock.get("develop", {}))
    stale = sorted(p.relative_to(root).as_posix() for p in root.glob(LOCK_FILES))
    if stale:
        warnings.warn(
            f"{', '.join(stale)} from an earlier `modelcrate lock` are still there, and the "
            "Dockerfile and CI install from them, not from Pipfile.lock: delete them, or run "
            "`modelcrate lock` again after changing the dependencies",
            ModelcrateWarning,
            stacklevel=2,
        )
    return Locked(
        project=root,
        files=(LockFile(pipfile, len(meta.dependencies) + len(meta.dev), "requirement"),
               LockFile(root / PIPFILE_LOCK, pins)),
        direct=(),
    )  # fmt: skip
