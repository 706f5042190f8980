"""Result targets: where results are stored, named by URI, and read back.

`file:///path` (or a plain path), `sqlite:///path`, `postgresql://...`, `mongodb://...`, or
`@name` for a target named in the environment (`MODELCRATE_TARGETS__NAME=URI`).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .._errors import PartialWriteError, TargetError, TargetWarning
from ._result import Result, text_problem_in
from ._settings import ENV_PREFIX, Settings, load_settings

TARGET_ENV = f"{ENV_PREFIX}TARGET"
"""Environment variable naming the default target URIs of runs that name none."""

SCHEMES = "file:///path, sqlite:///path, postgresql://user@host/db, mongodb://host/db or @name"


@runtime_checkable
class Target(Protocol):
    """A place results are stored in and read back from."""

    uri: str

    @property
    def name(self) -> str:
        """The URI with any password masked, for messages and locations."""

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

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these inputs keys (`Result.key`) have a stored result here."""


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
        """Store results (those already there are left as they are); return where each is.

        A result this target cannot store (text with a NUL, say) does not stop the others:
        they are stored and a `PartialWriteError` names the refused ones and says where the
        others are. An unreachable target raises `TargetError`.
        """
        results = list(results)
        locations: list[str | None] = [None] * len(results)
        refused: list[str] = []
        valid: list[int] = []
        for i, result in enumerate(results):
            problem = text_problem_in(result)
            if problem:
                refused.append(f"{result.hash[:12]}: {problem}")
            else:
                valid.append(i)
        try:
            stored = self._store([results[i] for i in valid], refused) if valid else []
        except PartialWriteError as exc:  # the target failed as a whole after some batches
            for i, where in zip(valid, exc.locations, strict=True):
                locations[i] = where
            raise PartialWriteError(str(exc), locations) from None
        for i, where in zip(valid, stored, strict=True):
            locations[i] = where
        if refused:
            count = len(refused)
            if len(results) == 1:  # the reason alone, without the id
                message = f"{self.name}: cannot write results ({refused[0].split(': ', 1)[1]})"
            else:
                shown = "; ".join(refused[:3]) + (f"; and {count - 3} more" if count > 3 else "")
                message = f"{self.name}: cannot write {count} of {len(results)} results ({shown})"
            if all(where is None for where in locations):
                raise TargetError(message)
            raise PartialWriteError(message, locations)
        return [where for where in locations if where is not None]

    def _store(self, results: Sequence[Result], refused: list[str]) -> list[str | None]:
        """Store results; return where each is, or None for one refused (its reason appended
        to `refused`); raise `TargetError` when the target fails as a whole."""
        raise NotImplementedError

    def _results(self, documents: Iterable[tuple[str, object]]) -> list[Result]:
        """The good results among stored documents (each with where it is stored); a damaged
        or altered one is left out, and a `TargetWarning` says which and why."""
        good: list[Result] = []
        bad: list[str] = []
        for where, document in documents:
            try:
                good.append(self._result(where, document))
            except TargetError as exc:
                bad.append(str(exc))
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            warnings.warn(
                f"{self.name}: left out {len(bad)} stored document{'s' if len(bad) > 1 else ''} "
                f"that {'are' if len(bad) > 1 else 'is'} not a good result: {bad[0]}{more}",
                TargetWarning,
                stacklevel=3,
            )
        return good

    def _result(self, where: str, document: object) -> Result:
        """The result a stored document holds, its content checked against its hash."""
        try:
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            return Result.from_document(document, verify=True)
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise TargetError(
                f"{where}: not a good result ({_reason(exc)}); move it out of the target"
            ) from None

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

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these inputs keys (`Result.key`, `inputs_key`) have a stored result here,
        so that a sweep skips those input sets before evaluating them. Unknown keys are left
        out; a database answers a call of a few thousand keys in one round trip. An unreachable
        target raises `TargetError`."""
        if isinstance(keys, str):
            raise TypeError("stored_keys takes a sequence of keys, not one key")
        wanted = list(dict.fromkeys(keys))
        return self._stored_keys(wanted) if wanted else set()

    def _stored_keys(self, keys: Sequence[str]) -> set[str]:
        """`stored_keys` of distinct keys (at least one)."""
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no field {exc.args[0]!r}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: the first field and what is wrong with it
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'document'}: {first['msg']}"
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:200]


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
_PARAMETER = re.compile(r"[?&#;]([^=&#?;]+)=([^&#?;]*)")
_USERINFO = re.compile(r"(//[^/?#@]*?:)[^/?#]*@")
_LOOSE_USERINFO = re.compile(r"^([A-Za-z][\w+.-]*://[^:/?#@]*:)([^@]*)@")
"""`scheme://user:password@` as database drivers read it: the password runs to the first `@`,
so it may hold an unescaped `/`, `?` or `#` that `urlsplit` takes for the end of the host."""
"""`//user:password@` in text that is not a well-formed URI (masked by pattern instead)."""


def split_uri(uri: str) -> SplitResult:
    """`urlsplit` of a target URI; a malformed one (`[::1` without `]`) is a `TargetError`."""
    try:
        return urlsplit(uri)
    except ValueError as exc:
        raise TargetError(
            f"{mask_uri(uri)}: not a valid URI ({exc}); write it as scheme://user@host:port/name"
        ) from None


def uri_secrets(uri: str) -> list[str]:
    """The secrets in a URI: its password, and the values of query parameters such as
    `password=`, `sslpassword=` or `token=`."""
    try:
        password = urlsplit(uri).password
        found = [password] if password else []
    except ValueError:  # malformed: whatever stands between `user:` and `@` is the password
        found = [m.group(0)[len(m.group(1)) : -1] for m in _USERINFO.finditer(uri)]
    loose = _LOOSE_USERINFO.match(uri)
    if loose and loose.group(2):
        found.append(loose.group(2))
    # `key=value` wherever it stands after a `?`, `&`, `;` or `#` (not only in the query)
    found += [v for k, v in _PARAMETER.findall(uri) if _SECRET_KEY.search(unquote(k))]
    found += [unquote(secret) for secret in found]  # as given and as a driver shows it
    return [secret for secret in dict.fromkeys(found) if secret]


def mask_uri(uri: str) -> str:
    """The URI with its secrets replaced by `***` (for anything shown or stored)."""
    if not uri_secrets(uri):
        return uri
    loose = _LOOSE_USERINFO.match(uri)
    if loose and loose.group(2):
        uri = _LOOSE_USERINFO.sub(r"\1***@", uri, count=1)
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return mask_secrets(_USERINFO.sub(r"\1***@", uri), uri)
    if password is not None:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{user}:***@{host}")
    if parts.query:
        query = [
            (k, "***" if _SECRET_KEY.search(k) and v else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return _mask_parameters(urlunsplit(parts))  # also those after a `#`


def _mask_parameters(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        key, value = match.group(1), match.group(2)
        secret = value and _SECRET_KEY.search(unquote(key))
        return match.group(0)[: -len(value)] + "***" if secret else match.group(0)

    return _PARAMETER.sub(masked, text)


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
    scheme = split_uri(text).scheme.lower()
    backend = scheme.partition("+")[0]
    if scheme == "file" or scheme == "":
        from ._filesystem import FilesystemTarget, file_uri_path

        path = Path(file_uri_path(text)) if scheme else Path(text)
        return FilesystemTarget(
            _relative_to(path, base), mounts=settings.mounts, fsync=settings.fsync
        )
    if backend in ("sqlite", "postgresql", "postgres"):
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
