"""Alembic environment of modelcrate's results table: runs on the connection it is given."""

from __future__ import annotations

from alembic import context

from modelcrate.runtime._sql import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called from modelcrate.runtime._sql
    raise RuntimeError("modelcrate's migrations run through SQLTarget, on an open connection")

context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
