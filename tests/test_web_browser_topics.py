"""A librarian with only a browser and the one-time link, in Debian's Chromium: creates the
first admin, adds a topic, tries its PubMed query against a loopback E-utilities server, adds a
feed by a web page's address from a loopback server, harvests now and watches the progress, and
reviews the candidates; the new pages have no serious accessibility violations.

Skipped, with the reason, where /usr/bin/chromium or Playwright is absent.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, serve
from feed_server import FeedServer, Route
from websupport import live_server

from harvester.config.settings import load_settings
from harvester.store import people
from harvester.store.db import Database
from harvester.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"{CHROMIUM} is absent: apt-get install chromium chromium-driver",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is absent")

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Community health news</title>
<item><title>Loneliness clubs open in every library</title><link>https://example.org/a</link>
<guid>a</guid><pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate></item>
<item><title>Museum visits for lonely older people</title><link>https://example.org/b</link>
<guid>b</guid><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
PAGE = b"""<!doctype html><html lang="en"><head><title>News</title>
<link rel="alternate" type="application/rss+xml" title="News" href="/news/rss"></head>
<body><h1>News</h1></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _axe(page: Any) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_librarian_sets_up_a_topic_and_harvests_it_in_the_browser(
    browser: Any, tmp_path: Path, sqlite_db: Database
) -> None:
    corpus = Corpus.from_files(TOPIC_SUBSET)
    site = tmp_path / "site"
    site.mkdir()
    with serve(corpus) as eutils, FeedServer() as feeds:
        (site / "harvester.toml").write_text(
            f'[database]\nurl = "{sqlite_db.url}"\n\n[pubmed]\nbase_url = "{eutils.base_url}"\n'
            "max_retries = 0\n\n[feeds]\nmax_retries = 0\n",
            encoding="utf-8",
        )
        settings = load_settings(site / "harvester.toml")
        settings.web.secret_key = "browser-test-secret-key-0123456789"
        page_url = feeds.add("/news", Route(body=PAGE, content_type="text/html; charset=utf-8"))
        feeds.add("/news/rss", Route(body=RSS))
        with sqlite_db.write() as session:
            token = people.issue_setup_token(session, now=dt.datetime.now(dt.UTC))
        with live_server(create_app(settings, sqlite_db)) as base:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, base_url=base, bypass_csp=True
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"/setup/{token}")
            assert not (bad := _axe(page)), "\n".join(bad)
            page.get_by_label("Your e-mail address").fill("librarian@example.org")
            page.get_by_label("Password", exact=True).fill("a long password")
            page.get_by_label("The same again").fill("a long password")
            page.get_by_role("button", name="Create the account").click()
            page.wait_for_url(f"{base}/")

            page.get_by_label("Name", exact=True).fill("Loneliness")
            page.get_by_role("button", name="Add the topic").click()
            page.wait_for_url("**/topics/loneliness/settings")
            page.get_by_label("PubMed query").fill('"social prescri*"[tiab]')
            page.get_by_label("Phrases a news item must contain").fill("lonel*")
            page.get_by_label("PubMed window from").fill("2020-01-01")
            page.get_by_label("to", exact=True).fill("2021-12-31")
            page.get_by_role("button", name="Try it").click()
            sync_api.expect(page.locator(".trial").first).to_contain_text(
                f"{len(corpus.records)} from 2020-01-01 to 2021-12-31"
            )
            page.get_by_role("button", name="Save changes").click()
            sync_api.expect(page.get_by_role("status").first).to_contain_text("Saved.")

            page.get_by_label("Add a feed by its address, or a web page's").fill(page_url)
            page.get_by_role("button", name="Check it").click()
            sync_api.expect(page.locator(".trial")).to_contain_text("Community health news")
            page.get_by_role("button", name="Add this feed").click()
            sync_api.expect(page.locator("#feeds + table")).to_contain_text("news/rss")
            assert not (bad := _axe(page)), "\n".join(bad)

            page.get_by_role("button", name="News feeds only").click()
            page.wait_for_url("**/topics/loneliness/harvest/*")
            sync_api.expect(page.get_by_role("status")).to_contain_text("Finished", timeout=30_000)
            sync_api.expect(page.locator("table")).to_contain_text("1 of 1")
            assert not (bad := _axe(page)), "\n".join(bad)

            page.get_by_role("link", name="Go to the review queue").click()
            sync_api.expect(page.locator("article.card")).to_have_count(2)
            sync_api.expect(page.locator("article.card").first).to_contain_text("lonel")

            page.goto("/people")
            assert not (bad := _axe(page)), "\n".join(bad)
            context.close()
