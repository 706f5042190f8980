"""How targets fail: malformed URIs, unreachable servers, refused writes; never a password."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from modelcrate import SaveError, TargetError
from modelcrate.runtime import (
    BaseTarget,
    FilesystemTarget,
    Result,
    mask_uri,
    open_target,
    save_results,
)
from modelcrate.runtime._mongo import MongoTarget
from modelcrate.runtime._targets import reported

UNREACHABLE_PG = "postgresql://u:secret@127.0.0.1:1/db"  # nothing listens on port 1
UNREACHABLE_MONGO = "mongodb://u:secret@127.0.0.1:1/db"

as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)


def make(i=0) -> Result:
    return Result(
        model="injector-surrogate",
        version="1.0.0",
        inputs={"i": i},
        outputs={"sigma_x": 0.1 * i},
        created=datetime(2024, 5, 1, 8, i, tzinfo=timezone.utc),
    )


def error_of(action) -> str:
    """The message of the TargetError `action()` raises, checked to be one line."""
    with pytest.raises(TargetError) as info:
        action()
    message = str(info.value)
    assert "\n" not in message, message
    return message


def assert_masked(message: str) -> None:
    assert "secret" not in message
    assert ":***@" in message


@pytest.fixture
def real_mongo(monkeypatch):
    """The real pymongo client (no mock), with the clients a test opens closed after it."""
    import pymongo

    from modelcrate.runtime import _mongo

    assert pymongo.MongoClient.__module__.startswith("pymongo")
    clients: dict = {}
    monkeypatch.setattr(_mongo, "_clients", clients)
    yield
    for client in clients.values():
        client.close()


# --- malformed URIs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri", ["s3://bucket/results", "mysql://u:secret@db/results", "redis://cache/0", "http://x/y"]
)
def test_an_unsupported_scheme(uri):
    message = error_of(lambda: open_target(uri))
    assert message.startswith(mask_uri(uri) + ": unsupported target scheme")
    assert "secret" not in message
    assert "use file:///path, sqlite:///path, postgresql://" in message


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_sqlite_without_a_file(uri):
    message = error_of(lambda: open_target(uri))
    assert message.startswith(f"{uri}: a SQLite target needs a file")
    assert "e.g. sqlite:///results.db" in message


@pytest.mark.parametrize(
    "uri", ["postgresql://u:secret@db", "postgresql://u:secret@db/", "postgres://u:secret@db:5432"]
)
def test_postgresql_without_a_database(uri):
    message = error_of(lambda: open_target(uri))
    assert message.startswith(mask_uri(uri) + ": name the database")
    assert "e.g. postgresql://user@host/results" in message
    assert_masked(message)


def test_postgresql_with_a_bad_port():
    message = error_of(lambda: open_target("postgresql://u:secret@db:port/results"))
    assert message.startswith("postgresql://u:***@db:port/results: not a database URL")


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://localhost/bad.name",
        "mongodb://localhost/two words",
        "mongodb://localhost/a$b",
        "mongodb://localhost/a/b",
        "mongodb://u:secret@localhost/results.2024",
    ],
)
def test_an_invalid_mongodb_database_name(uri):
    message = error_of(lambda: open_target(uri))
    assert message.startswith(mask_uri(uri) + ": ")
    assert "is not a MongoDB database name" in message
    assert "e.g. mongodb://host/results" in message
    assert "secret" not in message


def test_mongodb_database_defaults_to_modelcrate():
    assert open_target("mongodb://localhost").database == "modelcrate"
    assert open_target("mongodb://localhost/?replicaSet=rs0").database == "modelcrate"
    assert open_target("mongodb://localhost/results?authSource=admin").database == "results"


def test_a_malformed_mongodb_uri_fails_before_any_use(real_mongo):
    message = error_of(lambda: open_target("mongodb://u:secret@localhost:port/results"))
    assert message.startswith("mongodb://u:***@localhost:port/results: is not a MongoDB URI (")
    assert "secret" not in message


# --- unreachable servers ------------------------------------------------------------------------


def test_unreachable_postgresql(monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "1")
    target = open_target(UNREACHABLE_PG)
    assert target.name == "postgresql://u:***@127.0.0.1:1/db"
    for action in (
        lambda: target.save(make()),
        target.list,
        lambda: target.load("abc"),
        lambda: target.stored_keys([make().key]),
    ):
        message = error_of(action)
        assert message.startswith(
            "postgresql://u:***@127.0.0.1:1/db: cannot connect to the database"
        )
        assert "Connection refused" in message or "connection failed" in message
        assert_masked(message)


def test_a_password_in_the_query_string_is_masked_too(monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "1")
    target = open_target("postgresql://127.0.0.1:1/db?password=secret")
    assert target.name == "postgresql://127.0.0.1:1/db?password=***"
    message = error_of(target.list)
    assert message.startswith(
        "postgresql://127.0.0.1:1/db?password=***: cannot connect to the database"
    )
    assert "secret" not in message


def test_unreachable_mongodb_with_the_timeout_setting(real_mongo, monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "0.5")
    target = open_target(UNREACHABLE_MONGO)
    assert isinstance(target, MongoTarget) and target.connect_timeout == 0.5
    start = time.monotonic()
    message = error_of(lambda: target.save(make()))
    assert time.monotonic() - start < 5  # the setting, not the default 10 s
    assert message.startswith("mongodb://u:***@127.0.0.1:1/db: cannot reach the database (")
    assert "Topology Description" not in message and "Timeout:" not in message
    assert_masked(message)


def test_unreachable_mongodb_reads(real_mongo):
    target = MongoTarget(UNREACHABLE_MONGO, connect_timeout=0.5)
    for action in (target.list, lambda: target.stored_keys([make().key])):
        message = error_of(action)
        assert message.startswith("mongodb://u:***@127.0.0.1:1/db: cannot reach the database (")
        assert_masked(message)


# --- some targets fail, others store ------------------------------------------------------------


@pytest.mark.parametrize("good_first", [True, False])
def test_save_results_stores_where_it_can(tmp_path, monkeypatch, good_first):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "1")
    good = str(tmp_path / "results")
    targets = [good, UNREACHABLE_PG] if good_first else [UNREACHABLE_PG, good]
    results = [make(1), make(2)]
    with pytest.raises(SaveError) as info:
        save_results(results, targets)

    message = str(info.value)
    assert message.startswith("postgresql://u:***@127.0.0.1:1/db: cannot connect to the database")
    assert_masked(message)
    stored = info.value.stored
    assert [s.result.hash for s in stored] == [r.hash for r in results]
    for item in stored:
        [where] = item.locations
        assert Path(where) == FilesystemTarget(good).path_of(item.result)
        assert Path(where).is_file()
    assert [r.hash for r in FilesystemTarget(good).list()] == [r.hash for r in results]


def test_save_results_names_every_failure(tmp_path, real_mongo, monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "0.5")
    good = str(tmp_path / "results")
    with pytest.raises(SaveError) as info:
        save_results([make(1)], [UNREACHABLE_MONGO, good, UNREACHABLE_PG])
    message = str(info.value)
    first, second = message.split("; postgresql://")
    assert first.startswith("mongodb://u:***@127.0.0.1:1/db: cannot reach the database")
    assert second.startswith("u:***@127.0.0.1:1/db: cannot connect to the database")
    assert "secret" not in message and "\n" not in message
    [item] = info.value.stored
    assert item.locations == [str(FilesystemTarget(good).path_of(make(1)))]


def test_save_results_with_every_target_failing(monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "1")
    with pytest.raises(SaveError) as info:
        save_results([make(1)], [UNREACHABLE_PG])
    assert info.value.stored == []


# --- refused writes -----------------------------------------------------------------------------


@as_root
def test_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    model_folder = Path(FilesystemTarget(locked).save(make(1))).parent
    model_folder.chmod(0o500)
    locked.chmod(0o500)
    try:
        other_model = Result(model="other", version="1", inputs={}, outputs={})
        for root, result in [(locked, make(2)), (locked, other_model), (locked / "r", make(2))]:
            target = FilesystemTarget(root)
            message = error_of(lambda: target.save(result))  # noqa: B023
            assert message.startswith(f"{target.uri}: cannot write result (")
            assert "Permission denied" in message
        # what is there is still readable, and saving it again is a no-op
        target = FilesystemTarget(locked)
        assert [r.hash for r in target.list()] == [make(1).hash]
        assert target.save(make(1)) == str(target.path_of(make(1)))
    finally:
        locked.chmod(0o700)
        model_folder.chmod(0o700)


@as_root
def test_sqlite_in_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        uri = f"sqlite:///{locked / 'results.db'}"
        message = error_of(lambda: open_target(uri).save(make(1)))
        assert message.startswith(f"{uri}: cannot connect to the database (")
    finally:
        locked.chmod(0o700)


def test_sqlite_under_a_file(tmp_path):
    (tmp_path / "plain").write_text("a file, not a directory")
    uri = f"sqlite:///{tmp_path / 'plain' / 'sub' / 'results.db'}"
    message = error_of(lambda: open_target(uri).save(make(1)))
    assert message.startswith(f"{uri}: cannot open the database (")
    assert open_target(uri).list() == []  # reading a database that cannot exist finds nothing


def test_a_file_that_is_not_a_sqlite_database(tmp_path):
    (tmp_path / "results.db").write_text("not a database, just text " * 100)
    uri = f"sqlite:///{tmp_path / 'results.db'}"
    message = error_of(lambda: open_target(uri).list())
    assert message.startswith(f"{uri}: cannot prepare the results table (")
    assert "not a database" in message


def test_mongodb_refuses_an_int_beyond_64_bits(mongo_client):
    target = open_target("mongodb://localhost/testdb")
    big = Result(model="m", version="1", inputs={"n": 2**70}, outputs={})
    message = error_of(lambda: target.save(big))
    assert message.startswith("mongodb://localhost/testdb: cannot write results (")
    assert "8-byte ints" in message


# --- the error wrapper --------------------------------------------------------------------------


class Fake(BaseTarget):
    def __init__(self, uri: str) -> None:
        self.uri = uri


def reported_as(exc: BaseException, uri="x://h/d", kinds=(OSError,)) -> TargetError:
    """The error `reported` turns `exc` into."""
    with pytest.raises(TargetError) as info, reported(Fake(uri), "reading", kinds):
        raise exc
    return info.value


def test_reported_keeps_the_first_line_and_masks_the_password():
    error = reported_as(
        ValueError("login as admin:hunter2 refused\nDETAIL: more\nHINT: even more"),
        uri="postgresql://admin:hunter2@db/results",
        kinds=(ValueError,),
    )
    assert str(error) == "postgresql://admin:***@db/results: reading (login as admin:*** refused)"
    assert error.__cause__ is None and error.__suppress_context__


def test_reported_cuts_pymongo_topology_details():
    reason = "db:27017: timed out (configured timeouts: socketTimeoutMS: 1.0ms), Timeout: 1s, ..."
    assert str(reported_as(OSError(reason))) == "x://h/d: reading (db:27017: timed out)"
    reason = "db:27017: [Errno 111] Connection refused, Timeout: 0.5s, Topology Description: <...>"
    assert str(reported_as(OSError(reason))) == (
        "x://h/d: reading (db:27017: [Errno 111] Connection refused)"
    )


def test_reported_uses_the_driver_error_behind_a_wrapper():
    class Wrapper(Exception):
        orig = ConnectionError("the driver's reason")

    error = reported_as(Wrapper("the wrapper's long text"), kinds=(Wrapper,))
    assert str(error) == "x://h/d: reading (the driver's reason)"


def test_reported_names_an_error_without_text():
    assert str(reported_as(TimeoutError())) == "x://h/d: reading (TimeoutError)"


def test_reported_passes_other_errors_through():
    own = TargetError("already a sentence")
    with pytest.raises(TargetError) as info, reported(Fake("x://h/d"), "reading", (OSError,)):
        raise own
    assert info.value is own
    with pytest.raises(KeyError), reported(Fake("x://h/d"), "reading", (OSError,)):
        raise KeyError("not a driver error")


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql://u:secret@db:5432/r", "postgresql://u:***@db:5432/r"),
        ("postgresql://u:p@ss@db/r", "postgresql://u:***@db/r"),
        ("mongodb://:secret@a,b:27018/r?tls=true", "mongodb://:***@a,b:27018/r?tls=true"),
        ("postgresql://u@db/r", "postgresql://u@db/r"),
        ("sqlite:////data/results.db", "sqlite:////data/results.db"),
        ("/data/results", "/data/results"),
        (
            "postgresql://db/r?password=secret&sslmode=require",
            "postgresql://db/r?password=***&sslmode=require",
        ),
        ("postgresql://u:s@db/r?sslpassword=secret2", "postgresql://u:***@db/r?sslpassword=***"),
        (
            "mongodb://db/r?authSource=admin&token=secret",
            "mongodb://db/r?authSource=admin&token=***",
        ),
    ],
)
def test_mask_uri(uri, masked):
    assert mask_uri(uri) == masked
