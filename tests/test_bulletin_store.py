"""Drafting and publishing against the database (SQLite and PostgreSQL): the draft's window,
moves, removals, edited summaries, publishing and its refusals, re-rendering a past bulletin,
and published works never coming back to the queue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from harvester.config.settings import Topic, load_topic
from harvester.core.errors import BulletinError
from harvester.core.layout import ordered_items
from harvester.core.models import AbstractSection, Author, CandidateStatus, Hit, PubDate, WorkKind
from harvester.render.formats import render
from harvester.store.candidates import get_candidate
from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision, Work
from harvester.store.works import ingest_hits
from harvester.usecases import review
from harvester.usecases.bulletin import workflow

NOW = dt.datetime(2024, 12, 1, 12, 0, tzinfo=dt.UTC)
SLUG = "sp"


@pytest.fixture
def topic(tmp_path: Path) -> Topic:
    path = tmp_path / "sp.toml"
    path.write_text(
        '[topic]\nname = "Social prescribing"\n[bulletin]\ntitle = "SOCIAL PRESCRIBING"\n'
        'contact = "library@example.org"\n'
        'sections = [{title = "NEW EVIDENCE", kinds = ["article", "other"]}, "NEWS"]\n'
        '[[bulletin.resources]]\nlabel = "NHS England"\nurl = "https://www.england.nhs.uk/"\n',
        encoding="utf-8",
    )
    return load_topic(path)


def hit(n: int, family: str, *, kind: WorkKind = WorkKind.ARTICLE) -> Hit:
    return Hit(
        source="pubmed" if kind is WorkKind.ARTICLE else "feeds",
        source_id=str(1000 + n),
        title=f"Study number {n} of link workers and {family}",
        kind=kind,
        authors=[Author(family=family, initials="A")] if kind is WorkKind.ARTICLE else [],
        journal="British journal of general practice" if kind is WorkKind.ARTICLE else None,
        volume="74",
        pages=f"{n}0-{n}9",
        pub_date=PubDate(year=2024, month=min(9 + n, 12)),
        pmid=str(39000000 + n) if kind is WorkKind.ARTICLE else None,
        url=f"https://news.example.org/{n}" if kind is WorkKind.NEWS else None,
        source_name="BBC News" if kind is WorkKind.NEWS else None,
        abstract=[AbstractSection(text=f"Abstract {n}.", label="RESULTS")],
    )


def load(db: Database, hits: list[Hit], status: CandidateStatus, at: dt.datetime) -> None:
    with db.write() as session:
        ingest_hits(session, hits, topic=SLUG, run_id=None, now=at, status=status, actor="t")


def statuses(db: Database) -> dict[str, str]:
    with db.read() as session:
        rows = session.execute(select(Work.title, Candidate.status).join(Candidate)).all()
    return {title.split(" and ")[1]: status for title, status in rows}


@pytest.fixture
def loaded(db: Database) -> Database:
    early = NOW - dt.timedelta(days=60)
    load(
        db, [hit(1, "Zeta"), hit(2, "Alpha")], CandidateStatus.ACCEPTED, NOW - dt.timedelta(days=5)
    )
    load(db, [hit(3, "Old")], CandidateStatus.ACCEPTED, early)
    load(db, [hit(4, "Queue")], CandidateStatus.NEW, NOW)
    load(db, [hit(5, "News", kind=WorkKind.NEWS)], CandidateStatus.ACCEPTED, NOW)
    return db


def test_draft_holds_every_accepted_item_and_filters_say_what_on(
    loaded: Database, topic: Topic
) -> None:
    # no filter: every accepted item not yet published, whenever it was accepted
    bulletin_id, doc, left_out = workflow.draft(loaded, topic, now=NOW)
    assert len(doc.items) == 4 and left_out == 0
    # the period defaults to the span of the entries' publication dates
    assert doc.period == "October–December 2024"
    # --from/--to filter on the day an item was accepted, and say how many they left out
    again, doc, left_out = workflow.draft(
        loaded, topic, start=dt.date(2024, 11, 1), end=dt.date(2024, 12, 1), now=NOW
    )
    assert again == bulletin_id and left_out == 1
    names = [i.authors[0].family if i.authors else i.source_name for i in ordered_items(doc)]
    assert names == ["Alpha", "Zeta", "BBC News"]
    assert [i.section for i in ordered_items(doc)] == ["NEW EVIDENCE"] * 2 + ["NEWS"]
    assert doc.period == "October–December 2024"


def test_a_filter_never_empties_a_draft_silently(loaded: Database, topic: Topic) -> None:
    workflow.draft(loaded, topic, now=NOW)
    # accepted in December for an "October–November" issue: the filter finds nothing
    with pytest.raises(BulletinError, match="filter on the day an item was accepted"):
        workflow.draft(loaded, topic, start=dt.date(2025, 1, 1), now=NOW)
    _, doc = workflow.draft_doc(loaded, topic)
    assert len(doc.items) == 4  # the draft is unchanged


def test_the_period_label_is_set_on_its_own(loaded: Database, topic: Topic) -> None:
    _, doc, _ = workflow.draft(loaded, topic, period="October–November 2024", now=NOW)
    assert doc.period == "October–November 2024" and len(doc.items) == 4
    _, doc, _ = workflow.draft(loaded, topic, now=NOW)  # a refresh keeps it
    assert doc.period == "October–November 2024"
    workflow.set_period(loaded, topic, "Autumn 2024")
    assert workflow.draft_doc(loaded, topic)[1].period == "Autumn 2024"
    workflow.set_period(loaded, topic, "")  # back to the span of the dates
    assert workflow.draft_doc(loaded, topic)[1].period == "October–December 2024"
    workflow.set_period(loaded, topic, "October–November 2024")
    view = workflow.publish(loaded, topic, now=NOW)
    assert workflow.published_doc(loaded, view.id).period == "October–November 2024"


def test_move_remove_restore_and_edit_summary(loaded: Database, topic: Topic) -> None:
    _, doc, _ = workflow.draft(loaded, topic, now=NOW)
    by_name = {i.authors[0].family if i.authors else "news": i for i in doc.items}
    workflow.move_entry(loaded, topic, by_name["Zeta"].entry_id, "NEW EVIDENCE", 0)
    workflow.move_entry(loaded, topic, by_name["news"].entry_id, "NEW EVIDENCE", 1)
    workflow.remove_entry(loaded, topic, by_name["Old"].entry_id)
    alpha_id = by_name["Alpha"].candidate_id
    with loaded.read() as session:
        seen = get_candidate(session, alpha_id).version
    review.edit(
        loaded,
        alpha_id,
        actor="rev@example.org",
        seen_version=seen,
        now=NOW,
        summary="  Edited by the reviewer. ",
        set_summary=True,
    )
    _, doc = workflow.draft_doc(loaded, topic)
    order = [(i.authors[0].family if i.authors else "news", i.section) for i in ordered_items(doc)]
    assert order == [("Zeta", "NEW EVIDENCE"), ("news", "NEW EVIDENCE"), ("Alpha", "NEW EVIDENCE")]
    alpha = next(i for i in doc.items if i.candidate_id == by_name["Alpha"].candidate_id)
    assert [s.text for s in alpha.summary()] == ["Edited by the reviewer."]
    # a refresh keeps the removal and the order
    _, doc, _ = workflow.draft(loaded, topic, now=NOW)
    assert len(doc.items) == 3
    assert statuses(loaded)["Old"] == "accepted"
    workflow.restore_entry(loaded, topic, by_name["Old"].entry_id)
    _, doc = workflow.draft_doc(loaded, topic)
    assert len(doc.items) == 4
    with pytest.raises(BulletinError, match="unknown section"):
        workflow.move_entry(loaded, topic, by_name["Zeta"].entry_id, "NOPE", 0)
    with pytest.raises(BulletinError, match="not in this bulletin"):
        workflow.move_entry(loaded, topic, 99999, "NEWS", 0)


def test_publish_marks_published_and_they_never_return(loaded: Database, topic: Topic) -> None:
    _, doc, _ = workflow.draft(loaded, topic, now=NOW)
    html_before = render(doc, "html")
    view = workflow.publish(loaded, topic, now=NOW, actor="alice")
    assert view.status == "published" and view.entries == 4
    assert statuses(loaded) == {
        "Zeta": "published",
        "Alpha": "published",
        "Old": "published",
        "Queue": "new",
        "News": "published",
    }
    with loaded.read() as session:
        decisions = session.scalars(
            select(Decision).where(Decision.to_status == "published", Decision.actor == "alice")
        ).all()
    assert len(decisions) == 4 and all(d.from_status == "accepted" for d in decisions)
    # refusals: no draft left, a published bulletin cannot be published again
    with pytest.raises(BulletinError, match="no draft"):
        workflow.publish(loaded, topic, now=NOW)
    # harvesting and importing the same works again leaves them published
    load(loaded, [hit(1, "Zeta"), hit(2, "Alpha")], CandidateStatus.NEW, NOW)
    load(loaded, [hit(3, "Old")], CandidateStatus.ACCEPTED, NOW)
    assert statuses(loaded)["Zeta"] == "published" and statuses(loaded)["Old"] == "published"
    # the next draft is empty and refuses to publish
    _, doc, _ = workflow.draft(loaded, topic, now=NOW + dt.timedelta(days=30))
    assert doc.items == () and doc.period == ""
    with pytest.raises(BulletinError, match="nothing to publish"):
        workflow.publish(loaded, topic, now=NOW)
    # the past bulletin re-renders exactly, even after its works changed
    with loaded.write() as session:
        for work in session.scalars(select(Work)):
            work.title = "Changed"
    listed = workflow.list_bulletins(loaded, SLUG)
    published = next(v for v in listed if v.status == "published")
    assert render(workflow.published_doc(loaded, published.id), "html") == html_before
    draft_view = next(v for v in listed if v.status == "draft")
    with pytest.raises(BulletinError, match="is a draft"):
        workflow.published_doc(loaded, draft_view.id)


def test_draft_without_draft_and_bad_window(loaded: Database, topic: Topic) -> None:
    with pytest.raises(BulletinError, match="has no draft"):
        workflow.draft_doc(loaded, topic)
    with pytest.raises(BulletinError, match="is after"):
        workflow.draft(loaded, topic, start=dt.date(2024, 12, 5), end=dt.date(2024, 12, 1), now=NOW)
