"""The ingest path on SQLite and PostgreSQL: dedupe into works, sightings, candidates."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from harvester.core.models import Author, CandidateStatus, Hit, PubDate, WorkKind
from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision, Sighting, Work, WorkIdentity, WorkLink
from harvester.store.works import ingest_hits

NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
TITLE = "Social prescribing for people with long-term conditions: a cohort study"


def pubmed(**changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "pubmed",
        "source_id": "38000001",
        "origin": "query:abc",
        "title": TITLE,
        "pmid": "38000001",
        "doi": "10.1000/sp.2024.1",
        "authors": [Author(family="Example", given="Ann", initials="A")],
        "journal": "Journal of Test Records",
        "volume": "12",
        "pages": "101-109",
        "pub_date": PubDate(2024),
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def feed(title: str, *, source_id: str, origin: str, url: str, **changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "feeds",
        "source_id": source_id,
        "origin": origin,
        "title": title,
        "kind": WorkKind.NEWS,
        "url": url,
        "published_at": dt.datetime(2025, 2, 27, 7, tzinfo=dt.UTC),
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def ingest(db: Database, hits: list[Hit], **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"topic": "sp", "run_id": None, "now": NOW}
    options.update(kwargs)
    with db.write() as session:
        return ingest_hits(session, hits, **options)  # type: ignore[arg-type]


def test_exact_id_merge_keeps_every_sighting(db: Database) -> None:
    ris = pubmed(
        source="import:ris",
        source_id="rec1",
        origin="x.ris",
        pmid=None,
        doi="https://doi.org/10.1000/SP.2024.1",
        title="Different title words",
    )
    result = ingest(db, [pubmed(), ris])
    assert (result.new_works, result.merged, result.new_sightings) == (1, 1, 2)
    assert [o.reason for o in result.outcomes] == ["new", "doi"]
    with db.read() as session:
        assert count(session, Work) == 1
        kinds = set(session.execute(select(WorkIdentity.kind, WorkIdentity.value)))
        assert ("doi", "10.1000/sp.2024.1") in kinds and ("pmid", "38000001") in kinds


def test_same_story_from_several_feeds_is_one_work(db: Database) -> None:
    headline = "Link workers cut GP visits, study finds"
    hits = [
        feed(headline, source_id="bbc-1", origin="BBC", url="https://www.bbc.co.uk/news/health-1"),
        feed(
            f"{headline} - BBC News",
            source_id="g-1",
            origin="Google News",
            url="https://news.google.com/rss/articles/abc",
        ),
        feed(
            headline.upper(),
            source_id="alert-1",
            origin="Google Alerts",
            url="https://www.google.com/url?rct=j&url=https://www.bbc.co.uk/news/health-1",
        ),
    ]
    result = ingest(db, hits)
    assert result.new_works == 1 and result.merged == 2
    with db.read() as session:
        work = session.scalars(select(Work)).one()
        assert len(work.sightings) == 3
        assert {s.origin for s in work.sightings} == {"BBC", "Google News", "Google Alerts"}


def test_conflicting_pmids_never_merge(db: Database) -> None:
    other = pubmed(source_id="38000002", pmid="38000002", doi=None)
    result = ingest(db, [pubmed(), other])
    assert result.new_works == 2 and result.merged == 0


def test_preprint_and_published_version_are_linked(db: Database) -> None:
    preprint = pubmed(
        source="europepmc",
        source_id="PPR1",
        pmid=None,
        doi="10.1101/2023.05.01.123456",
        journal="medRxiv",
        volume=None,
        pages=None,
        pub_date=PubDate(2023),
    )
    result = ingest(db, [preprint, pubmed()])
    assert result.new_works == 2
    with db.read() as session:
        links = {link.relation for link in session.scalars(select(WorkLink))}
        assert links == {"published-as"}


def test_same_batch_twice_changes_nothing(db: Database) -> None:
    hits = [
        pubmed(),
        feed(
            "Link workers cut GP visits",
            source_id="b1",
            origin="BBC",
            url="https://www.bbc.co.uk/news/health-1",
        ),
    ]
    ingest(db, hits)
    with db.read() as session:
        before = [count(session, m) for m in (Work, Sighting, Candidate, Decision, WorkIdentity)]
    again = ingest(db, hits, now=LATER)
    assert (again.new_works, again.new_sightings, again.new_candidates) == (0, 0, 0)
    assert again.merged == 2
    with db.read() as session:
        after = [count(session, m) for m in (Work, Sighting, Candidate, Decision, WorkIdentity)]
        assert after == before
        assert {s.last_seen_at for s in session.scalars(select(Sighting))} == {LATER}
        assert {s.first_seen_at for s in session.scalars(select(Sighting))} == {NOW}


def test_rejected_stays_rejected_when_another_source_finds_it(db: Database) -> None:
    ingest(db, [pubmed()])
    with db.write() as session:
        candidate = session.scalars(select(Candidate)).one()
        candidate.status = CandidateStatus.REJECTED.value
    europepmc = pubmed(source="europepmc", source_id="MED/38000001", origin="q2")
    result = ingest(db, [europepmc], now=LATER)
    assert result.new_candidates == 0
    assert result.outcomes[0].candidate_status == "rejected"
    with db.read() as session:
        work = session.scalars(select(Work)).one()
        assert [s.source for s in work.sightings] == ["pubmed", "europepmc"]


def test_pubmed_feed_and_import_end_as_one_work(db: Database) -> None:
    journal_feed = feed(
        TITLE,
        source_id="toc-1",
        origin="Journal TOC",
        url="https://doi.org/10.1000/sp.2024.1",
        kind=WorkKind.ARTICLE,
        doi=None,
    )
    imported = pubmed(
        source="import:ris",
        source_id="10.1000/sp.2024.1",
        origin="cinahl.ris",
        pmid=None,
        journal="J Test Rec",
        volume=None,
    )
    result = ingest(db, [journal_feed, pubmed(), imported])
    assert result.new_works == 1 and result.merged == 2
    with db.read() as session:
        work = session.scalars(select(Work)).one()
        assert sorted(s.source for s in work.sightings) == ["feeds", "import:ris", "pubmed"]
        # PubMed's bibliographic fields win over the feed's and the import's
        assert (work.metadata_source, work.journal, work.pmid) == (
            "pubmed",
            "Journal of Test Records",
            "38000001",
        )
        assert work.authors == [{"family": "Example", "given": "Ann", "initials": "A"}]


def test_lower_rank_fills_gaps_only(db: Database) -> None:
    ingest(db, [pubmed(pages=None)])
    ingest(db, [pubmed(source="feeds", source_id="f", journal="Other name", pages="101-9")])
    with db.read() as session:
        work = session.scalars(select(Work)).one()
        assert (work.journal, work.pages) == ("Journal of Test Records", "101-9")


def test_import_as_published_promotes_with_a_decision(db: Database) -> None:
    ingest(db, [pubmed()])
    imported = pubmed(source="import:ris", source_id="b1", origin="bulletin-2024.ris")
    result = ingest(db, [imported], status=CandidateStatus.PUBLISHED, actor="librarian")
    assert result.outcomes[0].candidate_status == "published"
    # the reverse never happens: a published candidate is not set back by a later import
    ingest(db, [imported], status=CandidateStatus.NEW)
    with db.read() as session:
        candidate = session.scalars(select(Candidate)).one()
        assert candidate.status == "published"
        trail = [(d.from_status, d.to_status, d.actor) for d in candidate.decisions]
        assert trail == [(None, "new", "harvester"), ("new", "published", "librarian")]


def test_deleted_citation_leaves_a_marker_and_removes_nothing(db: Database) -> None:
    ingest(db, [pubmed()])
    deletion = Hit(
        source="pubmed",
        source_id="38000001",
        origin="update-file",
        title="",
        pmid="38000001",
        deleted=True,
    )
    unknown = Hit(source="pubmed", source_id="1", title="", pmid="1", deleted=True)
    result = ingest(db, [deletion, unknown])
    assert [o.reason for o in result.outcomes] == ["deleted", "deleted"]
    assert result.outcomes[1].work_id is None and result.new_works == 0
    with db.read() as session:
        assert count(session, Work) == 1 and count(session, Candidate) == 1
        reasons = [s.match_reason for s in session.scalars(select(Sighting).order_by(Sighting.id))]
        assert reasons == ["new", "deleted"]


def test_without_topic_no_candidate(db: Database) -> None:
    result = ingest(db, [pubmed()], topic=None)
    assert result.new_candidates == 0 and result.outcomes[0].candidate_status is None


def test_a_feed_entry_with_a_new_guid_and_the_same_link_is_the_same_entry(db: Database) -> None:
    origin = "https://news.example.org/rss"
    url = "https://news.example.org/2025/02/link-workers"
    first = feed("Link workers help GPs", source_id="guid-1", origin=origin, url=url)
    renamed = feed("Link workers help GPs", source_id="guid-2", origin=origin, url=url)
    ingest(db, [first])
    result = ingest(db, [renamed], now=LATER)
    assert (result.new_works, result.new_sightings, result.new_candidates) == (0, 0, 0)
    with db.read() as session:
        (sighting,) = session.scalars(select(Sighting)).all()
        assert sighting.source_id == "guid-2"
        assert sighting.first_seen_at == NOW and sighting.last_seen_at == LATER
    again = ingest(db, [renamed], now=LATER)
    assert (again.new_works, again.new_sightings) == (0, 0)


def test_a_common_blocking_key_drops_no_candidate(db: Database) -> None:
    """One author's 120 papers of one year share the author-and-year key (more than a block was
    once cut at): a copy of the last one, its title mistyped at both ends so that it shares no
    title key, is still compared with it and found."""

    def title(n: int) -> str:
        return f"Outcomes of social prescribing in cohort number {n} of older adults living alone"

    hits = [
        pubmed(source_id=str(n), pmid=str(n), doi=None, title=title(n), pages=f"{n}-{n + 5}")
        for n in range(40000001, 40000121)
    ]
    ingest(db, hits)
    copy = pubmed(
        source="import:ris",
        source_id="rec1",
        origin="x.ris",
        pmid=None,
        doi=None,
        title="Outcome of social prescribing in cohort number 40000120 of older adults living alon",
        pages="40000120-40000125",
    )
    result = ingest(db, [copy], now=LATER)
    assert (result.new_works, result.outcomes[0].work_id) == (0, 120)


def test_missing_dedupe_keys_are_rebuilt_from_the_work_and_its_sightings(db: Database) -> None:
    """Stored keys only save work: a work whose keys are missing (or of an older version) is
    still found, and gets the same keys back."""
    ingest(db, [pubmed(), feed(TITLE, source_id="g1", origin="feed-a", url="https://x.org/a")])
    with db.read() as session:
        stored = session.scalars(select(Work.dedupe_keys).order_by(Work.id)).all()
    assert len(stored) == 2 and all(keys is not None for keys in stored)
    with db.write() as session:
        session.execute(update(Work).values(dedupe_keys=None))
    ris = pubmed(source="import:ris", source_id="rec1", origin="x.ris", pmid=None, doi=None)
    result = ingest(db, [ris], now=LATER)
    assert (result.new_works, result.outcomes[0].work_id) == (0, 1)
    assert result.outcomes[0].reason.startswith("title")
    with db.read() as session:
        assert session.scalars(select(Work.dedupe_keys).order_by(Work.id)).all()[0] == stored[0]


def test_a_reworded_record_without_authors_is_found_at_its_place_in_the_volume(
    db: Database,
) -> None:
    """One database translated the title and dropped the authors: no title or author blocking
    key is shared, the volume, page range and year are, and the journal agrees."""
    first = pubmed(title="Postoperative immunostimulation in bronchial carcinoma: outcome")
    reworded = pubmed(
        source="import:ris",
        source_id="rec7",
        origin="x.ris",
        pmid=None,
        doi=None,
        authors=[],
        journal="J Test Rec",
        title="Postoperative local immunostimulation in bronchial carcinoma",
    )
    # the same place in a volume of another journal: another article
    other = replace(
        reworded,
        source_id="rec8",
        journal="Annals of Lung Surgery",
        title="Immunostimulation after resection of bronchial carcinoma",
    )
    result = ingest(db, [first, reworded, other])
    assert [o.work_id for o in result.outcomes] == [1, 1, 2]
    assert result.outcomes[1].reason.startswith("volume+page+year+journal")
