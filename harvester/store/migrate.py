"""Run the Alembic migrations in ``db/`` programmatically.

In a wheel the migrations ship inside the package as ``harvester/_migrations``; in a source
checkout they are read from ``db/`` beside the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from harvester.core.errors import NotInitialisedError, StoreError
from harvester.store.db import Database, safe_url

if TYPE_CHECKING:
    from alembic.config import Config

    from harvester.config.settings import Settings

#: The revision of the code's schema: the newest file in the migrations (a test holds the two
#: together). A command opens a database stamped with it without loading Alembic and reading every
#: migration script.
HEAD_REVISION = "0021_fts_merge_width"


def include_object(
    obj: object,  # noqa: ARG001 - the signature is Alembic's
    name: str | None,
    type_: str,
    reflected: bool,  # noqa: ARG001
    compare_to: object,  # noqa: ARG001
) -> bool:
    """Alembic's ``include_object`` hook: what autogenerate compares with the models."""
    # APScheduler keeps its own job table in the same database; it is not ours to migrate.
    if type_ == "table" and name == "apscheduler_jobs":
        return False
    # Full-text search (migration 0006_search, harvester.store.search) is raw DDL with no place
    # in the SQLAlchemy metadata: the SQLite FTS5 table work_fts and its shadow tables
    # (work_fts_data, work_fts_idx, ...), and the PostgreSQL GIN expression index ix_work_fts.
    if type_ == "table" and name is not None and name.startswith("work_fts"):
        return False
    # The same for the expression index of the queue's score sort (also 0006_search).
    return not (type_ == "index" and name in ("ix_work_fts", "ix_candidate_topic_score"))


def migrations_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if (packaged / "env.py").exists():
        return packaged
    source = Path(__file__).resolve().parents[2] / "db"
    if (source / "env.py").exists():
        return source
    raise StoreError("the database migrations are missing from this installation")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision in the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = script.get_current_head()
    assert current is not None
    return current


#: Revision ids before release 0.2, when the files were renamed to the order they run in. A
#: database stamped with one of them is the same schema under its new name.
RENAMED_REVISIONS = {
    "0004_bulletin": "0002_bulletin",
    "0005_service": "0003_service",
    "0002_ingest": "0004_ingest",
    "0003_web": "0005_web",
    "0008_search": "0006_search",
}


def _restamp_renamed(connection: Connection) -> None:
    """Give a database stamped with a revision's old id the revision's new id."""
    old = _current_raw(connection)
    if old in RENAMED_REVISIONS:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"new": RENAMED_REVISIONS[old], "old": old},
        )


def _current_raw(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (creating a SQLite file if needed)."""
    from alembic import command

    _ensure_sqlite_folder(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _restamp_renamed(connection)
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreError(f"cannot migrate database {safe_url(url)}: {exc.orig or exc}") from None
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return _current(connection)
    except OperationalError as exc:
        raise StoreError(f"cannot open database {safe_url(url)}: {exc.orig or exc}") from None
    finally:
        engine.dispose()


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    old = _current_raw(connection)
    if old in RENAMED_REVISIONS:
        return RENAMED_REVISIONS[old]
    return MigrationContext.configure(connection).get_current_revision()


def check_current(url: str) -> None:
    """Refuse to work on a database that is missing or behind the code."""
    _check_file(url)
    revision = current(url)
    if revision is None:
        raise NotInitialisedError(f"database {safe_url(url)} has no harvester schema")


def _check_file(url: str) -> None:
    """Refuse a SQLite file that does not exist (connecting would create an empty one)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////:memory:"):
        path = Path(make_url(url).database or "")
        if not path.exists():
            raise NotInitialisedError(f"no database at {path}")


def _ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def open_database(settings: Settings, *, migrate_to_head: bool = True) -> Database:
    """The database the settings name: checked (it must have been created by `harvester init`),
    brought up to the code's schema, and opened."""
    url = settings.database.url
    _check_file(url)
    database = Database(url, busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        with database.engine.connect() as connection:
            revision = _current_raw(connection)
    except OperationalError as exc:
        database.dispose()
        raise StoreError(f"cannot open database {safe_url(url)}: {exc.orig or exc}") from None
    if revision is None:
        database.dispose()
        raise NotInitialisedError(f"database {safe_url(url)} has no harvester schema")
    if migrate_to_head and revision != HEAD_REVISION:
        database.dispose()
        upgrade(url)
    return database
