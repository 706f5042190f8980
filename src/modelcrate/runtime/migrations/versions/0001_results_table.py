"""The results table: one row per result document, keyed by its content hash.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "modelcrate_results",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    op.create_index(
        "ix_modelcrate_results_model_created", "modelcrate_results", ["model", "created"]
    )
    op.create_index("ix_modelcrate_results_created", "modelcrate_results", ["created"])


def downgrade() -> None:
    op.drop_index("ix_modelcrate_results_created", table_name="modelcrate_results")
    op.drop_index("ix_modelcrate_results_model_created", table_name="modelcrate_results")
    op.drop_table("modelcrate_results")
