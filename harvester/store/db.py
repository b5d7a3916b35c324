"""Engine and sessions.

One :class:`Database` per process (nothing is built at import time). Reads use
:meth:`Database.read`; everything that writes uses :meth:`Database.write`, which on SQLite opens the
transaction with ``BEGIN IMMEDIATE`` so a read-then-write transaction takes the write lock up
front and waits (``busy_timeout``) instead of failing with "database is locked" half-way when the
scheduler and the web UI write at once. SQLite connections run in WAL mode with foreign keys on.

On SQLite the write-ahead log is copied into the database file (a checkpoint) on a thread of the
process's own, not by the transaction whose commit filled it: a writer commits and goes on, and
the copy runs beside it (:class:`_Checkpointer`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester.core.errors import StoreError

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

_IMMEDIATE = "harvester_immediate"
#: Pages the write-ahead log may grow to before it is copied into the database file (SQLite's
#: default is 1,000). A batch of new works dirties pages all over the key, identity and queue
#: indexes; with the default, every batch of a large import rewrote most of those pages, a cost
#: that grew with the store. 16,384 pages (64 MB) let a page changed by several batches be
#: copied once. The copy runs on the checkpoint thread (:class:`_Checkpointer`).
WAL_CHECKPOINT_PAGES = 16_384
#: SQLite's default page size, which harvester's databases keep: a page in the log takes this
#: much of the file (and a 24-byte header).
_PAGE_BYTES = 4096
#: The log's size at which a writing connection copies it itself, as SQLite does by default: only
#: when the checkpoint thread cannot keep up, or a write came by another path.
WAL_BACKSTOP_PAGES = 4 * WAL_CHECKPOINT_PAGES
#: The size the write-ahead log is cut back to when it starts again after a checkpoint (bytes);
#: below the checkpoint size, so a log file that large holds that many new pages.
WAL_SIZE_LIMIT = 16 * 1024 * 1024
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
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            if _is_file_database(self.engine) and "uri" not in self.engine.url.query:
                # a plain path (a "file:" URI names the file another way; its writers copy the
                # log themselves, as SQLite does by default)
                path = os.path.abspath(str(self.engine.url.database))
                self._checkpointer = _Checkpointer(path, busy_timeout_ms)
            _sqlite_setup(self.engine, busy_timeout_ms, threaded=self._checkpointer is not None)
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
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def plan_then_write(
        self, plan: Callable[[Session], P], write: Callable[[Session, P | None], R]
    ) -> R:
        """``write`` in a write transaction, given what ``plan`` worked out on a read snapshot
        before the write lock was taken, so other writers wait for the writing only.

        ``write`` gets None instead when another connection committed after ``plan`` began to
        read (what it read may have changed), and then works it out again under the lock. On
        SQLite; on other databases ``plan`` is not run and ``write`` always gets None. An error
        rolls the writing back, as in :meth:`write`.
        """
        if not self.is_sqlite:
            with self.write() as session:
                return write(session, None)
        try:
            with self.engine.connect() as connection:
                # one connection for both transactions: "PRAGMA data_version" changes between
                # two readings on one connection exactly when another connection committed
                with connection.begin():
                    version = connection.exec_driver_sql("PRAGMA data_version").scalar()
                    with Session(connection, expire_on_commit=False) as session:
                        planned = plan(session)
                connection.execution_options(**{_IMMEDIATE: True})
                with connection.begin():
                    current = connection.exec_driver_sql("PRAGMA data_version").scalar()
                    with Session(connection, expire_on_commit=False) as session:
                        result = write(session, planned if current == version else None)
                        session.flush()
        except OperationalError as exc:
            raise _store_error(self.url, exc) from exc
        if self._checkpointer is not None:
            self._checkpointer.committed()
        return result

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
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


def _sqlite_setup(engine: Engine, busy_timeout_ms: int, *, threaded: bool) -> None:
    """Pragmas for each new connection; with ``threaded``, a :class:`_Checkpointer` copies the
    log and writers do so only past the backstop."""
    checkpoint_pages = WAL_BACKSTOP_PAGES if threaded else WAL_CHECKPOINT_PAGES

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
                cursor.execute(f"PRAGMA wal_autocheckpoint={checkpoint_pages}")
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


class _Checkpointer:
    """Copies a SQLite file's write-ahead log into the database on a thread of its own.

    By default the commit that takes the log past its limit copies it, inside the writer's time:
    in a large import that was every second or third commit, each copying tens of megabytes, a
    cost that grew with the store (a batch dirties more index pages in a larger one). Here a
    commit only looks at the log's size (:meth:`committed`); past :data:`WAL_CHECKPOINT_PAGES` it
    wakes the thread, which runs a passive checkpoint on its own connection (it never waits for a
    writer or a reader, and copies what none of them still needs) while the writer goes on. The
    thread starts with the first such commit, so a process that writes little never has one.
    """

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._path = path
        self._log = f"{path}-wal"
        self._timeout = busy_timeout_ms / 1000
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Checkpoints the thread has run.
        self.runs = 0

    def committed(self) -> None:
        """A write transaction committed: wake the thread when the log has grown past its limit."""
        try:
            size = os.stat(self._log).st_size
        except OSError:
            return
        if size < WAL_CHECKPOINT_PAGES * _PAGE_BYTES:
            return
        with self._lock:
            if self._stopping:
                return
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(
                    target=self._run, name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (after the checkpoint it is running, if any)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error as exc:
                    # the next commit wakes the thread again; a writer copies the log itself
                    # past WAL_BACKSTOP_PAGES
                    log.warning("database %s: checkpoint failed: %s", self._path, exc)
        finally:
            connection.close()
