"""The registry's schema: created at the first use, down to nothing and up again, beside the
results table without touching it, and refused when a newer modelcrate made it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from modelcrate._errors import RegistryError
from modelcrate.deploy import open_registry
from modelcrate.deploy.registry._database import (
    alembic_config,
    create_engine,
    current_revisions,
    forget_migrations,
    known_revisions,
)
from modelcrate.deploy.registry._tables import VERSION_TABLE

VARIABLES = {"input_variables": {"x": {"variable_class": "ScalarVariable"}},
             "output_variables": {"y": {"variable_class": "ScalarVariable"}}}  # fmt: skip
MODELS, VERSIONS = "modelcrate_registry_models", "modelcrate_registry_versions"
TABLES = {f"modelcrate_registry_{name}" for name in
          ("models", "versions", "deployments", "projects", "flows", "flow_steps")}  # fmt: skip


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def migrate(url: str, how: str, revision: str) -> tuple[str, ...]:
    """Run Alembic's upgrade or downgrade on the registry; the revisions it is at then."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            getattr(command, how)(alembic_config(connection), revision)
        with engine.connect() as connection:
            return current_revisions(connection)
    finally:
        engine.dispose()


def test_the_first_use_creates_the_schema_and_it_goes_down_and_up_again(registry_db):
    with open_registry(registry_db) as registry:
        assert registry.models() == []
        registry.register_model("m")
    assert TABLES | {VERSION_TABLE} <= tables(registry_db)
    (head,) = known_revisions() & {"0002"}  # the newest revision today
    assert migrate(registry_db, "upgrade", "head") == (head,)  # already there: a no-op

    assert migrate(registry_db, "downgrade", "base") == ()
    assert not TABLES & tables(registry_db)

    assert migrate(registry_db, "upgrade", "head") == (head,)
    forget_migrations()
    with open_registry(registry_db) as registry:
        assert registry.models() == []  # empty again, and usable
        registry.register_model("m")
        assert [m.name for m in registry.models()] == ["m"]


@pytest.mark.parametrize("registry_db", ["sqlite", "postgresql"], indirect=True)  # results' SQL
def test_the_registry_and_the_results_table_share_a_database_with_separate_histories(
    registry_db,
):
    from modelcrate.runtime import Result, open_target
    from modelcrate.runtime._sql import VERSION_TABLE as RESULTS_VERSION_TABLE

    with open_target(registry_db) as target:
        target.save(Result(model="m", version="1", inputs={"x": 1}, outputs={"y": 2}))
    with open_registry(registry_db) as registry:
        registry.register_model("m")
    engine = create_engine(registry_db)
    try:
        with engine.connect() as connection:
            results = connection.exec_driver_sql(f"SELECT version_num FROM {RESULTS_VERSION_TABLE}")
            ours = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")
            assert (len(results.all()), ours.scalars().all()) == (1, ["0002"])
    finally:
        engine.dispose()
    migrate(registry_db, "downgrade", "base")  # the registry's history only
    assert "modelcrate_results" in tables(registry_db)


def test_a_registry_made_by_a_newer_modelcrate_is_refused(registry_db):
    with open_registry(registry_db) as registry:
        registry.register_model("m")
    engine = create_engine(registry_db)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0042'"))
    finally:
        engine.dispose()
    forget_migrations()
    with pytest.raises(RegistryError) as caught, open_registry(registry_db) as registry:
        registry.models()
    message = str(caught.value)
    assert "made by a newer modelcrate (its schema is at revision 0042" in message
    assert "upgrade modelcrate (pip install -U modelcrate) or use another registry" in message
    password = sa.make_url(registry_db).password
    assert password is None or str(password) not in message


def test_the_database_itself_holds_one_live_version_per_model(registry_db):
    """Not only the API: a second live version written straight into the table is refused."""
    with open_registry(registry_db) as registry:
        registry.register_model("m")
        for version in ("1", "2"):
            registry.register_version("m", version, wheel_sha256=version * 64, package="p",
                                      variables={})  # fmt: skip
        registry.promote("m", "1")
    engine = create_engine(registry_db)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE modelcrate_registry_versions SET live = :live WHERE version = '2'"
            ), {"live": True})  # fmt: skip
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(  # a version of a model that does not exist
                "UPDATE modelcrate_registry_versions SET model_id = 999 WHERE version = '2'"
            ))  # fmt: skip
    finally:
        engine.dispose()


def test_a_registry_of_the_first_schema_keeps_its_versions_when_requirements_come(registry_db):
    """0001 → 0002 adds each version's requirements (none for those registered before), and
    going down again drops only that column."""
    import hashlib

    def sha(text):
        return hashlib.sha256(text.encode()).hexdigest()

    with open_registry(registry_db) as registry:
        registry.register_model("m")
        registry.register_release(  # a deployment refers to its version's row
            "deployed", "0.1", wheel_sha256=sha("deployed"), package="d", variables=VARIABLES,
            deployment_id="d-1", deployment_name="0.1", work_pool="local", requirements=["x"],
        )  # fmt: skip
    assert migrate(registry_db, "downgrade", "0001") == ("0001",)
    engine = create_engine(registry_db)
    try:
        with engine.begin() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns(VERSIONS)}
            assert "requirements" not in columns
            model_id = connection.execute(
                sa.text(f"SELECT id FROM {MODELS} WHERE name = 'm'")
            ).scalar()
            connection.execute(
                sa.text(
                    f"INSERT INTO {VERSIONS} (model_id, version, wheel_sha256, package, "
                    "entry_points, variables, created) VALUES (:m, '1.0', :sha, 'm', '{}', "
                    ":variables, '2026-01-02 03:04:05')"
                ),
                {"m": model_id, "sha": sha("m 1.0"), "variables": json.dumps(VARIABLES)},
            )
    finally:
        engine.dispose()
    assert migrate(registry_db, "upgrade", "head") == ("0002",)
    forget_migrations()
    with open_registry(registry_db) as registry:
        assert registry.version("deployed", "0.1").requirements is None  # dropped going down
        old = registry.version("m", "1.0")
        assert old.requirements is None and old.variables == VARIABLES
        again = registry.register_version(
            "m", "1.0", wheel_sha256=sha("m 1.0"), package="m", variables=VARIABLES,
            requirements=["numpy==2.4.6", "pyyaml==6.0.3 ; python_version >= '3.10'"],
        )  # fmt: skip
        assert again.changed and again.message == "recorded the requirements of m@1.0"
        assert again.record.requirements == (
            "numpy==2.4.6",
            "pyyaml==6.0.3 ; python_version >= '3.10'",
        )
