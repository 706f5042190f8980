"""Every kind of result target (file, SQLite, PostgreSQL, MongoDB) stores and reads back alike."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from _results import assert_same_result

from modelcrate import TargetError
from modelcrate.runtime import FilesystemTarget, Result, Target, open_target
from modelcrate.runtime._mongo import MongoTarget
from modelcrate.runtime._sql import SQLTarget

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)  # MongoDB keeps times to the millisecond
KINDS = ["file", "sqlite", "postgresql", "mongodb"]
CLASSES = {
    "file": FilesystemTarget,
    "sqlite": SQLTarget,
    "postgresql": SQLTarget,
    "mongodb": MongoTarget,
}


def kind_uri(kind: str, request, tmp_path: Path) -> str:
    """A fresh, empty target of this kind, by URI."""
    if kind == "file":
        return (tmp_path / "results").as_uri()
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"  # an absolute path: four slashes
    if kind == "postgresql":
        return request.getfixturevalue("postgresql_db")
    request.getfixturevalue("mongo_client")
    return "mongodb://localhost/testdb"


@pytest.fixture(params=KINDS)
def target_uri(request, tmp_path) -> str:
    return kind_uri(request.param, request, tmp_path)


@pytest.fixture
def kind(target_uri) -> str:
    scheme = target_uri.partition(":")[0]
    return {"postgres": "postgresql"}.get(scheme, scheme)


@pytest.fixture
def target(target_uri):
    with open_target(target_uri) as opened:
        yield opened


def make(i=0, model="injector-surrogate", created=None, **outputs) -> Result:
    return Result(
        model=model,
        version="1.0.0",
        inputs={"QUAD:IN20:121:BACT": -0.02, "i": i},
        outputs=outputs or {"sigma_x": 0.1 * i},
        units={"QUAD:IN20:121:BACT": "kG", "sigma_x": "mm"},
        created=created or T0 + i * MS,
    )


def rich() -> Result:
    """A result with every kind of value a model produces."""
    rng = np.random.default_rng(7)
    return Result(
        model="injector-surrogate",
        version="1.4.2",
        inputs={"QUAD:IN20:121:BACT": -0.02, "screen": "OTR2", "laser": "on", "n_bins": 4},
        outputs={
            "image": rng.standard_normal((1000, 1000)).astype(np.float32),
            "counts": np.array([[1, -2, 3], [4, 5, 2**40]], dtype=np.int64),
            "small": np.array([3, 1, 2], dtype=np.int16),
            "nan": math.nan,
            "inf": math.inf,
            "minus_inf": -math.inf,
            "with_nan": np.array([1.0, np.nan, -np.inf]),
            "fit": {
                "sigma": 0.25,
                "profile": np.linspace(0, 1, 5, dtype=np.float32),
                "tags": ["core", "halo"],
                "deeper": {"ok": True, "none": None, "ratio": -1.5e-9},
            },
        },
        units={"QUAD:IN20:121:BACT": "kG", "image": "counts"},
        flow_run_id="1d2c3b4a-0000-4000-8000-000000000000",
        created=datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=timezone.utc),
    )


def ids(results) -> list[int]:
    return [r.inputs["i"] for r in results]


def one_line_error(info) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


# --- saving and loading -------------------------------------------------------------------------


def test_save_and_load_keep_every_value_exactly(target, kind):
    result = rich()
    where = target.save(result)
    if kind == "file":
        assert Path(where).is_file() and Path(where).stem == result.hash
    else:
        assert where == f"{target.name}#{result.hash}"

    loaded = target.load(result.id)
    assert_same_result(loaded, result)
    assert loaded.outputs["image"].flags.writeable  # a copy, not a view of the stored bytes
    assert loaded == result
    assert loaded.to_document() == result.to_document()
    [listed] = target.list()
    assert_same_result(listed, result)


def test_every_kind_stores_the_same_document(request, tmp_path, postgresql_db, mongo_client):
    result = rich()
    documents = {}
    for kind in KINDS:
        with open_target(kind_uri(kind, request, tmp_path)) as target:
            target.save(result)
            documents[kind] = target.load(result.id[:8]).to_document()
    want = result.to_document()
    for kind, document in documents.items():
        assert document == want, kind
        assert json.dumps(document, sort_keys=True) == json.dumps(want, sort_keys=True), kind


def test_saving_the_same_result_twice_is_a_no_op(target):
    first = make(1)
    where = target.save(first)
    later = make(1, created=T0 + timedelta(days=3))  # the same content, stored again later
    assert later.hash == first.hash

    assert target.save(later) == where
    assert target.save(first) == where
    assert target.save_many([later, first]) == [where, where]
    [stored] = target.list()
    assert stored.created == first.created  # the first one stays
    assert target.load(first.id).created == first.created


def test_save_many_with_duplicates_in_one_call(target):
    a, b = make(1), make(2)
    a_again = make(1, created=T0 + timedelta(hours=1))
    locations = target.save_many([a, b, a, a_again, b])
    assert len(locations) == 5
    assert locations[0] == locations[2] == locations[3] != locations[1] == locations[4]
    assert ids(target.list()) == [1, 2]
    assert target.load(a.id).created == a.created


def test_save_many_of_nothing(target):
    assert target.save_many([]) == []
    assert target.list() == []


def test_save_many_returns_locations_in_order(target, kind):
    results = [make(i) for i in range(30)]
    if kind == "file":
        want = [str(target.path_of(r)) for r in results]
    else:
        want = [f"{target.name}#{r.hash}" for r in results]
    assert target.save_many(results) == want
    assert len(target.list()) == 30


# --- querying -----------------------------------------------------------------------------------


def test_list_is_oldest_first(target):
    target.save_many([make(i) for i in (3, 1, 4, 0, 2)])
    assert ids(target.list()) == [0, 1, 2, 3, 4]
    assert all(isinstance(r, Result) for r in target.list())


def test_query_newest_first(target):
    target.save_many([make(i) for i in (3, 1, 4, 0, 2)])
    assert ids(target.query(newest_first=True)) == [4, 3, 2, 1, 0]
    assert ids(target.query()) == [0, 1, 2, 3, 4]
    assert ids(target.query(newest_first=True, limit=2)) == [4, 3]
    assert ids(target.query(limit=2)) == [0, 1]


def test_query_by_model(target):
    for i in range(3):
        target.save(make(i, model="injector-surrogate"))
        target.save(make(i, model="QUAD:scan"))
    target.save(make(9, model="QUAD_scan"))  # the same file-safe name as QUAD:scan
    assert len(target.list()) == 7
    assert [r.model for r in target.list(model="QUAD:scan")] == ["QUAD:scan"] * 3
    assert [r.model for r in target.list(model="QUAD_scan")] == ["QUAD_scan"]
    assert ids(target.list(model="injector-surrogate")) == [0, 1, 2]
    assert target.list(model="no-such-model") == []


def test_since_is_inclusive_and_until_exclusive(target):
    target.save_many([make(i) for i in range(6)])  # created T0, T0 + 1 ms, ... T0 + 5 ms
    assert ids(target.list(since=T0 + 2 * MS)) == [2, 3, 4, 5]
    assert ids(target.list(until=T0 + 2 * MS)) == [0, 1]
    assert ids(target.list(since=T0 + 1 * MS, until=T0 + 4 * MS)) == [1, 2, 3]
    assert target.list(since=T0 + 3 * MS, until=T0 + 3 * MS) == []
    assert target.list(since=T0 + timedelta(days=1)) == []
    assert ids(target.list(until=T0 + timedelta(days=1))) == [0, 1, 2, 3, 4, 5]


def test_time_filters_compare_moments_across_time_zones(target):
    tz = timezone(timedelta(hours=2))
    target.save(make(0, created=datetime(2024, 5, 1, 10, 0, tzinfo=tz)))  # 08:00 UTC
    target.save(make(1, created=datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)))
    assert ids(target.list()) == [0, 1]
    assert ids(target.list(since=datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc))) == [1]
    assert ids(target.list(until=datetime(2024, 5, 1, 10, 30, tzinfo=tz))) == [0]
    assert target.load(make(0).hash).created == datetime(2024, 5, 1, 10, 0, tzinfo=tz)


def test_naive_times_are_local_and_sort_with_aware_ones(target):
    local_naive = (T0 + timedelta(hours=1)).astimezone().replace(tzinfo=None)
    target.save(make(1, created=local_naive))
    target.save(make(0, created=T0))
    target.save(make(2, created=T0 + timedelta(hours=2)))
    assert ids(target.list()) == [0, 1, 2]
    assert ids(target.list(since=local_naive)) == [1, 2]
    assert ids(target.list(until=local_naive)) == [0]
    assert target.load(make(1).hash).created == local_naive


def test_limit_is_the_most_recent_returned_oldest_first(target):
    target.save_many([make(i) for i in (5, 0, 3, 1, 4, 2)])
    assert ids(target.list(limit=3)) == [3, 4, 5]
    assert ids(target.list(limit=1)) == [5]
    assert ids(target.list(limit=100)) == [0, 1, 2, 3, 4, 5]
    assert target.list(limit=0) == []


def test_filters_combine(target):
    for i in range(8):
        target.save(make(i, model="a" if i % 2 else "b"))
    found = target.list(model="a", since=T0 + 2 * MS, until=T0 + 7 * MS, limit=1)
    assert [(r.model, r.inputs["i"]) for r in found] == [("a", 5)]
    found = target.list(model="b", since=T0 + 2 * MS, until=T0 + 7 * MS)
    assert [(r.model, r.inputs["i"]) for r in found] == [("b", 2), ("b", 4), ("b", 6)]


def test_results_of_the_same_moment_are_ordered_by_id(target):
    results = [make(i, created=T0) for i in range(5)]
    target.save_many(results)
    by_id = sorted(r.hash for r in results)
    assert [r.hash for r in target.list()] == by_id
    assert [r.hash for r in target.query(newest_first=True)] == by_id[::-1]


def test_an_empty_target_lists_nothing(target):
    assert target.list() == []
    assert list(target.query(model="x", newest_first=True, limit=3)) == []


# --- loading by id ------------------------------------------------------------------------------


def test_load_by_id_and_by_unique_prefix(target):
    results = [make(i) for i in range(3)]
    target.save_many(results)
    for result in results:
        assert target.load(result.id).hash == result.hash
        assert target.load(result.id[:12]).hash == result.hash


def test_unknown_id_is_an_error(target):
    target.save(make(1))
    with pytest.raises(TargetError) as info:
        target.load("0123456789abcdef-not-stored")
    message = one_line_error(info)
    assert message.startswith(f"{target.name}: ")
    assert "no result with id '0123456789abcdef-not-stored'" in message


def test_an_id_prefix_matches_exactly(target):
    result = make(1)
    target.save(result)
    for near in (result.id.upper(), result.id[:6] + "_", result.id[:6] + "%", result.id + "0"):
        with pytest.raises(TargetError, match="no result with id"):
            target.load(near)


def test_reading_a_sqlite_file_that_does_not_exist_finds_nothing_and_creates_nothing(tmp_path):
    database = tmp_path / "missing.db"
    with open_target(f"sqlite:///{database}") as target:
        assert target.list() == []
        with pytest.raises(TargetError, match="no result with id 'abc'"):
            target.load("abc")
        assert not database.exists()
        target.save(make(1))  # writing creates it
        assert len(target.list()) == 1


def test_an_empty_id_is_an_error_not_a_match_of_everything(target):
    target.save(make(1))  # one result: a prefix "" would match it alone
    for empty in ("", "   "):
        with pytest.raises(TargetError) as info:
            target.load(empty)
        assert one_line_error(info) == (
            f"{target.name}: no result id given; `modelcrate results list` shows the ids"
        )


@pytest.mark.parametrize("limit", [-1, 1.5, True])
def test_a_limit_must_be_a_whole_number_not_below_zero(target, limit):
    target.save(make(1))
    with pytest.raises(TargetError, match=rf"limit {limit!r}: give a whole number, 0 or more"):
        target.list(limit=limit)


def test_ambiguous_prefix_is_an_error(target):
    results = [make(i) for i in range(40)]  # 40 hashes: some first hex digit is shared by 3+
    target.save_many(results)
    by_first: dict[str, list[str]] = {}
    for result in results:
        by_first.setdefault(result.id[0], []).append(result.id)
    prefix, shared = max(by_first.items(), key=lambda item: len(item[1]))
    assert len(shared) >= 3
    with pytest.raises(TargetError) as info:
        target.load(prefix)
    message = one_line_error(info)
    assert message.startswith(f"{target.name}: ")
    assert f"id {prefix!r} matches {len(shared)} results; give more of it" in message


# --- which inputs keys are stored ---------------------------------------------------------------


def test_stored_keys_are_exactly_the_stored_subset(target):
    stored = [make(i) for i in range(5)]
    target.save_many(stored)
    others = [make(i).key for i in range(5, 8)]
    asked = [stored[1].key, *others, stored[3].key, stored[1].key]  # a repeated key too
    assert target.stored_keys(asked) == {stored[1].key, stored[3].key}
    assert target.stored_keys([r.key for r in stored]) == {r.key for r in stored}
    assert target.stored_keys(others) == set()
    assert target.stored_keys(["", "not a key", "0" * 64, "../../x"]) == set()


def test_stored_keys_of_nothing_is_nothing(target):
    assert target.stored_keys([]) == set()
    target.save(make(1))
    assert target.stored_keys([]) == set()
    assert target.stored_keys(()) == set()


def test_stored_keys_of_an_empty_target(target):
    assert target.stored_keys([make(1).key]) == set()


def test_a_key_is_stored_whatever_the_outputs(target):
    first = make(1, sigma_x=0.5)
    target.save(first)
    rerun = make(1, sigma_x=0.7)  # the same inputs and code, other outputs
    assert rerun.hash != first.hash
    assert target.stored_keys([rerun.key]) == {first.key}
    assert target.stored_keys([make(1, model="other").key]) == set()


def test_one_key_is_not_a_sequence_of_keys(target):
    with pytest.raises(TypeError, match="not one key"):
        target.stored_keys(make(1).key)


def test_thousands_of_keys_in_one_call(target_uri, kind, monkeypatch):
    monkeypatch.setenv("MODELCRATE_FSYNC", "false")
    results = [make(i) for i in range(2500)]
    with open_target(target_uri) as target:
        target.save_many(results[::2])
        found = target.stored_keys([r.key for r in results])
    assert found == {r.key for r in results[::2]}


def test_sqlite_is_asked_for_keys_within_its_parameter_limit(tmp_path):
    import sqlite3

    import sqlalchemy as sa

    if not hasattr(sqlite3.Connection, "setlimit"):
        pytest.skip("sqlite3 sets limits from Python 3.11")
    results = [make(i) for i in range(2500)]
    target = open_target(f"sqlite:///{tmp_path / 'results.db'}")
    target.save_many(results[::2])
    engine = target.engine

    @sa.event.listens_for(engine, "connect")
    def old_limit(dbapi_connection, record):  # as SQLite before 3.32 had it
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    engine.pool.dispose()  # connections from here on have the limit
    with engine.connect() as connection, pytest.raises(sa.exc.OperationalError):
        connection.execute(sa.select(sa.literal(1)).where(sa.literal(1).in_(list(range(1000)))))
    assert target.stored_keys([r.key for r in results]) == {r.key for r in results[::2]}


def test_reading_keys_of_a_sqlite_file_that_does_not_exist_creates_nothing(tmp_path):
    database = tmp_path / "missing.db"
    with open_target(f"sqlite:///{database}") as target:
        assert target.stored_keys([make(1).key]) == set()
    assert not database.exists()


def test_each_database_kind_stores_the_key_beside_the_document(request, tmp_path, mongo_client):
    result = make(1)
    with open_target(kind_uri("sqlite", request, tmp_path)) as sql:
        sql.save(result)
        import sqlalchemy as sa

        from modelcrate.runtime._sql import results_table

        with sql.engine.connect() as connection:
            row = connection.execute(sa.select(results_table.c.key, results_table.c.document))
            [(key, document)] = row.all()
        assert key == document["key"] == result.key
    with open_target(kind_uri("mongodb", request, tmp_path)) as mongo:
        mongo.save(result)
        [stored] = list(mongo.collection.find({}, {"key": 1, "_id": 0}))
        assert stored == {"key": result.key}
        indexes = mongo.collection.index_information()
        assert indexes["key"]["key"] == [("key", 1)]


# --- opening targets by URI ---------------------------------------------------------------------


def test_open_target_gives_the_kind_of_target(target_uri, kind):
    opened = open_target(target_uri)
    assert isinstance(opened, Target)
    assert type(opened) is CLASSES[kind]
    assert opened.name == target_uri  # no password in these URIs to mask
    assert repr(opened).startswith(f"{CLASSES[kind].__name__}(")


def test_every_form_of_a_uri_names_the_same_store(target_uri, kind, tmp_path, monkeypatch):
    if kind == "mongodb":  # one mock server behind every client, as a real server would be
        import mongomock

        store = mongomock.store.ServerStore()
        monkeypatch.setattr(
            "pymongo.MongoClient", lambda *a, **kw: mongomock.MongoClient(*a, _store=store, **kw)
        )
    result = make(1)
    open_target(target_uri).save(result)
    if kind == "file":
        root = tmp_path / "results"
        monkeypatch.chdir(tmp_path)
        forms = [str(root), f"file://localhost{root}", "results", "file:results", root]
    elif kind == "sqlite":
        monkeypatch.chdir(tmp_path)
        forms = ["sqlite:///results.db", f"sqlite+pysqlite:///{tmp_path / 'results.db'}"]
    elif kind == "postgresql":
        rest = target_uri.partition("://")[2]
        forms = [f"postgres://{rest}", f"postgresql+psycopg://{rest}", f" {target_uri} "]
    else:
        forms = [
            "mongodb://localhost/testdb?serverSelectionTimeoutMS=1000",
            "mongodb://localhost:27017/testdb",
        ]
    for form in forms:
        assert open_target(form).load(result.id).hash == result.hash, form


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_relative_paths_are_under_base(kind, request, tmp_path):
    result = make(1)
    open_target(kind_uri(kind, request, tmp_path)).save(result)
    relative = "results" if kind == "file" else "sqlite:///results.db"
    assert open_target(relative, base=tmp_path).load(result.id).hash == result.hash
    assert open_target(relative, base=tmp_path / "elsewhere").list() == []


def test_a_named_target(target_uri, monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__ARCHIVE", target_uri)
    result = make(1)
    named = open_target("@archive")
    assert named.name == open_target(target_uri).name
    named.save(result)
    assert open_target(target_uri).load(result.id).hash == result.hash
    assert open_target("@ARCHIVE").load(result.id).hash == result.hash


def test_an_unknown_name_says_how_to_set_it(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__ARCHIVE", "/data/results")
    with pytest.raises(TargetError) as info:
        open_target("@scratch")
    message = one_line_error(info)
    assert message.startswith("@scratch: no target of that name (@archive)")
    assert "MODELCRATE_TARGETS__SCRATCH=URI" in message


# --- numbers that stores change ---------------------------------------------------------------------------------


def test_a_large_whole_float_stays_a_float(target):
    # PostgreSQL's JSONB alone would read 1e+16 back as the int 10**16
    result = make(1, charge=6.25e18, count=1e16, nested={"x": [1e17, -2e20, 3]})
    target.save(result)
    outputs = target.load(result.id).outputs
    assert type(outputs["charge"]) is float and type(outputs["count"]) is float
    assert outputs["charge"] == 6.25e18 and outputs["count"] == 1e16
    assert outputs["nested"] == {"x": [1e17, -2e20, 3]}
    assert [type(v) for v in outputs["nested"]["x"]] == [float, float, int]
    assert target.load(result.id).hash == result.hash
