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
   sighting takes the new id instead of a second sighting being added.
5. A hit marked ``deleted`` (PubMed DeleteCitation) only leaves a sighting with reason
   ``deleted`` on the work it names, if there is one: nothing a user decided on is removed.

The caller owns the transaction (``Database.write()``); the session is flushed after each hit so
that later hits of the same batch see the works earlier ones created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from harvester.dedupe import Keys, decide, hit_keys, make_keys, news_title_key
from harvester.models import CandidateStatus, Hit, Relation, WorkKind
from harvester.normalise import author_key, normalise_doi, normalise_pmid, normalise_title
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
    result = IngestResult()
    for hit in hits:
        with session.no_autoflush:  # one explicit flush per hit is enough, and much cheaper
            outcome = _ingest_one(session, hit, topic=topic, run_id=run_id, now=now)
        if outcome.work_id is not None and not outcome.created:
            result.merged += 1
        result.new_works += outcome.created
        result.new_sightings += outcome.new_sighting
        if topic is not None and outcome.work_id is not None and outcome.reason != "deleted":
            with session.no_autoflush:
                created, outcome.candidate_status = _ensure_candidate(
                    session, topic, outcome.work_id, status, run_id=run_id, now=now, actor=actor
                )
            result.new_candidates += created
        result.outcomes.append(outcome)
        session.flush()
    return result


def _ingest_one(
    session: Session, hit: Hit, *, topic: str | None, run_id: int | None, now: dt.datetime
) -> HitOutcome:
    origin = hit.origin or ""
    sighting = session.scalar(
        select(Sighting).where(
            Sighting.source == hit.source,
            Sighting.source_id == hit.source_id,
            Sighting.origin == origin,
        )
    )
    keys = hit_keys(hit)
    if hit.deleted:
        return _record_deletion(session, hit, keys, sighting, run_id=run_id, now=now)
    if sighting is not None:
        sighting.last_seen_at = now
        _merge_metadata(sighting.work, hit, keys, now)
        return HitOutcome(sighting.work_id, False, "seen before")
    candidates = _candidate_works(session, keys)
    match = decide(keys, ((work.id, _work_keys(work)) for work in candidates))
    if match.work_id is None:
        work = Work(metadata_source=hit.source, metadata_rank=-1, created_at=now, updated_at=now)
        session.add(work)
        created = True
    else:
        work = next(w for w in candidates if w.id == match.work_id)
        created = False
    _merge_metadata(work, hit, keys, now)
    session.flush()
    same_entry = None if created else _same_entry(work, hit)
    if same_entry is not None:
        # A feed re-issued an entry under a new guid with the same link: it is the same entry.
        same_entry.source_id = hit.source_id
        same_entry.last_seen_at = now
        return HitOutcome(work.id, False, "seen before (new id)")
    _add_sighting(work, hit, match.reason, topic=topic, run_id=run_id, now=now)
    _add_keys(session, work, keys)
    for link in match.links:
        _add_link(session, work.id, link.work_id, link.relation, now)
    _link_relations(session, work.id, hit.relations, now)
    return HitOutcome(work.id, created, match.reason, new_sighting=True)


def _same_entry(work: Work, hit: Hit) -> Sighting | None:
    """The sighting of ``work`` by the same source and origin with the same link, if any."""
    if not hit.url:
        return None
    origin = hit.origin or ""
    for sighting in work.sightings:
        if sighting.source == hit.source and sighting.origin == origin and sighting.url == hit.url:
            return sighting
    return None


def _record_deletion(
    session: Session,
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
    owners = _identity_owners(session, keys.identities())
    if not owners:
        return HitOutcome(None, False, "deleted")
    work = session.get_one(Work, min(owners))
    _add_sighting(work, hit, "deleted", topic=None, run_id=run_id, now=now)
    return HitOutcome(work.id, False, "deleted", new_sighting=True)


def _identity_owners(session: Session, identities: list[tuple[str, str]]) -> set[int]:
    if not identities:
        return set()
    clauses = [and_(WorkIdentity.kind == k, WorkIdentity.value == v) for k, v in identities]
    return set(session.scalars(select(WorkIdentity.work_id).where(or_(*clauses))))


def _candidate_works(session: Session, keys: Keys) -> list[Work]:
    """The works sharing an exact identity or a blocking key with ``keys``."""
    ids = _identity_owners(session, keys.identities())
    blocks = keys.blocks()
    if blocks:
        sizes = session.execute(
            select(WorkKey.key, func.count()).where(WorkKey.key.in_(blocks)).group_by(WorkKey.key)
        ).all()
        usable = [key for key, size in sizes if size <= MAX_BLOCK]
        if usable:
            ids |= set(session.scalars(select(WorkKey.work_id).where(WorkKey.key.in_(usable))))
    if not ids:
        return []
    query = (
        select(Work)
        .where(Work.id.in_(ids))
        .options(selectinload(Work.identities), selectinload(Work.sightings))
        .order_by(Work.id)
    )
    return list(session.scalars(query))


def _work_keys(work: Work) -> Keys:
    kind = WorkKind(work.kind)
    titles = [work.title_key]
    for sighting in work.sightings:
        if sighting.title:
            titles.append(
                news_title_key(sighting.title)
                if kind is WorkKind.NEWS
                else normalise_title(sighting.title)
            )
    day = work.published_at.date() if work.published_at else None
    if day is None and work.pub_date and work.pub_date.get("day"):
        date = work.pub_date
        day = dt.date(int(date["year"]), int(date["month"] or 1), int(date["day"]))
    return make_keys(
        titles,
        doi=work.doi,
        pmid=work.pmid,
        pmcid=work.pmcid,
        urls=[i.value for i in work.identities if i.kind == "url"],
        year=work.pub_year,
        day=day,
        authors=[a.get("family") or a.get("collective") for a in work.authors],
        volume=work.volume,
        pages=work.pages,
        kind=kind,
        journal=work.journal,
        publication_types=work.publication_types,
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


def _merge_metadata(work: Work, hit: Hit, keys: Keys, now: dt.datetime) -> None:
    """Higher-ranked sources replace the fields they have; others fill the empty ones.

    Only values that differ are assigned, so seeing the same record again changes nothing.
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
        work.block_key = (keys.blocks() or [""])[0][:64]
        first = work.authors[0] if work.authors else {}
        work.author_key = author_key(first.get("family") or first.get("collective"))
        work.updated_at = now


def _add_sighting(
    work: Work,
    hit: Hit,
    reason: str,
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
) -> None:
    work.sightings.append(
        Sighting(
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
    )


def _add_keys(session: Session, work: Work, keys: Keys) -> None:
    """Record the hit's identities (those no other work owns) and blocking keys on the work."""
    owned = (
        {
            (kind, value): owner
            for kind, value, owner in session.execute(
                select(WorkIdentity.kind, WorkIdentity.value, WorkIdentity.work_id).where(
                    or_(
                        *[
                            and_(WorkIdentity.kind == k, WorkIdentity.value == v)
                            for k, v in keys.identities()
                        ]
                    )
                )
            )
        }
        if keys.identities()
        else {}
    )
    for kind, value in keys.identities():
        if (kind, value) not in owned:
            session.add(WorkIdentity(work_id=work.id, kind=kind, value=value[:512]))
    blocks = keys.blocks()
    if blocks:
        have = set(
            session.scalars(
                select(WorkKey.key).where(WorkKey.work_id == work.id, WorkKey.key.in_(blocks))
            )
        )
        session.add_all(WorkKey(work_id=work.id, key=key) for key in blocks if key not in have)


def _add_link(
    session: Session, work_id: int, other_id: int, relation: str, now: dt.datetime
) -> None:
    if work_id == other_id:
        return
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
        for other in sorted(_identity_owners(session, identities)):
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
    run_id: int | None,
    now: dt.datetime,
    actor: str,
) -> tuple[bool, str]:
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
        session.flush()
        session.add(
            Decision(candidate_id=candidate.id, actor=actor, at=now, to_status=status.value)
        )
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
