"""Notices about works (retracted, expression of concern, corrected) in the database: which
works the retraction watch re-checks, what it found, and the notices pages and mail show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.core.retraction import KIND_WORDS, Notice
from harvester.store.tables import BulletinEntry, Candidate, Work, WorkNotice

__all__ = [
    "FoundNotice",
    "WatchedWork",
    "notices_for",
    "notices_in_bulletins",
    "notices_since",
    "record",
    "watched",
]

#: The candidate statuses whose works are watched: what a team has chosen to pass on.
WATCHED_STATUSES = ("accepted", "published")


@dataclass(frozen=True, slots=True)
class WatchedWork:
    id: int
    pmid: str | None
    doi: str | None
    title: str


@dataclass(frozen=True, slots=True)
class FoundNotice:
    """A stored notice, with the work it is about."""

    work_id: int
    title: str
    kind: str
    service: str
    ref: str
    found_at: dt.datetime

    @property
    def words(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)

    def line(self) -> str:
        about = f" ({self.service}: {self.ref})" if self.ref else f" ({self.service})"
        return f"{self.words}: {self.title}{about}"


def watched(session: Session) -> list[WatchedWork]:
    """Works accepted or published in any topic that have a PMID or a DOI, oldest first."""
    ids = select(Candidate.work_id).where(Candidate.status.in_(WATCHED_STATUSES))
    rows = session.execute(
        select(Work.id, Work.pmid, Work.doi, Work.title)
        .where(Work.id.in_(ids), (Work.pmid.is_not(None)) | (Work.doi.is_not(None)))
        .order_by(Work.id)
    )
    return [WatchedWork(row.id, row.pmid, row.doi, row.title) for row in rows]


def record(session: Session, work_id: int, found: Iterable[Notice], now: dt.datetime) -> int:
    """Store the notices not stored yet for ``work_id``; how many were new."""
    known = {
        (row.kind, row.service, row.ref)
        for row in session.scalars(select(WorkNotice).where(WorkNotice.work_id == work_id))
    }
    added = 0
    for notice in found:
        key = (notice.kind, notice.service, notice.ref)
        if key in known:
            continue
        known.add(key)
        session.add(
            WorkNotice(
                work_id=work_id,
                kind=notice.kind,
                service=notice.service,
                ref=notice.ref,
                found_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def _found(rows: Iterable[tuple[WorkNotice, str]]) -> list[FoundNotice]:
    return [
        FoundNotice(row.work_id, title, row.kind, row.service, row.ref, row.found_at)
        for row, title in rows
    ]


def notices_for(session: Session, work_ids: Sequence[int]) -> dict[int, list[FoundNotice]]:
    """The notices of each of ``work_ids`` (retractions first)."""
    if not work_ids:
        return {}
    order = {kind: n for n, kind in enumerate(KIND_WORDS)}
    rows = session.execute(
        select(WorkNotice, Work.title)
        .join(Work, Work.id == WorkNotice.work_id)
        .where(WorkNotice.work_id.in_(list(work_ids)))
        .order_by(WorkNotice.id)
    )
    found: dict[int, list[FoundNotice]] = {}
    for notice in _found((row[0], row[1]) for row in rows):
        found.setdefault(notice.work_id, []).append(notice)
    for items in found.values():
        items.sort(key=lambda n: order.get(n.kind, len(order)))
    return found


def notices_since(session: Session, *, topic: str, since: dt.datetime) -> list[FoundNotice]:
    """Notices found after ``since`` about works accepted or published in ``topic``."""
    ids = select(Candidate.work_id).where(
        Candidate.topic == topic, Candidate.status.in_(WATCHED_STATUSES)
    )
    rows = session.execute(
        select(WorkNotice, Work.title)
        .join(Work, Work.id == WorkNotice.work_id)
        .where(WorkNotice.work_id.in_(ids), WorkNotice.found_at > since)
        .order_by(WorkNotice.id)
    )
    return _found((row[0], row[1]) for row in rows)


def notices_in_bulletins(
    session: Session, bulletin_ids: Sequence[int]
) -> dict[int, list[FoundNotice]]:
    """The notices about the works each of ``bulletin_ids`` carries (removed entries aside)."""
    if not bulletin_ids:
        return {}
    rows = session.execute(
        select(BulletinEntry.bulletin_id, WorkNotice, Work.title)
        .join(Candidate, Candidate.id == BulletinEntry.candidate_id)
        .join(WorkNotice, WorkNotice.work_id == Candidate.work_id)
        .join(Work, Work.id == WorkNotice.work_id)
        .where(BulletinEntry.bulletin_id.in_(list(bulletin_ids)), BulletinEntry.removed.is_(False))
        .order_by(WorkNotice.id)
    )
    found: dict[int, list[FoundNotice]] = {}
    for bulletin_id, notice, title in rows:
        found.setdefault(bulletin_id, []).extend(_found([(notice, title)]))
    return found
