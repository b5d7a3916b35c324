"""Read models of harvest runs and feed health, for the runs page and the API."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.core.models import FeedView, Page, RunView
from harvester.store.tables import FeedState, Run


def _run_view(run: Run) -> RunView:
    return RunView(
        id=run.id,
        topic=run.topic,
        source=run.source,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        fetched=run.fetched,
        new_works=run.new_works,
        new_candidates=run.new_candidates,
        duplicates=run.duplicates,
        error=run.error,
    )


def run_page(
    session: Session, *, topic: str | None = None, before: int | None = None, limit: int = 50
) -> Page[RunView]:
    """Runs, newest first; ``before`` is the id the next page starts below."""
    stmt = select(Run)
    count = select(func.count()).select_from(Run)
    if topic is not None:
        stmt = stmt.where(Run.topic == topic)
        count = count.where(Run.topic == topic)
    if before is not None:
        stmt = stmt.where(Run.id < before)
    runs = list(session.scalars(stmt.order_by(Run.id.desc()).limit(limit + 1)))
    more = len(runs) > limit
    runs = runs[:limit]
    return Page(
        items=tuple(_run_view(r) for r in runs),
        next_cursor=str(runs[-1].id) if more else None,
        total=session.scalar(count) or 0,
    )


def last_runs(session: Session) -> list[RunView]:
    """The latest run of each topic and source."""
    latest = select(func.max(Run.id)).group_by(Run.topic, Run.source).scalar_subquery()
    stmt = select(Run).where(Run.id.in_(latest)).order_by(Run.topic, Run.source)
    return [_run_view(r) for r in session.scalars(stmt)]


def feed_health(session: Session, *, min_errors: int = 0) -> list[FeedView]:
    """Feeds with at least ``min_errors`` failures in a row, most failing first."""
    stmt = (
        select(FeedState)
        .where(FeedState.error_count >= min_errors)
        .order_by(FeedState.error_count.desc(), FeedState.topic, FeedState.url)
    )
    return [
        FeedView(
            topic=f.topic,
            url=f.url,
            name=f.name,
            last_status=f.last_status,
            last_fetched_at=f.last_fetched_at,
            last_success_at=f.last_success_at,
            error_count=f.error_count,
            last_error=f.last_error,
            failing_since=f.failing_since,
        )
        for f in session.scalars(stmt)
    ]
