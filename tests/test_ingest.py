"""The ingest path under stress: batches equal one-by-one, two processes at once, text neither
database can store, and hits the store refuses."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbsupport import postgres_skip_reason
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from harvester.core.models import Author, CandidateStatus, Hit, PubDate, Relation, WorkKind
from harvester.store import works
from harvester.store.db import Database
from harvester.store.tables import (
    Base,
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
)
from harvester.store.works import HitOutcome, ingest_batch, ingest_hits

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
TITLES = [
    "Social prescribing for loneliness in older adults: a randomised trial",
    "Link workers in primary care: a qualitative study",
    "Green prescriptions and mental health outcomes",
    "Editorial",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_dbs(
    request: pytest.FixtureRequest, _templates: Any, tmp_path: Path
) -> Iterator[tuple[Database, Database]]:
    if request.param == "sqlite":
        urls = [_templates.sqlite_url(tmp_path / f"{name}.db") for name in ("a", "b")]
    else:
        reason = postgres_skip_reason()
        if reason:
            pytest.skip(reason)
        urls = [_templates.pg_url() for _ in range(2)]
    dbs = (Database(urls[0]), Database(urls[1]))
    yield dbs
    for db in dbs:
        db.dispose()
    if request.param == "postgresql":
        for url in urls:
            _templates.drop_pg(url)


@st.composite
def hit_strategy(draw: st.DrawFn) -> Hit:
    base = draw(st.integers(0, len(TITLES) - 1))
    title = TITLES[base]
    variant = draw(st.sampled_from(["same", "upper", "dot"]))
    title = title.upper() if variant == "upper" else title + "." if variant == "dot" else title
    source = draw(st.sampled_from(["pubmed", "import:ris", "feeds"]))
    year = draw(st.sampled_from([2020, 2021]))
    relations = []
    if draw(st.integers(0, 5)) == 0:
        relations = [Relation(type="ErratumFor", ref="x", pmid=str(30000000 + (base + 1) % 4))]
    return Hit(
        source=source,
        source_id=draw(st.sampled_from(["a", "b", "c", str(30000000 + base)])),
        origin=draw(st.sampled_from(["o1", "o2"])),
        title=title,
        kind=WorkKind.NEWS if source == "feeds" else WorkKind.ARTICLE,
        authors=[Author(family=draw(st.sampled_from(["Smith", "Jones"])), initials="A")],
        journal=draw(st.sampled_from([None, "BMJ Open"])),
        volume=draw(st.sampled_from([None, "12"])),
        pages=draw(st.sampled_from([None, "101-109"])),
        pub_date=PubDate(year),
        published_at=dt.datetime(year, 3, 1, tzinfo=dt.UTC) if source == "feeds" else None,
        pmid=draw(st.sampled_from([None, str(30000000 + base), str(30000010 + base)])),
        doi=draw(st.sampled_from([None, f"10.1000/{base}", f"10.1000/x{base}"])),
        url=draw(st.sampled_from([None, f"https://example.org/{base}", "https://example.org/s"])),
        relations=relations,
        raw=title.encode(),
        deleted=source == "pubmed" and draw(st.integers(0, 9)) == 0,
    )


def _clear(db: Database) -> None:
    with db.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def _snapshot(db: Database) -> dict[str, Any]:
    """Everything ingest writes, work ids replaced by their position."""
    with db.read() as session:
        works = session.scalars(select(Work).order_by(Work.id)).all()
        index = {work.id: n for n, work in enumerate(works)}
        columns = [c.key for c in Work.__table__.columns if c.key != "id"]
        candidates = session.scalars(select(Candidate).order_by(Candidate.id)).all()
        by_candidate = {c.id: index[c.work_id] for c in candidates}
        return {
            "works": [[getattr(w, name) for name in columns] for w in works],
            "sightings": [
                (
                    index[s.work_id],
                    s.source,
                    s.source_id,
                    s.origin,
                    s.match_reason,
                    s.title,
                    s.url,
                    s.raw,
                    s.topic,
                    s.first_seen_at,
                    s.last_seen_at,
                )
                for s in session.scalars(select(Sighting).order_by(Sighting.id))
            ],
            "identities": sorted(
                (index[i.work_id], i.kind, i.value) for i in session.scalars(select(WorkIdentity))
            ),
            "keys": sorted((index[k.work_id], k.key) for k in session.scalars(select(WorkKey))),
            "links": sorted(
                (index[x.work_id], index[x.other_id], x.relation)
                for x in session.scalars(select(WorkLink))
            ),
            "candidates": [
                (index[c.work_id], c.topic, c.status, c.decided_by, c.decided_at)
                for c in candidates
            ],
            "decisions": sorted(
                (by_candidate[d.candidate_id], d.actor, d.from_status or "", d.to_status)
                for d in session.scalars(select(Decision))
            ),
        }, index


def _outcomes(outcomes: list[HitOutcome], index: dict[int, int]) -> list[tuple[Any, ...]]:
    return [
        (
            None if o.work_id is None else index[o.work_id],
            o.created,
            o.reason,
            o.candidate_status,
            o.new_sighting,
        )
        for o in outcomes
    ]


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(hit_strategy(), min_size=0, max_size=4),
    batch=st.lists(hit_strategy(), min_size=1, max_size=10),
    status=st.sampled_from([CandidateStatus.NEW, CandidateStatus.PUBLISHED]),
)
def test_a_batch_gives_what_its_hits_give_one_by_one(
    two_dbs: tuple[Database, Database], first: list[Hit], batch: list[Hit], status: CandidateStatus
) -> None:
    """Repeats, near-duplicates, conflicting ids, deletions and relations: storing a batch in one
    call leaves exactly the rows (and outcomes) that storing its hits in one call each leaves."""
    together, alone = two_dbs
    for db in two_dbs:
        _clear(db)
        with db.write() as session:  # something stored before
            ingest_hits(session, first, topic="t", run_id=None, now=NOW)
    later = NOW + dt.timedelta(days=1)
    with together.write() as session:
        batched = ingest_hits(
            session, batch, topic="t", run_id=None, now=later, status=status, actor="a"
        ).outcomes
    single = []
    for hit in batch:
        with alone.write() as session:
            single += ingest_hits(
                session, [hit], topic="t", run_id=None, now=later, status=status, actor="a"
            ).outcomes
    (got, got_index), (want, want_index) = _snapshot(together), _snapshot(alone)
    assert got == want
    assert _outcomes(batched, got_index) == _outcomes(single, want_index)


# --------------------------------------------------------------------- two processes at once


def _record(n: int, origin: str) -> Hit:
    """Record ``n``: even ones carry a PMID and DOI, odd ones only a title (merged by title)."""
    ids = n % 2 == 0
    return Hit(
        source="import:ris",
        source_id=f"r{n}",
        origin=origin,
        title=f"Record number {n} about {'link workers' if n % 3 else 'green prescriptions'}",
        authors=[Author(family=f"Author{n}", initials="A")],
        journal="Journal of Tests",
        volume=str(n),
        pub_date=PubDate(2020),
        pmid=str(31000000 + n) if ids else None,
        doi=f"10.1000/rec.{n}" if ids else None,
    )


def _ingest_in_process(url: str, first: int, last: int, origin: str, errors: Any) -> None:
    db = Database(url)
    try:
        for start in range(first, last, 10):
            # as an import stores a batch: planned before the write lock, planned again under
            # it when the other process wrote in between
            hits = [_record(n, origin) for n in range(start, min(start + 10, last))]
            ingest_batch(db, hits, topic="t", run_id=None, now=NOW)
    except Exception as exc:  # reported to the test
        errors.put(f"{type(exc).__name__}: {exc}")
    finally:
        db.dispose()


@pytest.mark.slow
def test_two_processes_ingesting_overlapping_records_at_once(db_url: str) -> None:
    """Two imports at once (records 0-79 and 40-119, the overlap in the same order): no error,
    and every record is one work."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [
        context.Process(target=_ingest_in_process, args=(db_url, 0, 80, "a.ris", errors)),
        context.Process(target=_ingest_in_process, args=(db_url, 40, 120, "b.ris", errors)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    assert [worker.exitcode for worker in workers] == [0, 0]
    db = Database(db_url)
    try:
        with db.read() as session:
            works = session.scalars(select(Work.title)).all()
            sightings = session.scalars(select(Sighting.id)).all()
    finally:
        db.dispose()
    assert len(works) == len(set(works)) == 120
    assert len(sightings) == 160


# -------------------------------------------------------------------- text for both databases


def test_text_neither_database_refuses(db: Database) -> None:
    """NUL and control characters, a volume over 64 characters, a DOI over 255, a feed guid
    over 512 and two links equal in their first 512 characters are stored alike on both."""
    long_link = "https://news.example.org/" + "a" * 600
    hits = [
        Hit(
            source="import:ris",
            source_id="rec\x001",
            origin="x.ris",
            title="Null\x00 byte\x07 title",
            authors=[Author(family="Sm\x00ith")],
            volume="Suppl " + "1" * 100,
            issue="2" * 80,
            pages="3" * 90,
            doi="10.1000/" + "d" * 300,
            abstract=[],
            keywords=["bad\x00keyword"],
            pub_date=PubDate(2020),
        ),
        Hit(
            source="feeds",
            source_id="guid-" + "g" * 700,
            origin="https://news.example.org/feed",
            title="First story",
            kind=WorkKind.NEWS,
            url=long_link + "-one",
            matched_rule="r" * 300,
        ),
        Hit(
            source="feeds",
            source_id="guid-2",
            origin="https://news.example.org/feed",
            title="A quite different second story",
            kind=WorkKind.NEWS,
            url=long_link + "-two",
        ),
    ]
    with db.write() as session:
        result = ingest_hits(session, hits, topic="t", run_id=None, now=NOW)
    assert result.new_works == 3
    with db.read() as session:
        work = session.scalars(select(Work).order_by(Work.id)).first()
        assert work is not None
        assert work.title == "Null byte title" and work.authors == [{"family": "Smith"}]
        assert work.volume == "Suppl " + "1" * 100 and work.doi == "10.1000/" + "d" * 300
        assert work.keywords == ["badkeyword"]
        sightings = session.scalars(select(Sighting).order_by(Sighting.id)).all()
        assert sightings[0].source_id == "rec1"
        assert len(sightings[1].source_id) == 512 and sightings[1].source_id.startswith("guid-")
        assert sightings[1].matched_rule == "r" * 255
        urls = session.scalars(select(WorkIdentity.value).where(WorkIdentity.kind == "url"))
        assert len(set(urls)) == 2
    # The same hits again are the same records: nothing new.
    again = [
        Hit(
            source="feeds",
            source_id="guid-" + "g" * 700,
            origin="https://news.example.org/feed",
            title="First story",
            kind=WorkKind.NEWS,
            url=long_link + "-one",
        )
    ]
    with db.write() as session:
        assert ingest_hits(session, again, topic="t", run_id=None, now=NOW).new_sightings == 0


def test_an_over_long_field_is_cut_with_a_note() -> None:
    hit = Hit(source="import:ris", source_id="1", title="T", language="x" * 40, doi="1" * 2000)
    assert hit.language == "x" * 16 and hit.doi is not None and len(hit.doi) == 1024
    assert hit.notes == [
        "doi cut to 1024 of its 2000 characters",
        "language cut to 16 of its 40 characters",
    ]


def test_new_works_and_candidates_take_the_ids_their_rows_have(db: Database) -> None:
    """The ids a batch reports for its new works and candidates are their rows' ids, also
    after the oldest and the newest work were deleted (SQLite then gives the newest's id
    again)."""

    def hit(n: int, title: str) -> Hit:
        return Hit(
            source="import:ris",
            source_id=f"rec{n}",
            origin="ids.ris",
            title=title,
            authors=[Author(family=f"Author{n}", initials="A")],
            pub_date=PubDate(2020 + n % 3),
        )

    first = [hit(n, title) for n, title in enumerate(TITLES[:3])]
    with db.write() as session:
        stored = ingest_hits(session, first, topic="t", run_id=None, now=NOW)
    made = [o.work_id for o in stored.outcomes if o.work_id is not None]
    with db.write() as session:
        session.execute(delete(Work).where(Work.id.in_([min(made), max(made)])))
    later = [
        hit(10, "Allotment gardening groups and wellbeing: a cohort study"),
        hit(11, "Arts on prescription for people with chronic pain"),
    ]
    with db.write() as session:
        result = ingest_hits(
            session, later, topic="t", run_id=None, now=NOW, status=CandidateStatus.ACCEPTED
        )
    assert result.new_works == 2 and result.new_candidates == 2
    with db.read() as session:
        for outcome, sent in zip(result.outcomes, later, strict=True):
            assert outcome.created and outcome.work_id is not None
            assert session.get(Work, outcome.work_id).title == sent.title  # type: ignore[union-attr]
            candidate = session.scalars(
                select(Candidate).where(Candidate.work_id == outcome.work_id)
            ).one()
            decisions = session.scalars(
                select(Decision).where(Decision.candidate_id == candidate.id)
            ).all()
            assert candidate.status == "accepted"
            assert [d.to_status for d in decisions] == ["accepted"]


# -------------------------------------------------------------------- planned before the lock


def _article(n: int, title: str, source_id: str | None = None) -> Hit:
    return Hit(
        source="import:ris",
        source_id=source_id or f"rec{n}",
        origin="ahead.ris",
        title=title,
        authors=[Author(family=f"Author{n}", initials="A")],
        journal="BMJ Open",
        volume="12",
        pages=f"{100 + n}-{109 + n}",
        pub_date=PubDate(2020),
        doi=f"10.1000/ahead.{n}",
    )


def test_a_batch_planned_before_the_lock_is_written_as_planned(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing committed between the planning and the writing: the plan made on the read
    snapshot is the one written, and the batch stores what ingest_hits stores."""
    written: list[works.Planned | None] = []
    original = works.ingest_hits

    def spy(session: Any, hits: Any, **kwargs: Any) -> works.IngestResult:
        written.append(kwargs.get("planned"))
        return original(session, hits, **kwargs)

    monkeypatch.setattr(works, "ingest_hits", spy)
    batch = [_article(n, title) for n, title in enumerate(TITLES[:3])]
    batch.append(_article(0, TITLES[0].upper(), source_id="again"))  # the first, seen again
    result = ingest_batch(db, batch, topic="t", run_id=None, now=NOW)
    assert result.new_works == 3 and result.merged == 1 and result.new_candidates == 3
    if db.is_sqlite:
        assert len(written) == 1 and written[0] is not None
        assert [h.source_id for h in written[0].hits] == ["rec0", "rec1", "rec2", "again"]
    else:  # PostgreSQL plans under its advisory lock, as before
        assert written == [None]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Work)) == 3
        assert session.scalar(select(func.count()).select_from(Sighting)) == 4


def test_a_batch_is_planned_again_when_another_writer_committed_after_its_planning(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harvest stores an article while an import plans a batch that has it too: the stale
    plan (a new work) is dropped and the batch planned again under the lock, so the record
    joins the harvest's work. The other writer is not kept waiting by the planning. (SQLite:
    PostgreSQL plans under its advisory lock.)"""
    db = sqlite_db
    original = works._plan

    def harvest() -> None:
        with db.write() as session:
            hit = _article(1, TITLES[1], source_id="harvested")
            ingest_hits(session, [hit], topic="t", run_id=None, now=NOW)

    calls: list[int] = []

    def plan_while_another_writes(*args: Any) -> Any:
        planned = original(*args)
        calls.append(len(calls))
        if len(calls) > 1:  # the harvest's plan, or the batch's again under the lock
            return planned
        other = threading.Thread(target=harvest)
        other.start()
        other.join(timeout=20)
        assert not other.is_alive()  # the planning held no write lock
        return planned

    monkeypatch.setattr(works, "_plan", plan_while_another_writes)
    batch = [_article(n, title) for n, title in enumerate(TITLES[:3])]
    result = ingest_batch(db, batch, topic="t", run_id=None, now=NOW)
    monkeypatch.undo()
    assert len(calls) == 3  # the batch ahead of the lock, the harvest, the batch again
    assert result.new_works == 2 and result.merged == 1
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Work)) == 3
        rows = session.execute(select(Sighting.source_id, Sighting.work_id)).all()
    by_id = dict(rows)
    assert by_id["rec1"] == by_id["harvested"]


def test_a_failed_write_after_planning_ahead_stores_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(works, "apply_plan", broken)
    with pytest.raises(RuntimeError):
        ingest_batch(db, [_article(0, TITLES[0])], topic="t", run_id=None, now=NOW)
    monkeypatch.undo()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Work)) == 0
    # and the database is usable afterwards
    assert (
        ingest_batch(db, [_article(0, TITLES[0])], topic="t", run_id=None, now=NOW).new_works == 1
    )
