"""The database layer: SQLite pragmas, write transactions under concurrency, both backends."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from harvester.core.errors import StoreError
from harvester.core.models import RunStatus
from harvester.store import db as store_db
from harvester.store import runs
from harvester.store.db import SQLITE_CACHE_KIB, WAL_BACKSTOP_PAGES, WAL_SIZE_LIMIT, Database
from harvester.store.tables import Run

NOW = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)


def test_sqlite_pragmas(sqlite_db: Database) -> None:
    with sqlite_db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        # the checkpoint thread copies the log; a writer only past the backstop
        assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WAL_BACKSTOP_PAGES
        assert session.execute(text("PRAGMA journal_size_limit")).scalar() == WAL_SIZE_LIMIT
        # a negative cache size is in KiB: the indexes a large import changes stay in memory
        assert session.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB


def _fill(database: Database, transactions: int, pause: float = 0.0) -> None:
    """``transactions`` commits of about 20 new pages each."""
    with database.write() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS filler (data BLOB)"))
    for _ in range(transactions):
        with database.write() as session:
            session.execute(text("INSERT INTO filler VALUES (randomblob(80000))"))
        time.sleep(pause)


def _log_bytes(database: Database) -> int:
    return (Path(str(database.engine.url.database)).parent / "harvester.db-wal").stat().st_size


def test_a_thread_copies_the_log_into_the_database_not_the_writer(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past WAL_CHECKPOINT_PAGES the log is copied on the checkpoint thread, so it stays near
    that size though no writer checkpoints (their backstop is far off) and nothing closes."""
    monkeypatch.setattr(store_db, "WAL_CHECKPOINT_PAGES", 50)
    monkeypatch.setattr(store_db, "WAL_SIZE_LIMIT", 100_000)  # read as a connection opens
    checkpointer = sqlite_db._checkpointer
    assert checkpointer is not None
    _fill(sqlite_db, 40, pause=0.02)  # about 800 pages through the log
    deadline = time.monotonic() + 10
    while checkpointer.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.runs > 0
    _fill(sqlite_db, 1)  # the log starts again from its beginning after a whole copy
    # the log file is cut back when it starts again: it holds about the last commit, not all 41
    assert _log_bytes(sqlite_db) < 10 * 80_000
    with sqlite_db.read() as session:
        assert session.execute(text("SELECT count(*) FROM filler")).scalar() == 41
    sqlite_db.dispose()
    assert checkpointer._thread is not None and not checkpointer._thread.is_alive()


def test_without_the_checkpoint_thread_the_log_grows_to_the_backstop(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above: with the thread kept from starting, the same commits
    leave every page in the log (the writers' own checkpoint is far off)."""
    monkeypatch.setattr(store_db, "WAL_CHECKPOINT_PAGES", 50)
    checkpointer = sqlite_db._checkpointer
    assert checkpointer is not None
    checkpointer.stop()
    _fill(sqlite_db, 41)
    assert checkpointer.runs == 0
    assert _log_bytes(sqlite_db) > 41 * 80_000


def test_a_process_that_writes_little_starts_no_checkpoint_thread(sqlite_db: Database) -> None:
    _fill(sqlite_db, 3)
    checkpointer = sqlite_db._checkpointer
    assert checkpointer is not None
    assert checkpointer._thread is None


def test_concurrent_read_then_write_transactions_neither_lock_nor_lose_updates(
    sqlite_db: Database,
) -> None:
    """Two writers (think: scheduler and web UI) each read a value and write it back plus one.

    With BEGIN IMMEDIATE the second waits for the first instead of failing with "database is
    locked" at its write, and no increment is lost.
    """
    with sqlite_db.write() as session:
        run_id = runs.start_run(session, topic="t", source="s", now=NOW).id
    errors: list[BaseException] = []
    per_thread = 25

    def worker() -> None:
        try:
            for _ in range(per_thread):
                with sqlite_db.write() as session:
                    run = session.get_one(Run, run_id)
                    value = run.fetched
                    time.sleep(0.001)
                    run.fetched = value + 1
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite_db.read() as session:
        assert session.get_one(Run, run_id).fetched == 3 * per_thread


def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        runs.start_run(session, topic="t", source="s", now=NOW)
        raise RuntimeError("boom")
    with db.read() as session:
        assert runs.recent_runs(session) == []


def test_objects_read_stay_readable_after_the_read_scope(db: Database) -> None:
    with db.write() as session:
        run_id = runs.start_run(session, topic="t", source="s", now=NOW).id
    with db.read() as session:
        run = runs.get_run(session, run_id)
        run.topic = "changed in a read scope"
    assert run.source == "s"
    with db.read() as session:
        assert runs.get_run(session, run_id).topic == "t"


def test_times_come_back_aware_utc(db: Database) -> None:
    local = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with db.write() as session:
        run_id = runs.start_run(session, topic="t", source="s", now=local).id
        runs.finish_run(session, run_id, status=RunStatus.OK, now=local)
    with db.read() as session:
        run = runs.get_run(session, run_id)
        assert run.started_at == local
        assert run.started_at.tzinfo is not None
        assert run.started_at.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.write() as session:
        runs.start_run(session, topic="t", source="s", now=dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_watermark_only_moves_forward(db: Database) -> None:
    later = NOW + dt.timedelta(days=3)
    with db.write() as session:
        runs.set_watermark(session, topic="t", source="pubmed", value=later)
    with db.write() as session:
        runs.set_watermark(session, topic="t", source="pubmed", value=NOW)
    with db.read() as session:
        assert runs.get_watermark(session, topic="t", source="pubmed") == later
        assert runs.get_watermark(session, topic="t", source="pubmed", key="other") is None


def test_unreachable_database_is_a_store_error(tmp_path: object) -> None:
    database = Database("sqlite:////nonexistent-folder/for/sure/h.db")
    with pytest.raises(StoreError, match="nonexistent-folder"), database.read() as session:
        session.execute(text("SELECT 1"))
    database.dispose()


def test_invalid_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        Database("not a url")


def test_a_database_named_by_uri_keeps_sqlites_own_checkpoints(tmp_path: Path) -> None:
    """A "file:" URI names the file in a way the checkpoint thread does not read: its writers
    copy the log themselves at WAL_CHECKPOINT_PAGES, as before."""
    database = Database(f"sqlite:///file:{tmp_path / 'uri.db'}?mode=rwc&uri=true")
    try:
        assert database._checkpointer is None
        _fill(database, 3)
        with database.read() as session:
            pages = session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
            assert pages == store_db.WAL_CHECKPOINT_PAGES
            assert session.execute(text("SELECT count(*) FROM filler")).scalar() == 3
    finally:
        database.dispose()
    assert (tmp_path / "uri.db").is_file()
