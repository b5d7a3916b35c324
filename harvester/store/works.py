"""The ingest path: the only code that turns hits into works, sightings and candidates.

Every hit, from a harvest or an import, goes through :func:`ingest_hits`:

1. A hit whose sighting (source, source id, origin) is already stored is the same record seen
   again: only ``last_seen_at`` changes (and the work's metadata, if the source revised it).
   Harvesting or importing the same data twice therefore adds nothing.
2. Otherwise dedupe (:mod:`harvester.core.dedupe.match`) compares the hit with the works that share an
   identity or a blocking key with it, and the hit joins the work it matches or starts a new
   one. Preprints, errata and retractions get a ``work_link`` to their article instead.
3. The work keeps the best metadata of all its sightings: a source of higher rank (PubMed over an
   import over a feed) replaces the bibliographic fields it has; a lower one only fills gaps
   (:mod:`harvester.core.merge` decides, this module applies).
4. With a topic, the work gets a candidate in that topic. The status rules (:mod:`harvester.core.queue_rules`
   decides, :mod:`harvester.store.decisions` applies):

   - a new candidate gets ``status`` (``new`` for harvests) and a decision row from nothing;
   - an existing candidate keeps its status: a rejected or published work never comes back as
     ``new``, whichever source finds it again;
   - except that an import may move a candidate *forward* to the status it brings, recorded as a
     decision by ``actor``: ``new``/``deferred`` to ``accepted``, ``rejected`` or ``published``,
     and ``accepted`` to ``published`` (loading last year's bulletins marks what they carried as
     published). A human decision is never undone by an import.

   A feed entry whose guid changed while its link stayed the same is the same entry: its
   sighting takes the new id instead of a second sighting being added. This holds for feeds
   only: two imported records that share a URL are two records.
5. A hit marked ``deleted`` (PubMed DeleteCitation) only leaves a sighting with reason
   ``deleted`` on the work it names, if there is one, and sets the work's ``deleted_at`` (the
   queue and exports show it): nothing a user decided on is removed.

The caller owns the transaction (``Database.write()``). A batch gives exactly what its hits give
ingested one by one, each in its own call: later hits of a batch see the works, identities and
sightings earlier ones created (:mod:`harvester.store.batch` keeps them in memory until the batch
is written, in one bulk insert per table).

On PostgreSQL an ingest first takes a transaction-level advisory lock, so two processes
harvesting or importing at once take turns batch by batch (as SQLite's write lock makes them do):
dedupe reads the store and then decides, and two batches deciding at once could each create the
same work. Batches are short, so the wait is short too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.core import queue_rules
from harvester.core.dedupe.keys import KEYS_VERSION, Keys, hit_keys, make_keys
from harvester.core.dedupe.match import decide
from harvester.core.merge import MERGED_FIELDS, merge_fields
from harvester.core.models import CandidateStatus, Hit, PubDate, Relation, WorkKind, make_safe
from harvester.core.normalise import day_key, normalise_doi, normalise_pmid, title_key
from harvester.core.queue_rules import CandidateState
from harvester.store.batch import (
    MAX_BLOCK,
    AnyCandidate,
    AnySighting,
    IngestBatch,
    PendingCandidate,
    PendingSighting,
    identity_value,
    sighting_key,
    sighting_ref,
)
from harvester.store.decisions import apply_to_row
from harvester.store.tables import Work

__all__ = ["MAX_BLOCK", "HitOutcome", "IngestResult", "ingest_hits"]

#: The source whose entries may be re-issued under a new id (see the module docstring, 4.).
FEED_SOURCE = "feeds"
#: Identifies harvester's ingest among PostgreSQL advisory locks (any fixed 64-bit number).
INGEST_LOCK = 0x68617276_65737401

_Identity = tuple[str, str]

_RELATION_NAMES = {
    "erratumfor": "erratum-of",
    "erratumin": "erratum-in",
    "retractionof": "retraction-of",
    "retractionin": "retraction-in",
    "expressionofconcernfor": "concern-of",
    "expressionofconcernin": "concern-in",
    "updateof": "update-of",
    "updatein": "update-in",
    "republishedfrom": "republished-from",
    "republishedin": "republished-in",
    "preprintof": "preprint-of",
}


@dataclass(slots=True)
class HitOutcome:
    """What became of one hit."""

    work_id: int | None
    created: bool
    reason: str
    candidate_status: str | None = None
    new_sighting: bool = False


@dataclass(slots=True)
class IngestResult:
    """Counts of one batch; ``merged`` counts hits that joined an existing work (stored before,
    or created by an earlier hit of the same batch)."""

    new_works: int = 0
    merged: int = 0
    new_candidates: int = 0
    new_sightings: int = 0
    outcomes: list[HitOutcome] = field(default_factory=list)


def ingest_hits(
    session: Session,
    hits: Iterable[Hit],
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
    actor: str = "harvester",
) -> IngestResult:
    """Store ``hits``: dedupe each into a work, record its sighting, ensure its candidate."""
    hits = [make_safe(hit) for hit in hits]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))
    keys = [hit_keys(hit) for hit in hits]
    batch = IngestBatch(session, topic)
    relations = [
        identity
        for hit in hits
        for relation in hit.relations
        for identity in _relation_ids(relation)
    ]
    batch.load(hits, keys, relations)
    result = IngestResult()
    with session.no_autoflush:
        for hit, hit_key in zip(hits, keys, strict=True):
            outcome = _ingest_one(batch, hit, hit_key, topic=topic, run_id=run_id, now=now)
            if topic is not None and outcome.work_id is not None and outcome.reason != "deleted":
                created, outcome.candidate_status = _ensure_candidate(
                    batch,
                    topic,
                    outcome.work_id,
                    status,
                    new_work=outcome.created,
                    run_id=run_id,
                    now=now,
                    actor=actor,
                )
                result.new_candidates += created
            if outcome.work_id is not None and not outcome.created:
                result.merged += 1
            result.new_works += outcome.created
            result.new_sightings += outcome.new_sighting
            result.outcomes.append(outcome)
        ids = batch.write()
    for outcome in result.outcomes:
        if outcome.work_id is not None:
            outcome.work_id = ids.get(outcome.work_id, outcome.work_id)
    return result


def _ingest_one(
    batch: IngestBatch,
    hit: Hit,
    keys: Keys,
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
) -> HitOutcome:
    sighting = batch.sightings.get(sighting_key(hit))
    if hit.deleted:
        return _record_deletion(batch, hit, keys, sighting, run_id=run_id, now=now)
    if sighting is not None:
        sighting.last_seen_at = now
        ref = sighting_ref(sighting)
        work = batch.work(ref)
        if _merge_metadata(work, hit, keys, now):
            _store_keys(batch, ref, work)
        return HitOutcome(ref, False, "seen before")
    owners = batch.owners_of(keys.identities())
    candidates = sorted(set(owners.values()) | batch.block_works(keys.blocks()))
    match = decide(keys, _keys_of(batch, candidates))
    if match.work_id is None:
        work = Work(
            kind=hit.kind.value,
            title="",
            authors=[],
            abstract=[],
            publication_types=[],
            mesh=[],
            keywords=[],
            relations=[],
            date_is_fallback=False,
            title_key="",
            metadata_source=hit.source,
            metadata_rank=-1,
            created_at=now,
            updated_at=now,
        )
        ref = batch.add_work(work)
        created = True
    else:
        ref = match.work_id
        work = batch.work(ref)
        created = False
    changed = _merge_metadata(work, hit, keys, now)
    same_entry = (
        None
        if created or hit.source != FEED_SOURCE or not hit.url
        else batch.same_entry(ref, hit.source, hit.origin or "", hit.url)
    )
    if same_entry is not None:
        # A feed re-issued an entry under a new guid with the same link: it is the same entry.
        batch.sightings.pop((same_entry.source, same_entry.source_id, same_entry.origin), None)
        same_entry.source_id = hit.source_id
        same_entry.last_seen_at = now
        batch.sightings[sighting_key(hit)] = same_entry
        if changed:
            _store_keys(batch, ref, work)
        return HitOutcome(ref, False, "seen before (new id)")
    _add_sighting(batch, ref, hit, match.reason, topic=topic, run_id=run_id, now=now)
    identities = [pair for pair in keys.identities() if pair not in owners]
    batch.add_identities(ref, identities)
    batch.add_blocks(ref, keys.blocks(), new_work=created)
    urls = [identity_value(value) for kind, value in identities if kind == "url"]
    _store_keys(batch, ref, work, title=hit.title, urls=urls, new_work=created)
    for link in match.links:
        batch.add_link(ref, link.work_id, link.relation, now)
    _link_relations(batch, ref, hit.relations, now)
    return HitOutcome(ref, created, match.reason, new_sighting=True)


def _record_deletion(
    batch: IngestBatch,
    hit: Hit,
    keys: Keys,
    sighting: AnySighting | None,
    *,
    run_id: int | None,
    now: dt.datetime,
) -> HitOutcome:
    if sighting is not None:
        sighting.match_reason = "deleted"
        sighting.last_seen_at = now
        batch.work(sighting_ref(sighting)).deleted_at = now
        return HitOutcome(sighting_ref(sighting), False, "deleted")
    owners = batch.owners_of(keys.identities())
    if not owners:
        return HitOutcome(None, False, "deleted")
    ref = min(owners.values())
    work = batch.work(ref)
    work.deleted_at = now
    _add_sighting(batch, ref, hit, "deleted", topic=None, run_id=run_id, now=now)
    _store_keys(batch, ref, work, title=hit.title)
    return HitOutcome(ref, False, "deleted", new_sighting=True)


def _keys_of(batch: IngestBatch, refs: list[int]) -> list[tuple[int, Keys]]:
    """The keys of the works, read once per batch; keys of an older
    :data:`~harvester.core.dedupe.match.KEYS_VERSION` (or none) are rebuilt and stored."""
    for ref in refs:
        if ref in batch.keys:
            continue
        stored = batch.stored(ref)
        if stored is not None:
            batch.keys[ref] = stored
        else:
            _store_keys(batch, ref, batch.work(ref))
    return [(ref, batch.keys[ref]) for ref in refs]


def _store_keys(
    batch: IngestBatch,
    ref: int,
    work: Work,
    *,
    title: str | None = None,
    urls: Iterable[str] = (),
    new_work: bool = False,
) -> None:
    """Bring the work's stored dedupe keys up to date with its fields, a new sighting's
    ``title`` and new URL identities ``urls``.

    The stored keys say what :func:`make_keys` makes of the work's fields, the title keys of
    all its sightings and all its URL identities. They are rebuilt from those rows when they are
    missing, of an older version, or when the work changed kind (a news headline's title key
    is not an article's).
    """
    kind = WorkKind(work.kind)
    stored = work.dedupe_keys
    seen: list[str]
    known_urls: list[str]
    if new_work:
        seen, known_urls = [], []
    elif (
        stored is None or stored.get("version") != KEYS_VERSION or stored.get("kind") != kind.value
    ):
        titles, known_urls = batch.title_and_url_sources(ref)
        seen = [key for key in dict.fromkeys(title_key(t, kind) for t in titles if t) if key]
    else:
        seen, known_urls = list(stored["seen"]), list(stored["urls"])
    if title:
        key = title_key(title, kind)
        if key and key not in seen:
            seen.append(key)
    known_urls += [url for url in urls if url not in known_urls]
    keys = _work_keys(work, seen, known_urls)
    document = {
        "version": KEYS_VERSION,
        "kind": kind.value,
        "seen": seen,
        "urls": known_urls,
        "keys": keys.to_json(),
    }
    if document != stored:
        work.dedupe_keys = document
    batch.keys[ref] = keys


def _work_keys(work: Work, seen: list[str], urls: list[str]) -> Keys:
    day = day_key(work.published_at, PubDate.from_dict(work.pub_date) if work.pub_date else None)
    return make_keys(
        [work.title_key, *seen],
        doi=work.doi,
        pmid=work.pmid,
        pmcid=work.pmcid,
        urls=urls,
        year=work.pub_year,
        day=day,
        authors=[a.get("family") or a.get("collective") for a in work.authors],
        volume=work.volume,
        issue=work.issue,
        pages=work.pages,
        kind=WorkKind(work.kind),
        journal=work.journal,
        journal_iso=work.journal_iso,
        publication_types=work.publication_types,
        title=work.title,
        abstract=" ".join(str(part.get("text") or "") for part in work.abstract or []),
    )


def _merge_metadata(work: Work, hit: Hit, keys: Keys, now: dt.datetime) -> bool:
    """Apply what :func:`harvester.core.merge.merge_fields` says the hit changes; whether it changed
    anything."""
    current = {name: getattr(work, name) for name in MERGED_FIELDS}
    changes = merge_fields(current, hit, doi=keys.doi, pmid=keys.pmid, pmcid=keys.pmcid)
    for name, value in changes.items():
        setattr(work, name, value)
    if changes:
        work.updated_at = now
    return bool(changes)


def _add_sighting(
    batch: IngestBatch,
    ref: int,
    hit: Hit,
    reason: str,
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
) -> None:
    batch.add_sighting(
        PendingSighting(
            ref=ref,
            source=hit.source,
            source_id=hit.source_id,
            origin=hit.origin or "",
            title=hit.title,
            url=hit.url,
            match_reason=reason,
            last_seen_at=now,
            row={
                "run_id": run_id,
                "topic": topic,
                "source": hit.source,
                "origin": hit.origin or "",
                "matched_rule": hit.matched_rule,
                "title": hit.title,
                "url": hit.url,
                "raw": hit.raw,
                "first_seen_at": now,
            },
        )
    )


def _relation_ids(relation: Relation) -> list[_Identity]:
    return [
        (kind, value)
        for kind, value in (
            ("pmid", normalise_pmid(relation.pmid)),
            ("doi", normalise_doi(relation.doi)),
        )
        if value
    ]


def _link_relations(
    batch: IngestBatch, ref: int, relations: list[Relation], now: dt.datetime
) -> None:
    """Links stated by the source (PubMed's CommentsCorrections: ErratumFor, RetractionOf, ...)
    to works already stored."""
    for relation in relations:
        for other in sorted(set(batch.owners_of(_relation_ids(relation)).values())):
            batch.add_link(ref, other, _relation_name(relation.type), now)


def _relation_name(kind: str) -> str:
    key = "".join(ch for ch in kind.casefold() if ch.isalnum())
    return _RELATION_NAMES.get(key, key[:32])


def _ensure_candidate(
    batch: IngestBatch,
    topic: str,
    ref: int,
    status: CandidateStatus,
    *,
    new_work: bool,
    run_id: int | None,
    now: dt.datetime,
    actor: str,
) -> tuple[bool, str]:
    """Give the work its candidate in ``topic`` (:func:`harvester.core.queue_rules.admit`), or move the
    existing one forward (:func:`harvester.core.queue_rules.import_move`); (created, its status)."""
    candidate: AnyCandidate | None = None if new_work else batch.candidate(ref)
    if candidate is None:
        pending = PendingCandidate(
            ref=ref,
            status=status.value,
            row={
                "topic": topic,
                "first_run_id": run_id,
                "created_at": now,
                "decided_by": None,
                "decided_at": None,
            },
        )
        decision = apply_to_row(pending, queue_rules.admit(status, actor=actor, at=now))
        batch.add_candidate(pending)
        batch.decisions.append((pending, decision))
        return True, pending.status
    state = CandidateState(
        candidate.id or 0, CandidateStatus(candidate.status), getattr(candidate, "version", 1)
    )
    intent = queue_rules.import_move(state, status, actor=actor, at=now)
    if intent is not None:
        batch.decisions.append((candidate, apply_to_row(candidate, intent)))
    return False, candidate.status
