"""Wheel parity: the old project's wheel and the migrated project's wheel, each built in
isolation by its own backend, compared by what they install: modules, package data, entry
points, requirements (canonical name, extras, specifier, marker) and the Python they need."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .._tools import run_tool, wheel_command
from .._wheel import read_wheel
from ._lume_files import left_behind

log = logging.getLogger("modelcrate.packaging")

BUILD_TIMEOUT = 600.0
Kind = Literal["module", "package data", "entry point", "requirement", "requires-python", "build"]


class DifferenceDict(TypedDict):
    """`Difference.to_dict()`: what differs, and its value in the old and the new wheel ("" for
    none)."""

    kind: str
    old: str
    new: str


class ParityDict(TypedDict):
    """`Parity.to_dict()`."""

    same: bool
    built: bool
    differences: list[DifferenceDict]
    expected: list[DifferenceDict]


@dataclass(frozen=True)
class WheelContents:
    """What a wheel installs, in comparable form."""

    version: str
    modules: frozenset[str]
    data: frozenset[str]
    entry_points: frozenset[str]
    requirements: frozenset[str]
    requires_python: str


@dataclass(frozen=True)
class Difference:
    """Something one wheel installs and the other does not (`old` or `new` empty), or a
    wheel that did not build (`kind` "build")."""

    kind: Kind
    old: str = ""
    new: str = ""

    def __str__(self) -> str:
        if self.kind == "build":
            return self.old or self.new
        if self.old and self.new:
            return f"{self.kind}: {self.old} before, {self.new} after"
        if self.old:
            return f"{self.kind} only in the old wheel: {self.old}"
        return f"{self.kind} only in the migrated wheel: {self.new}"

    def to_dict(self) -> DifferenceDict:
        return {"kind": self.kind, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Parity:
    """The comparison of the two wheels: the differences, those the migration meant (removed
    versioneer files), and what was compared."""

    old: WheelContents | None
    new: WheelContents | None
    differences: tuple[Difference, ...]
    expected: tuple[Difference, ...]

    @property
    def same(self) -> bool:
        return not self.differences

    @property
    def built(self) -> bool:
        """Whether the migrated project built (a difference no flag can accept otherwise)."""
        return self.new is not None

    def to_dict(self) -> ParityDict:
        return {
            "same": self.same,
            "built": self.built,
            "differences": [d.to_dict() for d in self.differences],
            "expected": [d.to_dict() for d in self.expected],
        }


def check_parity(
    old: Path,
    new: Path,
    *,
    removed: list[str],
    bogus: frozenset[str] = frozenset(),
    conditional: frozenset[str] = frozenset(),
    intended: frozenset[tuple[str, str, str]] = frozenset(),
) -> Parity:
    """Build the wheels of the projects at `old` and `new` and compare them; `removed` are
    files the migration deleted (their modules are expected to be gone), `bogus` the
    requirements the old setup.py made of broken tokens (expected to be gone too),
    `conditional` those it added under a condition (now with their marker: the old wheel had
    them, or not, as the building machine decided), `intended` the differences (kind, old, new)
    the migration made on purpose."""
    with tempfile.TemporaryDirectory(prefix="modelcrate-parity-") as scratch:
        root = Path(scratch)
        log.info("building the old wheel: %s", old)
        old_wheel, old_error = _build(old, root / "old")
        old_contents = wheel_contents(old_wheel) if old_wheel else None
        env = {"SETUPTOOLS_SCM_PRETEND_VERSION": old_contents.version} if old_contents else {}
        log.info("building the migrated wheel")
        new_wheel, new_error = _build(new, root / "new", env)
        new_contents = wheel_contents(new_wheel) if new_wheel else None
    failures = [
        Difference("build", old=f"the old project does not build a wheel: {old_error}")
        if old_error
        else None,
        Difference("build", new=f"the migrated project does not build a wheel: {new_error}")
        if new_error
        else None,
    ]
    if old_contents is None or new_contents is None:
        return Parity(old_contents, new_contents, tuple(f for f in failures if f), ())
    found = compare(old_contents, new_contents)
    expected = tuple(
        d
        for d in found
        if (d.kind, d.old, d.new) in intended or _meant(d, removed, bogus, conditional)
    )
    return Parity(
        old_contents, new_contents, tuple(d for d in found if d not in expected), expected
    )


def compare(old: WheelContents, new: WheelContents) -> list[Difference]:
    """Everything one wheel installs and the other does not."""
    found: list[Difference] = []
    kinds: list[tuple[Kind, frozenset[str], frozenset[str]]] = [
        ("module", old.modules, new.modules),
        ("package data", old.data, new.data),
        ("entry point", old.entry_points, new.entry_points),
        ("requirement", old.requirements, new.requirements),
    ]
    for kind, before, after in kinds:
        found += [Difference(kind, old=item) for item in sorted(before - after)]
        found += [Difference(kind, new=item) for item in sorted(after - before)]
    if old.requires_python != new.requires_python:
        found.append(
            Difference(
                "requires-python",
                old=old.requires_python or "(any)",
                new=new.requires_python or "(any)",
            )
        )
    return found


def wheel_contents(wheel: Path) -> WheelContents:
    """What the wheel at `wheel` installs (a `ProjectError` when it cannot be read)."""
    report = read_wheel(wheel)
    names = [f.path for f in report.files]
    files = [n for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))]
    data_dir = [n for n in names if n.split("/")[0].endswith(".data")]
    metadata = report.metadata
    return WheelContents(
        version=str(metadata.get("version", "")),
        modules=frozenset(n for n in files if n.endswith((".py", ".so", ".pyd"))),
        data=frozenset([n for n in files if not n.endswith((".py", ".so", ".pyd"))] + data_dir),
        entry_points=frozenset(
            f"[{group}] {name} = {' '.join(value.split())}"
            for group, points in report.entry_points.items()
            for name, value in points.items()
        ),
        requirements=frozenset(_requirement(r) for r in metadata.get("requires_dist", [])),
        requires_python=str(metadata.get("requires_python", "") or ""),
    )


def requirement_key(text: str) -> str:
    """A requirement as the comparison spells it."""
    return _requirement(text)


def _requirement(text: str) -> str:
    """A requirement in one spelling: canonical name, sorted extras and specifiers, marker."""
    try:
        parsed = Requirement(text)
    except InvalidRequirement:
        return text.strip()
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    specifier = ",".join(sorted(str(s) for s in parsed.specifier))
    url = f" @ {parsed.url}" if parsed.url else ""
    marker = f"; {parsed.marker}" if parsed.marker else ""
    return f"{canonicalize_name(parsed.name)}{extras}{specifier}{url}{marker}"


def _build(project: Path, out: Path, env: dict[str, str] | None = None) -> tuple[Path | None, str]:
    """Build a wheel of a copy of `project` (the build's own files stay out of the project);
    the wheel, or None and the build's last error line."""
    with tempfile.TemporaryDirectory(prefix="modelcrate-build-") as scratch:
        source = Path(scratch) / project.name
        shutil.copytree(project, source, symlinks=True, ignore=left_behind(project))
        out.mkdir(parents=True, exist_ok=True)
        try:
            done = run_tool(
                wheel_command(out, source),
                cwd=source,
                env={**os.environ, **(env or {})},
                timeout=BUILD_TIMEOUT,
            )
        except OSError as exc:
            return None, str(exc)
    wheels = sorted(out.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        return None, _last_error(done.stdout + "\n" + done.stderr)
    return wheels[0], ""


_FRONTEND_LINES = ("error: failed to build", "cause:", "hint:", "error backend subprocess")


def _last_error(output: str) -> str:
    """The line of a failed build that says why: the backend's own error, not the front
    end's summary of it."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    own = [line for line in lines if not line.lower().startswith(_FRONTEND_LINES)]
    errors = [line for line in own if "error" in line.lower()]
    return (errors or own or lines or ["no output"])[-1]


def _meant(
    difference: Difference, removed: list[str], bogus: frozenset[str], conditional: frozenset[str]
) -> bool:
    """Whether a difference is one the migration meant: a versioneer file it removed, a
    requirement the old setup.py made of a broken token, or one it added under a condition
    that is now its marker."""
    marked = {_requirement(r) for r in conditional}
    if difference.kind == "requirement" and difference.new and not difference.old:
        return difference.new in marked
    if not difference.old or difference.new:
        return False
    if difference.kind == "requirement":
        unmarked = {r.split(";")[0].strip() for r in marked}
        return difference.old in {_requirement(token) for token in bogus} | unmarked
    if difference.kind != "module":
        return False
    return any(path == difference.old or path.endswith("/" + difference.old) for path in removed)
