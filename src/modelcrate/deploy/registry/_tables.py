"""The registry's tables (SQLAlchemy Core), as its migrations create them.

Column types are chosen to behave alike on SQLite, PostgreSQL and MariaDB/MySQL: times are
stored as UTC and read back aware; JSON is JSONB on PostgreSQL, a JSON text elsewhere; names
and versions compare exactly (a binary collation on MariaDB, whose default one ignores case).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.postgresql import JSONB

PREFIX = "modelcrate_registry_"
VERSION_TABLE = f"{PREFIX}alembic_version"
NAME_LENGTH = 255
"""The longest name, version, package or work pool the registry stores (characters)."""

MYSQL_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
"""Table options on MariaDB/MySQL: transactions and foreign keys, any Unicode, exact comparison."""


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A time stored as UTC (timestamptz on PostgreSQL, naive UTC with microseconds elsewhere),
    read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = (value if value.tzinfo else value.astimezone()).astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)  # PostgreSQL answers in the session's time zone


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON that works on all three databases (JSONB on PostgreSQL)."""
    return sa.JSON().with_variant(JSONB(), "postgresql")


def name_type() -> sa.types.TypeEngine[Any]:
    """A short text compared exactly."""
    return sa.String(NAME_LENGTH)


metadata = sa.MetaData()

models = sa.Table(
    f"{PREFIX}models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", name_type(), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("laboratory", sa.Text),
    sa.Column("facility", sa.Text),
    sa.Column("beampath", sa.Text),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("updated", UTCDateTime(), nullable=False),
    **MYSQL_TABLE,
)
"""A model: its name (the distribution's), and who made it for which machine."""

versions = sa.Table(
    f"{PREFIX}versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey(f"{PREFIX}models.id"), nullable=False),
    sa.Column("version", name_type(), nullable=False),
    sa.Column("wheel_sha256", sa.String(64), nullable=False),
    sa.Column("sdist_sha256", sa.String(64)),
    sa.Column("source_url", sa.Text),
    sa.Column("source_commit", sa.String(64)),
    sa.Column("package", name_type(), nullable=False),
    sa.Column("entry_points", json_type(), nullable=False),
    sa.Column("image", sa.Text),
    sa.Column("variables", json_type(), nullable=False),
    sa.Column("requirements", json_type()),  # since revision 0002
    sa.Column("created", UTCDateTime(), nullable=False),
    # TRUE for the live version, NULL for every other: the unique constraint below allows one
    # TRUE per model and any number of NULLs, on every database (no partial index needed).
    sa.Column("live", sa.Boolean),
    sa.Column("retired_at", UTCDateTime()),
    sa.UniqueConstraint("model_id", "version", name=f"uq_{PREFIX}versions_model_version"),
    sa.UniqueConstraint("model_id", "live", name=f"uq_{PREFIX}versions_one_live"),
    **MYSQL_TABLE,
)
"""A released version of a model: its wheel and sdist, where it came from, what it holds."""

deployments = sa.Table(
    f"{PREFIX}deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey(f"{PREFIX}versions.id"), nullable=False),
    sa.Column("deployment_id", sa.String(64), nullable=False),
    sa.Column("name", name_type(), nullable=False),
    sa.Column("work_pool", name_type(), nullable=False),
    sa.Column("parameters_schema", json_type()),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.UniqueConstraint(
        "version_id", "deployment_id", name=f"uq_{PREFIX}deployments_version_deployment"
    ),
    **MYSQL_TABLE,
)
"""A Prefect deployment of a version (its id and name in Prefect, the work pool it runs in)."""

projects = sa.Table(
    f"{PREFIX}projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", name_type(), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("created", UTCDateTime(), nullable=False),
    **MYSQL_TABLE,
)
"""A project: a group of flow compositions."""

flows = sa.Table(
    f"{PREFIX}flows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", name_type(), nullable=False, unique=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey(f"{PREFIX}projects.id")),
    sa.Column("description", sa.Text),
    sa.Column("created", UTCDateTime(), nullable=False),
    **MYSQL_TABLE,
)
"""A flow composition: deployed flows run one after another (its steps, in order)."""

flow_steps = sa.Table(
    f"{PREFIX}flow_steps",
    metadata,
    sa.Column("flow_id", sa.Integer, sa.ForeignKey(f"{PREFIX}flows.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "deployment_id", sa.Integer, sa.ForeignKey(f"{PREFIX}deployments.id"), nullable=False
    ),
    **MYSQL_TABLE,
)
"""The steps of a flow composition: which deployment runs at which position."""
