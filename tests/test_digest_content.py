"""What the digest says and where it links: items still waiting (not what was already
rejected), the week's arrivals as one line of counts, each harvest problem once, article links
with or without the service's address, card and queue links that open in the web app, and long
URLs wrapped inside the column (Chromium measures the message)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from digest_support import add_candidates
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_digest_send import NOW, TOPIC, _project
from websupport import ADMIN, build, seed

from harvester.config.settings import Settings
from harvester.core.models import RunStatus
from harvester.store import feeds, runs
from harvester.store.db import Database
from harvester.store.tables import Candidate
from harvester.usecases.digest_send import send_digest

LONG_URL = "https://feeds.example.org/rss?key=" + "A7f3Q9zX" * 50


def _parts(message: EmailMessage) -> tuple[str, str]:
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    page = parsed.get_body(("html",))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


def _with_problems(db: Database) -> None:
    """Three failed PubMed runs with one error, and one feed with a very long URL failing."""
    with db.write() as session:
        for hours in (30, 20, 10):
            run = runs.start_run(
                session, topic=TOPIC, source="pubmed", now=NOW - dt.timedelta(hours=hours)
            )
            runs.finish_run(
                session,
                run.id,
                status=RunStatus.FAILED,
                now=NOW - dt.timedelta(hours=hours),
                error="PubMed answered HTTP 500",
            )
        for hours in (48, 24):
            feeds.record_fetch(
                session,
                topic=TOPIC,
                url=LONG_URL,
                name="Council news",
                now=NOW - dt.timedelta(hours=hours),
                http_status=503,
                error="HTTP 503",
            )


def _digest(settings: Settings, db: Database, *, base_url: bool) -> tuple[str, str]:
    conf, topic = _project(settings)
    if not base_url:
        assert conf.config_file is not None
        text = conf.config_file.read_text(encoding="utf-8")
        conf.config_file.write_text(text.replace('base_url = "https://h.example.org"', ""))
        from harvester.config.settings import load_settings

        conf = load_settings(conf.config_file)
    outcome = send_digest(db, conf, topic, now=NOW, dry_run=True)
    assert outcome.message is not None
    return _parts(outcome.message)


def test_the_digest_lists_what_waits_and_counts_the_week_by_outcome(
    settings: Settings, db: Database
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=3)
    with db.write() as session:
        # a reviewer already rejected two of the week's arrivals and deferred one
        ids = sorted(session.scalars(Candidate.__table__.select().with_only_columns(Candidate.id)))
        session.execute(
            update(Candidate).where(Candidate.id.in_(ids[:2])).values(status="rejected")
        )
        session.execute(update(Candidate).where(Candidate.id == ids[2]).values(status="deferred"))
    _with_problems(db)
    text, _ = _digest(settings, db, base_url=True)
    text = text.replace("\r\n", "\n")
    assert "4 arrived this week: 2 rejected, 1 deferred, 1 waiting." in text
    assert "2 items wait for review (1 new, 1 deferred)." in text
    assert "study</em> 0" not in text  # rejected
    assert "study</em> 1" not in text  # rejected
    assert "study</em> 2" in text  # deferred: still to do
    assert "green prescribing" in text
    # each problem once, however many runs met it
    assert text.count("PubMed answered HTTP 500") == 1
    assert "PubMed harvest failed 3 times" in text
    assert text.count("Council news") == 1


def test_without_base_url_every_item_links_to_its_article(settings: Settings, db: Database) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=2)
    text, page = _digest(settings, db, base_url=False)
    links = re.findall(
        r'class="item-title"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*class="item-title"', page
    )
    hrefs = sorted(a or b for a, b in links)
    assert hrefs == [
        "https://news.example.org/green",
        "https://pubmed.ncbi.nlm.nih.gov/1000/",
        "https://pubmed.ncbi.nlm.nih.gov/1001/",
    ], page
    for href in hrefs:
        assert href in text
    assert "/candidates/" not in page and "/topics/" not in page


def test_with_base_url_the_card_and_queue_links_open_in_the_web_app(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    seed(db, count=0)
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=2)
    text, page = _digest(settings, db, base_url=True)
    ours = sorted(set(re.findall(r'href="https://h\.example\.org(/[^"]*)"', page)))
    assert ours, page
    assert any(path.startswith("/candidates/") for path in ours)
    assert f"/topics/{TOPIC}" in ours
    for path in ours:
        assert f"https://h.example.org{path}" in text
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf": token.group(1), "next": "/"},
    )
    for path in ours:
        response = client.get(path)
        assert response.status_code == 200, path
    card = client.get(ours[0]).text
    assert "Link workers and loneliness" in card or "green prescribing" in card


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is absent")
def test_a_long_url_wraps_inside_the_column(settings: Settings, db: Database) -> None:
    sync_api: Any = pytest.importorskip("playwright.sync_api", reason="Playwright is absent")
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=1)
    _with_problems(db)
    _, page = _digest(settings, db, base_url=True)
    assert LONG_URL in page
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.set_content(page)
            width = tab.evaluate("document.documentElement.scrollWidth")
            # the union of every line of text, overflowing ones included
            box = tab.evaluate(
                "(() => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
                " let l = Infinity, r = -Infinity;"
                " while (w.nextNode()) { if (!w.currentNode.textContent.trim()) continue;"
                "  const g = document.createRange(); g.selectNodeContents(w.currentNode);"
                "  const b = g.getBoundingClientRect();"
                "  l = Math.min(l, b.left); r = Math.max(r, b.right); }"
                " return [l, r]; })()"
            )
        finally:
            browser.close()
    assert width <= 1280
    left, right = box
    assert right - left <= 680, (left, right)
