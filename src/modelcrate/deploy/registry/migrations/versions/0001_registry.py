"""The model registry: models, their versions, deployments, projects and flow compositions.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

P = "modelcrate_registry_"
MYSQL_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        f"{P}models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("laboratory", sa.Text),
        sa.Column("facility", sa.Text),
        sa.Column("beampath", sa.Text),
        sa.Column("created", _time(), nullable=False),
        sa.Column("updated", _time(), nullable=False),
        sa.UniqueConstraint("name", name=f"uq_{P}models_name"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{P}versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey(f"{P}models.id"), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("wheel_sha256", sa.String(64), nullable=False),
        sa.Column("sdist_sha256", sa.String(64)),
        sa.Column("source_url", sa.Text),
        sa.Column("source_commit", sa.String(64)),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("entry_points", _json(), nullable=False),
        sa.Column("image", sa.Text),
        sa.Column("variables", _json(), nullable=False),
        sa.Column("created", _time(), nullable=False),
        sa.Column("live", sa.Boolean),
        sa.Column("retired_at", _time()),
        sa.UniqueConstraint("model_id", "version", name=f"uq_{P}versions_model_version"),
        sa.UniqueConstraint("model_id", "live", name=f"uq_{P}versions_one_live"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{P}deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey(f"{P}versions.id"), nullable=False),
        sa.Column("deployment_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("work_pool", sa.String(255), nullable=False),
        sa.Column("parameters_schema", _json()),
        sa.Column("created", _time(), nullable=False),
        sa.UniqueConstraint(
            "version_id", "deployment_id", name=f"uq_{P}deployments_version_deployment"
        ),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{P}projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created", _time(), nullable=False),
        sa.UniqueConstraint("name", name=f"uq_{P}projects_name"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{P}flows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.Integer, sa.ForeignKey(f"{P}projects.id")),
        sa.Column("description", sa.Text),
        sa.Column("created", _time(), nullable=False),
        sa.UniqueConstraint("name", name=f"uq_{P}flows_name"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{P}flow_steps",
        sa.Column("flow_id", sa.Integer, sa.ForeignKey(f"{P}flows.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("deployment_id", sa.Integer, sa.ForeignKey(f"{P}deployments.id"), nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    for table in ("flow_steps", "flows", "projects", "deployments", "versions", "models"):
        op.drop_table(f"{P}{table}")
