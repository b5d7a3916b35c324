"""The scheduler lease and the record of scheduled job executions.

Only one process may run the scheduler of a database (APScheduler 3 has no locking of its own).
The lease is one row with an owner and an expiry: the owner renews it well before it runs out; a
process that dies stops renewing, so after ``lease_seconds`` another process takes it. Taking
and renewing are single conditional UPDATEs (or an INSERT that a unique key lets only one process
win), so two processes racing for an expired lease cannot both win, on SQLite or PostgreSQL.
Expiry times come from each process's own clock; processes sharing a database across machines
need synchronised clocks (NTP), as with any lease.

Each execution of a job is a ``job_run`` row (running, then ok / partial / failed): the health
report and the runs page read it, and a new owner finds the executions that a dead owner left
``running`` and closes them; the harvest runs they had started are closed by the one rule for
interrupted runs (:func:`harvester.store.runs.sweep_interrupted_runs`, told the dead owners).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harvester.core.models import RunStatus
from harvester.store.tables import JobRun, SchedulerLease

SCHEDULER = "scheduler"
INTERRUPTED = "interrupted: the service stopped before this run finished"


@dataclass(frozen=True, slots=True)
class Holder:
    owner: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    job_id: str
    owner: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    error: str | None


def acquire(session: Session, *, owner: str, now: dt.datetime, ttl: float) -> bool:
    """Take or renew the scheduler lease for ``ttl`` seconds; False when another owner holds it."""
    expires = now + dt.timedelta(seconds=ttl)
    result = session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == SCHEDULER,
            (SchedulerLease.owner == owner) | (SchedulerLease.expires_at < now),
        )
        .values(owner=owner, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        return True
    exists = session.scalar(select(SchedulerLease.name).where(SchedulerLease.name == SCHEDULER))
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(
                insert(SchedulerLease).values(
                    name=SCHEDULER, owner=owner, acquired_at=now, expires_at=expires
                )
            )
    except IntegrityError:
        return False
    return True


def release(session: Session, *, owner: str) -> None:
    """Give the lease up at once (a clean stop), so a standby need not wait for it to expire."""
    session.execute(
        delete(SchedulerLease).where(
            SchedulerLease.name == SCHEDULER, SchedulerLease.owner == owner
        )
    )


def holder(session: Session) -> Holder | None:
    row = session.get(SchedulerLease, SCHEDULER)
    return Holder(row.owner, row.expires_at) if row is not None else None


def start_job(session: Session, *, job_id: str, owner: str, now: dt.datetime) -> int:
    row = JobRun(job_id=job_id, owner=owner, started_at=now, status=RunStatus.RUNNING.value)
    session.add(row)
    session.flush()
    return row.id


def finish_job(
    session: Session, record_id: int, *, status: str, now: dt.datetime, error: str | None = None
) -> None:
    row = session.get_one(JobRun, record_id)
    row.status = status
    row.finished_at = now
    row.error = error


def close_orphans(session: Session, *, owner: str, now: dt.datetime) -> list[JobRecord]:
    """Mark job executions left running by other (dead) owners failed; returns those executions
    (the caller sweeps their owners' runs and harvests those topics again)."""
    orphans = session.scalars(
        select(JobRun).where(JobRun.status == RunStatus.RUNNING.value, JobRun.owner != owner)
    ).all()
    closed = []
    for job in orphans:
        job.status = RunStatus.FAILED.value
        job.finished_at = now
        job.error = INTERRUPTED
        closed.append(_view(job))
    return closed


def recent_jobs(session: Session, *, limit: int = 50) -> list[JobRecord]:
    rows = session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit))
    return [_view(row) for row in rows]


def last_failure(session: Session) -> JobRecord | None:
    row = session.scalar(
        select(JobRun)
        .where(JobRun.status.in_((RunStatus.FAILED.value, RunStatus.PARTIAL.value)))
        .order_by(JobRun.id.desc())
        .limit(1)
    )
    return _view(row) if row is not None else None


def _view(row: JobRun) -> JobRecord:
    return JobRecord(
        id=row.id,
        job_id=row.job_id,
        owner=row.owner,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        error=row.error,
    )
