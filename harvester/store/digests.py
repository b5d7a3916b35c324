"""Digest records and what a digest reports: new candidates, failing feeds, failed or silent runs.

A digest row per topic and ISO week (unique) is the "never twice" guard: it is written with
status ``sending`` and its Message-ID *before* the message leaves, and only a ``failed`` row may be
claimed again. A row left at ``sending`` (the process died between send and commit) or marked
``unconfirmed`` (the server had the whole message but its answer never came) is never sent again
automatically: the message may have gone out. A ``failed`` row is retried automatically until it
has had :data:`MAX_ATTEMPTS` attempts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from harvester.core.digest import (
    TOP_ITEMS,
    WAITING,
    DigestItem,
    FeedProblem,
    RunProblem,
    SilentSource,
    article_link,
)
from harvester.core.text import plain_text
from harvester.store.health import problems_since
from harvester.store.notices import notices_since
from harvester.store.tables import Candidate, Digest, FeedState, Run, Sighting, Work

#: Statuses that mean "this week's digest is done" (``empty``: nothing new, and the topic said
#: send nothing).
DONE = ("sent", "outbox", "empty")
#: Statuses that mean "the message may have gone out": never sent again automatically.
UNCERTAIN = ("sending", "unconfirmed")
#: Attempts at a failed digest before the retry job stops taking it up.
MAX_ATTEMPTS = 5
#: Weeks of successful runs with nothing found before a source is called silent.
SILENT_WEEKS = 3


@dataclass(frozen=True, slots=True)
class DigestRecord:
    id: int
    topic: str
    week: str
    status: str
    message_id: str | None
    attempts: int
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _view(row: Digest) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        topic=row.topic,
        week=row.iso_week,
        status=row.status,
        message_id=row.message_id,
        attempts=row.attempts,
        error=row.error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def get_digest(session: Session, *, topic: str, week: str) -> DigestRecord | None:
    row = session.scalar(select(Digest).where(Digest.topic == topic, Digest.iso_week == week))
    return _view(row) if row is not None else None


def claim(
    session: Session,
    *,
    topic: str,
    week: str,
    message_id: str,
    recipients: Sequence[str],
    item_count: int,
    now: dt.datetime,
    status: str = "sending",
) -> DigestRecord | None:
    """Record an attempt at ``topic``'s digest for ``week``; None when it may not be sent.

    A new week gets a row; a ``failed`` week is taken again (atomically: of two processes, one
    wins). Any other status (sent, outbox, empty, or sending: perhaps sent) refuses.
    """
    existing = session.scalar(select(Digest).where(Digest.topic == topic, Digest.iso_week == week))
    if existing is None:
        row = Digest(
            topic=topic,
            iso_week=week,
            recipients=list(recipients),
            message_id=message_id,
            status=status,
            item_count=item_count,
            attempts=1,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _view(row)
    if existing.status != "failed":
        return None
    taken = session.execute(
        update(Digest)
        .where(Digest.id == existing.id, Digest.status == "failed")
        .values(
            status=status,
            attempts=Digest.attempts + 1,
            message_id=message_id,
            recipients=list(recipients),
            item_count=item_count,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return None
    session.expire(existing)
    return _view(session.get_one(Digest, existing.id))


def finish(
    session: Session, digest_id: int, *, status: str, now: dt.datetime, error: str | None = None
) -> None:
    row = session.get_one(Digest, digest_id)
    row.status = status
    row.error = error
    if status in ("sent", "outbox"):
        row.sent_at = now


def retryable(session: Session, *, weeks: Sequence[str]) -> list[DigestRecord]:
    """Failed digests of the given weeks with attempts left, oldest first."""
    rows = session.scalars(
        select(Digest)
        .where(
            Digest.status == "failed",
            Digest.attempts < MAX_ATTEMPTS,
            Digest.iso_week.in_(list(weeks)),
        )
        .order_by(Digest.id)
    )
    return [_view(row) for row in rows]


def needing_attention(session: Session, *, limit: int = 20) -> list[DigestRecord]:
    """Digests that may have gone out (never resent automatically) or that failed, newest
    first: what an administrator should look at."""
    rows = session.scalars(
        select(Digest)
        .where(Digest.status.in_((*UNCERTAIN, "failed")))
        .order_by(Digest.iso_week.desc(), Digest.topic)
        .limit(limit)
    )
    return [_view(row) for row in rows]


def recent(session: Session, *, topic: str | None = None, limit: int = 20) -> list[DigestRecord]:
    query = select(Digest).order_by(Digest.id.desc()).limit(limit)
    if topic is not None:
        query = query.where(Digest.topic == topic)
    return [_view(row) for row in session.scalars(query)]


def previous_digest_time(session: Session, *, topic: str, week: str) -> dt.datetime | None:
    """When the last digest before ``week`` was made: the next one reports from there."""
    return session.scalar(
        select(Digest.created_at)
        .where(Digest.topic == topic, Digest.iso_week < week, Digest.status.in_(DONE))
        .order_by(Digest.iso_week.desc())
        .limit(1)
    )


# ------------------------------------------------------------------------------- the content


@dataclass(frozen=True, slots=True)
class WeekReport:
    """What a topic's queue holds for a digest: the items still waiting (the best or newest
    :data:`~harvester.core.digest.TOP_ITEMS`), how many wait by status, and the window's
    arrivals by source and kind and by what became of them."""

    items: list[DigestItem]
    waiting_counts: tuple[tuple[str, int], ...]
    counts: tuple[tuple[str, str, int], ...]
    outcomes: tuple[tuple[str, int], ...]


def week_report(
    session: Session, *, topic: str, since: dt.datetime, until: dt.datetime
) -> WeekReport:
    arrivals = session.execute(
        select(Candidate.status, Work.kind, Work.metadata_source, Candidate.id)
        .join(Work)
        .where(
            Candidate.topic == topic,
            Candidate.created_at > since,
            Candidate.created_at <= until,
        )
    ).all()
    arrived_ids = [row.id for row in arrivals]
    first_source = _first_sources(session, arrived_ids, topic)
    counts: Counter[tuple[str, str]] = Counter()
    outcomes: Counter[str] = Counter()
    for row in arrivals:
        counts[(first_source.get(row.id) or row.metadata_source, row.kind)] += 1
        outcomes[row.status] += 1
    rows = session.execute(
        select(Candidate.status, func.count())
        .where(Candidate.topic == topic, Candidate.status.in_(WAITING))
        .group_by(Candidate.status)
    )
    waiting = {str(row[0]): int(row[1]) for row in rows}
    shown = _waiting_items(session, topic=topic, until=until)
    return WeekReport(
        items=shown,
        waiting_counts=tuple(
            (status, waiting[status]) for status in WAITING if waiting.get(status)
        ),
        counts=tuple((s, k, n) for (s, k), n in sorted(counts.items())),
        outcomes=tuple(sorted(outcomes.items(), key=lambda pair: (-pair[1], pair[0]))),
    )


def _first_sources(session: Session, candidate_ids: list[int], topic: str) -> dict[int, str]:
    """The source that first found each candidate's work for ``topic`` (any topic else)."""
    preferred: dict[int, str] = {}
    fallback: dict[int, str] = {}
    for chunk in range(0, len(candidate_ids), 500):
        rows = session.execute(
            select(Candidate.id, Sighting.source, Sighting.topic)
            .join(Sighting, Sighting.work_id == Candidate.work_id)
            .where(Candidate.id.in_(candidate_ids[chunk : chunk + 500]))
            .order_by(Sighting.id)
        ).all()
        for row in rows:
            target = preferred if row.topic in (None, topic) else fallback
            target.setdefault(row.id, row.source)
    return {**fallback, **preferred}


def _waiting_items(session: Session, *, topic: str, until: dt.datetime) -> list[DigestItem]:
    """The candidates still waiting that the digest lists: by score when the topic is ranked,
    else newest first."""
    waiting = (
        Candidate.topic == topic,
        Candidate.status.in_(WAITING),
        Candidate.created_at <= until,
    )
    ranked = session.scalar(select(Candidate.id).where(*waiting, Candidate.score.is_not(None)))
    order = (
        (Candidate.score.is_(None), Candidate.score.desc(), Candidate.created_at.desc())
        if ranked is not None
        else (Candidate.created_at.desc(), Candidate.id.desc())
    )
    rows = session.scalars(
        select(Candidate)
        .options(selectinload(Candidate.work).selectinload(Work.sightings))
        .where(*waiting)
        .order_by(*order)
        .limit(TOP_ITEMS)
    ).all()
    return [_item(candidate, topic) for candidate in rows]


def _item(candidate: Candidate, topic: str) -> DigestItem:
    work = candidate.work
    sightings = [s for s in work.sightings if s.topic in (None, topic)] or work.sightings
    source = sightings[0].source if sightings else work.metadata_source
    day: dt.date | None = work.published_at.date() if work.published_at else work.entrez_date
    abstract = " ".join(
        f"{part.get('label')}: {part.get('text', '')}"
        if part.get("label")
        else str(part.get("text", ""))
        for part in work.abstract
        if isinstance(part, dict)
    ) or plain_text(work.summary_html)
    return DigestItem(
        candidate_id=candidate.id,
        title=work.title,
        kind=work.kind,
        source=source,
        venue=work.journal or work.source_name,
        date=day,
        abstract=abstract,
        arrived_at=candidate.created_at,
        score=candidate.score,
        link=article_link(work.doi, work.pmid, work.url),
        status=candidate.status,
    )


def health_problems(session: Session, *, topic: str, since: dt.datetime) -> tuple[str, ...]:
    """``topic``'s harvest problems open now, or closed since ``since``, as lines."""
    lines = []
    for problem in problems_since(session, topic=topic, since=since):
        state = "" if problem.closed_at is None else " (since resolved)"
        lines.append(f"{problem.source_label}: {problem.message}{state}")
    return tuple(lines)


def notice_lines(session: Session, *, topic: str, since: dt.datetime) -> tuple[str, ...]:
    """Notices found since ``since`` about ``topic``'s accepted or published items, as lines."""
    return tuple(notice.line() for notice in notices_since(session, topic=topic, since=since))


def problems(
    session: Session, *, topic: str, since: dt.datetime, until: dt.datetime
) -> tuple[tuple[FeedProblem, ...], tuple[RunProblem, ...], tuple[SilentSource, ...]]:
    """Failing feeds, runs that failed or were cut in the window, and sources silent for weeks."""
    feeds = tuple(
        FeedProblem(
            name=row.name or row.url,
            url=row.url,
            failing_since=row.failing_since,
            failures=row.error_count,
            error=row.last_error,
        )
        for row in session.scalars(
            select(FeedState)
            .where(FeedState.topic == topic, FeedState.error_count > 0)
            .order_by(FeedState.url)
        )
    )
    runs = tuple(
        RunProblem(source=row.source, started_at=row.started_at, status=row.status, error=row.error)
        for row in session.scalars(
            select(Run)
            .where(
                Run.topic == topic,
                Run.started_at > since,
                Run.started_at <= until,
                Run.status.in_(("failed", "partial")),
            )
            .order_by(Run.started_at)
        )
    )
    silent = []
    horizon = until - dt.timedelta(weeks=SILENT_WEEKS)
    recent_runs = session.scalars(
        select(Run)
        .where(Run.topic == topic, Run.started_at > horizon, Run.started_at <= until)
        .order_by(Run.started_at)
    ).all()
    by_source: dict[str, list[Run]] = {}
    for run in recent_runs:
        by_source.setdefault(run.source, []).append(run)
    for source, source_runs in sorted(by_source.items()):
        older = session.scalar(
            select(Run.id).where(
                Run.topic == topic, Run.source == source, Run.started_at <= horizon
            )
        )
        if older is None:  # not yet running for the whole period
            continue
        if all(run.status == "ok" and run.fetched == 0 for run in source_runs):
            silent.append(
                SilentSource(source=source, runs=len(source_runs), since=source_runs[0].started_at)
            )
    return feeds, runs, tuple(silent)
