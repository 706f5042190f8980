"""Shared fixtures: example files, generated projects and a runner for the `modelcrate` command
line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _projects import EXAMPLE, ProjectFactory

# Prefect, when a test imports it, runs against a private home and a patient temporary server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


# The old packages of the `migrate` tests carry tests of their own: not modelcrate's.
collect_ignore = ["fixtures"]


@pytest.fixture(scope="session", autouse=True)
def template_releases(tmp_path_factory) -> Path:
    """Projects made by the tests take their template releases from a repository of the test
    session (set in the environment, so `modelcrate` subprocesses use it too), not the user's."""
    repository = tmp_path_factory.mktemp("template-releases") / "template.git"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELCRATE_TEMPLATE_REPOSITORY", str(repository))
        yield repository


@pytest.fixture(scope="session")
def example_variables() -> Path:
    """The injector example's variables file."""
    return EXAMPLE


@pytest.fixture(scope="session")
def make_project(template_releases, tmp_path_factory) -> ProjectFactory:
    """`make_project(variables=EXAMPLE, *, model=None, git=False, template=None, dest=None,
    **options) -> Path`: a generated project of its own for the caller, rendered once per session
    for each set of arguments and copied for each call (see tests/_projects.py)."""
    return ProjectFactory(tmp_path_factory.mktemp)


@pytest.fixture
def run_cli(capsys):
    """Call `modelcrate` in-process; returns (exit code, stdout, stderr)."""
    from modelcrate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _server_url(server: str, variable: str, script: str) -> str:
    """The URL in `variable` of a database server `.ci/run` starts with `.ci/SCRIPT.sh`; without
    one the test is skipped, saying how to start a server, and in CI it fails."""
    url = os.environ.get(variable)
    if not url:
        message = (
            f"no {server} server: run `source .ci/{script}.sh && start_{script}` "
            f"(sets {variable}), as .ci/run does"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def torch_python() -> Path:
    """The Python of the torch test environment (torch, lume-torch and modelcrate's
    dependencies): `.ci/run` builds one and sets MODELCRATE_TORCH_PYTHON.

    Outside CI without one the test is skipped, saying how to build it; in CI it fails.
    """
    python = os.environ.get("MODELCRATE_TORCH_PYTHON")
    if python and Path(python).is_file():
        return Path(python)
    message = (
        "no torch test environment (torch and lume-torch are not in the dev extra): run "
        "`source .ci/torch.sh && torch_env` (sets MODELCRATE_TORCH_PYTHON), as .ci/run does"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """A PostgreSQL server's URL: `.ci/run` starts one and sets TEST_POSTGRESQL_URL.

    Outside CI without one the test is skipped, saying how to start a server; in CI it fails.
    """
    return _server_url("PostgreSQL", "TEST_POSTGRESQL_URL", "postgres")


@pytest.fixture
def postgresql_db(postgresql_url):
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    import uuid

    import sqlalchemy as sa

    from modelcrate.runtime import _sql

    name = f"modelcrate_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        sa.make_url(postgresql_url).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(postgresql_url).set(database=name).render_as_string(hide_password=False)
    yield url
    _sql.forget_engines()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """A MariaDB server's URL (a user with a password): `.ci/run` starts one and sets
    TEST_MARIADB_URL.

    Outside CI without one the test is skipped, saying how to start a server; in CI it fails.
    """
    return _server_url("MariaDB", "TEST_MARIADB_URL", "mariadb")


@pytest.fixture
def mariadb_db(mariadb_url):
    """The URL of a new, empty MariaDB database (its password in it), dropped after the test."""
    import uuid

    import sqlalchemy as sa

    name = f"modelcrate_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(mariadb_url).set(drivername="mysql+pymysql"))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = sa.make_url(mariadb_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def registry_db(request, tmp_path) -> str:
    """The URL of a new, empty model registry: a SQLite file, a PostgreSQL or a MariaDB
    database (each test runs once on each)."""
    from modelcrate.deploy.registry._database import forget_migrations

    forget_migrations()  # the next open checks the new database's schema
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue(f"{request.param}_db"))


@pytest.fixture
def mongo_client(monkeypatch):
    """pymongo's MongoClient replaced by mongomock's (no MongoDB server can run here)."""
    import mongomock

    from modelcrate.runtime import _mongo

    monkeypatch.setattr("pymongo.MongoClient", mongomock.MongoClient)
    monkeypatch.setattr(_mongo, "_clients", {})
    return mongomock.MongoClient


@pytest.fixture
def no_pymongo(monkeypatch):
    """pymongo (and its bson) cannot be imported, as in an environment without them."""
    import sys

    for name in [m for m in sys.modules if m.split(".")[0] in ("pymongo", "bson")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pymongo", None)
    monkeypatch.setitem(sys.modules, "bson", None)
