"""Result targets: where results are stored, named by URI, and read back.

`file:///path` (or a plain path), `sqlite:///path`, `postgresql://...`, `mongodb://...`, or
`@name` for a target named in the environment (`MODELCRATE_TARGETS__NAME=URI`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._errors import TargetError
from ._result import Result
from ._settings import ENV_PREFIX, Settings, load_settings

TARGET_ENV = f"{ENV_PREFIX}TARGET"
"""Environment variable naming the default target URIs of runs that name none."""

SCHEMES = "file:///path, sqlite:///path, postgresql://user@host/db, mongodb://host/db or @name"


@runtime_checkable
class Target(Protocol):
    """A place results are stored in and read back from."""

    uri: str
    name: str

    def save_many(self, results: Sequence[Result]) -> list[str]:
        """Store results (those already there are left as they are); return where each is."""

    def query(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Result]:
        """Stored results, optionally of one model and created in [since, until)."""

    def load(self, result_id: str) -> Result:
        """The stored result with this id (or a unique prefix of it)."""


class BaseTarget:
    """What every target shares: one save, a list, and a readable name without secrets."""

    uri: str

    @property
    def name(self) -> str:
        """The URI with any password masked, for messages and locations."""
        return mask_uri(self.uri)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def save(self, result: Result) -> str:
        """Store one result (a no-op if it is already there); return where it is."""
        return self.save_many([result])[0]

    def save_many(self, results: Sequence[Result]) -> list[str]:
        raise NotImplementedError

    def query(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Result]:
        """Stored results of `model` (all models if None) created in [since, until), oldest
        first (newest first with `newest_first`), at most `limit` of them."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise TargetError(f"{self.name}: limit {limit!r}: give a whole number, 0 or more")
        return self._query(
            model=model, since=since, until=until, newest_first=newest_first, limit=limit
        )

    def _query(
        self,
        *,
        model: str | None,
        since: datetime | None,
        until: datetime | None,
        newest_first: bool,
        limit: int | None,
    ) -> Iterator[Result]:
        raise NotImplementedError

    def list(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Result]:
        """Stored results, oldest first; with `limit`, the most recent `limit` of them."""
        found = list(
            self.query(model=model, since=since, until=until, newest_first=True, limit=limit)
        )
        return found[::-1]

    def load(self, result_id: str) -> Result:
        """The stored result whose id is or starts with `result_id`."""
        wanted = result_id.strip() if isinstance(result_id, str) else ""
        if not wanted:
            raise TargetError(
                f"{self.name}: no result id given; `modelcrate results list` shows the ids"
            )
        return self._load(wanted)

    def _load(self, result_id: str) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (a no-op where there are none)."""

    def __enter__(self) -> BaseTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _not_found(self, result_id: str) -> TargetError:
        return TargetError(
            f"{self.name}: no result with id {result_id!r}; `modelcrate results list` shows the ids"
        )

    def _ambiguous(self, result_id: str, count: int) -> TargetError:
        return TargetError(
            f"{self.name}: id {result_id!r} matches {count} results; give more of it"
        )


@contextmanager
def reported(
    target: BaseTarget, doing: str, kinds: tuple[type[BaseException], ...]
) -> Iterator[None]:
    """Turn a driver's error (of `kinds`) into one `TargetError` line naming the target,
    with what it was doing and the first line of the reason, passwords masked."""
    try:
        yield
    except TargetError:
        raise
    except kinds as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        for noise in (", Timeout:", " (configured timeouts:"):  # pymongo's topology details
            reason = reason.split(noise)[0]
        reason = mask_secrets(reason, target.uri)
        raise TargetError(f"{target.name}: {doing} ({reason})") from None


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time; a naive time is taken as local time."""
    return (moment if moment.tzinfo else moment.astimezone()).astimezone(timezone.utc)


def in_window(created: datetime, since: datetime | None, until: datetime | None) -> bool:
    """Whether `created` is in [since, until)."""
    created = as_utc(created)
    return (since is None or created >= as_utc(since)) and (
        until is None or created < as_utc(until)
    )


_SECRET_KEY = re.compile(r"pass|secret|token|key", re.IGNORECASE)


def uri_secrets(uri: str) -> list[str]:
    """The secrets in a URI: its password, and the values of query parameters such as
    `password=`, `sslpassword=` or `token=`."""
    parts = urlsplit(uri)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if _SECRET_KEY.search(k)]
    return [secret for secret in found if secret]


def mask_uri(uri: str) -> str:
    """The URI with its secrets replaced by `***` (for anything shown or stored)."""
    if not uri_secrets(uri):
        return uri
    parts = urlsplit(uri)
    if parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{user}:***@{host}")
    if parts.query:
        query = [
            (k, "***" if _SECRET_KEY.search(k) and v else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return urlunsplit(parts)


def mask_secrets(text: str, uri: str) -> str:
    """`text` (a driver's message, say) with the secrets of `uri` replaced by `***`."""
    for secret in sorted(uri_secrets(uri), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def open_target(
    uri: str | os.PathLike[str], *, base: Path | None = None, settings: Settings | None = None
) -> Target:
    """The target a URI names (not yet connected: a server is reached at the first read or write).

    A plain path or relative `sqlite:///` path is taken relative to `base` (or the cwd).
    """
    text = os.fspath(uri).strip()
    settings = settings or load_settings()
    if text.startswith("@"):
        named = settings.targets.get(text[1:].lower())
        if named is None:
            known = ", ".join(f"@{k}" for k in sorted(settings.targets)) or "none is set"
            raise TargetError(
                f"{text}: no target of that name ({known}); "
                f"set {ENV_PREFIX}TARGETS__{text[1:].upper()}=URI"
            )
        return open_target(named, base=base, settings=settings)
    scheme = urlsplit(text).scheme.lower()
    if scheme == "file" or scheme == "":
        from ._filesystem import FilesystemTarget, file_uri_path

        path = Path(file_uri_path(text)) if scheme else Path(text)
        return FilesystemTarget(
            _relative_to(path, base), mounts=settings.mounts, fsync=settings.fsync
        )
    if scheme.startswith(("sqlite", "postgresql", "postgres")):
        from ._sql import SQLTarget

        return SQLTarget(text, base=base, connect_timeout=settings.connect_timeout)
    if scheme in ("mongodb", "mongodb+srv"):
        from ._mongo import MongoTarget

        return MongoTarget(text, connect_timeout=settings.connect_timeout)
    raise TargetError(f"{mask_uri(text)}: unsupported target scheme {scheme!r}; use {SCHEMES}")


def _relative_to(path: Path, base: Path | None) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() or base is None else base / path


def default_target_uris(base: Path | None = None, settings: Settings | None = None) -> list[str]:
    """`$MODELCRATE_TARGET` (comma-separated) if set, else the `results` directory under `base`."""
    configured = (settings or load_settings()).target
    if configured:
        return list(configured)
    return [((base or Path.cwd()) / "results").resolve().as_uri()]


def default_target_uri(base: Path | None = None) -> str:
    """The first default target URI (see `default_target_uris`)."""
    return default_target_uris(base)[0]
