"""Alembic environment: the target metadata is harvester.store.tables; the URL comes from the
caller (harvester.store.migrate) or from HARVESTER_DATABASE__URL when run as `alembic`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from harvester.store.migrate import include_object
from harvester.store.tables import Base

config = context.config
target_metadata = Base.metadata


# Which database objects autogenerate compares with the models: harvester.store.migrate
# passes over APScheduler's job table and the full-text search objects of 0006_search (the SQLite
# FTS5 table with its shadow tables, the PostgreSQL GIN expression index), which are raw DDL with
# no place in the SQLAlchemy metadata. tests/test_migrations.py uses the same function.
_include_object = include_object


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_include_object,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        import os

        url = os.environ.get("HARVESTER_DATABASE__URL", "sqlite:///harvester.db")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "offline (SQL script) migrations are not supported; run `harvester db upgrade`"
    )
run_migrations_online()
