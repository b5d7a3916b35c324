"""Run records and watermarks: what each harvest did, and where the next one starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.models import RunStatus
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
    run = Run(
        topic=topic,
        source=source,
        started_at=now,
        status=RunStatus.RUNNING.value,
        window_start=window_start,
        window_end=window_end,
        details={},
    )
    session.add(run)
    session.flush()
    return run


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
