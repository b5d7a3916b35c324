"""The topic settings page over HTTP: changes checked and recorded, a stale copy refused, a
reviewer refused; feeds added by a page's address from a loopback server; OPML out and in;
the PubMed query tried against the loopback E-utilities server; harvest now with its progress."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, serve
from fastapi.testclient import TestClient
from feed_server import FeedServer, Route
from websupport import ADMIN, NOW, REVIEWER, TOPIC, apply_topics, make_settings, seed

from harvester.store import topics as store
from harvester.store.db import Database
from harvester.web.app import create_app

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Community health news</title>
<item><title>Social prescribing reaches rural GPs</title><link>https://example.org/a</link>
<guid>a</guid></item>
<item><title>Gardening on prescription</title><link>https://example.org/b</link><guid>b</guid></item>
</channel></rss>"""


def _client(tmp_path: Path, db: Database, **pubmed: str) -> TestClient:
    settings = make_settings(tmp_path / "site", db.url)
    for key, value in pubmed.items():
        setattr(settings.pubmed, key, value)
    seed(db)
    apply_topics(db, settings)
    return TestClient(create_app(settings, db), base_url="http://127.0.0.1", follow_redirects=False)


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def _version(client: TestClient, slug: str = TOPIC) -> str:
    match = re.search(r'name="version" value="(\d+)"', client.get(f"/topics/{slug}/settings").text)
    assert match
    return match.group(1)


def _login(client: TestClient, account: tuple[str, str] = ADMIN) -> None:
    token = _csrf(client, "/login")
    response = client.post(
        "/login", data={"email": account[0], "password": account[1], "csrf": token, "next": "/"}
    )
    assert response.status_code == 303


def _form(client: TestClient, **changes: str) -> dict[str, str]:
    page = client.get(f"/topics/{TOPIC}/settings").text
    form = {"csrf": _csrf(client, f"/topics/{TOPIC}/settings"), "version": _version(client)}
    for name in (
        "name",
        "bulletin_title",
        "bulletin_subtitle",
        "contact",
        "harvest",
        "digest",
    ):
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        form[name] = match.group(1) if match else ""
    for name in ("pubmed_query", "phrases", "exclude", "recipients", "footer"):
        match = re.search(rf'name="{name}"[^>]*>([^<]*)</textarea>', page)
        form[name] = (match.group(1) if match else "").replace("&#34;", '"').replace("&#39;", "'")
    form["style"] = "house"
    form.update(changes)
    return form


def test_a_change_is_saved_recorded_and_used(tmp_path: Path, db: Database) -> None:
    client = _client(tmp_path, db)
    _login(client)
    page = client.get(f"/topics/{TOPIC}/settings")
    assert page.status_code == 200
    assert "social prescri*" in page.text
    form = _form(client, phrases="social prescri*\nlink worker*\ngreen prescri*")
    form["harvest"] = "every weekday at 07:00"
    response = client.post(f"/topics/{TOPIC}/settings", data=form)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"]).text
    assert "Saved." in page
    assert "phrases added: green prescri*" in page
    assert "every weekday at 07:00" in page
    assert ADMIN[0] in page
    with db.read() as session:
        row = store.stored_topic(session, TOPIC)
    assert row is not None and row.version == 2
    assert "green prescri*" in row.document
    assert client.app.state.context.topics.get(TOPIC).schedule.harvest == "0 7 * * MON-FRI"  # type: ignore[attr-defined]


def test_a_bad_change_is_refused_with_the_rule_and_nothing_is_saved(
    tmp_path: Path, db: Database
) -> None:
    client = _client(tmp_path, db)
    _login(client)
    response = client.post(
        f"/topics/{TOPIC}/settings", data=_form(client, digest="when the moon is full")
    )
    assert response.status_code == 422
    assert "[schedule] digest must be a schedule such as" in response.text
    assert "when the moon is full" in response.text  # what was typed is kept on the page
    with db.read() as session:
        assert store.stored_topic(session, TOPIC).version == 1  # type: ignore[union-attr]


def test_a_change_from_an_old_copy_is_refused_naming_who_changed_it(
    tmp_path: Path, db: Database
) -> None:
    client = _client(tmp_path, db)
    _login(client)
    stale = _form(client, name="Social prescribing (old copy)")
    assert (
        client.post(f"/topics/{TOPIC}/settings", data=_form(client, name="SP")).status_code == 303
    )
    response = client.post(f"/topics/{TOPIC}/settings", data=stale)
    assert response.status_code == 422
    assert f"changed by {ADMIN[0]} since you opened it" in response.text


def test_a_reviewer_sees_the_settings_but_cannot_change_them(tmp_path: Path, db: Database) -> None:
    client = _client(tmp_path, db)
    _login(client, REVIEWER)
    page = client.get(f"/topics/{TOPIC}/settings")
    assert page.status_code == 200
    assert "Save changes" not in page.text
    form = _form(client, name="Hijacked")
    assert client.post(f"/topics/{TOPIC}/settings", data=form).status_code == 403
    assert (
        client.post("/topics/new", data={"csrf": form["csrf"], "name": "Mine"}).status_code == 403
    )


def test_a_feed_is_added_by_a_page_address_after_it_is_checked(
    tmp_path: Path, db: Database
) -> None:
    client = _client(tmp_path, db)
    _login(client)
    with FeedServer() as server:
        page = server.add(
            "/news",
            Route(
                body=b'<html><head><link rel="alternate" type="application/rss+xml" '
                b'href="/news/rss"></head></html>',
                content_type="text/html",
            ),
        )
        feed = server.add("/news/rss", Route(body=RSS))
        token, version = _csrf(client, f"/topics/{TOPIC}/settings"), _version(client)
        checked = client.post(
            f"/topics/{TOPIC}/settings/feeds", data={"csrf": token, "version": version, "url": page}
        )
        assert checked.status_code == 200
        assert "Community health news" in checked.text
        assert "Social prescribing reaches rural GPs" in checked.text
        added = client.post(
            f"/topics/{TOPIC}/settings/feeds",
            data={
                "csrf": token,
                "version": version,
                "url": feed,
                "confirm": "1",
                "name": "Community news",
                "keep": "all",
            },
        )
        assert added.status_code == 303
        dead = client.post(
            f"/topics/{TOPIC}/settings/feeds",
            data={"csrf": token, "version": _version(client), "url": server.url("/missing")},
        )
    assert "That feed could not be added" in dead.text and "/missing" in dead.text
    topic = client.app.state.context.topics.get(TOPIC)  # type: ignore[attr-defined]
    assert [(f.name, f.url, f.all) for f in topic.feeds] == [("Community news", feed, True)]
    opml = client.get(f"/topics/{TOPIC}/settings/opml")
    assert opml.status_code == 200 and feed.encode() in opml.content
    token, version = _csrf(client, f"/topics/{TOPIC}/settings"), _version(client)
    other = opml.content.replace(feed.encode(), b"https://elsewhere.example/feed")
    imported = client.post(
        f"/topics/{TOPIC}/settings/opml",
        data={"csrf": token, "version": version},
        files={"file": ("feeds.opml", other, "text/x-opml")},
    )
    assert imported.status_code == 303
    urls = [f.url for f in client.app.state.context.topics.get(TOPIC).feeds]  # type: ignore[attr-defined]
    assert urls == [feed, "https://elsewhere.example/feed"]
    bad = client.post(
        f"/topics/{TOPIC}/settings/opml",
        data={"csrf": token, "version": _version(client)},
        files={"file": ("feeds.opml", b"<html>no</html>", "text/html")},
    )
    assert bad.status_code == 422 and "feeds.opml: not an OPML file" in bad.text


def test_the_query_is_tried_against_pubmed_before_it_is_saved(tmp_path: Path, db: Database) -> None:
    corpus = Corpus.from_files(TOPIC_SUBSET)
    with serve(corpus) as server:
        client = _client(tmp_path, db, base_url=server.base_url)
        _login(client)
        form = _form(client, pubmed_query='"social prescri*"[tiab]')
        form.update({"since": "2020-01-01", "until": "2021-12-31"})
        response = client.post(f"/topics/{TOPIC}/settings/try", data=form)
    assert response.status_code == 200
    assert f"<strong>{len(corpus.records)}</strong> from 2020-01-01 to 2021-12-31" in response.text
    assert "would be let in" in response.text
    with db.read() as session:
        assert store.stored_topic(session, TOPIC).version == 1  # type: ignore[union-attr]


@pytest.mark.slow
def test_harvest_now_shows_progress_and_refuses_a_second_run(tmp_path: Path, db: Database) -> None:
    with FeedServer() as feeds:
        url = feeds.add("/rss", Route(body=RSS, delay=0.5))
        client = _client(tmp_path, db)
        _login(client)
        with db.write() as session:
            row = store.stored_topic(session, TOPIC)
            assert row is not None
            store.save_topic(
                session,
                row.document + f'\n[[feeds]]\nname = "Local"\nurl = "{url}"\n',
                actor="tests",
                now=row.updated_at,
                slug=TOPIC,
            )
        token = _csrf(client, f"/topics/{TOPIC}/settings")
        started = client.post(f"/topics/{TOPIC}/harvest", data={"csrf": token})
        assert started.status_code == 303
        progress = started.headers["location"]
        again = client.post(f"/topics/{TOPIC}/harvest", data={"csrf": token})
        assert again.status_code == 409
        assert "already running" in again.text
        deadline = time.monotonic() + 30
        page = client.get(progress).text
        while "Running" in page and time.monotonic() < deadline:
            time.sleep(0.2)
            page = client.get(progress).text
    assert "Finished" in page, page
    assert "1 of 1" in page  # feeds done of feeds total
    queue = client.get(f"/topics/{TOPIC}?status=new").text
    assert "Social prescribing reaches rural GPs" in queue


def test_a_broken_topic_never_takes_the_site_or_the_other_topics_down(
    tmp_path: Path, db: Database
) -> None:
    from harvester.store.tables import TopicRecord

    client = _client(tmp_path, db)
    _login(client)
    with db.write() as session:
        store.save_topic(session, '[topic]\nslug = "other"\nname = "Other"\n', actor="t", now=NOW)
    with db.write() as session:  # as a document of an older release might read after an upgrade
        row = session.get(TopicRecord, "other")
        assert row is not None
        row.document = "[pubmed]\nquery = 42\n"
        row.version += 1
    home = client.get("/")
    assert home.status_code in (200, 303)
    assert client.get(f"/topics/{TOPIC}").status_code == 200
    broken = client.get("/topics/other/settings")
    assert broken.status_code == 200
    assert "no longer pass the checks" in broken.text
    assert "Edit as a topic file" in broken.text
