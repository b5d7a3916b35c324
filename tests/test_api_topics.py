"""The JSON API for topics, harvests and people, with a token per role: what a topic file
holds, as JSON, checked by the same rules; a reviewer of another topic gets 404."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from websupport import ADMIN, REVIEWER, TOPIC, apply_topics, make_settings, seed

from harvester.store import people, users
from harvester.store.db import Database
from harvester.web.app import create_app

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _setup(tmp_path: Path, db: Database) -> tuple[TestClient, dict[str, dict[str, str]]]:
    settings = make_settings(tmp_path / "site", db.url)
    seed(db)
    apply_topics(db, settings)
    with db.write() as session:
        tokens = {
            "admin": users.add_token(session, "a", ADMIN[0], now=NOW),
            "reviewer": users.add_token(session, "r", REVIEWER[0], now=NOW),
        }
        other = users.add_user(session, "other@example.org", "other password", admin=False, now=NOW)
        tokens["other"] = users.add_token(session, "o", other.email, now=NOW)
    client = TestClient(create_app(settings, db), base_url="http://127.0.0.1")
    return client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def test_get_put_and_delete_a_topic_as_json(tmp_path: Path, db: Database) -> None:
    client, auth = _setup(tmp_path, db)
    got = client.get(f"/api/topics/{TOPIC}", headers=auth["reviewer"])
    assert got.status_code == 200
    body = got.json()
    assert body["version"] == 1
    assert body["settings"]["match"]["phrases"] == ["social prescri*", "link worker*"]
    settings = body["settings"]
    settings["match"]["phrases"].append("green prescri*")
    settings["schedule"] = {"harvest": "every weekday at 06:00", "digest": "Mondays at 08:00"}
    assert (
        client.put(
            f"/api/topics/{TOPIC}",
            json={"settings": settings, "version": 1},
            headers=auth["reviewer"],
        ).status_code
        == 403
    )
    put = client.put(
        f"/api/topics/{TOPIC}", json={"settings": settings, "version": 1}, headers=auth["admin"]
    )
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
    assert put.json()["settings"]["schedule"]["harvest"] == "0 6 * * MON-FRI"
    stale = client.put(
        f"/api/topics/{TOPIC}", json={"settings": settings, "version": 1}, headers=auth["admin"]
    )
    assert stale.status_code == 409
    settings["schedule"]["digest"] = "at teatime on the fifth of never"
    bad = client.put(
        f"/api/topics/{TOPIC}", json={"settings": settings, "version": 2}, headers=auth["admin"]
    )
    assert bad.status_code == 422
    assert "[schedule] digest" in bad.json()["detail"]
    changes = client.get(f"/api/topics/{TOPIC}/changes", headers=auth["admin"]).json()
    assert changes[0]["actor"] == ADMIN[0]
    assert "phrases added: green prescri*" in changes[0]["summary"]
    new = client.put(
        "/api/topics/loneliness",
        json={"settings": {"topic": {"name": "Loneliness"}, "match": {"phrases": ["lonel*"]}}},
        headers=auth["admin"],
    )
    assert new.status_code == 200, new.text
    assert [t["slug"] for t in client.get("/api/topics", headers=auth["admin"]).json()] == [
        "loneliness",
        TOPIC,
    ]
    assert [t["slug"] for t in client.get("/api/topics", headers=auth["reviewer"]).json()] == [
        TOPIC
    ]
    assert client.delete("/api/topics/loneliness", headers=auth["reviewer"]).status_code == 403
    assert client.delete("/api/topics/loneliness", headers=auth["admin"]).status_code == 204
    assert client.get("/api/topics/loneliness", headers=auth["admin"]).status_code == 404


def test_a_reviewer_of_another_topic_gets_404(tmp_path: Path, db: Database) -> None:
    client, auth = _setup(tmp_path, db)
    assert client.get(f"/api/topics/{TOPIC}", headers=auth["other"]).status_code == 404
    assert client.post(f"/api/topics/{TOPIC}/harvest", headers=auth["other"]).status_code == 404
    assert client.post(f"/api/topics/{TOPIC}/harvest", headers=auth["reviewer"]).status_code == 403
    assert client.get("/api/users", headers=auth["reviewer"]).status_code == 403
    assert client.get("/api/runs/99999999999999999999", headers=auth["admin"]).status_code in (
        404,
        422,
    )


def test_roles_through_the_api(tmp_path: Path, db: Database) -> None:
    client, auth = _setup(tmp_path, db)
    listed = client.get("/api/users", headers=auth["admin"]).json()
    other = next(u for u in listed if u["email"] == "other@example.org")
    assert other["roles"] == {}
    put = client.put(
        f"/api/users/{other['id']}/roles",
        json={"roles": {TOPIC: "editor"}},
        headers=auth["admin"],
    )
    assert put.status_code == 200
    assert put.json()["roles"] == {TOPIC: "editor"}
    assert client.get(f"/api/topics/{TOPIC}", headers=auth["other"]).status_code == 200
    with db.read() as session:
        assert people.roles_of(session, other["id"]) == {TOPIC: "editor"}
    unknown = client.put(
        f"/api/users/{other['id']}/roles", json={"roles": {"nope": "editor"}}, headers=auth["admin"]
    )
    assert unknown.status_code == 422
