"""The registry's database: which one a URL names, connecting to it, and migrating it.

SQLite by default (a file under the user data directory), PostgreSQL (psycopg 3) or
MariaDB/MySQL (PyMySQL) by URL. A database is brought to the newest migration the first time a
process opens it, one process at a time (an advisory lock on PostgreSQL, a named lock on
MariaDB, an immediate transaction on SQLite); one made by a newer modelcrate is refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..._errors import RegistryError
from ...runtime import Settings, load_settings, mask_uri
from ...runtime._targets import mask_secrets
from ._tables import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
REGISTRY_ENV = "MODELCRATE_REGISTRY"
_PG_LOCK = 0x6D6372656769  # an arbitrary advisory-lock key for the registry's migrations
_MYSQL_LOCK = "modelcrate_registry_migrations"
_LOCK_SECONDS = 120

_BACKENDS = {
    "sqlite": ("sqlite", "pysqlite"),
    "postgresql": ("postgresql", "psycopg"),
    "postgres": ("postgresql", "psycopg"),
    "mysql": ("mysql", "pymysql"),
    "mariadb": ("mariadb", "pymysql"),
}
"""The backend of a URL as written -> (SQLAlchemy's backend, the one driver used with it)."""
_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
"""The extra of modelcrate that installs a backend's driver."""

_migrated: set[str] = set()
_migrated_lock = threading.Lock()


def default_registry_path() -> Path:
    """Where the registry is when no URL is given: `registry.db` in the user data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("modelcrate")) / "registry.db"


def registry_url(url: str | None = None, *, settings: Settings | None = None) -> str:
    """The registry URL to use: `url`, else `$MODELCRATE_REGISTRY`, else the default SQLite
    file. A plain path is a SQLite file."""
    if url is None or not url.strip():
        url = (settings or load_settings()).registry
    if url is None or not url.strip():
        return f"sqlite:///{default_registry_path()}"
    url = url.strip()
    if "://" not in url:  # a path
        return f"sqlite:///{Path(url).expanduser().absolute()}"
    return url


def shown(url: str) -> str:
    """The URL as every message and report shows it: its password replaced by `***`."""
    return mask_uri(url)


def parse_url(url: str) -> sa.URL:
    """The SQLAlchemy URL of a registry URL, with the driver modelcrate uses for its backend;
    a malformed URL or an unknown backend or driver is a `RegistryError`."""
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise RegistryError(
            f"registry {shown(url)}: not a database URL ({mask_secrets(_first_line(exc), url)}); "
            "write sqlite:///PATH, postgresql://USER@HOST/DB or mysql+pymysql://USER@HOST/DB"
        ) from None
    written, _, driver = parsed.drivername.partition("+")
    if written not in _BACKENDS:
        raise RegistryError(
            f"registry {shown(url)}: unknown database {written!r}; "
            "use sqlite:///PATH, postgresql://USER@HOST/DB or mysql+pymysql://USER@HOST/DB"
        )
    backend, default_driver = _BACKENDS[written]
    if driver and driver != default_driver:
        usable = f"{written}://... or {written}+{default_driver}://..."
        raise RegistryError(
            f"registry {shown(url)}: unknown or unsupported driver {driver!r} for {written}; "
            f"write {usable}"
        )
    parsed = parsed.set(drivername=f"{backend}+{default_driver}")
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise RegistryError(
                f"registry {shown(url)}: a SQLite registry needs a file, "
                "e.g. sqlite:////data/registry.db"
            )
        if not database.startswith("file:"):
            parsed = parsed.set(database=str(Path(database).expanduser().absolute()))
    elif not parsed.database:
        raise RegistryError(
            f"registry {shown(url)}: name the database, e.g. {written}://USER@HOST/registry"
        )
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})  # any Unicode, emoji too
    return parsed


def create_engine(url: str, *, connect_timeout: float = 10.0) -> sa.Engine:
    """An engine for the registry at `url` (not yet connected)."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            database = parsed.database or ""
            if not database.startswith("file:"):
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise RegistryError(
                        f"registry {shown(url)}: cannot make its folder ({exc.strerror}); "
                        "choose another path with --registry or MODELCRATE_REGISTRY"
                    ) from None
            engine = sa.create_engine(parsed, connect_args={"timeout": 60})
            _sqlite_pragmas(engine)
            return engine
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            isolation_level="READ COMMITTED",  # a transaction sees what others committed
            connect_args={"connect_timeout": max(1, round(connect_timeout))},
        )
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(backend, backend)
        raise RegistryError(
            f"registry {shown(url)}: needs the database driver {exc.name!r}; "
            f"pip install 'modelcrate[{extra}]'"
        ) from None


def _sqlite_pragmas(engine: sa.Engine) -> None:
    """Foreign keys on, and every transaction begun with BEGIN IMMEDIATE, so that concurrent
    writers queue up (up to the busy timeout) instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below starts transactions
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: sa.Connection | None = None) -> Any:
    """The Alembic configuration of the registry's migrations, on `connection`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def known_revisions() -> set[str]:
    """Every revision of the registry's migrations this modelcrate has."""
    from alembic.script import ScriptDirectory

    config = alembic_config()  # only the scripts are read
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def current_revisions(connection: sa.Connection) -> tuple[str, ...]:
    """The revisions a database is at (none for a new one)."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


@contextmanager
def migration_lock(connection: sa.Connection) -> Iterator[None]:
    """Hold the registry's migration lock on `connection` (in its transaction on PostgreSQL
    and SQLite; a named lock, released at the end, on MariaDB)."""
    name = connection.dialect.name
    if name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        yield
    elif name in ("mysql", "mariadb"):
        got = connection.execute(
            sa.text("SELECT GET_LOCK(:name, :seconds)"),
            {"name": _MYSQL_LOCK, "seconds": _LOCK_SECONDS},
        ).scalar()
        if got != 1:
            raise RegistryError(
                f"another process held the registry's migration lock for {_LOCK_SECONDS} s"
            )
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _MYSQL_LOCK})
    else:
        yield  # SQLite: the transaction began with BEGIN IMMEDIATE


def migrate(engine: sa.Engine, url: str, revision: str = "head") -> None:
    """Bring the registry to `revision` (the newest by default), one process at a time; a
    database at a revision this modelcrate does not know is refused."""
    from alembic import command

    with engine.begin() as connection, migration_lock(connection):
        found = current_revisions(connection)
        unknown = [r for r in found if r not in known_revisions()]
        if unknown:
            raise RegistryError(
                f"registry {shown(url)}: made by a newer modelcrate (its schema is at revision "
                f"{', '.join(unknown)}, which this one does not know); upgrade modelcrate "
                "(pip install -U modelcrate) or use another registry"
            )
        log.info("registry %s: migrating from %s to %s", shown(url), found or "nothing", revision)
        command.upgrade(alembic_config(connection), revision)


def open_engine(url: str, *, connect_timeout: float = 10.0) -> sa.Engine:
    """An engine for the registry at `url`, connected, and migrated to the newest revision the
    first time this process opens it. Errors are `RegistryError`s, passwords masked."""
    engine = create_engine(url, connect_timeout=connect_timeout)
    try:
        with reported(url, "cannot connect to the database", hint=_REACH_HINT):
            engine.connect().close()
        key = parse_url(url).render_as_string(hide_password=False)
        with _migrated_lock:
            if key not in _migrated:
                with reported(url, "cannot create or migrate its tables"):
                    migrate(engine, url)
                _migrated.add(key)
    except BaseException:
        engine.dispose()
        raise
    return engine


def forget_migrations() -> None:
    """Forget which registries this process has migrated (the next open checks again)."""
    with _migrated_lock:
        _migrated.clear()


_REACH_HINT = (
    "check that the database server is running and the URL (--registry or MODELCRATE_REGISTRY)"
)


@contextmanager
def reported(url: str, doing: str, *, hint: str = "") -> Iterator[None]:
    """Turn a driver's error into one `RegistryError` line naming the registry (password
    masked), with what was being done and the first line of the reason."""
    try:
        yield
    except RegistryError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        reason = mask_secrets(_first_line(exc), url)
        raise RegistryError(
            f"registry {shown(url)}: {doing} ({reason})" + (f"; {hint}" if hint else "")
        ) from None


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    args: tuple[Any, ...] = getattr(cause, "args", ())
    # PyMySQL's errors are (code, message): show the message, not the tuple
    is_pair = len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str)
    text = args[1] if is_pair else str(cause)
    return (text.strip().splitlines() or [type(cause).__name__])[0][:300]
