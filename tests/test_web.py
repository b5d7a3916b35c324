"""The web app over HTTP (no browser): access control, CSRF, escaping, headers, the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from websupport import ADMIN, REVIEWER, TOPIC, XSS_TITLE, build, seed

from harvester.store import users
from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision


@pytest.fixture
def client(tmp_path: Path, db: Database) -> TestClient:
    seed(db)
    return TestClient(build(tmp_path, db), base_url="http://127.0.0.1", follow_redirects=False)


def csrf_of(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def login(client: TestClient, account: tuple[str, str] = REVIEWER) -> None:
    token = csrf_of(client, "/login")
    response = client.post(
        "/login", data={"email": account[0], "password": account[1], "csrf": token, "next": "/"}
    )
    assert response.status_code == 303, response.text


def first_candidate(db: Database) -> tuple[int, int]:
    with db.read() as session:
        row = session.execute(
            select(Candidate.id, Candidate.version).order_by(Candidate.id).limit(1)
        ).one()
    return row.id, row.version


def test_nothing_but_login_static_and_healthz_without_a_session(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/login").status_code == 200
    for path in ("/", f"/topics/{TOPIC}", f"/topics/{TOPIC}/add", "/runs"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get(f"/api/topics/{TOPIC}/candidates").status_code == 401
    assert client.get("/api/openapi.json").status_code == 401
    assert client.post("/candidates/1/decide", data={"action": "accept"}).status_code in (303, 403)


def test_headers_forbid_inline_script_and_cookie_is_httponly_lax(client: TestClient) -> None:
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "<script>" not in response.text  # no inline script at all


def test_login_refuses_wrong_password_and_throttles(client: TestClient) -> None:
    token = csrf_of(client, "/login")
    for _ in range(5):
        bad = client.post("/login", data={"email": REVIEWER[0], "password": "nope", "csrf": token})
        assert bad.status_code == 401 and "wrong e-mail address or password" in bad.text.lower()
    right = client.post(
        "/login", data={"email": REVIEWER[0], "password": REVIEWER[1], "csrf": token}
    )
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    # another account from the same address is not yet locked out
    other = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf": token})
    assert other.status_code == 303


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, db: Database) -> None:
    login(client)
    cid, version = first_candidate(db)
    refused = client.post(
        f"/candidates/{cid}/decide", data={"action": "accept", "version": str(version)}
    )
    assert refused.status_code == 403
    forged = client.post(
        f"/candidates/{cid}/decide",
        data={"action": "accept", "version": str(version), "csrf": "forged"},
    )
    assert forged.status_code == 403
    with db.read() as session:
        assert session.get_one(Candidate, cid).status == "new"
    token = csrf_of(client, f"/topics/{TOPIC}")
    ok = client.post(
        f"/candidates/{cid}/decide",
        data={"action": "reject", "version": str(version), "csrf": token, "reason": "Not UK"},
    )
    assert ok.status_code == 303
    with db.read() as session:
        candidate = session.get_one(Candidate, cid)
        assert (candidate.status, candidate.reason) == ("rejected", "Not UK")
        decision = session.scalars(
            select(Decision).where(Decision.candidate_id == cid).order_by(Decision.id.desc())
        ).first()
        assert decision is not None and decision.actor == REVIEWER[0]


def test_untrusted_text_is_inert_on_the_queue_page(client: TestClient) -> None:
    login(client)
    page = client.get(f"/topics/{TOPIC}?kind=news").text
    assert XSS_TITLE not in page
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "onerror" not in page
    assert 'href="javascript:' not in page
    assert 'class="hl-inc"' in page  # phrases highlighted: "Link workers", "Social prescribing"
    assert "helps" in page and "<b>helps</b>" not in page


def test_filters_and_search_on_the_page(client: TestClient) -> None:
    login(client)
    page = client.get(f"/topics/{TOPIC}?q=cohort+13&status=all").text
    assert page.count('class="card ') == 1 and "trial 1:" in page
    assert client.get(f"/topics/{TOPIC}?from=not-a-date").status_code == 200
    assert "is not a date" in client.get(f"/topics/{TOPIC}?from=not-a-date").text
    assert client.get("/topics/nope").status_code == 404


def test_runs_page_is_for_admins(client: TestClient) -> None:
    login(client)
    assert client.get("/runs").status_code == 403
    client.cookies.clear()
    login(client, ADMIN)
    page = client.get("/runs")
    assert page.status_code == 200 and REVIEWER[0] in page.text


def test_api_needs_a_token_and_applies_the_conflict_rule(client: TestClient, db: Database) -> None:
    with db.write() as session:
        token = users.add_token(
            session, "script", REVIEWER[0], now=users.dt.datetime.now(users.dt.UTC)
        )
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(
            f"/api/topics/{TOPIC}/candidates", headers={"Authorization": "Bearer x"}
        ).status_code
        == 401
    )
    listing = client.get(f"/api/topics/{TOPIC}/candidates?limit=2", headers=auth).json()
    assert listing["total"] == 7 and len(listing["items"]) == 2 and listing["next_cursor"]
    more = client.get(
        f"/api/topics/{TOPIC}/candidates?limit=2&cursor={listing['next_cursor']}", headers=auth
    ).json()
    assert not {c["id"] for c in more["items"]} & {c["id"] for c in listing["items"]}
    item = listing["items"][0]
    url = f"/api/candidates/{item['id']}/decisions"
    first = client.post(
        url, json={"action": "accept", "version": item["version"], "section": "News"}, headers=auth
    )
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    second = client.post(url, json={"action": "reject", "version": item["version"]}, headers=auth)
    assert second.status_code == 409 and "while you were looking" in second.json()["detail"]
    undo = client.post(
        url, json={"action": "undo", "version": first.json()["version"]}, headers=auth
    )
    assert undo.json()["status"] == "new"
    assert client.post(url, json={"action": "accept", "version": 1}).status_code == 401
    schema = client.get("/api/openapi.json", headers=auth).json()
    assert "/api/candidates/{candidate_id}/decisions" in schema["paths"]
    # the runs are for administrators, in the API as on the pages
    assert client.get("/api/runs", headers=auth).status_code == 403
    with db.write() as session:
        admin_token = users.add_token(
            session, "admin script", ADMIN[0], now=users.dt.datetime.now(users.dt.UTC)
        )
    runs = client.get("/api/runs", headers={"Authorization": f"Bearer {admin_token}"})
    assert runs.json()["total"] == 0


def test_the_words_on_cards_and_in_answers_are_the_readers(
    client: TestClient, db: Database
) -> None:
    """No program words: sources named as a librarian names them, no "sighting", no
    "candidate" in what a decision answers."""
    with db.write() as session:
        from websupport import NOW

        from harvester.core.models import Hit
        from harvester.store.works import ingest_hits

        ingest_hits(
            session,
            [
                Hit(
                    source="import:pubmed-xml",
                    source_id="file-1",
                    origin="library.xml",
                    title="Social prescribing and loneliness: an imported record",
                    pmid="31999999",
                )
            ],
            topic=TOPIC,
            run_id=None,
            now=NOW,
        )
    login(client)
    page = client.get(f"/topics/{TOPIC}?status=all").text
    assert "PubMed search “social prescribing”" in page
    assert "Imported PubMed XML file library.xml" in page
    assert "News feed https://news.example/rss" in page
    for word in ("sighting", "import:pubmed-xml", "query:"):
        assert word not in page, word
    candidate_id, version = first_candidate(db)
    token = csrf_of(client, f"/topics/{TOPIC}")
    undo = client.post(
        f"/candidates/{candidate_id}/undo",
        data={"csrf": token, "version": str(version), "back": f"/topics/{TOPIC}"},
        headers={"X-Requested-With": "fetch"},
    )
    assert undo.status_code == 400 and "nothing to undo" in undo.text
    assert "candidate" not in re.sub(r"<[^>]+>", " ", undo.text).lower()
    missing = client.get("/api/candidates/2147483647")
    assert missing.status_code == 404 and "candidate" not in missing.text
