"""A topic's review queue: paged read models, and decisions applied from queue intents.

Reads return frozen views (:class:`~harvester.core.models.CandidateView`, :class:`~harvester.core.models.Page`);
no ORM object leaves this module. Decisions are written by :mod:`harvester.store.decisions`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from harvester.core.errors import NotFoundError, QueueError
from harvester.core.models import (
    AbstractSection,
    Author,
    CandidateStatus,
    CandidateView,
    DecisionView,
    ElsewhereView,
    LinkView,
    Page,
    PubDate,
    SightingView,
    WorkView,
)
from harvester.core.queue_rules import LastDecision
from harvester.store.search import work_match
from harvester.store.tables import (
    Bulletin,
    BulletinEntry,
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkLink,
)

SORTS = ("found", "published", "score")
KINDS = ("article", "news", "other")
MAX_LIMIT = 200
# Candidates whose views are built per query (their ids go into IN lists).
_VIEW_CHUNK = 500
#: Past this many, a count that has to read works or sightings stops: "more than 1000 matching".
COUNT_LIMIT = 1000


def candidate_views(
    session: Session,
    *,
    topic: str | None = None,
    status: CandidateStatus | None = None,
    limit: int | None = None,
    by_work: bool = False,
    by_score: bool = False,
) -> Page[CandidateView]:
    """Candidates (of every topic, or of ``topic``; of any status, or ``status``) with their
    works and sightings, newest first, or by work id with ``by_work``, highest score first with
    ``by_score``; at most ``limit`` of
    them, with the number matching (for the command line and export; the web UI pages through
    :func:`candidate_page`)."""
    where: list[ColumnElement[bool]] = []
    if topic is not None:
        where.append(Candidate.topic == topic)
    if status is not None:
        where.append(Candidate.status == status.value)
    order: tuple[Any, ...] = (
        (Candidate.work_id, Candidate.id)
        if by_work
        else (Candidate.created_at.desc(), Candidate.id.desc())
    )
    if by_score:  # highest score first (unscored last), then newest
        order = (func.coalesce(Candidate.score, literal_column("-1.0")).desc(), *order)
    query = select(Candidate).where(*where).order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    total = session.scalar(select(func.count()).select_from(Candidate).where(*where)) or 0
    views: list[CandidateView] = []
    for start in range(0, len(rows), _VIEW_CHUNK):
        views += _views(session, rows[start : start + _VIEW_CHUNK], details=False)
    return Page(items=tuple(views), next_cursor=None, total=total)


# ------------------------------------------------------------------------------------ queries


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """The filters, sort and position of one queue page."""

    topic: str
    statuses: tuple[CandidateStatus, ...] = ()
    source: str | None = None
    kind: str | None = None
    found_from: dt.date | None = None
    found_to: dt.date | None = None
    text: str | None = None
    sort: str = "found"
    cursor: str | None = None
    limit: int = 25
    ids: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueueError(f"unknown sort {self.sort!r} (sorts: {', '.join(SORTS)})")
        if self.kind is not None and self.kind not in KINDS:
            raise QueueError(f"unknown kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueueError(f"limit must be between 1 and {MAX_LIMIT}")


def _sort_key(sort: str) -> ColumnElement[Any]:
    # the constants are written into the SQL (not bound): the score expression is the one the
    # index ix_candidate_topic_score (migration 0006_search) holds, and a database matches an
    # expression index only against the same expression
    if sort == "published":
        return func.coalesce(Work.pub_year, literal_column("0"))
    if sort == "score":
        return func.coalesce(Candidate.score, literal_column("-1.0"))
    return Candidate.created_at.expression


#: Numbers in a page link are ids, years or scores: anything wider is a damaged link.
_MAX_INT = 2**31 - 1


def _encode_cursor(sort: str, value: Any, candidate_id: int) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).isoformat()
    raw = json.dumps([sort, value, candidate_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, value, candidate_id = json.loads(raw)
        if kind != sort or not isinstance(candidate_id, int) or abs(candidate_id) > _MAX_INT:
            raise ValueError(kind)
        if sort == "found":
            value = dt.datetime.fromisoformat(value)
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > _MAX_INT
        ):
            raise ValueError(value)  # no number a column holds: the database would refuse it
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise QueueError(
            "that page link is out of date or damaged: start from the first page"
        ) from None
    return value, candidate_id


def _filters(query: CandidateQuery, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Candidate.topic == query.topic]
    if query.statuses:
        where.append(Candidate.status.in_([s.value for s in query.statuses]))
    if query.kind:
        where.append(Work.kind == query.kind)
    window: list[ColumnElement[bool]] = []
    if query.found_from:
        start = dt.datetime.combine(query.found_from, dt.time(), dt.UTC)
        window.append(Candidate.created_at >= start)
    if query.found_to:
        end = dt.datetime.combine(query.found_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        window.append(Candidate.created_at < end)
    if dialect == "sqlite" and query.sort != "found":
        # SQLite has no statistics on ranges and would take any date window for a narrow one,
        # reading the whole window and sorting it; likelihood() (a no-op on the value) tells it
        # the window is broad, so it walks the sort's index and stops after one page
        window = [func.likelihood(condition, literal_column("0.9")) for condition in window]
    where += window
    if query.source:
        source = (
            Sighting.source.like("import:%")
            if query.source == "import"
            else (Sighting.source == query.source)
        )
        where.append(exists().where(Sighting.work_id == Candidate.work_id, source))
    if query.ids:
        where.append(Candidate.id.in_(query.ids))
    if query.text and query.text.strip():
        match = work_match(dialect, query.text)
        if match is not None:
            where.append(match)
    return where


def candidate_page(session: Session, query: CandidateQuery) -> Page[CandidateView]:
    """One page of a topic's queue with every card's details, the next page's cursor and the
    number of candidates matching the filters."""
    where = _filters(query, session.get_bind().dialect.name)
    key = _sort_key(query.sort)
    stmt = select(Candidate, key).join(Work, Work.id == Candidate.work_id).where(*where)
    if query.cursor:
        value, last_id = _decode_cursor(query.sort, query.cursor)
        stmt = stmt.where(or_(key < value, and_(key == value, Candidate.id < last_id)))
    stmt = stmt.order_by(key.desc(), Candidate.id.desc()).limit(query.limit + 1)
    rows = session.execute(stmt).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = _encode_cursor(query.sort, rows[-1][1], rows[-1][0].id) if more else None
    count_stmt = select(Candidate.id)
    exact = True
    if query.kind or query.source or (query.text and query.text.strip()):
        # these filters read the work or its sightings for every candidate counted: count up
        # to a bound so a broad filter of a large queue stays fast
        if query.kind or query.sort == "published":
            count_stmt = count_stmt.join(Work, Work.id == Candidate.work_id)
        # in the page's order: the database walks the sort's index as for the page, instead of
        # guessing a join order that reads most of the queue before it finds the bound
        count_stmt = (
            count_stmt.where(*where)
            .order_by(key.desc(), Candidate.id.desc())
            .limit(COUNT_LIMIT + 1)
        )
        total = session.scalar(select(func.count()).select_from(count_stmt.subquery())) or 0
        if total > COUNT_LIMIT:
            total, exact = COUNT_LIMIT, False
    else:
        # without them the count stays on candidate's indexes
        total = session.scalar(select(func.count()).select_from(Candidate).where(*where)) or 0
    views = _views(session, [row[0] for row in rows], details=True)
    return Page(items=tuple(views), next_cursor=next_cursor, total=total, total_exact=exact)


def status_counts(session: Session, topic: str) -> dict[str, int]:
    """How many candidates of ``topic`` have each status (every status present, zero or not)."""
    counts = {s.value: 0 for s in CandidateStatus}
    stmt = (
        select(Candidate.status, func.count())
        .where(Candidate.topic == topic)
        .group_by(Candidate.status)
    )
    for status, count in session.execute(stmt):
        counts[status] = count
    return counts


def topic_sources(session: Session, topic: str) -> list[str]:
    """The sources that found candidates of ``topic`` (import formats grouped as "import")."""
    # a loose index scan of ix_sighting_topic_source: one index seek per distinct source, not a
    # read of every sighting of the topic
    found = (
        select(func.min(Sighting.source).label("source"))
        .where(Sighting.topic == topic)
        .cte("found", recursive=True)
    )
    following = select(
        select(func.min(Sighting.source))
        .where(Sighting.topic == topic, Sighting.source > found.c.source)
        .scalar_subquery()
    ).where(found.c.source.is_not(None))
    found = found.union_all(following)
    stmt = select(found.c.source).where(found.c.source.is_not(None))
    names = {"import" if s.startswith("import:") else s for s in session.scalars(stmt)}
    return sorted(names)


def get_candidate(session: Session, candidate_id: int) -> CandidateView:
    """One candidate with its work, provenance, history, other topics and linked works."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFoundError(f"there is no item {candidate_id}")
    return _views(session, [candidate], details=True)[0]


def last_decision(session: Session, candidate_id: int) -> LastDecision | None:
    """The latest status change of a candidate (edits of its note or summary are passed over)."""
    stmt = (
        select(Decision)
        .where(
            Decision.candidate_id == candidate_id,
            or_(Decision.from_status.is_(None), Decision.from_status != Decision.to_status),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    )
    row = session.scalar(stmt)
    if row is None:
        return None
    return LastDecision(
        id=row.id,
        actor=row.actor,
        from_status=CandidateStatus(row.from_status) if row.from_status else None,
        to_status=CandidateStatus(row.to_status),
        note=row.note,
    )


# -------------------------------------------------------------------------------------- views


def work_view(work: Work) -> WorkView:
    return WorkView(
        id=work.id,
        kind=work.kind,
        title=work.title,
        authors=tuple(Author.from_dict(a) for a in work.authors or []),
        journal=work.journal,
        journal_iso=work.journal_iso,
        volume=work.volume,
        issue=work.issue,
        pages=work.pages,
        pub_date=PubDate.from_dict(work.pub_date) if work.pub_date else None,
        published_at=work.published_at,
        doi=work.doi,
        pmid=work.pmid,
        pmcid=work.pmcid,
        url=work.url,
        abstract=tuple(
            AbstractSection(text=a.get("text", ""), label=a.get("label"))
            for a in work.abstract or []
        ),
        summary_html=work.summary_html,
        source_name=work.source_name,
        publication_types=tuple(work.publication_types or []),
        elocation=work.elocation,
        language=work.language,
        keywords=tuple(work.keywords or []),
        year=work.pub_year,
        deleted_at=work.deleted_at,
    )


def _views(session: Session, candidates: list[Candidate], *, details: bool) -> list[CandidateView]:
    if not candidates:
        return []
    work_ids = sorted({c.work_id for c in candidates})
    works = {w.id: w for w in session.scalars(select(Work).where(Work.id.in_(work_ids)))}
    sightings: dict[int, list[SightingView]] = defaultdict(list)
    decisions: dict[int, list[DecisionView]] = defaultdict(list)
    elsewhere: dict[int, list[tuple[int, ElsewhereView]]] = defaultdict(list)
    links: dict[int, list[LinkView]] = defaultdict(list)
    for s in session.scalars(
        select(Sighting).where(Sighting.work_id.in_(work_ids)).order_by(Sighting.id)
    ):
        sightings[s.work_id].append(
            SightingView(
                source=s.source,
                origin=s.origin,
                topic=s.topic,
                matched_rule=s.matched_rule,
                first_seen_at=s.first_seen_at,
                last_seen_at=s.last_seen_at,
                url=s.url,
                source_id=s.source_id,
                match_reason=s.match_reason,
                title=s.title,
            )
        )
    if details:
        ids = [c.id for c in candidates]
        for d in session.scalars(
            select(Decision).where(Decision.candidate_id.in_(ids)).order_by(Decision.id)
        ):
            decisions[d.candidate_id].append(
                DecisionView(d.id, d.actor, d.at, d.from_status, d.to_status, d.note)
            )
        _load_elsewhere(session, work_ids, elsewhere)
        _load_links(session, work_ids, links)
    views = []
    for c in candidates:
        views.append(
            CandidateView(
                id=c.id,
                topic=c.topic,
                status=c.status,
                version=c.version,
                section=c.section,
                note=c.note,
                summary=c.summary,
                reason=c.reason,
                score=c.score,
                score_reasons=tuple(
                    (str(r[0]), float(r[1]))
                    for r in c.score_reasons or []
                    if isinstance(r, list) and len(r) == 2
                ),
                decided_by=c.decided_by,
                decided_at=c.decided_at,
                created_at=c.created_at,
                work=work_view(works[c.work_id]),
                sightings=tuple(sightings[c.work_id]),
                decisions=tuple(decisions[c.id]),
                elsewhere=tuple(v for cid, v in elsewhere[c.work_id] if cid != c.id),
                links=tuple(links[c.work_id]),
            )
        )
    return views


def _load_elsewhere(
    session: Session, work_ids: list[int], out: dict[int, list[tuple[int, ElsewhereView]]]
) -> None:
    stmt = (
        select(Candidate, Bulletin.title, Bulletin.published_at)
        .outerjoin(BulletinEntry, BulletinEntry.candidate_id == Candidate.id)
        .outerjoin(
            Bulletin, and_(Bulletin.id == BulletinEntry.bulletin_id, Bulletin.status == "published")
        )
        .where(Candidate.work_id.in_(work_ids))
        .order_by(Candidate.id)
    )
    for candidate, title, published_at in session.execute(stmt):
        bulletin = None
        if title:
            bulletin = title + (f" ({published_at.date().isoformat()})" if published_at else "")
        out[candidate.work_id].append(
            (
                candidate.id,
                ElsewhereView(
                    topic=candidate.topic,
                    status=candidate.status,
                    decided_by=candidate.decided_by,
                    decided_at=candidate.decided_at,
                    bulletin=bulletin,
                ),
            )
        )


def _load_links(session: Session, work_ids: list[int], out: dict[int, list[LinkView]]) -> None:
    stmt = select(WorkLink).where(
        or_(WorkLink.work_id.in_(work_ids), WorkLink.other_id.in_(work_ids))
    )
    pairs: list[tuple[int, int, str]] = []
    for link in session.scalars(stmt):
        if link.work_id in work_ids:
            pairs.append((link.work_id, link.other_id, link.relation))
        if link.other_id in work_ids:
            pairs.append((link.other_id, link.work_id, f"{link.relation} (reverse)"))
    others = {o for _, o, _ in pairs}
    if not others:
        return
    titles = {
        row.id: (row.title, row.doi, row.pmid, row.url)
        for row in session.execute(
            select(Work.id, Work.title, Work.doi, Work.pmid, Work.url).where(Work.id.in_(others))
        )
    }
    for work_id, other, relation in pairs:
        title, doi, pmid, url = titles[other]
        link_url = (
            f"https://doi.org/{doi}"
            if doi
            else f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
            if pmid
            else url
        )
        out[work_id].append(LinkView(relation=relation, work_id=other, title=title, url=link_url))


def candidate_for_work(session: Session, topic: str, work_id: int) -> int:
    """The id of the candidate of ``work_id`` in ``topic``."""
    found = session.scalar(
        select(Candidate.id).where(Candidate.topic == topic, Candidate.work_id == work_id)
    )
    if found is None:
        raise NotFoundError(f"work {work_id} has no candidate in topic {topic!r}")
    return found


def candidate_versions(session: Session, candidate_ids: list[int]) -> dict[int, int]:
    """The current version of each of these candidates (for forms that edit them)."""
    if not candidate_ids:
        return {}
    rows = session.execute(
        select(Candidate.id, Candidate.version).where(Candidate.id.in_(candidate_ids))
    ).all()
    return {row.id: row.version for row in rows}
