"""Harvest problems in the database: a run's history for the health check, and the problems it
opens, keeps and closes (the rules are :mod:`harvester.core.health`'s)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.core.health import Finding, Problem, RunFacts
from harvester.store.tables import HarvestProblem, Run

__all__ = ["history", "open_problems", "problems_since", "sync"]


def history(session: Session, *, topic: str, source: str, limit: int) -> list[RunFacts]:
    """The last ``limit`` finished runs of ``topic``'s ``source``, oldest first."""
    rows = session.scalars(
        select(Run)
        .where(Run.topic == topic, Run.source == source, Run.finished_at.is_not(None))
        .order_by(Run.id.desc())
        .limit(limit)
    ).all()
    facts = []
    for run in reversed(rows):
        days = None
        if run.window_start is not None and run.window_end is not None:
            days = (run.window_end - run.window_start).days + 1
        facts.append(
            RunFacts(
                id=run.id,
                status=run.status,
                fetched=run.fetched,
                error=run.error,
                days=days,
                details=run.details or {},
            )
        )
    return facts


def sync(
    session: Session,
    *,
    topic: str,
    source: str,
    findings: Iterable[Finding],
    judged: set[str],
    run_id: int | None,
    now: dt.datetime,
) -> tuple[int, int]:
    """Open the problems found (or note them seen again), and close the open ones of the kinds
    judged that were not found; (opened, closed)."""
    rows = session.scalars(
        select(HarvestProblem).where(
            HarvestProblem.topic == topic,
            HarvestProblem.source == source,
            HarvestProblem.closed_at.is_(None),
        )
    ).all()
    current = {(row.kind, row.subject): row for row in rows}
    seen: set[tuple[str, str]] = set()
    opened = closed = 0
    for finding in findings:
        key = (finding.kind, finding.subject)
        if key in seen:
            continue
        seen.add(key)
        row = current.get(key)
        if row is None:
            session.add(
                HarvestProblem(
                    topic=topic,
                    source=source,
                    kind=finding.kind,
                    subject=finding.subject,
                    message=finding.message,
                    opened_at=now,
                    last_seen_at=now,
                    run_id=run_id,
                    runs=1,
                )
            )
            opened += 1
        else:
            row.message, row.last_seen_at, row.run_id = finding.message, now, run_id
            row.runs += 1
    for key, row in current.items():
        if key not in seen and row.kind in judged:
            row.closed_at = now
            closed += 1
    session.flush()
    return opened, closed


def _view(row: HarvestProblem) -> Problem:
    return Problem(
        id=row.id,
        topic=row.topic,
        source=row.source,
        kind=row.kind,
        subject=row.subject,
        message=row.message,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        closed_at=row.closed_at,
        runs=row.runs,
    )


def open_problems(session: Session, *, topic: str | None = None) -> list[Problem]:
    """Every open problem (of ``topic``), by topic, source and when it opened."""
    query = select(HarvestProblem).where(HarvestProblem.closed_at.is_(None))
    if topic is not None:
        query = query.where(HarvestProblem.topic == topic)
    query = query.order_by(HarvestProblem.topic, HarvestProblem.source, HarvestProblem.id)
    return [_view(row) for row in session.scalars(query)]


def problems_since(session: Session, *, topic: str, since: dt.datetime) -> list[Problem]:
    """``topic``'s problems open now or closed after ``since`` (a digest's week)."""
    query = (
        select(HarvestProblem)
        .where(
            HarvestProblem.topic == topic,
            (HarvestProblem.closed_at.is_(None)) | (HarvestProblem.closed_at > since),
        )
        .order_by(HarvestProblem.source, HarvestProblem.id)
    )
    return [_view(row) for row in session.scalars(query)]
