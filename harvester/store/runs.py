"""Run records and watermarks: what each harvest did, and where the next one starts.

Every run row is finished. A run is started with its owner in ``details["owner"]`` (host, pid,
the process's start time and the machine's boot id), so a row a killed process left ``running`` can
be told from one another process is still working on, also when two processes share a PostgreSQL
database. One rule says when a run was interrupted, and :func:`sweep_interrupted_runs` applies it
for every caller (``harvester harvest`` before it starts; the service when it starts and when it
takes the scheduler over from a dead owner): a running run is marked ``failed`` ("interrupted")
when its owner is unknown, when its owning process no longer exists on this host, when its owner
is one the caller knows is gone (``gone``: the scheduler lease of that process ran out, which is
proof on any host), or, on another host (whose processes cannot be seen from here), when it
started more than ``stale_after`` ago.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from harvester.core.errors import AlreadyRunningError
from harvester.core.models import RunStatus
from harvester.store.tables import Run, Watermark


def start_run(
    session: Session,
    *,
    topic: str,
    source: str,
    now: dt.datetime,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
) -> Run:
    """A new ``running`` run; :class:`AlreadyRunningError` when a run of the same topic, by any
    process (the scheduler, the browser, a command), is still going. Runs left running by a
    process that stopped are marked failed first (:func:`sweep_interrupted_runs`)."""
    _lock_topic(session, topic)
    sweep_interrupted_runs(session, now=now)
    busy = session.scalars(
        select(Run)
        .where(Run.topic == topic, Run.status == RunStatus.RUNNING.value)
        .order_by(Run.id)
        .limit(1)
    ).first()
    if busy is not None:
        raise AlreadyRunningError(
            f"a harvest of {topic} is already running ({source_label(busy.source)}, started "
            f"{busy.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)",
            hint="wait for it to finish, then try again",
        )
    run = Run(
        topic=topic,
        source=source,
        started_at=now,
        status=RunStatus.RUNNING.value,
        window_start=window_start,
        window_end=window_end,
        details={"owner": process_identity()},
    )
    session.add(run)
    session.flush()
    return run


def _lock_topic(session: Session, topic: str) -> None:
    """Serialise run starts of one topic: SQLite writes one transaction at a time already;
    PostgreSQL takes a transaction-scoped advisory lock on the topic."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(
            hashlib.sha256(f"run:{topic}".encode()).digest()[:8], "big", signed=True
        )
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def source_label(name: str) -> str:
    """A source as a person names it."""
    return {"pubmed": "PubMed", "feeds": "news feeds", "europepmc": "Europe PMC"}.get(name, name)


def add_counts(
    session: Session,
    run_id: int,
    *,
    fetched: int = 0,
    new_works: int = 0,
    new_candidates: int = 0,
    duplicates: int = 0,
) -> None:
    run = session.get_one(Run, run_id)
    run.fetched += fetched
    run.new_works += new_works
    run.new_candidates += new_candidates
    run.duplicates += duplicates


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: RunStatus,
    now: dt.datetime,
    error: str | None = None,
    requests: int | None = None,
    details: dict[str, Any] | None = None,
) -> Run:
    run = session.get_one(Run, run_id)
    run.status = status.value
    run.finished_at = now
    run.error = error
    if requests is not None:
        run.requests = requests
    if details is not None:
        run.details = details
    return run


def get_run(session: Session, run_id: int) -> Run:
    return session.get_one(Run, run_id)


def recent_runs(
    session: Session, *, topic: str | None = None, source: str | None = None, limit: int = 50
) -> Sequence[Run]:
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if topic is not None:
        query = query.where(Run.topic == topic)
    if source is not None:
        query = query.where(Run.source == source)
    return session.scalars(query).all()


def get_watermark(
    session: Session, *, topic: str, source: str, key: str = ""
) -> dt.datetime | None:
    row = session.scalar(
        select(Watermark).where(
            Watermark.topic == topic, Watermark.source == source, Watermark.key == key
        )
    )
    return row.value if row is not None else None


def set_watermark(
    session: Session, *, topic: str, source: str, value: dt.datetime, key: str = ""
) -> None:
    """Move the watermark forward to ``value`` (never backwards)."""
    row = session.scalar(
        select(Watermark).where(
            Watermark.topic == topic, Watermark.source == source, Watermark.key == key
        )
    )
    if row is None:
        session.add(Watermark(topic=topic, source=source, key=key, value=value))
    elif value > row.value:
        row.value = value


def drop_watermark(session: Session, *, topic: str, source: str, key: str) -> None:
    """Forget a checkpoint (an explicit window's, once the window is done)."""
    row = session.scalar(
        select(Watermark).where(
            Watermark.topic == topic, Watermark.source == source, Watermark.key == key
        )
    )
    if row is not None:
        session.delete(row)


# ------------------------------------------------------------------------------ interrupted runs

#: A run another host left running this long ago is taken for interrupted (a backfill of tens of
#: thousands of PubMed records takes well under an hour at NCBI's rate).
STALE_AFTER = dt.timedelta(hours=12)


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """Who runs a run: host name, pid, and what tells this process from a later one that was
    given the same pid (its start time since boot, and the boot id), where the system says."""
    pid = os.getpid() if pid is None else pid
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "proc_start": _proc_start(pid),
        "boot": _boot_id(),
    }


def owner_label(identity: dict[str, Any] | None = None) -> str:
    """``host:pid`` of a process identity (this process by default): how the service names
    itself as the scheduler lease's owner."""
    identity = identity if identity is not None else process_identity()
    return f"{identity.get('host')}:{identity.get('pid')}"


def _proc_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and brackets
    return fields[19] if len(fields) > 19 else None  # field 22, starttime


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def _alive_here(owner: dict[str, Any]) -> bool:
    """Whether the process ``owner`` names (on this host) is still running."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    boot = _boot_id()
    if owner.get("boot") and boot and owner["boot"] != boot:
        return False  # the machine restarted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    recorded, current = owner.get("proc_start"), _proc_start(pid)
    return not (recorded and current and recorded != current)  # a new process, same pid


def sweep_interrupted_runs(
    session: Session,
    *,
    now: dt.datetime,
    stale_after: dt.timedelta = STALE_AFTER,
    gone: Collection[str] = (),
) -> list[int]:
    """Mark ``failed`` (error "interrupted: ...") every run left ``running`` by a process that
    stopped; return their ids. ``gone``: owners (``host:pid``, see :func:`owner_label`) known to
    have stopped. Call it when a harvest or the service starts, and at a scheduler takeover."""
    host = socket.gethostname()
    swept = []
    running = select(Run).where(Run.status == RunStatus.RUNNING.value).order_by(Run.id)
    for run in session.scalars(running):
        owner = (run.details or {}).get("owner")
        if not isinstance(owner, dict):
            reason = "its process is unknown"
        elif owner_label(owner) in gone:
            reason = f"process {owner_label(owner)} stopped: its scheduler lease ran out"
        elif owner.get("host") == host:
            if _alive_here(owner):
                continue
            reason = f"process {owner.get('pid')} on {host} is gone"
        else:
            started = run.started_at
            if started.tzinfo is None:
                started = started.replace(tzinfo=dt.UTC)
            if now - started < stale_after:
                continue  # another host's process may still be on it
            reason = f"started on {owner.get('host')} more than {stale_after} ago"
        run.status = RunStatus.FAILED.value
        run.finished_at = now
        run.error = f"interrupted: the run never finished ({reason})"
        swept.append(run.id)
    return swept
