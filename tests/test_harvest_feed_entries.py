"""Feed entries whose guids and links identify less than they seem, through a real harvest.

Each test serves an RSS 2.0 feed written for the suite from a loopback server, harvests it with
``harvester harvest --source feeds``, changes the feed as real sites do (a section page as every
entry's link, one guid for every entry, a re-published entry, an edited headline) and harvests
again, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from feed_server import FeedServer, Route
from sqlalchemy import func, select

from harvester.cli.main import cli
from harvester.config.settings import Settings
from harvester.store.db import Database
from harvester.store.tables import Candidate, Sighting, Work

TOPIC = "local-news"
DAY = dt.datetime(2025, 2, 24, 8, tzinfo=dt.UTC)
SECTION = "https://news.example.org/health/"


def rss(items: list[tuple[str, str, str, int]]) -> bytes:
    """An RSS 2.0 feed of (guid, title, link, hours after DAY) items, as news sites write it."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        "<title>Example Health News</title><link>https://news.example.org/</link>",
        "<description>Health stories</description>",
    ]
    for guid, title, link, hours in items:
        date = format_datetime(DAY + dt.timedelta(hours=hours))
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(guid)}</guid><pubDate>{date}</pubDate>'
            f"<description>{escape(title)}: the full story.</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


@pytest.fixture
def feed(settings: Settings) -> Iterator[tuple[FeedServer, Database]]:
    with FeedServer() as server:
        server.add("/health.xml", Route(body=rss([])))
        topic = (
            f'[topic]\nslug = "{TOPIC}"\nname = "Local news"\n\n[match]\nphrases = ["health"]\n\n'
            f'[[feeds]]\nname = "Example Health News"\nurl = "{server.url("/health.xml")}"\n'
            "all = true\n"
        )
        assert settings.config_file is not None
        (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(topic, "utf-8")
        db = Database(settings.database.url)
        yield server, db
        db.dispose()


def harvest(server: FeedServer, items: list[tuple[str, str, str, int]]) -> str:
    server.add("/health.xml", Route(body=rss(items)))
    result = CliRunner().invoke(
        cli, ["harvest", "--topic", TOPIC, "--source", "feeds"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Work, Sighting, Candidate)
        )


def test_entries_pointing_at_one_section_page_stay_three_stories(
    feed: tuple[FeedServer, Database],
) -> None:
    server, db = feed
    items = [
        ("health-101", "Council opens two new GP surgeries in the north", SECTION, 0),
        ("health-102", "Link workers to join every primary care network", SECTION, 5),
        ("health-103", "Walking groups cut loneliness, survey finds", SECTION, 30),
    ]
    output = harvest(server, items)
    assert "3 fetched" in output
    assert counts(db) == (3, 3, 3)
    harvest(server, items)  # the same feed again: nothing new
    assert counts(db) == (3, 3, 3)


def test_a_guid_reused_for_every_entry_loses_no_story(feed: tuple[FeedServer, Database]) -> None:
    server, db = feed
    items = [
        ("https://news.example.org/", "Council opens two new GP surgeries", f"{SECTION}a", 0),
        ("https://news.example.org/", "Link workers to join every network", f"{SECTION}b", 26),
        ("https://news.example.org/", "Walking groups cut loneliness", f"{SECTION}c", 50),
    ]
    harvest(server, items)
    assert counts(db) == (3, 3, 3)
    harvest(server, items)
    assert counts(db) == (3, 3, 3)
    with db.read() as session:
        titles = set(session.scalars(select(Work.title)))
    assert titles == {title for _, title, _, _ in items}


def test_a_republished_entry_is_the_same_story_under_its_new_guid(
    feed: tuple[FeedServer, Database],
) -> None:
    server, db = feed
    link = "https://news.example.org/2025/02/link-workers"
    harvest(server, [("old-guid", "Link workers help GPs in the north", link, 0)])
    harvest(server, [("new-guid", "Link workers help GPs in the north", link, 0)])
    assert counts(db) == (1, 1, 1)
    with db.read() as session:
        assert session.scalars(select(Sighting.source_id)).all() == ["new-guid"]


def test_an_edited_headline_under_its_guid_is_an_update(feed: tuple[FeedServer, Database]) -> None:
    server, db = feed
    link = "https://news.example.org/2025/02/plan"
    harvest(server, [("g-7", "Council approves plan for health hub", link, 0)])
    harvest(server, [("g-7", "Council approves new plan for town health hub", link, 2)])
    assert counts(db) == (1, 1, 1)


def test_a_new_guid_on_a_shared_link_with_another_headline_is_another_story(
    feed: tuple[FeedServer, Database],
) -> None:
    server, db = feed
    harvest(server, [("g-1", "Council opens two new GP surgeries", SECTION, 0)])
    harvest(server, [("g-2", "Walking groups cut loneliness, survey finds", SECTION, 24)])
    assert counts(db) == (2, 2, 2)


def test_a_shared_guid_with_another_link_headline_and_date_is_another_story(
    feed: tuple[FeedServer, Database],
) -> None:
    server, db = feed
    harvest(server, [("daily", "Council opens two new GP surgeries", f"{SECTION}monday", 0)])
    harvest(server, [("daily", "Walking groups cut loneliness", f"{SECTION}tuesday", 24)])
    assert counts(db) == (2, 2, 2)
    harvest(server, [("daily", "Walking groups cut loneliness", f"{SECTION}tuesday", 24)])
    assert counts(db) == (2, 2, 2)
