"""Items added by hand and citations corrected by a reviewer: every field a citation needs, from
the command line and the web form, tracking parameters off typed links, a title match merging
instead of a second card, the correction recorded with who and when under the version check."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from websupport import REVIEWER, TOPIC, build, seed

from harvester.cli.main import cli
from harvester.core.bulletin import BulletinItem
from harvester.core.csl import cite
from harvester.core.errors import ConflictError, QueueError
from harvester.core.manual import CitationInput, parse_authors, parse_identifier, parse_year
from harvester.core.models import Author, CandidateStatus, WorkKind, citation_fields
from harvester.store.candidates import get_candidate
from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision, Work
from harvester.usecases import review

NOW = dt.datetime(2024, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_authors_are_typed_family_comma_given() -> None:
    assert parse_authors("Parkhill, Helen\n\nBu, F.\nNHS England\n") == (
        Author(family="Parkhill", given="Helen"),
        Author(family="Bu", given="F."),
        Author(collective="NHS England"),
    )
    with pytest.raises(QueueError, match="family name comes first"):
        parse_authors(", Helen")
    assert parse_year(" 2024 ") == 2024 and parse_year("") is None
    with pytest.raises(QueueError, match="four digits"):
        parse_year("24")


def test_tracking_parameters_come_off_typed_links() -> None:
    ident = parse_identifier("https://www.bbc.co.uk/news/a?utm_source=x&id=3&utm_medium=y#top")
    assert ident.url == "https://www.bbc.co.uk/news/a?id=3"
    assert parse_identifier("https://doi.org/10.1192/BJP.2024.141").doi == "10.1192/bjp.2024.141"
    assert parse_identifier("39365737").pmid == "39365737"


def _item_of(db: Database, candidate_id: int) -> BulletinItem:
    with db.read() as session:
        view = get_candidate(session, candidate_id)
    return BulletinItem(
        entry_id=1, candidate_id=candidate_id, work_id=view.work.id, **citation_fields(view.work)
    )


def test_a_hand_added_article_is_citable(db: Database) -> None:
    item = review.ManualItem(
        title="Equal, equitable or exacerbating inequalities.",
        identifier="10.1192/bjp.2024.141",
        authors=parse_authors("Bu, Feifei\nBurton, Alexandra\nFancourt, Daisy"),
        journal="British Journal of Psychiatry",
        year=2024,
        pages="1-9",
    )
    added = review.add_item(db, "t", item, actor="me", now=NOW, status=CandidateStatus.ACCEPTED)
    assert not added.merged and added.status == "accepted"
    line = cite(_item_of(db, added.candidate_id)).text().replace("\u00a0", " ")
    assert line == (
        "Bu, F., et al. (2024) 'Equal, Equitable or Exacerbating Inequalities.' "
        "British Journal of Psychiatry , 1–9."
    )


def test_a_title_match_merges_instead_of_a_second_card(db: Database) -> None:
    first = review.add_item(
        db,
        "t",
        review.ManualItem(
            title="Nature and outdoors increasingly prescribed by GPs",
            kind=WorkKind.NEWS,
            identifier="https://example.org/story?utm_campaign=z",
            date=dt.date(2024, 11, 12),
        ),
        actor="me",
        now=NOW,
    )
    again = review.add_item(
        db,
        "t",
        review.ManualItem(
            title="Nature and Outdoors Increasingly Prescribed by GPs",
            kind=WorkKind.NEWS,
            source_name="Parkhill, H.",
            date=dt.date(2024, 11, 12),
        ),
        actor="me",
        now=NOW,
    )
    assert again.merged and again.candidate_id == first.candidate_id
    with db.read() as session:
        assert len(session.scalars(select(Work)).all()) == 1
        assert session.scalar(select(Work.url)) == "https://example.org/story"


def test_a_lookup_fills_what_was_not_typed(db: Database) -> None:
    def lookup(identifier: str) -> dict[str, object]:
        assert identifier == "10.2196/57062"
        return {
            "title": "Coproduction in social prescribing",
            "journal": "JMIR research protocols",
            "volume": "13",
            "year": 2024,
        }

    added = review.add_item(
        db,
        "t",
        review.ManualItem(identifier="10.2196/57062", volume="14"),
        actor="me",
        now=NOW,
        lookup=lookup,
    )
    with db.read() as session:
        work = get_candidate(session, added.candidate_id).work
    assert (work.title, work.journal, work.volume, work.year) == (
        "Coproduction in social prescribing",
        "JMIR research protocols",
        "14",
        2024,
    )


def test_a_reviewer_corrects_the_citation_with_who_when_and_the_version_check(db: Database) -> None:
    added = review.add_item(
        db,
        "t",
        review.ManualItem(title="Link workers in practice", identifier="10.1000/xyz123"),
        actor="me",
        now=NOW,
    )
    with db.read() as session:
        version = get_candidate(session, added.candidate_id).version
    after = review.edit_citation(
        db,
        added.candidate_id,
        CitationInput(authors=parse_authors("Smith, Jane"), journal="BMJ", year=2024, volume="387"),
        actor="alice@example.org",
        seen_version=version,
        now=NOW,
    )
    assert after.version == version + 1
    assert (after.work.journal, after.work.volume, after.work.authors[0].family) == (
        "BMJ",
        "387",
        "Smith",
    )
    with db.read() as session:
        decision = session.scalars(
            select(Decision)
            .where(Decision.candidate_id == added.candidate_id)
            .order_by(Decision.id.desc())
        ).first()
    assert (
        decision is not None and decision.actor == "alice@example.org" and decision.at is not None
    )
    assert decision.note == "edited citation (authors, journal, volume, date)"
    with pytest.raises(ConflictError):  # a stale form changes nothing
        review.edit_citation(
            db,
            added.candidate_id,
            CitationInput(volume="1"),
            actor="bob",
            seen_version=version,
            now=NOW,
        )
    with pytest.raises(QueueError, match="nothing to change"):
        review.edit_citation(
            db,
            added.candidate_id,
            CitationInput(volume="387"),
            actor="bob",
            seen_version=after.version,
            now=NOW,
        )


def test_the_add_command(workdir: Path) -> None:
    runner = CliRunner()
    if True:  # in the working folder of the workdir fixture
        assert runner.invoke(cli, ["init"]).exit_code == 0
        result = runner.invoke(
            cli,
            [
                "add",
                "https://www.bbc.co.uk/news/x?utm_source=twitter",
                "--topic",
                "social-prescribing",
                "--status",
                "accepted",
                "--title",
                "Social prescribing referrals triple",
                "--source",
                "BBC Guernsey",
                "--date",
                "2024-12-17",
                "--kind",
                "news",
                "--summary",
                "Tripled.",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "added" in result.output
        result = runner.invoke(
            cli,
            [
                "add",
                "10.12968/bjcn.2024.29.10.474",
                "--topic",
                "social-prescribing",
                "--status",
                "accepted",
                "--title",
                "Self-management of long-term conditions",
                "--author",
                "Vaughan, Karen",
                "--author",
                "Lavery, Jane",
                "--journal",
                "British journal of community nursing",
                "--year",
                "2024",
                "--volume",
                "29",
                "--issue",
                "10",
                "--pages",
                "474-9",
            ],
        )
        assert result.exit_code == 0, result.output
        again = runner.invoke(
            cli,
            [
                "add",
                "--topic",
                "social-prescribing",
                "--title",
                "Self-Management of Long-Term Conditions",
                "--author",
                "Vaughan, K.",
                "--year",
                "2024",
                "--journal",
                "British journal of community nursing",
            ],
        )
        assert again.exit_code == 0 and "merged into it" in again.output
        draft = runner.invoke(
            cli, ["bulletin", "draft", "--topic", "social-prescribing", "--format", "md"]
        )
        assert draft.exit_code == 0, draft.output
        assert (
            "Vaughan, K., and Lavery, J. (2024) '[Self-Management of Long-Term Conditions.]"
            in draft.output.replace("\u00a0", " ")
        )
        assert "*British Journal of Community Nursing* 29(10), 474–479." in draft.output
        assert (
            "BBC Guernsey. [Social Prescribing Referrals Triple](https://www.bbc.co.uk/news/x)"
            in draft.output
        )
        bad = runner.invoke(
            cli, ["add", "not-an-id", "--topic", "social-prescribing", "--title", "x"]
        )
        assert bad.exit_code == 1 and "is not a DOI, a PMID or an http(s) URL" in bad.output


@pytest.fixture
def client(tmp_path: Path, db: Database) -> TestClient:
    seed(db)
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1", follow_redirects=False)
    token = _csrf(client, "/login")
    client.post("/login", data={"email": REVIEWER[0], "password": REVIEWER[1], "csrf": token})
    return client


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def test_the_web_form_takes_every_citation_field_and_the_card_edits_them(
    client: TestClient, db: Database
) -> None:
    page = client.get(f"/topics/{TOPIC}/add")
    for name in (
        "title",
        "identifier",
        "authors",
        "journal",
        "year",
        "volume",
        "issue",
        "pages",
        "source_name",
        "date",
        "kind",
        "summary",
    ):
        assert f'name="{name}"' in page.text, name
    token = _csrf(client, f"/topics/{TOPIC}/add")
    form = {
        "csrf": token,
        "title": "Where to start? a scoping review",
        "identifier": "10.9999/start",
        "authors": "Dougherty, Maria\nLynch, Tom",
        "journal": "JMIR research protocols",
        "year": "2024",
        "volume": "13",
        "issue": "",
        "pages": "e57062",
        "source_name": "",
        "date": "",
        "kind": "",
        "summary": "A protocol.",
    }
    response = client.post(f"/topics/{TOPIC}/add", data=form)
    assert response.status_code == 303
    with db.read() as session:
        work = session.scalars(select(Work).where(Work.doi == "10.9999/start")).one()
        candidate = session.scalars(select(Candidate).where(Candidate.work_id == work.id)).one()
    assert (work.kind, work.journal, work.volume, work.pages) == (
        "article",
        "JMIR research protocols",
        "13",
        "e57062",
    )
    assert [a["family"] for a in work.authors] == ["Dougherty", "Lynch"]
    # the same title again: merged, and the page says so
    again = client.post(f"/topics/{TOPIC}/add", data={**form, "identifier": ""})
    assert again.status_code == 303
    assert "already stored" in client.get(again.headers["location"]).text
    # the card's citation form corrects the work, with the version check
    queue = client.get(f"/topics/{TOPIC}?status=new").text
    assert f'action="/candidates/{candidate.id}/citation"' in queue
    edit = {
        "csrf": token,
        "version": str(candidate.version),
        "back": f"/topics/{TOPIC}",
        "title": "Where to start? a scoping review",
        "authors": "Dougherty, Maria\nLynch, Tom",
        "journal": "JMIR Research Protocols",
        "year": "2024",
        "volume": "13",
        "issue": "",
        "pages": "e57062",
        "source_name": "",
        "kind": "article",
    }
    assert client.post(f"/candidates/{candidate.id}/citation", data=edit).status_code == 303
    with db.read() as session:
        assert session.get(Work, work.id).journal == "JMIR Research Protocols"  # type: ignore[union-attr]
    stale = client.post(f"/candidates/{candidate.id}/citation", data={**edit, "journal": "X"})
    assert "changed" in client.get(stale.headers["location"]).text.lower()
    with db.read() as session:  # the stale form changed nothing
        assert session.get(Work, work.id).journal == "JMIR Research Protocols"  # type: ignore[union-attr]
