"""A version's locked requirements: what a shared environment must hold to run it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

P = "modelcrate_registry_"


def upgrade() -> None:
    json = sa.JSON().with_variant(JSONB(), "postgresql")
    op.add_column(f"{P}versions", sa.Column("requirements", json))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column itself since 3.35; a batch copy of the table would fail on the
        # deployments that refer to its rows (foreign keys are on)
        op.execute(f'ALTER TABLE "{P}versions" DROP COLUMN requirements')
    else:
        op.drop_column(f"{P}versions", "requirements")
