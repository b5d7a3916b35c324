"""Adding a feed by its address or by a page's: checked at once against a loopback server
(autodiscovery from <link rel="alternate">), and OPML in and out."""

from __future__ import annotations

import datetime as dt

import pytest
from feed_server import FeedServer, Route

from harvester.config.settings import FeedsSettings
from harvester.core.errors import FetchError, ParseError
from harvester.sources.discover import (
    FeedOutline,
    check_feed,
    feed_links,
    read_opml,
    write_opml,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Health news</title><link>https://example.org/</link>
<item><title>Social prescribing reaches rural GPs</title><link>https://example.org/a</link>
<guid>a</guid></item>
<item><title>Link workers in every practice</title><link>https://example.org/b</link>
<guid>b</guid></item>
</channel></rss>"""

PAGE = """<!doctype html><html><head><title>News</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="All news" href="/news/feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
</head><body><p>News</p></body></html>"""

SETTINGS = FeedsSettings(max_retries=0)


def test_a_feed_address_is_checked_and_shows_its_title_and_latest_entries() -> None:
    with FeedServer() as server:
        url = server.add("/feed.xml", Route(body=RSS))
        check = check_feed(url, SETTINGS, now=NOW)
    assert check.url == url
    assert check.page is None
    assert check.title == "Health news"
    assert check.entries == 2
    assert check.latest[0] == ("Social prescribing reaches rural GPs", "https://example.org/a")


def test_a_page_address_finds_the_feed_the_page_names() -> None:
    with FeedServer() as server:
        page = server.add(
            "/news", Route(body=PAGE.encode(), content_type="text/html; charset=utf-8")
        )
        feed = server.add("/news/feed.xml", Route(body=RSS))
        check = check_feed(page, SETTINGS, now=NOW)
    assert (check.url, check.page, check.title) == (feed, page, "Health news")


def test_a_page_without_feed_links_and_a_dead_address_are_explained() -> None:
    with FeedServer() as server:
        page = server.add(
            "/plain", Route(body=b"<html><body>hi</body></html>", content_type="text/html")
        )
        with pytest.raises(ParseError, match="this page is not a feed and names no feed"):
            check_feed(page, SETTINGS, now=NOW)
        missing = server.url("/gone")
        server.add("/gone", Route(status=404, body=b"no"))
        with pytest.raises(FetchError, match="/gone"):
            check_feed(missing, SETTINGS, now=NOW)
    with pytest.raises(FetchError, match="give the feed's or the page's full address"):
        check_feed("bbc news", SETTINGS, now=NOW)


def test_feed_links_are_absolute_and_only_feed_types() -> None:
    links = feed_links(PAGE, "https://example.org/news/")
    assert links == [
        ("https://example.org/news/feed.xml", "All news"),
        ("https://other.example/atom", None),
    ]
    assert (
        feed_links("<html><link rel=alternate type=text/html href=/x></html>", "https://a/") == []
    )


def test_opml_round_trip_and_nested_folders() -> None:
    feeds = [FeedOutline("https://example.org/rss?a=1&b=2", 'BBC "Health" <news>')]
    text = write_opml("Social prescribing", feeds, now=NOW)
    assert read_opml(text.encode(), "x.opml") == feeds
    nested = b"""<opml version="1.0"><body><outline text="Folder">
      <outline text="One" xmlUrl="https://a.example/feed"/>
      <outline text="Dup" xmlUrl="https://a.example/feed"/>
      <outline text="Not a feed" htmlUrl="https://b.example/"/>
      <outline title="Two" text="t" xmlUrl="https://c.example/rss"/></outline></body></opml>"""
    assert read_opml(nested, "x.opml") == [
        FeedOutline("https://a.example/feed", "One"),
        FeedOutline("https://c.example/rss", "Two"),
    ]


def test_opml_that_is_not_opml_is_named() -> None:
    with pytest.raises(ParseError, match="subs.xml: not an OPML file"):
        read_opml(b"<rss/>", "subs.xml")
    with pytest.raises(ParseError, match="subs.xml: not an OPML file"):
        read_opml(b"<opml", "subs.xml")
    bomb = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>
    <outline text="&b;" xmlUrl="https://a.example/feed"/></body></opml>"""
    assert read_opml(bomb, "x.opml")[0].url == "https://a.example/feed"
