"""The MongoDB target: one document per result in the `results` collection (pymongo).

`mongodb://host:27017/db` (the database defaults to `modelcrate`). The content hash is the
document's `_id` and has a unique index, so storing a result twice is a no-op; `created_at`
holds the creation time as a BSON date, indexed with the model name for queries; `key` (the
inputs key) is indexed for sweeps (documents stored before there was one lack it).
"""

from __future__ import annotations

import atexit
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import TargetError
from ._result import Result
from ._targets import BaseTarget, as_utc, reported

if TYPE_CHECKING:
    from pymongo import MongoClient
    from pymongo.collection import Collection

    Document = dict[str, Any]

COLLECTION = "results"
DEFAULT_DATABASE = "modelcrate"
_DUPLICATE_KEY = 11000
_KEYS_PER_QUERY = 50_000
"""Keys in one `$in` (a query document is at most 16 MB; a key takes about 75 bytes there)."""

_clients: dict[str, MongoClient[Document]] = {}
_lock = threading.Lock()


class MongoTarget(BaseTarget):
    """Results in a MongoDB collection."""

    def __init__(
        self,
        uri: str,
        *,
        connect_timeout: float = 10.0,
        client: MongoClient[Document] | None = None,
    ) -> None:
        self.uri = uri
        self.connect_timeout = connect_timeout
        self.database = urlsplit(uri).path.strip("/") or DEFAULT_DATABASE
        if "/" in self.database or not re.fullmatch(r"[^\s.$\"]+", self.database):
            raise TargetError(
                f"{self.name}: {self.database!r} is not a MongoDB database name; "
                "use one without spaces, dots or $, e.g. mongodb://host/results"
            )
        self._client = client
        self._collection: Collection[Document] | None = None
        if client is None and urlsplit(uri).scheme == "mongodb":
            self._check_uri()

    def _check_uri(self) -> None:
        """Refuse a URI pymongo would refuse or half-ignore (an unknown `authMechanism`)
        before anything runs; without pymongo, the target fails when first used instead."""
        try:
            from pymongo import uri_parser
        except ImportError:
            return
        with self._errors("is not a MongoDB URI", UserWarning), warnings.catch_warnings():
            warnings.simplefilter("error")
            uri_parser.parse_uri(self.uri, validate=True, warn=True)

    @property
    def collection(self) -> Collection[Document]:
        """The results collection, with its indexes made at the first use."""
        if self._collection is None:
            with self._errors("cannot reach the database"):
                collection = self._get_client()[self.database][COLLECTION]
                collection.create_index("hash", unique=True, name="hash_unique")
                collection.create_index([("model", 1), ("created_at", 1)], name="model_created")
                collection.create_index("key", name="key")
            self._collection = collection
        return self._collection

    def _get_client(self) -> MongoClient[Document]:
        if self._client is None:
            pymongo = _driver(self.name)
            with _lock:
                client = _clients.get(self.uri)
                if client is None:
                    timeout_ms = int(self.connect_timeout * 1000)
                    # pymongo warns of an option it ignores (authMechanism=BOGUS): refuse it
                    with (
                        self._errors("is not a MongoDB URI", UserWarning),
                        warnings.catch_warnings(),
                    ):
                        warnings.simplefilter("error")
                        client = pymongo.MongoClient(
                            self.uri,
                            tz_aware=True,
                            serverSelectionTimeoutMS=timeout_ms,
                            connectTimeoutMS=timeout_ms,
                        )
                    _clients[self.uri] = client
            self._client = client
        return self._client

    def _store(self, results: Sequence[Result], refused: list[str]) -> list[str | None]:
        """All results in one unordered insert; if the driver refuses the batch (a value BSON
        cannot hold), one at a time, so one bad result fails alone."""
        _driver(self.name)
        from bson.errors import BSONError
        from pymongo.errors import BulkWriteError, DuplicateKeyError

        refused_data = (BSONError, OverflowError, ValueError, TypeError)  # one document's value

        collection = self.collection
        documents = [
            {"_id": r.hash, **r.to_document(), "created_at": _milliseconds(as_utc(r.created))}
            for r in results
        ]
        failed: dict[int, str] = {}
        with self._errors("cannot write results"):
            try:
                collection.insert_many(documents, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if not errors:
                    raise
                for error in errors:
                    if error.get("code") != _DUPLICATE_KEY:
                        failed[error["index"]] = str(error.get("errmsg", "refused"))
            except refused_data:
                for i, doc in enumerate(documents):
                    try:
                        collection.insert_one(doc)
                    except DuplicateKeyError:
                        pass
                    except refused_data as exc:
                        failed[i] = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        for i, reason in failed.items():
            refused.append(f"{results[i].hash[:12]}: {reason[:200]}")
        name = self.name  # masked once, not once per result
        return [None if i in failed else f"{name}#{r.hash}" for i, r in enumerate(results)]

    def _query(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Result]:
        criteria: dict[str, Any] = {}
        if model is not None:
            criteria["model"] = model
        window: dict[str, datetime] = {}  # BSON dates hold milliseconds: compare at that precision
        if since is not None:
            window["$gte"] = _milliseconds(as_utc(since))
        if until is not None:
            window["$lt"] = _milliseconds(as_utc(until))
        if window:
            criteria["created_at"] = window
        if limit == 0:  # pymongo's limit(0) means no limit
            return iter(())
        direction = -1 if newest_first else 1
        with self._errors("cannot read results"):
            cursor = self.collection.find(criteria, {"created_at": False}).sort(
                [("created_at", direction), ("hash", direction)]
            )
            if limit is not None:
                cursor = cursor.limit(limit)
            documents = list(cursor)
        return iter(self._results(self._where(doc) for doc in documents))

    def _load(self, result_id: str) -> Result:
        criteria = {"_id": {"$regex": "^" + re.escape(result_id)}}
        with self._errors("cannot read results"):
            documents = list(self.collection.find(criteria, {"created_at": False}).limit(2))
            if len(documents) > 1:  # say how many match, not just the two fetched
                raise self._ambiguous(result_id, self.collection.count_documents(criteria))
        if not documents:
            raise self._not_found(result_id)
        return self._result(*self._where(documents[0]))

    def _stored_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._errors("cannot read results"):
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                wanted = {"key": {"$in": keys[start : start + _KEYS_PER_QUERY]}}
                found.update(doc["key"] for doc in self.collection.find(wanted, {"key": 1}))
        return found

    def _where(self, document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Where a document is (by its `_id`), and the document without it."""
        id_ = document.pop("_id", None)
        if id_ != document.get("hash"):
            document = {**document, "id": f"{id_} (its _id)"}  # fails the check of its id
        return f"{self.name}#{id_}", document

    def _errors(self, doing: str, *more: type[BaseException]) -> AbstractContextManager[None]:
        _driver(self.name)
        from bson.errors import BSONError
        from pymongo.errors import PyMongoError

        # OverflowError: an int beyond 64 bits, which BSON cannot hold
        kinds = (PyMongoError, BSONError, OverflowError, ValueError, TypeError, *more)
        return reported(self, doing, kinds)


def _driver(name: str) -> ModuleType:
    """pymongo, or a `TargetError` saying how to install it."""
    try:
        import bson.errors  # noqa: F401 - part of pymongo, and needed as well
        import pymongo
    except ImportError:
        raise TargetError(
            f"{name}: needs the database driver 'pymongo'; pip install 'modelcrate[mongodb]'"
        ) from None
    return pymongo


@atexit.register
def forget_clients() -> None:
    """Close every MongoDB client this process opened (the next use connects afresh)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _milliseconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
