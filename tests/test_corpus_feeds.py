"""Feeds on real recorded captures (the corpus folder's ``feeds/``): every capture the suite
used to carry parsed against its expectation in ``corpus_expected/feeds/``, every hit safe, and
the hand-checked cases on real sites' feeds (Google Alerts, AJPH, bioRxiv, Science, FeedBurner,
encoding traps, malformed feeds, JSON Feed) plus real feeds over loopback HTTP.

``UPDATE_GOLDEN=1 pytest tests/test_corpus_feeds.py`` rewrites ``corpus_expected/feeds/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from corpus import corpus_file, covered, expectation
from feed_server import FeedServer, Route
from golden_files import check_json
from test_sources_feeds import (
    assert_every_hit_is_safe,
    fetch_one,
    request_for,
    summary,
)
from test_sources_feeds import (
    parse as parse_in,
)

from harvester.core.errors import ParseError
from harvester.core.models import WorkKind

pytestmark = pytest.mark.corpus

CAPTURES = covered("feeds")


def parse(name: str, rules: Any = None, url: str | None = None) -> Any:
    return parse_in(name, rules, url, folder=corpus_file(f"feeds/{name}").parent)


@pytest.mark.parametrize("relative", CAPTURES)
def test_capture_parses_as_expected(relative: str) -> None:
    path = corpus_file(relative)
    actual = summary(path.name, folder=path.parent)
    check_json(expectation(relative), actual)


@pytest.mark.parametrize("relative", CAPTURES)
def test_every_hit_of_every_capture_is_safe(relative: str) -> None:
    path = corpus_file(relative)
    assert_every_hit_is_safe(path.name, path.parent)


# ------------------------------------------------------------------ hand-checked cases


def test_google_alerts_titles_lose_markup_and_links_resolve() -> None:
    parsed = parse("feedjira_google_alerts_atom.xml")
    assert parsed.entries == 20
    first = parsed.hits[0]
    # <title type="html">Report offers Prediction of Automotive &lt;b&gt;Slack&lt;/b&gt; ...
    assert first.title.startswith("Report offers Prediction of Automotive Slack Market")
    assert first.url == (
        "https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-"
        "market-by-top-key-players-like-haldex-meritor-bendix-mei-wabco-accuride-stemco-tbk-"
        "febi-aydinsan/"
    )
    assert parsed.hits[1].url == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert first.source_id == "tag:google.com,2013:googlealerts/feed:8974135267215335962"
    assert first.published_at == dt.datetime(2019, 7, 10, 11, 53, 37, tzinfo=dt.UTC)
    assert all("google.com/url" not in (hit.url or "") for hit in parsed.hits)


def test_journal_toc_entries_with_dois_are_articles() -> None:
    parsed = parse("feedjira_AtyponRSSFeed_AJPH.xml")
    assert parsed.entries == 20 and len(parsed.hits) == 20
    assert parsed.bozo and "XML or text declaration not at start of entity" in parsed.bozo
    first = parsed.hits[0]
    assert first.kind is WorkKind.ARTICLE
    assert first.doi == "10.2105/ajph.2014.302274"
    # The item's prism:publicationName repeats the title (an Atypon quirk): dc:source is used.
    assert first.journal == "American Journal of Public Health"
    assert (first.volume, first.issue, first.pages) == ("105", "S2", "e1-e7")
    assert [a.display for a in first.authors][:2] == ["Moody-Thomas Sarah", "Nasuti Laura"]
    assert len(first.authors) == 6
    assert first.published_at == dt.datetime(2015, 3, 6, 21, 9, 13, tzinfo=dt.UTC)
    assert all(hit.doi and hit.doi.startswith("10.2105/ajph.") for hit in parsed.hits)


def test_preprint_toc_doi_and_author_list() -> None:
    hit = parse("feedrs_rss_1.0_biorxiv.xml").hits[0]
    assert hit.kind is WorkKind.ARTICLE and hit.doi == "10.1101/2023.12.16.571984"
    assert hit.authors[0].family == "LAPALU" and hit.authors[0].initials == "N"
    assert hit.authors[3].family == "Plaumann" and hit.authors[3].initials == "PL"
    assert len(hit.authors) == 10


def test_journal_toc_without_doi_stays_news() -> None:
    parsed = parse("rssparser_rss-1.rss")
    assert parsed.entries == 69
    assert {hit.kind for hit in parsed.hits} == {WorkKind.NEWS}
    assert parsed.hits[0].authors[0].family == "Hines"


def test_feedburner_original_links_replace_click_trackers() -> None:
    hit = parse("rssparser_feedburner.atom").hits[0]
    assert hit.url is not None and hit.url.startswith("http://googleadsdeveloper.blogspot.com/")
    hit = parse("feedjira_FeedBurnerXHTML.xml").hits[0]
    assert hit.url == "http://www.rotoauthority.com/2014/04/stock-watch-aprils-finest.html"


def test_empty_items_are_not_entries() -> None:
    # illegally-nested.xml nests an empty <item /> inside each of its 10 real items.
    parsed = parse("nodefeedparser_illegally-nested.xml")
    assert parsed.entries == 10 and len(parsed.hits) == 10


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("nodefeedparser_mediacontent-dupes.xml", "Could the infamous Black Dahlia case be about"),
        ("nodefeedparser_iconv.xml", "В Бузулуке главные стройплощадки – детсад"),
        ("rssparser_encoding.rss", "Mãe de utente é a nova presidente da Raríssimas"),
        ("feedrs_rss_1.0_iso8859.xml", "Digitalministerium: Neue Glasfaserförderung"),
        ("feedrs_rss_0.91_encoding_1.xml", "bash - Expansão de Parâmetros"),
        ("feedjira_a10.xml", "Title 5"),
        ("feedrs_rss_2.0_ilmessaggero.xml", "Missili Polonia, cosa è successo?"),
    ],
)
def test_encoding_traps(name: str, title: str) -> None:
    hits = parse(name).hits
    assert hits[0].title.startswith(title)
    for hit in hits:
        assert "Ã" not in hit.title and "â€" not in hit.title and "\ufffd" not in hit.title


def test_declared_latin1_but_utf8_bytes_is_read_as_utf8() -> None:
    parsed = parse("nodefeedparser_mediacontent-dupes.xml")
    assert parsed.bozo == "declared iso-8859-1 but the bytes are UTF-8; read as UTF-8"
    assert "Â" not in (parsed.hits[0].summary_html or "")


def test_recoverable_feed_keeps_entries_and_reports_bozo() -> None:
    parsed = parse("nodefeedparser_saxerror.xml")
    assert parsed.entries == 3
    assert parsed.bozo is not None and parsed.bozo.startswith("SAXParseException")
    assert parsed.hits[0].title == "Good Item"


def test_localised_weekday_date_is_still_read() -> None:
    hit = parse("feedrs_rss_2.0_ilmessaggero.xml").hits[0]  # "mer, 16 nov 2022 00:38:15 +0100"
    assert not hit.date_is_fallback
    assert hit.published_at == dt.datetime(2022, 11, 15, 23, 38, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nodefeedparser_notafeed.html", "an HTML page"),
        ("rssparser_unrecognized.rss", "junk after document element"),
        ("feedparser_illformed_rss_empty_document.xml", "no element found"),
    ],
)
def test_not_a_feed(name: str, reason: str) -> None:
    with pytest.raises(ParseError, match=f"not a feed .*{reason}"):
        parse(name)


def test_json_feed() -> None:
    parsed = parse("feedjira_json_feed.json")
    assert parsed.version == "json1" and parsed.entries == 20
    first = parsed.hits[0]
    assert first.title == "James Dempsey and the Breakpoints Benefit App Camp for Girls"
    assert first.published_at == dt.datetime(2017, 6, 3, 5, 5, 47, tzinfo=dt.UTC)
    assert first.summary_html and first.summary_html.startswith("<p>On Wednesday night")
    elastic = parse("feedrs_jsonfeed_elastic_1.1.json")
    assert elastic.version == "json11" and elastic.title == "Blog \u2013 InfluxData"


# -------------------------------------------------------------------------------- HTTP


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def serve(server: FeedServer, path: str, name: str, **options: Any) -> str:
    body = corpus_file(f"feeds/{name}").read_bytes()
    return server.add(path, Route(body=body, **options))


def test_fetch_a_real_feed_with_gzip(server: FeedServer) -> None:
    url = serve(server, "/gz.rss", "rssparser_guardian.rss", gzip=True)
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.entries == 55
    assert 0 < result.bytes_received < 151464 // 3


@pytest.mark.parametrize(
    "content_type",
    [
        "text/xml",
        None,
        "text/xml; charset=iso-8859-1",  # wrong: the bytes are UTF-8
        "text/html; charset=windows-1252",  # wrong type and charset
        "application/rss+xml; charset=utf-8",
    ],
)
def test_charset_in_content_type(server: FeedServer, content_type: str | None) -> None:
    url = serve(server, "/gov.xml", "nodefeedparser_wapowellness.xml", content_type=content_type)
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.entries == 29
    titles = [hit.title for hit in result.hits]
    assert "Schools minister to kids\u2019 fitness and nutrition needs" in titles[0]
    assert not any("â€" in title or "Ã" in title for title in titles)


def test_latin1_feed_served_as_utf8(server: FeedServer) -> None:
    url = serve(
        server,
        "/jn.rss",
        "rssparser_encoding.rss",
        content_type="application/rss+xml; charset=utf-8",
    )
    result = fetch_one(request_for(url))
    assert result.hits[0].title == "Mãe de utente é a nova presidente da Raríssimas"
    assert result.bozo is not None and "CharacterEncodingOverride" in result.bozo
