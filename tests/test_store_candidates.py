"""The queue's read models and versioned decisions on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from harvester.core.errors import AuthError, ConflictError, QueueError, StoreError
from harvester.core.models import Author, CandidateStatus, Hit, PubDate, WorkKind
from harvester.store import users
from harvester.store.candidates import (
    CandidateQuery,
    candidate_page,
    get_candidate,
    status_counts,
    topic_sources,
)
from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision
from harvester.store.works import ingest_hits
from harvester.usecases import review

NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
S = CandidateStatus


def article(n: int, **changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "pubmed",
        "source_id": str(1000 + n),
        "origin": "query:sp",
        "title": f"Distinct study number {n} of community referral schemes in region {n * 7}",
        "pmid": str(1000 + n),
        "authors": [Author(family=f"Author{n}", given="Ann", initials="A")],
        "journal": "Journal of Tests" if n % 2 else "Health Matters",
        "pub_date": PubDate(2000 + n % 20),
        "matched_rule": None,
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def fill(db: Database, count: int, topic: str = "sp") -> list[int]:
    ids = []
    with db.write() as session:
        for n in range(count):
            ingest_hits(
                session,
                [article(n)],
                topic=topic,
                run_id=None,
                now=NOW + dt.timedelta(minutes=n),
            )
        ids = list(session.scalars(select(Candidate.id).order_by(Candidate.id)))
    return ids


def test_keyset_pages_cover_everything_once_in_each_sort(db: Database) -> None:
    fill(db, 23)
    for sort in ("found", "published", "score"):
        seen: list[int] = []
        cursor = None
        with db.read() as session:
            while True:
                page = candidate_page(
                    session, CandidateQuery(topic="sp", sort=sort, cursor=cursor, limit=5)
                )
                assert page.total == 23
                seen.extend(c.id for c in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
        assert len(seen) == 23 == len(set(seen)), sort
    with db.read() as session:
        first = candidate_page(session, CandidateQuery(topic="sp", limit=3)).items
    assert [c.created_at for c in first] == sorted((c.created_at for c in first), reverse=True)


def test_filters_text_status_kind_source_and_date(db: Database) -> None:
    fill(db, 10)
    with db.write() as session:
        ingest_hits(
            session,
            [
                Hit(
                    source="feeds",
                    source_id="g1",
                    origin="https://news.example/rss",
                    title="Link workers praised in town hall",
                    kind=WorkKind.NEWS,
                    url="https://news.example/a",
                    summary_html="<p>Green <b>prescribing</b> pilot</p>",
                    matched_rule="link worker*",
                )
            ],
            topic="sp",
            run_id=None,
            now=NOW + dt.timedelta(days=3),
        )
    with db.read() as session:

        def ids(**kw: object) -> int:
            return candidate_page(session, CandidateQuery(topic="sp", **kw)).total  # type: ignore[arg-type]

        assert ids() == 11
        assert ids(kind="news") == 1
        assert ids(source="feeds") == 1 and ids(source="pubmed") == 10
        assert ids(text="green PRESCRIBING") == 1
        assert ids(text="author3") == 1
        assert ids(text="health matters") == 5
        assert ids(text="100%") == 0
        assert ids(found_from=(NOW + dt.timedelta(days=1)).date()) == 1
        assert ids(found_to=NOW.date()) == 10
        assert ids(statuses=(S.ACCEPTED,)) == 0
        assert topic_sources(session, "sp") == ["feeds", "pubmed"]
        news = candidate_page(session, CandidateQuery(topic="sp", kind="news")).items[0]
        assert news.sightings[0].matched_rule == "link worker*"
    with pytest.raises(QueueError, match="unknown sort"):
        CandidateQuery(topic="sp", sort="title")
    with db.read() as session, pytest.raises(QueueError, match="out of date or damaged"):
        candidate_page(session, CandidateQuery(topic="sp", cursor="garbage"))


def test_decide_undo_and_the_second_reviewer_conflicts(db: Database) -> None:
    cid = fill(db, 1)[0]
    with db.read() as session:
        seen = get_candidate(session, cid)
    after = review.decide(
        db, cid, S.REJECTED, actor="ann", seen_version=seen.version, now=NOW, reason="Off topic"
    )
    assert (after.status, after.reason, after.decided_by) == ("rejected", "Off topic", "ann")
    assert after.version == seen.version + 1
    # Bob saw the same version as Ann: his decision is refused and nothing changes.
    with pytest.raises(ConflictError, match="by ann"):
        review.decide(db, cid, S.ACCEPTED, actor="bob", seen_version=seen.version, now=NOW)
    with db.read() as session:
        assert get_candidate(session, cid).status == "rejected"
        assert status_counts(session, "sp")["rejected"] == 1
    back = review.undo(db, cid, actor="ann", seen_version=after.version, now=NOW)
    assert back.status == "new" and back.reason is None
    edited = review.edit(
        db, cid, actor="bob", seen_version=back.version, now=NOW, note=" check ", set_note=True
    )
    assert edited.note == "check"
    edited = review.edit(
        db,
        cid,
        actor="bob",
        seen_version=edited.version,
        now=NOW,
        summary="For the bulletin",
        set_summary=True,
    )
    assert edited.summary == "For the bulletin" and edited.note == "check"
    accepted = review.decide(
        db,
        cid,
        S.ACCEPTED,
        actor="bob",
        seen_version=edited.version,
        now=NOW,
        section="News",
        sections=("Journal articles", "News"),
    )
    assert accepted.section == "News"
    with db.read() as session:
        rows = session.scalars(
            select(Decision).where(Decision.candidate_id == cid).order_by(Decision.id)
        ).all()
        trail = [(r.actor, r.from_status, r.to_status) for r in rows]
    assert trail == [
        ("harvester", None, "new"),
        ("ann", "new", "rejected"),
        ("ann", "rejected", "new"),
        ("bob", "new", "new"),
        ("bob", "new", "new"),
        ("bob", "new", "accepted"),
    ]
    # undo skips the note edits: it goes back from accepted to new
    assert review.undo(db, cid, actor="bob", seen_version=accepted.version, now=NOW).status == "new"


def test_an_import_moving_a_candidate_forward_bumps_its_version(db: Database) -> None:
    cid = fill(db, 1)[0]
    with db.read() as session:
        before = get_candidate(session, cid).version
    with db.write() as session:
        ingest_hits(
            session,
            [article(0)],
            topic="sp",
            run_id=None,
            now=NOW,
            status=S.PUBLISHED,
            actor="import",
        )
    with db.read() as session:
        after = get_candidate(session, cid)
    assert after.status == "published" and after.version > before
    with pytest.raises(ConflictError):
        review.decide(db, cid, S.REJECTED, actor="ann", seen_version=before, now=NOW)


def test_elsewhere_shows_the_other_topic_decision(db: Database) -> None:
    fill(db, 1, topic="sp")
    other = fill(db, 1, topic="loneliness")
    with db.read() as session:
        ids = sorted(session.scalars(select(Candidate.id)))
    review.decide(db, ids[0], S.REJECTED, actor="ann", seen_version=1, now=NOW)
    with db.read() as session:
        view = get_candidate(session, other[-1] if other[-1] != ids[0] else ids[1])
    assert [(e.topic, e.status, e.decided_by) for e in view.elsewhere] == [
        ("sp", "rejected", "ann")
    ]


def test_add_by_hand_goes_through_dedupe(db: Database) -> None:
    fill(db, 3)
    item = review.ManualItem(
        title="Whatever title typed", identifier="PMID: 1001", source_name="Newsletter"
    )
    cid = review.add_by_hand(db, "sp", item, actor="ann", now=NOW)
    with db.read() as session:
        view = get_candidate(session, cid)
        assert view.work.pmid == "1001"
        assert {s.source for s in view.sightings} == {"pubmed", "manual"}
        assert candidate_page(session, CandidateQuery(topic="sp")).total == 3
    new = review.add_by_hand(
        db,
        "sp",
        review.ManualItem(
            title="Council funds <script>alert(1)</script> scheme",
            identifier="https://example.org/x",
            summary="<b>x</b>",
            date=dt.date(2025, 2, 1),
        ),
        actor="ann",
        now=NOW,
    )
    with db.read() as session:
        view = get_candidate(session, new)
    assert view.work.kind == "news" and view.work.url == "https://example.org/x"
    assert view.work.summary_html == "&lt;b&gt;x&lt;/b&gt;"
    with pytest.raises(QueueError, match="not a DOI, a PMID or an http"):
        review.manual_hit(review.ManualItem(title="t", identifier="javascript:alert(1)"), actor="a")
    assert (
        review.manual_hit(
            review.ManualItem(title="t", identifier="doi:10.1136/BMJ.n1"), actor="a"
        ).doi
        == "10.1136/bmj.n1"
    )


def test_accounts_tokens_and_failed_logins(db: Database) -> None:
    with db.write() as session:
        users.add_user(session, "Ann@Example.org", "correct horse battery", admin=True, now=NOW)
        with pytest.raises(StoreError, match="already exists"):
            users.add_user(session, "ann@example.org", "another long one", admin=False, now=NOW)
        with pytest.raises(StoreError, match="too short"):
            users.add_user(session, "bob@example.org", "short", admin=False, now=NOW)
        token = users.add_token(session, "nightly script", "ann@example.org", now=NOW)
    with db.read() as session:
        assert users.authenticate(session, "ann@example.org", "correct horse battery").is_admin
        with pytest.raises(AuthError):
            users.authenticate(session, "ann@example.org", "wrong password!")
        with pytest.raises(AuthError):
            users.authenticate(session, "nobody@example.org", "correct horse battery")
        assert users.token_user(session, token).email == "ann@example.org"
        with pytest.raises(AuthError):
            users.token_user(session, token + "x")
    with db.write() as session:
        for _ in range(3):
            users.record_failed_login(session, "ann@example.org", "10.0.0.1", NOW)
        users.record_failed_login(session, "bob@example.org", "10.0.0.1", NOW)
        users.record_failed_login(session, "ann@example.org", "10.0.0.2", NOW)
        assert users.failed_logins(
            session, "ann@example.org", "10.0.0.1", NOW - dt.timedelta(minutes=1)
        ) == users.FailedLogins(pair=3, pair_last=NOW, address=4)
        users.clear_failed_logins(session, "ann@example.org", "10.0.0.1")
        assert users.failed_logins(
            session, "ann@example.org", "10.0.0.2", NOW - dt.timedelta(minutes=1)
        ) == users.FailedLogins(pair=1, pair_last=NOW, address=1)
        users.disable_user(session, "ann@example.org")
    with db.read() as session:
        with pytest.raises(AuthError):
            users.authenticate(session, "ann@example.org", "correct horse battery")
        with pytest.raises(AuthError):
            users.token_user(session, token)
