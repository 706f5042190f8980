"""A migration's plan: each file it adds, modifies or removes, and the notes on what it could
not carry over as it was."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from ._declared import Note

Action = Literal["add", "modify", "remove", "move"]


class FileChangeDict(TypedDict):
    """A `FileChange` in `MigratedDict`."""

    path: str
    action: Action
    what: str
    source: str | None


@dataclass(frozen=True)
class FileChange:
    """One file the migration adds, modifies, removes or moves (from `source`, with `text` when
    it is rewritten too), with what it does to it."""

    path: str
    action: Action
    what: str
    text: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    """What migrating a project changes, file by file, and what it cannot carry over as it was."""

    project: Path
    changes: tuple[FileChange, ...] = ()
    notes: tuple[Note, ...] = ()
    already_migrated: bool = False
    bogus_requirements: frozenset[str] = frozenset()
    """What the old setup.py made requirements of by mistake (the `.read().split()` tokens)."""
    conditional_requirements: frozenset[str] = frozenset()
    """Requirements setup.py added under a condition, now with it as their marker."""
    intended: frozenset[tuple[str, str, str]] = frozenset()
    """Differences between the old and the migrated wheel the migration means, as (kind, old,
    new): a LUME-services project's new modules, entry points and requirements."""

    @property
    def removed(self) -> list[str]:
        return [c.path for c in self.changes if c.action == "remove"]

    @property
    def touched(self) -> list[str]:
        """Every path the plan writes or deletes: a moved file's old path and its new one."""
        return [p for c in self.changes for p in (c.source, c.path) if p is not None]

    def diff(self) -> str:
        """The changes as a unified diff (a removed file by its name only, a moved one by its
        two names and what changed in it)."""
        parts = []
        for change in self.changes:
            if change.action == "remove":
                parts.append(f"--- a/{change.path}\n+++ /dev/null (removed)\n")
                continue
            before = change.source if change.action == "move" else change.path
            if change.action == "move":
                parts.append(f"rename from {change.source}\nrename to {change.path}\n")
                if change.text is None:
                    continue
            old = ""
            if change.action in ("modify", "move") and before is not None:
                old = (self.project / before).read_text(encoding="utf-8")
            parts.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        (change.text or "").splitlines(keepends=True),
                        f"a/{before}" if change.action != "add" else "/dev/null",
                        f"b/{change.path}",
                    )
                )
            )
        return "".join(parts)
