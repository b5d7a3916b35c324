"""Migrations: upgrade an empty database on each backend; the models and migrations agree."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from dbsupport import POSTGRES_URL, postgres_skip_reason
from sqlalchemy import create_engine, inspect

from harvester.errors import NotInitialisedError
from harvester.store import migrate
from harvester.store.tables import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"harvester_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_url: str) -> None:
    assert migrate.current(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": migrate.include_object}
            )
            with warnings.catch_warnings():
                # SQLite's reflection skips the expression indexes of 0008_search, saying so;
                # include_object passes them over anyway
                warnings.filterwarnings(
                    "ignore", message="Skipped unsupported reflection of expression-based index"
                )
                diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_upgrade_is_idempotent(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()


def test_check_current_on_missing_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(NotInitialisedError, match="no database at"):
        migrate.check_current(f"sqlite:///{tmp_path / 'none.db'}")


def test_migrations_are_found() -> None:
    assert (migrate.migrations_dir() / "env.py").exists()
