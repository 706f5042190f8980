"""The filesystem target: one JSON file per result, written atomically; and reading files back.

With `MODELCRATE_MOUNTS=/data/results:/mnt/results`, a container writes a target named by the
host path (`file:///data/results`) into its mount (`/mnt/results`) and reports host paths, so
the locations a run prints are where the results are found on the host.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .._errors import TargetError, TargetWarning
from ..spec import new_file_mode
from ._progress import report_progress
from ._result import Result
from ._settings import Mount
from ._targets import BaseTarget, as_utc, in_window, mask_uri, split_uri

KEYS = ".keys"
"""The folder of a model's inputs-key index: `<root>/<model>/.keys/<key[:2]>/<key>`."""


class FilesystemTarget(BaseTarget):
    """A directory holding one JSON file per result: `<root>/<model>/<hash>.json`.

    Each file is written to a temporary name and then linked into place, so a reader (or a
    process killed mid-write) never leaves half a result, and storing the same result twice
    leaves the first file untouched. Then an empty file named by the result's inputs key marks
    those inputs as stored (`stored_keys`); it is never read as a result.
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
        self._swept: set[Path] = set()  # folders whose stale temporary files are removed

    def __repr__(self) -> str:
        return f"FilesystemTarget({str(self.root)!r})"

    def path_of(self, result: Result) -> Path:
        """Where `result` is (or would be) stored, as seen from the host."""
        return self.root / _safe_name(result.model) / f"{result.hash}.json"

    def _store(self, results: Sequence[Result], refused: list[str]) -> list[str | None]:
        locations: list[str | None] = []
        first_error: str | None = None
        for result in results:
            try:
                locations.append(self._save(result))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                first_error = first_error or reason
                refused.append(f"{result.hash[:12]}: cannot write result ({reason})")
                locations.append(None)
            report_progress("store", len(locations), len(results), target=self.name)
        if first_error and all(where is None for where in locations):
            raise TargetError(f"{self.name}: cannot write result ({first_error})")
        return locations

    def _save(self, result: Result) -> str:
        shown = self.path_of(result)
        path = self.storage / shown.relative_to(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._mark_key(path.parent, result.key)  # if a killed writer left it unmarked
            return str(shown)
        if path.parent not in self._swept:
            self._swept.add(path.parent)
            for stale in stale_temporary_files(path.parent):
                stale.unlink(missing_ok=True)
        text = result.to_json(indent=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{_writer()}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(tmp, new_file_mode())  # readable as any new file, not only by its writer
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
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
        self._mark_key(path.parent, result.key)
        return str(shown)

    @staticmethod
    def _mark_key(folder: Path, key: str) -> None:
        """Create the empty file that says a result of inputs key `key` is in `folder`, once the
        result file is in place; creating it is atomic (`O_EXCL`), so two writers do not race.

        A writer killed between the two leaves a result without its mark: a sweep evaluates that
        input set again, and storing it again is a no-op that makes the mark. A mark that cannot
        be made (a read-only mount, a full disk) is missed the same way: the result is stored.
        """
        mark = os.path.join(folder, KEYS, key[:2], key)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                os.close(os.open(mark, flags, 0o666))  # less the umask, as any new file
            except FileNotFoundError:  # the first mark of its folder
                os.makedirs(os.path.dirname(mark), exist_ok=True)
                os.close(os.open(mark, flags, 0o666))
        except FileExistsError:
            pass  # marked already, by another writer or an earlier store
        except OSError:
            pass  # the result is stored without its mark (see above)

    def _stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Keys whose mark is in any model's folder (a key names its model, so at most one)."""
        try:
            models = [e.path for e in os.scandir(self.storage) if _is_model_folder(e)]
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise TargetError(f"{self.name}: cannot read results ({exc.strerror or exc})") from None
        found: set[str] = set()
        for key in keys:
            if _KEY.fullmatch(key) and any(
                os.path.lexists(os.path.join(folder, KEYS, key[:2], key)) for folder in models
            ):
                found.add(key)
        return found

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
        self._warn_of_stale_files(model)
        found = [
            r
            for r in self._results((str(path), path) for path in self._files(model))
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
        return self._result(str(matches[0]), matches[0])

    def _result(self, where: str, document: object) -> Result:
        """The result in a file (`document` is its path), named by its content's hash."""
        assert isinstance(document, Path)
        result = super()._result(where, _read(document))
        if Path(where).stem != result.hash:
            raise TargetError(
                f"{where}: not a good result (it holds result {result.hash[:12]} under another "
                "name); move it out of the target"
            )
        return result

    def _warn_of_stale_files(self, model: str | None) -> None:
        if not self.storage.is_dir():
            return
        folders = [self.storage / _safe_name(model)] if model else self.storage.iterdir()
        stale = [f for d in folders if d.is_dir() for f in stale_temporary_files(d)]
        if stale:
            warnings.warn(
                f"{self.name}: {len(stale)} temporary file{'s' if len(stale) > 1 else ''} of "
                f"writers that were stopped mid-write (such as {stale[0]}); they hold no result, "
                "and the next write to their folder removes them",
                TargetWarning,
                stacklevel=2,
            )


_KEY = re.compile(r"[0-9a-f]{64}")
"""An inputs key; anything else names no mark (nor a path out of the `.keys` folder)."""


def _is_model_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return not entry.name.startswith(".") and entry.is_dir()
    except OSError:
        return False


STALE_AFTER = 3600.0
"""Seconds after which a temporary file nobody has written to is taken as a dead writer's."""


def _pid_namespace() -> str:
    """This process's PID namespace (containers on one host share a hostname but not PIDs)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64]
_NAMESPACE = _pid_namespace()


def _writer() -> str:
    """The name of this writer in its temporary files: host, PID namespace and PID (read at each
    write, so a forked worker names itself, not its parent)."""
    return f"{_HOST}~{_NAMESPACE}~{os.getpid()}"


_TEMPORARY = re.compile(r"\.(?:(?P<host>[A-Za-z0-9-]+)~(?P<ns>\d+)~(?P<pid>\d+)\.)?\w+\.tmp")


def stale_temporary_files(folder: Path, *, now: float | None = None) -> list[Path]:
    """The temporary files in `folder` that writers killed mid-write left behind.

    A temporary file is named after its writer (host, PID namespace, PID). It is stale when its
    writer ran here and that process is gone, or, for a writer elsewhere (another host on a
    shared mount) or of an older name, when nobody has written to it for `STALE_AFTER`
    seconds: a live writer's file is never taken.
    """
    now = time.time() if now is None else now
    found = []
    try:
        entries = [
            e for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(".tmp")
        ]
    except OSError:
        return []
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if not match:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue  # removed meanwhile: its writer finished
        ours = (match["host"], match["ns"]) == (_HOST, _NAMESPACE)
        if (ours and not _alive(int(match["pid"]))) or age > STALE_AFTER:
            found.append(Path(entry.path))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # a process of another user, or a PID beyond this system's
    return True


def _read(path: Path) -> object:
    """The JSON document in a result file (checked as a result by the caller)."""
    try:
        # never a link (out of the store), and never wait on a pipe or read a device forever
        fd = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
    except OSError as exc:
        why = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise TargetError(
            f"{path}: not a readable result ({why}); move it out of the target"
        ) from None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise TargetError(
                    f"{path}: not a readable result (not a regular file); move it out of the target"
                )
            return json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        if isinstance(exc, RecursionError):
            reason = "nested too deeply"
        raise TargetError(
            f"{path}: not a readable result ({reason}); move it out of the target"
        ) from None


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name).lstrip(".") or "_"


def file_uri_path(uri: str) -> str:
    """The local path of a `file:` URI, read as RFC 8089 does: `file:///a/b`,
    `file://localhost/a/b`, `file:/a/b`, or `file:a/b` (relative).

    Another host (`file://server/dir`, or `file://results/dir` meant as a relative path) is an
    error, and so is a segment that percent-decodes to `..`, to a `/` or to a NUL: a URI never
    escapes the directories its text shows.
    """
    parts = split_uri(uri)
    fix = "write file:///absolute/path (three slashes) or a plain relative path such as results"
    if parts.netloc not in ("", "localhost"):
        raise TargetError(
            f"{mask_uri(uri)}: a file URI names a host ({parts.netloc.rpartition('@')[2]!r}) "
            f"here; {fix}"
        )
    if parts.query or parts.fragment or uri.rstrip().endswith(("?", "#")):
        raise TargetError(
            f"{mask_uri(uri)}: a file URI has no query or fragment; "
            "percent-encode ? as %3F and # as %23 in a path"
        )
    shown = mask_uri(uri)
    segments = []
    for raw in parts.path.split("/"):
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise TargetError(
                f"{shown}: the path segment {raw!r} is not percent-encoded UTF-8"
            ) from None
        if "/" in segment or "\x00" in segment:
            raise TargetError(
                f"{shown}: the path segment {raw!r} decodes to {segment!r}; "
                "a file URI may not percent-encode '/' or NUL"
            )
        if segment == "..":
            raise TargetError(f"{shown}: a file URI may not go up a directory ('..'); {fix}")
        segments.append(segment)
    path = "/".join(segments)
    if not path:
        raise TargetError(f"{shown}: a file target needs a path, e.g. file:///data/results")
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
