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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harvester.core import queue_rules
from harvester.core.errors import HarvesterError, QueueError
from harvester.core.manual import CitationInput, field_words, fill_blanks, parse_identifier
from harvester.core.models import (
    Author,
    CandidateStatus,
    CandidateView,
    DatePrecision,
    Hit,
    WorkKind,
)
from harvester.store.candidates import get_candidate, last_decision
from harvester.store.db import Database
from harvester.store.decisions import apply_decision, candidate_state, edit_candidate
from harvester.usecases import ranking

if TYPE_CHECKING:
    from harvester.config.settings import Settings

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
    """An item a reviewer found elsewhere, as typed (the add-by-hand form, ``harvester add``):
    an identifier (DOI, PMID or URL), the citation fields and a summary."""

    title: str = ""
    identifier: str = ""
    source_name: str = ""
    date: dt.date | None = None
    summary: str = ""
    kind: WorkKind | None = None  # None: an article when it has a journal, DOI or PMID
    authors: tuple[Author, ...] = ()
    journal: str = ""
    year: int | None = None
    volume: str = ""
    issue: str = ""
    pages: str = ""

    def citation(self) -> CitationInput:
        return CitationInput(
            title=self.title,
            authors=self.authors,
            journal=self.journal,
            year=self.year,
            volume=self.volume,
            issue=self.issue,
            pages=self.pages,
            source_name=self.source_name,
            date=self.date,
            kind=self.kind,
        )


#: Looks an identifier (DOI, PMID, URL) up and returns the citation fields it found, by
#: :class:`~harvester.core.manual.CitationInput` field name; what the reviewer typed wins.
Lookup = Callable[[str], Mapping[str, Any]]


def manual_hit(item: ManualItem, *, actor: str, lookup: Lookup | None = None) -> Hit:
    """The :class:`Hit` of an item added by hand: a DOI, a PMID or a URL as its identity."""
    ident = parse_identifier(item.identifier)
    typed = item.citation()
    if lookup is not None and ident.key():
        typed = fill_blanks(typed, lookup(item.identifier.strip()))
    values = typed.values()
    title = values.get("title", "")
    if not title:
        raise QueueError("an item needs a title")
    key = ident.key() or title.casefold()
    kind = values.get("kind") or (
        WorkKind.ARTICLE if ident.doi or ident.pmid or values.get("journal") else WorkKind.NEWS
    )
    summary = item.summary.strip()
    return Hit(
        source=MANUAL_SOURCE,
        source_id=hashlib.sha256(key.encode()).hexdigest()[:24],
        title=title,
        kind=kind,
        authors=list(values.get("authors", ())),
        journal=values.get("journal"),
        volume=values.get("volume"),
        issue=values.get("issue"),
        pages=values.get("pages"),
        doi=ident.doi,
        pmid=ident.pmid,
        url=ident.url,
        pub_date=values.get("pub_date"),
        source_name=values.get("source_name"),
        # shown as text: what a reviewer pastes is never taken as markup
        summary_html=html.escape(summary) if summary else None,
        origin=f"added by {actor}",
        matched_rule="added by hand",
    )


@dataclass(frozen=True, slots=True)
class Added:
    """What adding an item by hand did: its candidate, and whether it joined a stored work (a
    match by identifier or by title) instead of becoming a new one."""

    candidate_id: int
    merged: bool
    reason: str
    status: str


def add_item(
    db: Database,
    topic: str,
    item: ManualItem,
    *,
    actor: str,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
    lookup: Lookup | None = None,
) -> Added:
    """Add ``item`` to ``topic``'s queue through the ingest's dedupe (an item matching a stored
    work merges into it)."""
    from harvester.store.candidates import candidate_for_work, get_candidate
    from harvester.store.works import ingest_hits

    hit = manual_hit(item, actor=actor, lookup=lookup)
    with db.write() as session:
        result = ingest_hits(
            session, [hit], topic=topic, run_id=None, now=now, status=status, actor=actor
        )
        outcome = result.outcomes[0]
        if outcome.work_id is None:
            raise QueueError("the item could not be stored")
        candidate_id = candidate_for_work(session, topic, outcome.work_id)
        current = get_candidate(session, candidate_id)
    try:  # scored by the topic's learned model at once (else by the next harvest or ranking)
        ranking.rescore(db, topic, None, scope="unscored", now=now)
    except Exception:
        log.exception("topic %s: scoring an item added by hand failed", topic)
    return Added(candidate_id, not outcome.created, outcome.reason, current.status)


def add_by_hand(
    db: Database,
    topic: str,
    item: ManualItem,
    *,
    actor: str,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
) -> int:
    """Add ``item`` to ``topic``'s queue through the ingest's dedupe; the candidate's id."""
    return add_item(db, topic, item, actor=actor, now=now, status=status).candidate_id


def edit_citation(
    db: Database,
    candidate_id: int,
    citation: CitationInput,
    *,
    actor: str,
    seen_version: int,
    now: dt.datetime,
) -> CandidateView:
    """Correct the citation fields of a candidate's work (the fields given replace the work's;
    blank ones are left as they are), recorded as an edit (who, when, which fields) with the
    same version check as every other edit."""
    from harvester.store.citations import changed_fields, set_citation

    values = citation.values()
    with db.write() as session:
        changed = changed_fields(session, candidate_id, values)
        if not changed:
            raise QueueError("nothing to change: the citation is already as typed")
        state = candidate_state(session, candidate_id)
        intent = queue_rules.edit(
            state,
            f"citation ({field_words(changed)})",
            actor=actor,
            at=now,
            seen_version=seen_version,
        )
        apply_decision(session, intent)
        set_citation(session, candidate_id, {k: values[k] for k in changed}, now=now)
    with db.read() as session:
        return get_candidate(session, candidate_id)


def identifier_lookup(settings: Settings, *, allow_private_hosts: bool = False) -> Lookup:
    """A :data:`Lookup` through PubMed (a PMID), Crossref (a DOI) or the page itself (a URL):
    the citation fields it found, by :class:`~harvester.core.manual.CitationInput` name. A
    record the service does not have gives nothing (what was typed stands)."""
    from harvester.sources.lookup import lookup

    def find(identifier: str) -> Mapping[str, Any]:
        try:
            found = lookup(identifier, settings, allow_private_hosts=allow_private_hosts)
        except HarvesterError as exc:  # the typed fields stand; the service may answer later
            log.warning("look-up of %s failed: %s", identifier, exc.message)
            return {}
        if not found.found:
            log.info("look-up of %s: %s", identifier, found.message)
            return {}
        hit = found.hit
        return {
            "title": hit.title,
            "authors": tuple(hit.authors),
            "journal": hit.journal or "",
            "year": hit.year,
            "volume": hit.volume or "",
            "issue": hit.issue or "",
            "pages": hit.pages or hit.elocation or "",
            "source_name": hit.source_name or "",
            "date": hit.pub_date.as_date()
            if hit.pub_date and hit.pub_date.precision is DatePrecision.DAY
            else None,
            "kind": hit.kind,
        }

    return find
