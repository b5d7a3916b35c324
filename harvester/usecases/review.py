"""Reviewing: the functions the web pages, the JSON API and the command line all call.

Each reads the candidate, asks :mod:`harvester.core.queue_rules` for an intent and has the store apply it,
in one write transaction. Adding an item by hand builds a :class:`Hit` (source ``manual``) and
sends it through the same ingest as a harvested hit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
from dataclasses import dataclass

from harvester.core import queue_rules
from harvester.core.errors import QueueError
from harvester.core.models import (
    CandidateStatus,
    CandidateView,
    DatePrecision,
    Hit,
    PubDate,
    WorkKind,
)
from harvester.core.normalise import normalise_doi, normalise_pmid
from harvester.store.candidates import get_candidate, last_decision
from harvester.store.db import Database
from harvester.store.decisions import apply_decision, candidate_state, edit_candidate
from harvester.usecases import ranking

log = logging.getLogger(__name__)

MANUAL_SOURCE = "manual"


def decide(
    db: Database,
    candidate_id: int,
    to: CandidateStatus,
    *,
    actor: str,
    seen_version: int,
    now: dt.datetime,
    note: str | None = None,
    section: str | None = None,
    reason: str | None = None,
    sections: tuple[str, ...] | None = None,
) -> CandidateView:
    """Move a candidate to ``to``; :class:`~harvester.core.errors.ConflictError` when it changed since
    ``seen_version``. Returns the candidate as it now is."""
    with db.write() as session:
        state = candidate_state(session, candidate_id)
        intent = queue_rules.decide(
            state,
            to,
            actor=actor,
            at=now,
            seen_version=seen_version,
            note=note,
            section=section,
            reason=reason,
            sections=sections,
        )
        apply_decision(session, intent)
    with db.read() as session:
        view = get_candidate(session, candidate_id)
    _retrain_when_due(db, view.topic, now=now)
    return view


def undo(
    db: Database, candidate_id: int, *, actor: str, seen_version: int, now: dt.datetime
) -> CandidateView:
    """Take a candidate back to the status before its latest decision."""
    with db.write() as session:
        state = candidate_state(session, candidate_id)
        intent = queue_rules.undo(
            state,
            last_decision(session, candidate_id),
            actor=actor,
            at=now,
            seen_version=seen_version,
        )
        apply_decision(session, intent)
    with db.read() as session:
        view = get_candidate(session, candidate_id)
    _retrain_when_due(db, view.topic, now=now)
    return view


def _retrain_when_due(db: Database, topic: str, *, now: dt.datetime) -> None:
    """Every few decisions the topic's ranking learns from them; a failure there never fails
    the decision, which is stored already."""
    try:
        ranking.after_decision_in_background(db, topic, now=now)
    except Exception:
        log.exception(
            "topic %s: ranking after a decision failed; the queue keeps its scores", topic
        )


def edit(
    db: Database,
    candidate_id: int,
    *,
    actor: str,
    seen_version: int,
    now: dt.datetime,
    note: str | None = None,
    summary: str | None = None,
    set_note: bool = False,
    set_summary: bool = False,
) -> CandidateView:
    """Change the note and/or the bulletin summary of a candidate."""
    with db.write() as session:
        edit_candidate(
            session,
            candidate_id,
            seen_version=seen_version,
            actor=actor,
            at=now,
            note=queue_rules.edit_text(note, what="note"),
            summary=queue_rules.edit_text(summary, what="summary"),
            set_note=set_note,
            set_summary=set_summary,
        )
    with db.read() as session:
        return get_candidate(session, candidate_id)


@dataclass(frozen=True, slots=True)
class ManualItem:
    """An item a reviewer found elsewhere, as typed into the add-by-hand form."""

    title: str
    identifier: str = ""
    source_name: str = ""
    date: dt.date | None = None
    summary: str = ""
    kind: WorkKind = WorkKind.NEWS


def manual_hit(item: ManualItem, *, actor: str) -> Hit:
    """The :class:`Hit` of an item added by hand: a DOI, a PMID or a URL as its identity."""
    title = " ".join(item.title.split())
    if not title:
        raise QueueError("an item needs a title")
    ident = item.identifier.strip()
    doi = normalise_doi(ident) if ident else None
    pmid = normalise_pmid(ident) if ident and not doi else None
    url = None
    if ident and not doi and not pmid:
        if not ident.lower().startswith(("http://", "https://")):
            raise QueueError(f"{ident!r} is not a DOI, a PMID or an http(s) URL")
        url = ident
    key = doi or pmid or url or title.casefold()
    summary = item.summary.strip()
    return Hit(
        source=MANUAL_SOURCE,
        source_id=hashlib.sha256(key.encode()).hexdigest()[:24],
        title=title,
        kind=WorkKind.ARTICLE if (doi or pmid) and item.kind is WorkKind.NEWS else item.kind,
        doi=doi,
        pmid=pmid,
        url=url,
        pub_date=(
            PubDate(item.date.year, item.date.month, item.date.day, DatePrecision.DAY)
            if item.date
            else None
        ),
        source_name=item.source_name.strip() or None,
        # shown as text: what a reviewer pastes is never taken as markup
        summary_html=html.escape(summary) if summary else None,
        origin=f"added by {actor}",
        matched_rule="added by hand",
    )


def add_by_hand(db: Database, topic: str, item: ManualItem, *, actor: str, now: dt.datetime) -> int:
    """Add ``item`` to ``topic``'s queue through the ingest's dedupe; the candidate's id."""
    from harvester.store.candidates import candidate_for_work
    from harvester.store.works import ingest_hits

    hit = manual_hit(item, actor=actor)
    with db.write() as session:
        result = ingest_hits(session, [hit], topic=topic, run_id=None, now=now, actor=actor)
        work_id = result.outcomes[0].work_id
        if work_id is None:
            raise QueueError("the item could not be stored")
        candidate_id = candidate_for_work(session, topic, work_id)
    try:  # scored by the topic's learned model at once (else by the next harvest or ranking)
        ranking.rescore(db, topic, None, only_unscored=True)
    except Exception:
        log.exception("topic %s: scoring an item added by hand failed", topic)
    return candidate_id
