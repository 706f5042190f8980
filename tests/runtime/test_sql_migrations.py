"""A results database made by an older modelcrate is brought up to date when first opened."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from modelcrate.runtime import Result, open_target
from modelcrate.runtime._sql import MIGRATIONS, TABLE, VERSION_TABLE, results_table

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def make(i: int) -> Result:
    return Result(
        model="injector-surrogate",
        version="1.0.0",
        inputs={"i": i},
        outputs={"sigma_x": 0.1 * i},
        created=T0 + timedelta(seconds=i),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_uri(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("postgresql_db")


def engine_of(uri: str) -> sa.Engine:
    url = sa.make_url(uri)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url)


def at_revision_0001(uri: str, results: list[Result]) -> None:
    """A database as modelcrate made it before results had a key, holding `results`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = engine_of(uri)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            old_table = sa.Table(TABLE, sa.MetaData(), autoload_with=connection)
            assert "key" not in old_table.c
            rows = []
            for r in results:
                document = {k: v for k, v in r.to_document().items() if k != "key"}
                rows.append({"id": r.hash, "model": r.model, "version": r.version,
                             "created": r.created, "document": document})  # fmt: skip
            connection.execute(sa.insert(old_table), rows)
    finally:
        engine.dispose()


def stored_rows(uri: str) -> tuple[list[str], dict[str, str | None]]:
    """The migrations recorded in a database, and the key column of each row by id."""
    engine = engine_of(uri)
    try:
        with engine.connect() as connection:
            versions = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")
            keys = connection.execute(sa.select(results_table.c.id, results_table.c.key))
            return list(versions.scalars()), dict(keys.all())
    finally:
        engine.dispose()


def test_a_database_of_revision_0001_upgrades_and_its_rows_keep_no_key(database_uri):
    old = [make(1), make(2)]
    at_revision_0001(database_uri, old)

    with open_target(database_uri) as target:
        assert [r.hash for r in target.list()] == [r.hash for r in old]  # migrated here
        assert target.load(old[0].id[:10]) == old[0]
        assert target.stored_keys([r.key for r in old]) == set()  # evaluated again by a sweep
        new = make(3)
        target.save_many([new, old[0]])  # the old one again: a no-op
        assert target.stored_keys([r.key for r in [*old, new]]) == {new.key}
        assert len(target.list()) == 3

    versions, keys = stored_rows(database_uri)
    assert versions == ["0002"]
    assert keys == {old[0].hash: None, old[1].hash: None, new.hash: new.key}


def test_the_key_column_is_indexed(database_uri):
    with open_target(database_uri) as target:
        target.save(make(1))
    engine = engine_of(database_uri)
    try:
        indexes = sa.inspect(engine).get_indexes(TABLE)
    finally:
        engine.dispose()
    assert {"name": "ix_modelcrate_results_key", "column_names": ["key"]} in [
        {"name": i["name"], "column_names": i["column_names"]} for i in indexes
    ]
