"""Result targets: where results are stored, named by URI, and read back."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from .._errors import TargetError
from ._result import Result

TARGET_ENV = "MODELCRATE_TARGET"
"""Environment variable naming the default target URI of runs that name none."""


@runtime_checkable
class Target(Protocol):
    """A place results are stored in and read back from."""

    uri: str

    def save(self, result: Result) -> str:
        """Store `result` (a no-op if it is already there); return where it is."""

    def load(self, result_id: str) -> Result:
        """The stored result with this id (or a unique prefix of it)."""

    def list(self, *, model: str | None = None, since: datetime | None = None) -> list[Result]:
        """Stored results, oldest first, optionally of one model and since a time."""


class FilesystemTarget:
    """A directory holding one JSON file per result: `<root>/<model>/<hash>.json`.

    Each file is written to a temporary name and then linked into place, so a reader never
    sees half a result and storing the same result twice leaves the first file untouched.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = self.root.as_uri()

    def __repr__(self) -> str:
        return f"FilesystemTarget({str(self.root)!r})"

    def path_of(self, result: Result) -> Path:
        """Where `result` is (or would be) stored."""
        return self.root / _safe_name(result.model) / f"{result.hash}.json"

    def save(self, result: Result) -> str:
        path = self.path_of(result)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return str(path)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(result.to_json(indent=1))
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, path)  # atomic, and refuses to replace an existing result
                except FileExistsError:
                    pass
                except OSError:  # filesystems without hard links
                    os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            raise TargetError(f"{self.uri}: cannot write result ({exc.strerror or exc})") from None
        return str(path)

    def _files(self, model: str | None = None) -> Iterator[Path]:
        if not self.root.is_dir():
            return iter(())
        pattern = f"{_safe_name(model)}/*.json" if model else "*/*.json"
        return self.root.glob(pattern)

    def load(self, result_id: str) -> Result:
        matches = [p for p in self._files() if p.stem.startswith(result_id)]
        if not matches:
            raise TargetError(f"{self.uri}: no result with id {result_id!r}")
        if len(matches) > 1:
            raise TargetError(
                f"{self.uri}: id {result_id!r} matches {len(matches)} results; give more of it"
            )
        return _read(matches[0])

    def list(self, *, model: str | None = None, since: datetime | None = None) -> list[Result]:
        results = [_read(p) for p in self._files(model)]
        if model is not None:  # names differing only in characters a file name cannot hold
            results = [r for r in results if r.model == model]
        if since is not None:
            since = since if since.tzinfo else since.astimezone()  # a naive time is local time
            results = [r for r in results if r.created >= since]
        return sorted(results, key=lambda r: r.created)


def _read(path: Path) -> Result:
    try:
        return Result.from_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise TargetError(f"{path}: not a readable result ({exc})") from None


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name).lstrip(".") or "_"


def open_target(uri: str | os.PathLike[str], *, base: Path | None = None) -> Target:
    """The target a URI names: `file:///path` (or a plain path, relative to `base` or the cwd)."""
    text = os.fspath(uri)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = (
            unquote(parts.netloc + parts.path)
            if parts.netloc not in ("", "localhost")
            else unquote(parts.path)
        )
        if not path:
            raise TargetError(f"{text}: a file target needs a path, e.g. file:///data/results")
        return FilesystemTarget(_relative_to(Path(path), base))
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):  # a plain path
        return FilesystemTarget(_relative_to(Path(text), base))
    raise TargetError(
        f"{text}: unsupported target scheme {parts.scheme!r}; use file:///path or a directory path"
    )


def _relative_to(path: Path, base: Path | None) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() or base is None else base / path


def default_target_uri(base: Path | None = None) -> str:
    """`$MODELCRATE_TARGET` if set, else the `results` directory under `base` (or the cwd)."""
    configured = os.environ.get(TARGET_ENV)
    if configured:
        return configured
    return ((base or Path.cwd()) / "results").resolve().as_uri()
