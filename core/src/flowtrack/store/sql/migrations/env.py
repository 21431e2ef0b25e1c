"""Alembic environment: flowtrack always passes an open connection in config.attributes."""

from alembic import context
from flowtrack.store.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
