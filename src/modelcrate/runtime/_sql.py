"""The SQL target: results in one table of a SQLite or PostgreSQL database (SQLAlchemy 2).

The table is created and kept current by modelcrate's Alembic migrations (run at the first use
of a database in a process, under a lock so concurrent first runs do not race). Each row holds
the result document as JSON (JSONB on PostgreSQL) beside indexed model, time and inputs-key
columns; the content hash is the primary key, so storing a result twice is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .._errors import PartialWriteError, TargetError
from ._progress import report_progress
from ._result import JSONValue, Result, keep_whole_floats
from ._targets import BaseTarget, as_utc, mask_secrets, mask_uri, reported

TABLE = "modelcrate_results"
VERSION_TABLE = "modelcrate_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x6D6F64656C  # an arbitrary advisory-lock key for modelcrate's migrations
_BATCH_BYTES = 64 * 1024 * 1024
_KEYS_PER_QUERY = {"sqlite": 900, "postgresql": 30_000}
"""Keys in one `key IN (...)`: SQLite before 3.32 takes at most 999 parameters, PostgreSQL 65,535."""

_DRIVERS = {
    "sqlite": ("pysqlite",),
    "postgresql": ("psycopg", "psycopg2"),
    "postgres": ("psycopg", "psycopg2"),
}
"""The database drivers (DB-API, synchronous) a SQL target can use, by backend."""

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A time stored as UTC (naive UTC on SQLite, timestamptz on PostgreSQL), read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


results_table = sa.Table(
    TABLE,
    sa.MetaData(),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.String(255), nullable=False),
    sa.Column("flow_run_id", sa.String(64)),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("document", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    sa.Column("key", sa.String(64)),  # NULL in rows stored before migration 0002
)
"""The results table, as the migrations create it."""


def forget_engines() -> None:
    """Close every database engine this process opened (the next use connects afresh)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


class SQLTarget(BaseTarget):
    """Results in a SQLite file (`sqlite:///results.db`) or PostgreSQL (`postgresql://...`)."""

    def __init__(
        self, uri: str, *, base: Path | None = None, connect_timeout: float = 10.0
    ) -> None:
        self.uri = uri
        self.connect_timeout = connect_timeout
        self._url = _sqlalchemy_url(uri, base)

    @property
    def engine(self) -> sa.Engine:
        """The database engine, connected and migrated at the first use in this process."""
        key = self._url.render_as_string(hide_password=False)
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                with self._errors("cannot open the database"):
                    engine = self._create_engine()
                with self._errors("cannot connect to the database"):
                    engine.connect().close()  # the pool keeps it for what follows
                with self._errors("cannot prepare the results table"):
                    _migrate(engine)
                _engines[key] = engine
        return engine

    def _no_database_file(self) -> bool:
        """Whether this is a SQLite file that does not exist yet (reading it finds nothing, and
        must not leave an empty database behind)."""
        database = self._url.database or ""
        return (
            self._url.get_backend_name() == "sqlite"
            and database not in ("", ":memory:")
            and not database.startswith("file:")
            and not Path(database).exists()
        )

    def _create_engine(self) -> sa.Engine:
        if self._url.get_backend_name() == "sqlite":
            database = self._url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self._url, connect_args={"timeout": 60})
            _serialise_sqlite_writes(engine)
            return engine
        try:
            return sa.create_engine(
                self._url,
                pool_pre_ping=True,
                connect_args={"connect_timeout": max(1, round(self.connect_timeout))},
            )
        except ModuleNotFoundError as exc:
            raise TargetError(
                f"{self.name}: needs the database driver {exc.name!r}; "
                "pip install 'modelcrate[postgresql]'"
            ) from None

    def _store(self, results: Sequence[Result], refused: list[str]) -> list[str | None]:
        """Each batch (up to 1,000 results) in one transaction: a reader sees a batch whole or
        not at all, and a run killed mid-sweep keeps the batches before. A batch the database
        refuses is retried one result at a time, so one bad result fails alone."""
        engine = self.engine
        is_postgresql = engine.dialect.name == "postgresql"
        insert = postgresql.insert if is_postgresql else sqlite.insert

        # JSONB reads whole floats such as 1e+16 back as ints: mark them (see keep_whole_floats)
        def document(result: Result) -> JSONValue:
            doc = cast(JSONValue, result.to_document())  # a JSON object, typed by its fields
            return keep_whole_floats(doc) if is_postgresql else doc

        statement = insert(results_table).on_conflict_do_nothing(index_elements=["id"])

        def write(batch: Sequence[Result]) -> None:
            rows = [
                {
                    "id": r.hash,
                    "model": r.model,
                    "version": r.version,
                    "flow_run_id": r.flow_run_id,
                    "created": r.created,
                    "document": document(r),
                    "key": r.key,
                }
                for r in batch
            ]
            with engine.begin() as connection:
                connection.execute(statement, rows)

        name = self.name  # masked once, not once per result
        locations: list[str | None] = []
        try:
            with self._errors("cannot write results"):
                for batch in _batches(results):
                    try:
                        write(batch)
                        locations += [f"{name}#{r.hash}" for r in batch]
                        report_progress("store", len(locations), len(results), target=self.name)
                        continue
                    except (SQLAlchemyError, ValueError, TypeError, OverflowError) as exc:
                        if not _refused_data(exc):
                            raise
                    for result in batch:  # one at a time, to store all but the refused
                        try:
                            write([result])
                            locations.append(f"{name}#{result.hash}")
                        except (SQLAlchemyError, ValueError, TypeError, OverflowError) as exc:
                            if not _refused_data(exc):
                                raise
                            reason = mask_secrets(_first_line(exc), self.uri)
                            refused.append(f"{result.hash[:12]}: {reason}")
                            locations.append(None)
                    report_progress("store", len(locations), len(results), target=self.name)
        except TargetError as exc:
            if any(locations):  # earlier batches are stored: say where
                rest: list[str | None] = [None] * (len(results) - len(locations))
                raise PartialWriteError(str(exc), locations + rest) from None
            raise
        return locations

    def _query(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Result]:
        if self._no_database_file():
            return iter(())
        table = results_table
        statement = sa.select(table.c.id, table.c.document)
        if model is not None:
            statement = statement.where(table.c.model == model)
        if since is not None:
            statement = statement.where(table.c.created >= as_utc(since))
        if until is not None:
            statement = statement.where(table.c.created < as_utc(until))
        order = (table.c.created, table.c.id)
        statement = statement.order_by(*(c.desc() for c in order) if newest_first else order)
        if limit is not None:
            statement = statement.limit(limit)
        with self._errors("cannot read results"), self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return iter(self._results((self._row(id_), doc) for id_, doc in rows))

    def _load(self, result_id: str) -> Result:
        if self._no_database_file():
            raise self._not_found(result_id)
        table = results_table
        # an exact, case-sensitive prefix (SQLite's LIKE ignores case; `_` and `%` are literal)
        prefix = sa.func.substr(table.c.id, 1, len(result_id)) == result_id
        statement = sa.select(table.c.id, table.c.document).where(prefix).limit(2)
        with self._errors("cannot read results"), self.engine.connect() as connection:
            documents = connection.execute(statement).all()
            if len(documents) > 1:  # say how many match, not just the two fetched
                count = sa.select(sa.func.count()).select_from(table).where(prefix)
                raise self._ambiguous(result_id, connection.execute(count).scalar_one())
        if not documents:
            raise self._not_found(result_id)
        id_, document = documents[0]
        return self._result(self._row(id_), document)

    def _stored_keys(self, keys: Sequence[str]) -> set[str]:
        if self._no_database_file():
            return set()
        engine = self.engine
        size = _KEYS_PER_QUERY.get(engine.dialect.name, 900)
        column = results_table.c.key
        found: set[str] = set()
        with self._errors("cannot read results"), engine.connect() as connection:
            for start in range(0, len(keys), size):
                statement = sa.select(column).where(column.in_(keys[start : start + size]))
                found.update(connection.execute(statement).scalars())
        return found

    def _row(self, id_: str) -> str:
        return f"{self.name}#{id_}"

    def _result(self, where: str, document: object) -> Result:
        result = super()._result(where, document)
        if not where.endswith(f"#{result.hash}"):
            raise TargetError(
                f"{where}: not a good result (the row holds result {result.hash[:12]}); "
                "delete the row"
            )
        return result

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return reported(self, doing, (SQLAlchemyError, OSError, ImportError))


def _sqlalchemy_url(uri: str, base: Path | None) -> sa.URL:
    try:
        url = sa.make_url(uri)
    except (ArgumentError, ValueError) as exc:
        reason = mask_secrets(_first_line(exc), uri)
        raise TargetError(f"{mask_uri(uri)}: not a database URL ({reason})") from None
    backend, _, driver = url.drivername.partition("+")
    if driver and driver not in _DRIVERS.get(backend, ()):
        usable = " or ".join(f"{backend}+{d}" for d in _DRIVERS.get(backend, ()) if d != backend)
        raise TargetError(
            f"{mask_uri(uri)}: the {driver!r} driver cannot store results here (an async or "
            f"unsupported driver); write {backend}://... or {usable}"
        )
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        if not url.database:
            raise TargetError(
                f"{mask_uri(uri)}: name the database, e.g. postgresql://user@host/results"
            )
    elif backend == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:":
            raise TargetError(
                f"{mask_uri(uri)}: a SQLite target needs a file, e.g. sqlite:///results.db "
                "(relative) or sqlite:////data/results.db (absolute)"
            )
        if not database.startswith("file:") and not Path(database).is_absolute():
            url = url.set(database=str((base or Path.cwd()) / Path(database).expanduser()))
    return url


def _refused_data(exc: BaseException) -> bool:
    """Whether the database refused what was written (a value, a key), not the connection."""
    if isinstance(exc, (sa.exc.DataError, sa.exc.IntegrityError)):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return False  # the server or the connection: retrying one by one would not help
    return isinstance(exc, (sa.exc.StatementError, ValueError, TypeError, OverflowError))


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]


def _serialise_sqlite_writes(engine: sa.Engine) -> None:
    """Begin every SQLite transaction with BEGIN IMMEDIATE, so concurrent writers queue up
    (waiting up to the busy timeout) instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below start transactions

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _migrate(engine: sa.Engine) -> None:
    """Bring the results table to the newest migration, one process at a time."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _batches(results: Sequence[Result]) -> Iterator[Sequence[Result]]:
    """Consecutive slices of at most 1,000 results or about 64 MB of arrays each."""
    start, size = 0, 0
    for i, result in enumerate(results):
        size += _approximate_bytes(result)
        if i + 1 - start >= 1000 or size >= _BATCH_BYTES:
            yield results[start : i + 1]
            start, size = i + 1, 0
    if start < len(results):
        yield results[start:]


def _approximate_bytes(result: Result) -> int:
    return sum(
        getattr(v, "nbytes", 64) for v in (*result.inputs.values(), *result.outputs.values())
    )
