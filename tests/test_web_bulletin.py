"""The bulletin page over HTTP (no browser): the preview's own policy, escaping, the forms, the
confirmation before publishing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from websupport import REVIEWER, TOPIC, XSS_TITLE, build, seed

from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision, Work

BASE = f"/topics/{TOPIC}/bulletin"


@pytest.fixture
def client(tmp_path: Path, db: Database) -> TestClient:
    seed(db)
    with db.write() as session:
        for candidate in session.scalars(select(Candidate)):
            candidate.status = "accepted"  # every seeded item, the XSS news entry too
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1", follow_redirects=False)
    token = _csrf(client, "/login")
    client.post("/login", data={"email": REVIEWER[0], "password": REVIEWER[1], "csrf": token})
    return client


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def _draft(client: TestClient) -> str:
    token = _csrf(client, BASE)
    assert client.post(f"{BASE}/draft", data={"csrf": token}).status_code == 303
    return token


def test_the_preview_is_framed_under_its_own_policy_and_escaped(client: TestClient) -> None:
    _draft(client)
    page = client.get(BASE)
    assert page.status_code == 200
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert f'<iframe src="{BASE}/preview"' in page.text and "sandbox=" in page.text
    preview = client.get(f"{BASE}/preview")
    csp = preview.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
    assert "frame-ancestors 'self'" in csp and preview.headers["x-frame-options"] == "SAMEORIGIN"
    assert "<script" not in preview.text and "javascript:" not in preview.text
    assert "Link Workers &lt;script&gt;" in preview.text  # the house style title-cases news
    assert XSS_TITLE not in page.text  # the title on the page is escaped too


def test_a_change_without_the_csrf_token_is_refused(client: TestClient) -> None:
    _draft(client)
    assert client.post(f"{BASE}/remove", data={"entry": "1"}).status_code == 403
    assert client.post(f"{BASE}/publish", data={"confirm": "yes"}).status_code == 403


def test_publish_needs_the_confirmation(client: TestClient, db: Database) -> None:
    token = _draft(client)
    response = client.post(f"{BASE}/publish", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == f"{BASE}/publish"
    confirm = client.get(f"{BASE}/publish")
    assert "cannot be undone" in confirm.text
    bulletin = re.search(r'name="bulletin" value="(\d+)"', confirm.text)
    assert bulletin
    with db.read() as session:
        assert "published" not in set(session.scalars(select(Candidate.status)))
    client.post(
        f"{BASE}/publish", data={"csrf": token, "confirm": "yes", "bulletin": bulletin.group(1)}
    )
    with db.read() as session:
        assert set(session.scalars(select(Candidate.status))) == {"published"}


def test_a_summary_only_for_an_entry_of_the_draft(client: TestClient, db: Database) -> None:
    token = _draft(client)
    with db.read() as session:
        outside = session.scalar(select(Candidate.id).join(Work).where(Work.title == XSS_TITLE))
    client.post(
        f"{BASE}/remove",
        data={
            "csrf": token,
            "entry": re.findall(r'name="entry" value="(\d+)"', client.get(BASE).text)[0],
        },
    )
    response = client.post(
        f"{BASE}/summary",
        data={"csrf": token, "candidate": "999999", "version": "1", "summary": "x"},
    )
    assert response.status_code == 404
    assert outside is not None


def test_unknown_topic_and_format(client: TestClient) -> None:
    _draft(client)
    assert client.get("/topics/nope/bulletin").status_code == 404
    assert client.get(f"{BASE}/download/exe").status_code == 404


def test_a_removed_entry_is_listed_and_can_be_put_back(client: TestClient) -> None:
    token = _draft(client)
    before = client.get(BASE).text
    count = int(re.search(r"(\d+) entr(?:y|ies)\.", before).group(1))  # type: ignore[union-attr]
    entry = re.findall(
        r'bulletin/remove">\s*<input[^>]*><input type="hidden" name="entry" value="(\d+)"', before
    )[0]
    assert client.post(f"{BASE}/remove", data={"csrf": token, "entry": entry}).status_code == 303
    page = client.get(BASE).text
    assert f"{count - 1} entr" in page and "Removed from this draft" in page
    assert re.search(
        rf'bulletin/restore"[^>]*>\s*<input[^>]*><input type="hidden" name="entry" value="{entry}"',
        page,
    )
    assert client.post(f"{BASE}/restore", data={"csrf": token, "entry": entry}).status_code == 303
    page = client.get(BASE).text
    assert f"{count} entr" in page and "Removed from this draft" not in page
    assert client.post(f"{BASE}/restore", data={"entry": entry}).status_code == 403  # no CSRF


def test_the_bulletin_summary_edit_is_the_cards_edit(client: TestClient, db: Database) -> None:
    """One write path: a decision row for the edit, and an edit made on a version that is no
    longer the item's changes nothing (as on the card)."""
    token = _draft(client)
    page = client.get(BASE).text
    candidate, version = re.findall(
        r'name="candidate" value="(\d+)"><input type="hidden" name="version" value="(\d+)"', page
    )[0]
    saved = client.post(
        f"{BASE}/summary",
        data={"csrf": token, "candidate": candidate, "version": version, "summary": "Mine."},
    )
    assert saved.status_code == 303
    with db.read() as session:
        row = session.get(Candidate, int(candidate))
        assert row is not None and row.summary == "Mine." and row.version > int(version)
        decisions = session.scalars(
            select(Decision).where(Decision.candidate_id == int(candidate))
        ).all()
        assert decisions and decisions[-1].actor == REVIEWER[0]
    # the same form again, on the version it was loaded with: refused, nothing changed
    stale = client.post(
        f"{BASE}/summary",
        data={"csrf": token, "candidate": candidate, "version": version, "summary": "Theirs."},
    )
    assert stale.status_code == 303
    assert "while you were looking" in client.get(BASE).text
    with db.read() as session:
        assert session.get(Candidate, int(candidate)).summary == "Mine."  # type: ignore[union-attr]


def test_the_period_is_a_field_of_the_page(client: TestClient) -> None:
    token = _draft(client)
    page = client.get(BASE).text
    assert 'name="period"' in page
    response = client.post(
        f"{BASE}/period", data={"csrf": token, "period": "October–November 2024"}
    )
    assert response.status_code == 303
    assert "October–November 2024" in client.get(f"{BASE}/preview").text
    assert 'value="October–November 2024"' in client.get(BASE).text
    client.post(f"{BASE}/period", data={"csrf": token, "period": ""})
    assert "October–November 2024" not in client.get(f"{BASE}/preview").text


def test_entries_are_listed_by_author_year_title_and_the_preview_follows(
    client: TestClient,
) -> None:
    token = _draft(client)
    page = client.get(BASE).text
    labels = re.findall(r'target="preview" title="Show in the preview">([^<]+)</a>', page)
    assert labels, page
    # each reads as it sorts: first author (or source), year, title
    articles = [label for label in labels if re.match(r"Writer\d, S\. \(2024\) Social ", label)]
    assert len(articles) == len(labels) - 1 and articles == sorted(articles)
    entries = re.findall(r'id="entry-(\d+)"', page)
    # fewer controls: the summary, the move and the removal sit behind one "Edit" per entry
    assert page.count("<summary>Edit: summary, place, remove</summary>") == len(entries)
    entry = entries[-1]
    candidate = re.search(
        rf'id="entry-{entry}".*?name="candidate" value="(\d+)"><input type="hidden" '
        r'name="version" value="(\d+)"',
        page,
        flags=re.S,
    )
    assert candidate
    saved = client.post(
        f"{BASE}/summary",
        data={
            "csrf": token,
            "candidate": candidate.group(1),
            "version": candidate.group(2),
            "summary": "Mine.",
        },
    )
    assert saved.headers["location"] == f"{BASE}?entry={entry}#entry-{entry}"
    back = client.get(saved.headers["location"]).text
    assert f'src="{BASE}/preview#entry-{entry}"' in back
    assert f'id="entry-{entry}"' in client.get(f"{BASE}/preview").text
