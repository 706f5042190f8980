"""The inputs key of each result (`Result.key`), indexed, so a sweep finds what is stored.

Rows stored before keep a NULL key: their sets are evaluated again, and storing them is a no-op.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("modelcrate_results", sa.Column("key", sa.String(64), nullable=True))
    op.create_index("ix_modelcrate_results_key", "modelcrate_results", ["key"])


def downgrade() -> None:
    op.drop_index("ix_modelcrate_results_key", table_name="modelcrate_results")
    op.drop_column("modelcrate_results", "key")
