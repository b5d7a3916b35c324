"""Engine and sessions.

One :class:`Database` per process (nothing is built at import time). Reads use
:meth:`Database.read`; everything that writes uses :meth:`Database.write`, which on SQLite opens the
transaction with ``BEGIN IMMEDIATE`` so a read-then-write transaction takes the write lock up
front and waits (``busy_timeout``) instead of failing with "database is locked" half-way when the
scheduler and the web UI write at once. SQLite connections run in WAL mode with foreign keys on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester.core.errors import StoreError

_IMMEDIATE = "harvester_immediate"
#: Pages the write-ahead log may grow to before a commit copies it into the database file
#: (SQLite's default is 1,000). A batch of new works dirties pages all over the key, identity and
#: queue indexes; with the default, every batch of a large import rewrote most of those pages,
#: a cost that grew with the store. 16,384 pages (64 MB) let a page changed by several batches
#: be copied once.
WAL_CHECKPOINT_PAGES = 16_384
#: The size the write-ahead log is cut back to after a checkpoint (bytes).
WAL_SIZE_LIMIT = 64 * 1024 * 1024
#: Most memory (KiB) a connection keeps of database pages it has read or changed (SQLite's
#: default is 2,000 KiB). A batch of new works changes pages all over the blocking-key and
#: identity indexes; once those outgrow the default, each batch read most of them again from
#: the file, a cost that grew with the store. 64 MiB holds them for a store of a few hundred
#: thousand works; a connection that reads little uses little of it.
SQLITE_CACHE_KIB = 64 * 1024


class Database:
    """The engine plus read and write session scopes."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(f"database url {url!r} is not a valid SQLAlchemy URL") from None
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise StoreError(f"cannot use database url {url!r}: {exc}") from None
        if self.is_sqlite:
            _sqlite_setup(self.engine, busy_timeout_ms)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it changes is committed.

        Objects loaded in it stay readable after the block (closing detaches them without
        expiring what was loaded); relationships not loaded inside the block are not.
        """
        with self._reader() as session:
            try:
                yield session
            except OperationalError as exc:
                raise _store_error(self.url, exc) from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed on success and rolled back on any error."""
        with self._writer() as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise _store_error(self.url, exc) from exc
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def safe_url(url: str) -> str:
    """A database URL fit to show: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _store_error(url: str, exc: OperationalError) -> StoreError:
    return StoreError(f"database {safe_url(url)}: {exc.orig or exc}")


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if _is_file_database(engine):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
                cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
                cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_file_database(engine: Engine) -> bool:
    database = engine.url.database
    return (
        bool(database) and database != ":memory:" and not str(database).startswith("file::memory")
    )
