"""The filesystem target: one JSON file per result, written atomically; and reading files back.

With `MODELCRATE_MOUNTS=/data/results:/mnt/results`, a container writes a target named by the
host path (`file:///data/results`) into its mount (`/mnt/results`) and reports host paths, so
the locations a run prints are where the results are found on the host.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .._errors import TargetError
from ..spec import new_file_mode
from ._result import Result
from ._settings import Mount
from ._targets import BaseTarget, as_utc, in_window


class FilesystemTarget(BaseTarget):
    """A directory holding one JSON file per result: `<root>/<model>/<hash>.json`.

    Each file is written to a temporary name and then linked into place, so a reader (or a
    process killed mid-write) never leaves half a result, and storing the same result twice
    leaves the first file untouched.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        mounts: Sequence[Mount] = (),
        fsync: bool = True,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = self.root.as_uri()
        self.storage = host_to_container(self.root, mounts)
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"FilesystemTarget({str(self.root)!r})"

    def path_of(self, result: Result) -> Path:
        """Where `result` is (or would be) stored, as seen from the host."""
        return self.root / _safe_name(result.model) / f"{result.hash}.json"

    def save_many(self, results: Sequence[Result]) -> list[str]:
        return [self._save(result) for result in results]

    def _save(self, result: Result) -> str:
        shown = self.path_of(result)
        path = self.storage / shown.relative_to(self.root)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return str(shown)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
            try:
                os.chmod(tmp, new_file_mode())  # readable as any new file, not only by its writer
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(result.to_json(indent=1))
                    if self.fsync:
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
            raise TargetError(f"{self.name}: cannot write result ({exc.strerror or exc})") from None
        return str(shown)

    def _files(self, model: str | None = None) -> list[Path]:
        if not self.storage.is_dir():
            return []
        pattern = f"{_safe_name(model)}/*.json" if model else "*/*.json"
        return list(self.storage.glob(pattern))

    def _query(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Result]:
        found = [
            r
            for r in map(_read, self._files(model))
            if (model is None or r.model == model) and in_window(r.created, since, until)
        ]
        # by the moment, so results with naive and aware times sort together
        found.sort(key=lambda r: (as_utc(r.created), r.hash), reverse=newest_first)
        return iter(found[:limit] if limit is not None else found)

    def _load(self, result_id: str) -> Result:
        matches = [p for p in self._files() if p.stem.startswith(result_id)]
        if not matches:
            raise self._not_found(result_id)
        if len(matches) > 1:
            raise self._ambiguous(result_id, len(matches))
        return _read(matches[0])


def _read(path: Path) -> Result:
    try:
        return Result.from_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TargetError(
            f"{path}: not a readable result ({exc}); move it out of the target"
        ) from None


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name).lstrip(".") or "_"


def file_uri_path(uri: str) -> str:
    """The local path of a `file://` URI (`file:///a/b`, `file://localhost/a/b`, `file:a/b`)."""
    parts = urlsplit(uri)
    if parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
    else:
        path = unquote(parts.netloc + parts.path)
    if not path:
        raise TargetError(f"{uri}: a file target needs a path, e.g. file:///data/results")
    return path


def host_to_container(path: Path, mounts: Sequence[Mount]) -> Path:
    """Where a host path is inside this container, by the longest mount that holds it."""
    for mount in sorted(mounts, key=lambda m: len(m.host), reverse=True):
        host = Path(mount.host)
        if path == host or host in path.parents:
            return Path(mount.container) / path.relative_to(host)
    return path


def load_file(path: str | os.PathLike[str], *, mounts: Sequence[Mount] | None = None) -> Any:
    """Read a data file for a flow, by its suffix.

    `.json` gives the parsed value (a stored result document gives a `Result`, arrays restored),
    `.npy` an array, `.npz` a dict of arrays, `.yml`/`.yaml` the parsed YAML, `.txt`, `.csv`,
    `.dat` the text, anything else the bytes. A `file://` URI or a host path under a mount
    (`MODELCRATE_MOUNTS`) is read where this container sees it.
    """
    if mounts is None:
        from ._settings import load_settings

        mounts = load_settings().mounts
    text = os.fspath(path)
    local = Path(file_uri_path(text) if text.startswith("file:") else text).expanduser()
    where = host_to_container(local.absolute(), mounts)
    suffix = where.suffix.lower()
    try:
        if suffix == ".json":
            value = json.loads(where.read_text(encoding="utf-8"))
            if (
                isinstance(value, dict)
                and {"model", "version", "inputs", "outputs", "hash"} <= value.keys()
            ):
                return Result.from_document(value)
            from ._result import decode_value

            return decode_value(value)
        if suffix in (".npy", ".npz"):
            import numpy as np

            loaded = np.load(where, allow_pickle=False)
            if suffix == ".npz":
                with loaded:
                    return {name: loaded[name] for name in loaded.files}
            return loaded
        if suffix in (".yml", ".yaml"):
            import yaml

            return yaml.safe_load(where.read_text(encoding="utf-8"))
        if suffix in (".txt", ".csv", ".dat", ".md"):
            return where.read_text(encoding="utf-8")
        return where.read_bytes()
    except FileNotFoundError:
        shown = f"{local} (in this container: {where})" if where != local.absolute() else str(local)
        raise TargetError(f"{shown}: no such file; check the path or MODELCRATE_MOUNTS") from None
    except (OSError, ValueError) as exc:
        raise TargetError(f"{local}: cannot be read ({exc})") from None
