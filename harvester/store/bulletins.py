"""Bulletins in the database: a topic's draft (at most one at a time), its entries, publishing.

A draft is a ``bulletin`` row with status ``draft``; its entries point at accepted candidates.
Refreshing the draft adds the topic's accepted candidates of the window and drops entries whose
candidate is no longer accepted; an entry a reviewer removed stays marked ``removed`` so a refresh
does not add it back (its candidate stays ``accepted``). Publishing freezes each entry's citation
data (:class:`~harvester.core.bulletin.BulletinItem`) and the settings on the bulletin, and
marks the candidates ``published`` with a decision row each, so a published bulletin renders the
same later and its works never return to the queue.

Only plain values leave this module: :class:`BulletinView` and ``BulletinItem``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.core import queue_rules
from harvester.core.bulletin import BulletinItem
from harvester.core.errors import BulletinError, QueueError
from harvester.core.models import CandidateStatus, citation_fields
from harvester.core.text import plain_paragraphs
from harvester.store.candidates import work_view
from harvester.store.decisions import apply_decision, state_of
from harvester.store.tables import Bulletin, BulletinEntry, Candidate, Work

__all__ = [
    "BulletinView",
    "bulletin_items",
    "draft_period_text",
    "get_bulletin",
    "list_bulletins",
    "mark_published",
    "place_entries",
    "publish_bulletin",
    "refresh_draft",
    "remove_entry",
    "restore_entry",
    "set_draft_period",
    "topic_draft",
]

DRAFT = "draft"
PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class BulletinView:
    id: int
    topic: str
    title: str
    status: str
    period_from: dt.date | None
    period_to: dt.date | None
    created_at: dt.datetime
    published_at: dt.datetime | None
    entries: int
    settings: dict[str, Any]


def _view(bulletin: Bulletin, entries: int) -> BulletinView:
    return BulletinView(
        id=bulletin.id,
        topic=bulletin.topic,
        title=bulletin.title,
        status=bulletin.status,
        period_from=bulletin.period_from,
        period_to=bulletin.period_to,
        created_at=bulletin.created_at,
        published_at=bulletin.published_at,
        entries=entries,
        settings=dict(bulletin.settings or {}),
    )


def _count(session: Session, bulletin_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BulletinEntry)
            .where(BulletinEntry.bulletin_id == bulletin_id, BulletinEntry.removed.is_(False))
        )
        or 0
    )


def _bulletin(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise BulletinError(f"no bulletin with id {bulletin_id}")
    return bulletin


def _draft(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = _bulletin(session, bulletin_id)
    if bulletin.status != DRAFT:
        raise BulletinError(f"bulletin {bulletin_id} is already published; it cannot change")
    return bulletin


def get_bulletin(session: Session, bulletin_id: int) -> BulletinView:
    return _view(_bulletin(session, bulletin_id), _count(session, bulletin_id))


def topic_draft(session: Session, topic: str) -> BulletinView | None:
    """The topic's current draft, if there is one."""
    bulletin = session.scalar(
        select(Bulletin)
        .where(Bulletin.topic == topic, Bulletin.status == DRAFT)
        .order_by(Bulletin.id.desc())
    )
    return None if bulletin is None else _view(bulletin, _count(session, bulletin.id))


def list_bulletins(session: Session, topic: str | None = None) -> list[BulletinView]:
    """Every bulletin (drafts and published), newest first."""
    query = select(Bulletin).order_by(Bulletin.created_at.desc(), Bulletin.id.desc())
    if topic is not None:
        query = query.where(Bulletin.topic == topic)
    return [_view(b, _count(session, b.id)) for b in session.scalars(query)]


def refresh_draft(
    session: Session,
    topic: str,
    *,
    title: str,
    accepted_from: dt.date | None = None,
    accepted_to: dt.date | None = None,
    period_text: str | None = None,
    now: dt.datetime,
    actor: str,
) -> tuple[int, int]:
    """Create or update the topic's draft; returns its id and how many of the topic's accepted
    candidates the accepted-date filter left out.

    Entries: every accepted candidate of the topic not yet published, or, when ``accepted_from``
    or ``accepted_to`` is given, those accepted within those days (UTC). A filter that would
    leave the draft empty while accepted candidates wait is refused: the draft is kept as it
    was. ``period_text`` (the period as printed) is kept with the draft; None keeps the one set
    before, "" goes back to the span of the entries' dates.
    """
    decided = func.coalesce(Candidate.decided_at, Candidate.created_at)
    query = select(Candidate.id, decided).where(
        Candidate.topic == topic, Candidate.status == CandidateStatus.ACCEPTED.value
    )
    accepted: dict[int, dt.datetime] = {}
    for candidate_id, when in session.execute(query):
        accepted[candidate_id] = when
    eligible = {
        cid
        for cid, when in accepted.items()
        if (accepted_from is None or _utc(when) >= _midnight(accepted_from))
        and (accepted_to is None or _utc(when) < _midnight(accepted_to + dt.timedelta(days=1)))
    }
    if accepted and not eligible:
        window = f"{accepted_from or 'the start'} to {accepted_to or 'today'}"
        raise BulletinError(
            f"none of the {len(accepted)} accepted items of {topic!r} was accepted from {window} "
            "(--from/--to filter on the day an item was accepted); the draft is unchanged",
            hint="leave out --from/--to to take every accepted item, and set the period "
            'printed with --period "October–November 2024"',
        )
    bulletin = session.scalar(
        select(Bulletin).where(Bulletin.topic == topic, Bulletin.status == DRAFT)
    )
    if bulletin is None:
        bulletin = Bulletin(
            topic=topic, title=title, status=DRAFT, created_by=actor, created_at=now, settings={}
        )
        session.add(bulletin)
        session.flush()
    bulletin.title = title
    if period_text is not None:
        bulletin.settings = {**(bulletin.settings or {}), "period_text": period_text.strip()}
    entries = session.scalars(
        select(BulletinEntry).where(BulletinEntry.bulletin_id == bulletin.id)
    ).all()
    present = set()
    for entry in entries:
        if entry.candidate_id in eligible:
            present.add(entry.candidate_id)
        else:
            session.delete(entry)
    for candidate_id in sorted(eligible - present):
        session.add(BulletinEntry(bulletin_id=bulletin.id, candidate_id=candidate_id, position=0))
    session.flush()
    return bulletin.id, len(accepted) - len(eligible)


def set_draft_period(
    session: Session,
    bulletin_id: int,
    *,
    period_text: str | None = None,
    span: tuple[dt.date, dt.date] | None = None,
) -> None:
    """The draft's period as printed (None: unchanged; "": the entries' span) and the span of
    its entries' publication dates (shown by ``bulletin list``)."""
    bulletin = _draft(session, bulletin_id)
    if period_text is not None:
        bulletin.settings = {**(bulletin.settings or {}), "period_text": period_text.strip()}
    bulletin.period_from, bulletin.period_to = span if span is not None else (None, None)


def draft_period_text(view: BulletinView) -> str | None:
    """The period set for a draft by hand (None: none set)."""
    text = view.settings.get("period_text")
    return str(text) if text else None


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def bulletin_items(session: Session, bulletin_id: int) -> list[BulletinItem]:
    """The bulletin's entries as plain items: a draft's from its works and candidates as they
    are now, a published one's as they were frozen when it was published."""
    bulletin = _bulletin(session, bulletin_id)
    query = (
        select(BulletinEntry, Candidate, Work)
        .join(Candidate, Candidate.id == BulletinEntry.candidate_id)
        .join(Work, Work.id == Candidate.work_id)
        .where(BulletinEntry.bulletin_id == bulletin_id, BulletinEntry.removed.is_(False))
        .order_by(BulletinEntry.id)
    )
    items = []
    for entry, candidate, work in session.execute(query).all():
        if bulletin.status != DRAFT and entry.data is not None:
            items.append(BulletinItem.from_dict(entry.data))
            continue
        view = work_view(work)
        items.append(
            BulletinItem(
                entry_id=entry.id,
                candidate_id=candidate.id,
                work_id=work.id,
                **citation_fields(view),
                abstract=view.abstract,
                feed_summary="\n\n".join(plain_paragraphs(view.summary_html)) or None,
                edited_summary=candidate.summary,
                section=entry.section,
                position=entry.position,
            )
        )
    return items


def place_entries(
    session: Session, bulletin_id: int, placements: Sequence[tuple[int, str, int]]
) -> None:
    """Apply (entry id, section, position) placements to a draft's entries."""
    _draft(session, bulletin_id)
    entries = {
        e.id: e
        for e in session.scalars(
            select(BulletinEntry).where(BulletinEntry.bulletin_id == bulletin_id)
        )
    }
    for entry_id, section, position in placements:
        entry = entries.get(entry_id)
        if entry is None:
            raise BulletinError(f"bulletin {bulletin_id} has no entry {entry_id}")
        entry.section, entry.position = section, position


def _entry(session: Session, bulletin_id: int, entry_id: int) -> BulletinEntry:
    _draft(session, bulletin_id)
    entry = session.get(BulletinEntry, entry_id)
    if entry is None or entry.bulletin_id != bulletin_id:
        raise BulletinError(f"bulletin {bulletin_id} has no entry {entry_id}")
    return entry


def remove_entry(session: Session, bulletin_id: int, entry_id: int) -> None:
    """Take an entry out of the draft; its candidate stays accepted."""
    _entry(session, bulletin_id, entry_id).removed = True


def removed_entries(session: Session, bulletin_id: int) -> list[tuple[int, str]]:
    """The entries a reviewer took out of the draft: (entry id, title), in the order added."""
    query = (
        select(BulletinEntry.id, Work.title)
        .join(Candidate, Candidate.id == BulletinEntry.candidate_id)
        .join(Work, Work.id == Candidate.work_id)
        .where(BulletinEntry.bulletin_id == bulletin_id, BulletinEntry.removed.is_(True))
        .order_by(BulletinEntry.id)
    )
    return [(entry_id, title) for entry_id, title in session.execute(query)]


def restore_entry(session: Session, bulletin_id: int, entry_id: int) -> None:
    entry = _entry(session, bulletin_id, entry_id)
    entry.removed, entry.position = False, 0


def publish_bulletin(
    session: Session,
    bulletin_id: int,
    *,
    settings: dict[str, Any],
    entries: Sequence[tuple[BulletinItem, str]],
    now: dt.datetime,
    actor: str,
) -> BulletinView:
    """Publish a draft: freeze ``entries`` (each item in final order, with its citation line)
    and ``settings``, and mark the candidates published. Refuses an empty draft, one already
    published, and entries that are not the draft's."""
    bulletin = _bulletin(session, bulletin_id)
    if bulletin.status != DRAFT:
        raise BulletinError(f"bulletin {bulletin_id} of {bulletin.topic!r} is already published")
    rows = {
        e.id: e
        for e in session.scalars(
            select(BulletinEntry).where(BulletinEntry.bulletin_id == bulletin_id)
        )
    }
    live = {eid for eid, e in rows.items() if not e.removed}
    if not entries or not live:
        raise BulletinError(
            f"nothing to publish: the draft of {bulletin.topic!r} has no entries",
            hint="accept some candidates, then run `harvester bulletin draft`",
        )
    if {item.entry_id for item, _ in entries} != live:
        raise BulletinError(f"the entries given are not those of bulletin {bulletin_id}")
    candidates = {
        c.id: c
        for c in session.scalars(
            select(Candidate).where(Candidate.id.in_([rows[i].candidate_id for i in live]))
        )
    }
    for number, (item, citation) in enumerate(entries, start=1):
        entry = rows[item.entry_id]
        entry.section, entry.position, entry.citation = item.section, number, citation
        entry.data = item.to_dict()
        mark_published(session, candidates[entry.candidate_id], now=now, actor=actor)
    for entry_id in set(rows) - live:
        session.delete(rows[entry_id])  # removed entries stay accepted and leave no trace here
    bulletin.status, bulletin.published_at, bulletin.settings = PUBLISHED, now, dict(settings)
    session.flush()
    return _view(bulletin, len(live))


def mark_published(session: Session, candidate: Candidate, *, now: dt.datetime, actor: str) -> None:
    """The one status change publishing makes: accepted -> published (:func:`queue_rules.publish`),
    with its decision row."""
    try:
        intent = queue_rules.publish(state_of(candidate), actor=actor, at=now)
    except QueueError:
        raise BulletinError(
            f"candidate {candidate.id} is {candidate.status}, not accepted: refresh the draft"
        ) from None
    apply_decision(session, intent)
