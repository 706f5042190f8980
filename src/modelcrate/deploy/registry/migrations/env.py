"""Alembic environment of modelcrate's model registry: runs on the connection it is given.

The registry keeps its own migration history and version table, apart from the results
target's, so one database can hold both.
"""

from __future__ import annotations

from alembic import context

from modelcrate.deploy.registry._tables import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called from modelcrate.deploy.registry
    raise RuntimeError("the registry's migrations run through modelcrate, on an open connection")

context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    # MariaDB/MySQL commit each DDL statement at once: no migration there is a transaction
    transactional_ddl=connection.dialect.name not in ("mysql", "mariadb"),
)
with context.begin_transaction():
    context.run_migrations()
