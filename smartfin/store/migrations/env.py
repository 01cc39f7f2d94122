"""Alembic's entry point: runs the revisions on the connection the product hands in."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through smartfin.store.migrations (`smartfin db upgrade`), "
                       "which hands Alembic the product's database connection")

context.configure(connection=connection, target_metadata=config.attributes.get("target_metadata"),
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
