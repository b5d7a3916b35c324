"""The ingest path: the only code that turns hits into works, sightings and candidates.

Every hit, from a harvest or an import, goes through :func:`ingest_hits`:

1. A hit whose sighting (source, source id, origin) is already stored is the same record seen
   again: only ``last_seen_at`` changes (and the work's metadata, if the source revised it).
   Harvesting or importing the same data twice therefore adds nothing.
2. Otherwise dedupe (:mod:`harvester.dedupe`) compares the hit with the works that share an
   identity or a blocking key with it, and the hit joins the work it matches or starts a new
   one. Preprints, errata and retractions get a ``work_link`` to their article instead.
3. The work keeps the best metadata of all its sightings: a source of higher rank (PubMed over an
   import over a feed) replaces the bibliographic fields it has; a lower one only fills gaps.
4. With a topic, the work gets a candidate in that topic. The status rules:

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
   ``deleted`` on the work it names, if there is one: nothing a user decided on is removed.

The caller owns the transaction (``Database.write()``). Later hits of a batch see the works,
identities and sightings earlier ones created: new works are flushed at once, blocking keys and
identities are inserted at once, and the session is flushed before any lookup of the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

from harvester.dedupe import KEYS_VERSION, Keys, decide, hit_keys, make_keys, news_title_key
from harvester.models import CandidateStatus, Hit, Relation, WorkKind
from harvester.normalise import normalise_doi, normalise_pmid, normalise_title
from harvester.store.tables import (
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
)

__all__ = ["HitOutcome", "IngestResult", "ingest_hits", "source_rank"]

# How much each source's bibliographic fields are trusted; higher replaces lower.
SOURCE_RANKS = {
    "pubmed": 30,
    "import:pubmed-xml": 30,
    "import:medline": 30,
    "europepmc": 25,
    "import:ris": 20,
    "import:csljson": 20,
    "feeds": 10,
}
IMPORT_RANK = 20
#: A blocking key shared by more works than this ("Editorial", a prolific author's year) is too
#: common to tell works apart: it is passed over, and the hit's other keys and identities decide.
#: This keeps the cost of one hit bounded however large the store grows.
MAX_BLOCK = 100
DEFAULT_RANK = 10
#: The source whose entries may be re-issued under a new id (see the module docstring, 4.).
FEED_SOURCE = "feeds"
# Ids per IN list when reading rows for many hits or works at once.
_CHUNK = 500

_Identity = tuple[str, str]

_SCALAR_FIELDS = (
    "title",
    "journal",
    "journal_iso",
    "volume",
    "issue",
    "pages",
    "elocation",
    "entrez_date",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "summary_html",
    "source_name",
    "language",
)
_LIST_FIELDS = ("authors", "abstract", "publication_types", "mesh", "keywords", "relations")

# Forward moves an import may make on an existing candidate (see the module docstring).
_FORWARD = {
    CandidateStatus.NEW: {
        CandidateStatus.ACCEPTED,
        CandidateStatus.REJECTED,
        CandidateStatus.PUBLISHED,
    },
    CandidateStatus.DEFERRED: {
        CandidateStatus.ACCEPTED,
        CandidateStatus.REJECTED,
        CandidateStatus.PUBLISHED,
    },
    CandidateStatus.ACCEPTED: {CandidateStatus.PUBLISHED},
}

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


def source_rank(source: str) -> int:
    """The metadata rank of a source name (see ``SOURCE_RANKS``)."""
    if source in SOURCE_RANKS:
        return SOURCE_RANKS[source]
    return IMPORT_RANK if source.startswith("import:") else DEFAULT_RANK


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
    hits = list(hits)
    batch = _Batch(session, _stored_sightings(session, hits))
    result = IngestResult()
    for hit in hits:
        # Flushes are explicit: a new work is flushed for its id, taking with it what earlier
        # hits left pending; lookups of rows an earlier hit may have left pending flush first.
        with session.no_autoflush:
            outcome = _ingest_one(batch, hit, topic=topic, run_id=run_id, now=now)
            if topic is not None and outcome.work_id is not None and outcome.reason != "deleted":
                created, outcome.candidate_status = _ensure_candidate(
                    session,
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
    session.flush()
    return result


_SightingKey = tuple[str, str, str]


@dataclass(slots=True)
class _Batch:
    """What one :func:`ingest_hits` call keeps between its hits.

    ``sightings`` holds the stored sightings of the batch's hits, read in one query per source
    and origin and kept current as hits add or rename sightings; ``keys`` holds the dedupe keys
    of the works looked at so far, kept current as hits change those works. The session's
    transaction is the batch's, so nothing else changes them meanwhile.
    """

    session: Session
    sightings: dict[_SightingKey, Sighting]
    keys: dict[int, Keys] = field(default_factory=dict)


def _sighting_key(hit: Hit) -> _SightingKey:
    return hit.source, hit.source_id, hit.origin or ""


def _stored_sightings(session: Session, hits: list[Hit]) -> dict[_SightingKey, Sighting]:
    """The stored sightings of ``hits``, with their works."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for hit in hits:
        wanted.setdefault((hit.source, hit.origin or ""), set()).add(hit.source_id)
    found: dict[_SightingKey, Sighting] = {}
    for (source, origin), source_ids in wanted.items():
        ids = sorted(source_ids)
        for start in range(0, len(ids), _CHUNK):
            query = (
                select(Sighting)
                .where(
                    Sighting.source == source,
                    Sighting.origin == origin,
                    Sighting.source_id.in_(ids[start : start + _CHUNK]),
                )
                .options(selectinload(Sighting.work))
            )
            for sighting in session.scalars(query):
                found[(sighting.source, sighting.source_id, sighting.origin)] = sighting
    return found


def _ingest_one(
    batch: _Batch, hit: Hit, *, topic: str | None, run_id: int | None, now: dt.datetime
) -> HitOutcome:
    session = batch.session
    sighting = batch.sightings.get(_sighting_key(hit))
    keys = hit_keys(hit)
    if hit.deleted:
        return _record_deletion(batch, hit, keys, sighting, run_id=run_id, now=now)
    if sighting is not None:
        sighting.last_seen_at = now
        if _merge_metadata(sighting.work, hit, keys, now):
            _store_keys(batch, sighting.work)
        return HitOutcome(sighting.work_id, False, "seen before")
    owners = _identity_owners(session, keys.identities())
    candidates = _candidate_works(session, keys, owners)
    match = decide(keys, _keys_of(batch, candidates))
    if match.work_id is None:
        work = Work(metadata_source=hit.source, metadata_rank=-1, created_at=now, updated_at=now)
        session.add(work)
        created = True
    else:
        work = session.get_one(Work, match.work_id)
        created = False
    changed = _merge_metadata(work, hit, keys, now)
    if created:
        session.flush()  # for the work's id
    same_entry = (
        None if created or hit.source != FEED_SOURCE else _same_entry(session, work.id, hit)
    )
    if same_entry is not None:
        # A feed re-issued an entry under a new guid with the same link: it is the same entry.
        batch.sightings.pop((same_entry.source, same_entry.source_id, same_entry.origin), None)
        same_entry.source_id = hit.source_id
        same_entry.last_seen_at = now
        batch.sightings[_sighting_key(hit)] = same_entry
        if changed:
            _store_keys(batch, work)
        return HitOutcome(work.id, False, "seen before (new id)")
    _add_sighting(batch, work, hit, match.reason, topic=topic, run_id=run_id, now=now)
    urls = _add_keys(session, work.id, keys, owners, new_work=created)
    _store_keys(batch, work, title=hit.title, urls=urls, new_work=created)
    for link in match.links:
        _add_link(session, work.id, link.work_id, link.relation, now)
    _link_relations(session, work.id, hit.relations, now)
    return HitOutcome(work.id, created, match.reason, new_sighting=True)


def _same_entry(session: Session, work_id: int, hit: Hit) -> Sighting | None:
    """The sighting of the work by the same source and origin with the same link, if any."""
    if not hit.url:
        return None
    session.flush()
    return session.scalar(
        select(Sighting)
        .where(
            Sighting.work_id == work_id,
            Sighting.source == hit.source,
            Sighting.origin == (hit.origin or ""),
            Sighting.url == hit.url,
        )
        .order_by(Sighting.id)
        .limit(1)
    )


def _record_deletion(
    batch: _Batch,
    hit: Hit,
    keys: Keys,
    sighting: Sighting | None,
    *,
    run_id: int | None,
    now: dt.datetime,
) -> HitOutcome:
    if sighting is not None:
        sighting.match_reason = "deleted"
        sighting.last_seen_at = now
        return HitOutcome(sighting.work_id, False, "deleted")
    owners = _identity_owners(batch.session, keys.identities())
    if not owners:
        return HitOutcome(None, False, "deleted")
    work = batch.session.get_one(Work, min(owners.values()))
    _add_sighting(batch, work, hit, "deleted", topic=None, run_id=run_id, now=now)
    _store_keys(batch, work, title=hit.title)
    return HitOutcome(work.id, False, "deleted", new_sighting=True)


def _identity_owners(session: Session, identities: list[tuple[str, str]]) -> dict[_Identity, int]:
    """The works that own any of ``identities``, by identity."""
    if not identities:
        return {}
    wanted = set(identities)
    # Two IN lists (a cached statement, and the (kind, value) index serves it) and an exact
    # filter here, rather than an OR of pairs that is compiled afresh for every hit.
    query = select(WorkIdentity.kind, WorkIdentity.value, WorkIdentity.work_id).where(
        WorkIdentity.kind.in_({kind for kind, _ in wanted}),
        WorkIdentity.value.in_({value for _, value in wanted}),
    )
    return {
        (kind, value): work_id
        for kind, value, work_id in session.execute(query)
        if (kind, value) in wanted
    }


def _candidate_works(session: Session, keys: Keys, owners: dict[_Identity, int]) -> list[int]:
    """The ids of the works sharing an exact identity (``owners``) or a blocking key with
    ``keys``, in id order. A blocking key of more than ``MAX_BLOCK`` works is passed over."""
    ids = set(owners.values())
    blocks = keys.blocks()
    if blocks:
        usable = (
            select(WorkKey.key)
            .where(WorkKey.key.in_(blocks))
            .group_by(WorkKey.key)
            .having(func.count() <= MAX_BLOCK)
        )
        ids.update(session.scalars(select(WorkKey.work_id).where(WorkKey.key.in_(usable))))
    return sorted(ids)


def _keys_of(batch: _Batch, work_ids: list[int]) -> list[tuple[int, Keys]]:
    """The stored keys of the works, read once per batch; keys of an older
    :data:`~harvester.dedupe.KEYS_VERSION` (or none) are rebuilt and stored."""
    missing = [work_id for work_id in work_ids if work_id not in batch.keys]
    for start in range(0, len(missing), _CHUNK):
        query = select(Work.id, Work.dedupe_keys).where(
            Work.id.in_(missing[start : start + _CHUNK])
        )
        for work_id, stored in batch.session.execute(query):
            if stored is not None and stored.get("version") == KEYS_VERSION:
                batch.keys[work_id] = Keys.from_json(stored["keys"])
            else:
                _store_keys(batch, batch.session.get_one(Work, work_id))
    return [(work_id, batch.keys[work_id]) for work_id in work_ids]


def _store_keys(
    batch: _Batch,
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
        seen, known_urls = _key_sources(batch.session, work.id, kind)
    else:
        seen, known_urls = list(stored["seen"]), list(stored["urls"])
    if title:
        key = _title_key(title, kind)
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
    batch.keys[work.id] = keys


def _key_sources(session: Session, work_id: int, kind: WorkKind) -> tuple[list[str], list[str]]:
    """The title keys of a work's stored sightings (in the order they were seen) and its URL
    identities: what its dedupe keys are built from besides the work's own fields."""
    session.flush()
    titles = session.scalars(
        select(Sighting.title).where(Sighting.work_id == work_id).order_by(Sighting.id)
    )
    seen = [key for key in dict.fromkeys(_title_key(t, kind) for t in titles if t) if key]
    urls = session.scalars(
        select(WorkIdentity.value)
        .where(WorkIdentity.work_id == work_id, WorkIdentity.kind == "url")
        .order_by(WorkIdentity.id)
    )
    return seen, list(urls)


def _title_key(title: str, kind: WorkKind) -> str:
    """A sighting's title as dedupe compares it (the work's own title key also strips the
    work's site name)."""
    return news_title_key(title) if kind is WorkKind.NEWS else normalise_title(title)


def _work_keys(work: Work, seen: list[str], urls: list[str]) -> Keys:
    day = work.published_at.astimezone(dt.UTC).date() if work.published_at else None
    if day is None and work.pub_date and work.pub_date.get("day"):
        date = work.pub_date
        day = dt.date(int(date["year"]), int(date["month"] or 1), int(date["day"]))
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
    )


def _hit_values(hit: Hit, keys: Keys) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(hit, name) for name in _SCALAR_FIELDS}
    values["doi"], values["pmid"], values["pmcid"] = keys.doi, keys.pmid, keys.pmcid
    values["authors"] = [a.to_dict() for a in hit.authors]
    values["abstract"] = [{"label": s.label, "text": s.text} for s in hit.abstract]
    values["publication_types"] = list(hit.publication_types)
    values["mesh"] = list(hit.mesh)
    values["keywords"] = list(hit.keywords)
    values["relations"] = [
        {"type": r.type, "ref": r.ref, "pmid": r.pmid, "doi": r.doi} for r in hit.relations
    ]
    return values


def _merge_metadata(work: Work, hit: Hit, keys: Keys, now: dt.datetime) -> bool:
    """Higher-ranked sources replace the fields they have; others fill the empty ones.

    Only values that differ are assigned, so seeing the same record again changes nothing.
    Whether anything changed is returned.
    """
    rank = source_rank(hit.source)
    replace = rank > work.metadata_rank
    values = _hit_values(hit, keys)
    if hit.pub_date is not None:
        values["pub_date"] = hit.pub_date.to_dict()
        values["pub_year"] = hit.pub_date.year
    if hit.published_at is not None:
        values["published_at"] = hit.published_at
        values["date_is_fallback"] = hit.date_is_fallback
        values.setdefault("pub_year", hit.published_at.year)
    if replace:
        values["kind"] = hit.kind.value
        values["metadata_source"], values["metadata_rank"] = hit.source, rank
    changed = False
    for name, value in values.items():
        if value in (None, "", []):
            continue
        current = getattr(work, name)
        if (replace or current in (None, "", [])) and current != value:
            setattr(work, name, value)
            changed = True
    if changed:
        work.title_key = (
            news_title_key(work.title, work.source_name)
            if work.kind == WorkKind.NEWS.value
            else normalise_title(work.title)
        )
        work.updated_at = now
    return changed


def _add_sighting(
    batch: _Batch,
    work: Work,
    hit: Hit,
    reason: str,
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
) -> None:
    sighting = Sighting(
        work=work,
        run_id=run_id,
        topic=topic,
        source=hit.source,
        source_id=hit.source_id,
        origin=hit.origin or "",
        matched_rule=hit.matched_rule,
        match_reason=reason,
        title=hit.title,
        url=hit.url,
        raw=hit.raw,
        first_seen_at=now,
        last_seen_at=now,
    )
    batch.session.add(sighting)
    batch.sightings[_sighting_key(hit)] = sighting


def _add_keys(
    session: Session, work_id: int, keys: Keys, owners: dict[_Identity, int], *, new_work: bool
) -> list[str]:
    """Record the hit's identities (those no work owns yet: ``owners`` were read before this
    hit changed anything) and blocking keys on the work; return the URL identities added."""
    identities = [
        (kind, value[:512]) for kind, value in keys.identities() if (kind, value) not in owners
    ]
    if identities:
        session.execute(
            insert(WorkIdentity),
            [{"work_id": work_id, "kind": kind, "value": value} for kind, value in identities],
        )
    blocks = keys.blocks()
    if blocks and not new_work:
        have = set(
            session.scalars(
                select(WorkKey.key).where(WorkKey.work_id == work_id, WorkKey.key.in_(blocks))
            )
        )
        blocks = [key for key in blocks if key not in have]
    if blocks:
        session.execute(insert(WorkKey), [{"work_id": work_id, "key": key} for key in blocks])
    return [value for kind, value in identities if kind == "url"]


def _add_link(
    session: Session, work_id: int, other_id: int, relation: str, now: dt.datetime
) -> None:
    if work_id == other_id:
        return
    session.flush()
    exists = session.scalar(
        select(WorkLink.id).where(
            WorkLink.work_id == work_id,
            WorkLink.other_id == other_id,
            WorkLink.relation == relation,
        )
    )
    if exists is None:
        session.add(WorkLink(work_id=work_id, other_id=other_id, relation=relation, created_at=now))


def _link_relations(
    session: Session, work_id: int, relations: list[Relation], now: dt.datetime
) -> None:
    """Links stated by the source (PubMed's CommentsCorrections: ErratumFor, RetractionOf, ...)
    to works already stored."""
    for relation in relations:
        identities = [
            (kind, value)
            for kind, value in (
                ("pmid", normalise_pmid(relation.pmid)),
                ("doi", normalise_doi(relation.doi)),
            )
            if value
        ]
        for other in sorted(set(_identity_owners(session, identities).values())):
            _add_link(session, work_id, other, _relation_name(relation.type), now)


def _relation_name(kind: str) -> str:
    key = "".join(ch for ch in kind.casefold() if ch.isalnum())
    return _RELATION_NAMES.get(key, key[:32])


def _ensure_candidate(
    session: Session,
    topic: str,
    work_id: int,
    status: CandidateStatus,
    *,
    new_work: bool,
    run_id: int | None,
    now: dt.datetime,
    actor: str,
) -> tuple[bool, str]:
    candidate = None
    if not new_work:  # a work created by this hit has no candidate yet
        session.flush()
        candidate = session.scalar(
            select(Candidate).where(Candidate.topic == topic, Candidate.work_id == work_id)
        )
    if candidate is None:
        candidate = Candidate(
            topic=topic,
            work_id=work_id,
            status=status.value,
            first_run_id=run_id,
            created_at=now,
            updated_at=now,
        )
        if status is not CandidateStatus.NEW:
            candidate.decided_by, candidate.decided_at = actor, now
        session.add(candidate)
        session.add(Decision(candidate=candidate, actor=actor, at=now, to_status=status.value))
        return True, status.value
    current = CandidateStatus(candidate.status)
    if status in _FORWARD.get(current, set()):
        session.add(
            Decision(
                candidate_id=candidate.id,
                actor=actor,
                at=now,
                from_status=current.value,
                to_status=status.value,
            )
        )
        candidate.status = status.value
        candidate.decided_by, candidate.decided_at, candidate.updated_at = actor, now, now
    return False, candidate.status
