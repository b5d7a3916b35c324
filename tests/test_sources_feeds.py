"""The feeds source: every fixture parsed, hits sanitised, and fetching over real loopback HTTP
through every server behaviour (304s, gzip, redirects, errors, timeouts, truncation, charsets,
size cap, concurrency per host).

``UPDATE_GOLDEN=1 pytest tests/test_sources_feeds.py`` rewrites ``fixtures/feeds/expected/``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from feed_server import FEEDS, FeedServer, Route, max_overlap
from golden_files import check_json

from harvester import USER_AGENT
from harvester.config.settings import FeedsSettings
from harvester.core.errors import ParseError
from harvester.core.models import DatePrecision, Hit, WorkKind
from harvester.core.phrases import compile_rules
from harvester.core.text import ALLOWED_TAGS
from harvester.sources.feed_entry import parse_authors
from harvester.sources.feeds import FeedRequest, FeedResult, fetch_feeds, host_key, parse_feed

EXPECTED = FEEDS / "expected"
FEED_FILES = sorted(p.name for p in FEEDS.iterdir() if p.is_file() and p.suffix != ".md")
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
LARGE = "feedparser_large_atom_touchnokia_ru.xml"  # 157,701 bytes, 15 entries, UTF-8 Russian
TOPIC_PHRASES = ["social prescri*", "link worker*", "arts on prescription", "green prescri*"]


def parse(name: str, rules: Any = None, url: str | None = None, folder: Path = FEEDS) -> Any:
    return parse_feed(
        (folder / name).read_bytes(),
        url=url or f"https://feeds.example.org/{name}",
        name="Test feed",
        rules=rules,
        now=NOW,
    )


# ----------------------------------------------------------------------- every fixture


def _hit_summary(hit: Hit) -> dict[str, Any]:
    return {
        "source_id": hit.source_id,
        "title": hit.title,
        "url": hit.url,
        "kind": hit.kind.value,
        "published_at": hit.published_at.isoformat() if hit.published_at else None,
        "date_is_fallback": hit.date_is_fallback,
        "doi": hit.doi,
        "journal": hit.journal,
        "authors": [a.display for a in hit.authors],
        "source_name": hit.source_name,
    }


def summary(name: str, folder: Path = FEEDS) -> dict[str, Any]:
    """What the golden files hold for the feed ``folder/name``."""
    try:
        parsed = parse(name, folder=folder)
    except ParseError as exc:
        return {"error": str(exc)}
    return {
        "version": parsed.version,
        "title": parsed.title,
        "entries": parsed.entries,
        "hits": len(parsed.hits),
        "bozo": parsed.bozo.split(":", 1)[0] if parsed.bozo else None,
        "first": [_hit_summary(hit) for hit in parsed.hits[:3]],
        "last": _hit_summary(parsed.hits[-1]) if parsed.hits else None,
    }


@pytest.mark.parametrize("name", FEED_FILES)
def test_fixture_parses_as_expected(name: str) -> None:
    actual = summary(name)
    check_json(EXPECTED / f"{name}.json", actual)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe_hit(hit: Hit, origin: str) -> None:
    assert hit.source == "feeds"
    assert hit.origin == origin
    assert hit.source_id and len(hit.source_id) <= 512
    assert hit.title and hit.title == hit.title.strip()
    assert not re.search(r"<[A-Za-z/!]", hit.title), hit.title
    assert "\n" not in hit.title and "  " not in hit.title
    assert not re.search(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-f]+);", hit.title, re.I), hit.title
    assert hit.published_at is not None and hit.published_at.utcoffset() is not None
    assert hit.pub_date is not None and hit.pub_date.precision is DatePrecision.DAY
    assert hit.pub_date.as_date() == hit.published_at.date()
    assert hit.date_is_fallback == (hit.published_at == NOW)
    if hit.url is not None:
        assert urlsplit(hit.url).scheme in ("http", "https")
        assert "#" not in hit.url and "utm_" not in hit.url
    assert hit.kind in (WorkKind.NEWS, WorkKind.ARTICLE)
    assert (hit.kind is WorkKind.ARTICLE) == (hit.doi is not None)
    assert hit.raw is not None and isinstance(json.loads(hit.raw), dict)
    if hit.summary_html is not None:
        lowered = hit.summary_html.lower()
        assert "javascript:" not in lowered and "<script" not in lowered
        markup = _Markup()
        markup.feed(hit.summary_html)
        for tag, attrs in markup.tags:
            assert tag in ALLOWED_TAGS, (tag, hit.summary_html[:200])
            for attr, value in attrs:
                assert tag == "a" and attr in ("href", "rel"), (tag, attr)
                if attr == "href":
                    assert value and urlsplit(value).scheme in ("http", "https", "mailto")
                if attr == "rel":
                    assert value == "nofollow noopener"
        assert hit.abstract and hit.abstract[0].text
        text = hit.abstract[0].text.lower()  # plain text: "<" may be literal (code samples)
        assert "<script" not in text and "<p>" not in text and "<br" not in text


@pytest.mark.parametrize("name", FEED_FILES)
def test_every_hit_of_every_fixture_is_safe(name: str) -> None:
    assert_every_hit_is_safe(name, FEEDS)


def assert_every_hit_is_safe(name: str, folder: Path) -> None:
    url = f"https://feeds.example.org/{name}"
    try:
        parsed = parse(name, url=url, folder=folder)
    except ParseError as exc:
        assert str(exc).startswith(f"{url}: not a feed")
        return
    ids = [hit.source_id for hit in parsed.hits]
    assert len(ids) == len(set(ids))
    assert len(parsed.hits) <= parsed.entries
    for hit in parsed.hits:
        assert_safe_hit(hit, url)
        assert hit.matched_rule == "all"


# ------------------------------------------------------------------ hand-checked cases
# Each case below uses a feed written for this suite; the same checks on real captures are in
# test_corpus_feeds.py (run when the corpus folder is there).


def test_search_alert_titles_lose_markup_and_redirect_links_resolve() -> None:
    parsed = parse("handwritten_search_alerts_atom.xml")
    assert parsed.entries == 5
    first = parsed.hits[0]
    # <title type="html">Council expands &lt;b&gt;social prescribing&lt;/b&gt; scheme ...
    assert first.title == "Council expands social prescribing scheme to every GP surgery ..."
    assert first.url == (
        "https://www.localnews.example/health/council-expands-social-prescribing-scheme/"
    )
    assert parsed.hits[1].url == "https://carersweekly.example/2024/05/what-is-social-prescribing/"
    # the target's own query string arrives percent-encoded inside the redirect's url=
    assert parsed.hits[2].url == (
        "https://www.gardeningtimes.example/news/2024/allotments-older-men?source=rss"
    )
    assert first.source_id == "tag:google.com,2013:googlealerts/feed:1000000000000000011"
    assert first.published_at == dt.datetime(2024, 5, 20, 8, 15, tzinfo=dt.UTC)
    assert all("google.com/url" not in (hit.url or "") for hit in parsed.hits)


def test_journal_toc_entries_with_dois_are_articles() -> None:
    parsed = parse("handwritten_journal_toc_prism.xml")
    assert parsed.entries == 3 and len(parsed.hits) == 3
    assert parsed.bozo and "XML or text declaration not at start of entity" in parsed.bozo
    first = parsed.hits[0]
    assert first.kind is WorkKind.ARTICLE
    assert first.doi == "10.5555/jchp.2024.000101"
    # The item's prism:publicationName repeats the title (an Atypon quirk): dc:source is used.
    assert first.journal == "Journal of Community Health Practice"
    assert (first.volume, first.issue, first.pages) == ("12", "S1", "e1-e9")
    assert [a.display for a in first.authors][:2] == ["Okafor Amina", "Lindqvist Peter"]
    assert len(first.authors) == 4
    assert first.published_at == dt.datetime(2024, 5, 3, 14, 20, 5, tzinfo=dt.UTC)
    assert all(hit.doi and hit.doi.startswith("10.5555/jchp.") for hit in parsed.hits)
    assert parsed.hits[2].title == "Correction to: Arts on Prescription for Young People"


def test_preprint_toc_doi_and_author_list() -> None:
    hit = parse("handwritten_preprint_toc.xml").hits[0]
    assert hit.kind is WorkKind.ARTICLE and hit.doi == "10.5555/2024.01.02.000001"
    assert hit.authors[0].family == "ROSSI" and hit.authors[0].initials == "N"
    assert hit.authors[3].family == "Weber" and hit.authors[3].initials == "PL"
    assert len(hit.authors) == 6


def test_journal_toc_without_doi_stays_news() -> None:
    parsed = parse("handwritten_toc_without_doi.rdf")
    assert parsed.entries == 3
    assert {hit.kind for hit in parsed.hits} == {WorkKind.NEWS}
    assert parsed.hits[0].authors[0].family == "Hines"


def test_feedburner_original_links_replace_click_trackers() -> None:
    hit = parse("handwritten_feedburner.atom").hits[0]
    assert hit.url == "https://communityhealthnotes.example.org/2024/04/five-things.html"
    hit = parse("handwritten_feedburner_xhtml.xml").hits[0]
    assert hit.url == "https://nursediary.example.net/2024/04/clinic-notes-aprils-busiest-week.html"


def test_empty_items_are_not_entries() -> None:
    # Each of the 3 real items nests an empty <item /> (as illegally-nested.xml does).
    parsed = parse("handwritten_nested_empty_items.xml")
    assert parsed.entries == 3 and len(parsed.hits) == 3


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("handwritten_declared_latin1_utf8.xml", "Could the café on prescription idea"),
        ("handwritten_windows1251.xml", "В поликлиниках открылись школы здоровья – для"),
        ("handwritten_latin1.rss", "Mãe de utente é a nova presidente da associação"),
        ("handwritten_latin1_rdf.xml", "Gesundheitsministerium: Neue Förderung für"),
        ("handwritten_latin1_rss091.xml", "Alimentação - Expansão dos Parâmetros"),
        ("handwritten_bom.xml", "Title 5 – naïve café résumé"),
        ("handwritten_localised_dates.xml", "Medici di base, cosa è cambiato"),
    ],
)
def test_encoding_traps(name: str, title: str) -> None:
    hits = parse(name).hits
    assert hits[0].title.startswith(title)
    for hit in hits:
        assert "Ã" not in hit.title and "â€" not in hit.title and "\ufffd" not in hit.title


def test_declared_latin1_but_utf8_bytes_is_read_as_utf8() -> None:
    parsed = parse("handwritten_declared_latin1_utf8.xml")
    assert parsed.bozo == "declared iso-8859-1 but the bytes are UTF-8; read as UTF-8"
    assert "Â" not in (parsed.hits[0].summary_html or "")
    assert parsed.hits[1].title == "Über-fit at 80: the Zürich walking club"


def test_recoverable_feed_keeps_entries_and_reports_bozo() -> None:
    parsed = parse("handwritten_saxerror.xml")
    assert parsed.entries == 3
    assert parsed.bozo is not None and parsed.bozo.startswith("SAXParseException")
    assert parsed.hits[0].title == "Good Item"


def test_localised_weekday_date_is_still_read() -> None:
    hit = parse("handwritten_localised_dates.xml").hits[0]  # "mer, 16 nov 2022 00:38:15 +0100"
    assert not hit.date_is_fallback
    assert hit.published_at == dt.datetime(2022, 11, 15, 23, 38, 15, tzinfo=dt.UTC)


def _dated(*dates: str) -> list[Hit]:
    items = "".join(
        f"<item><guid>d{n}</guid><title>t{n}</title><pubDate>{d}</pubDate></item>"
        for n, d in enumerate(dates)
    )
    body = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    return parse_feed(body, url="https://ex.org/f", name="n", rules=None, now=NOW).hits


def test_dates_in_the_future_are_not_believed() -> None:
    far, soon = _dated("Tue, 01 Jan 2099 00:00:00 GMT", "Sun, 02 Jun 2024 02:00:00 +0100")
    assert far.published_at == NOW and far.date_is_fallback
    # Within a day of the clock: a publisher's wrong zone, not a wrong date.
    assert soon.published_at == dt.datetime(2024, 6, 2, 1, 0, tzinfo=dt.UTC)
    assert not soon.date_is_fallback


def test_year_or_month_only_dates_keep_their_precision() -> None:
    year, month, day = _dated("2023", "2023-11", "2023-11-05")
    assert year.pub_date is not None and year.pub_date.precision is DatePrecision.YEAR
    assert year.pub_date.iso() == "2023" and not year.date_is_fallback
    assert month.pub_date is not None and month.pub_date.precision is DatePrecision.MONTH
    assert month.pub_date.iso() == "2023-11"
    assert day.pub_date is not None and day.pub_date.precision is DatePrecision.DAY


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("handwritten_notafeed.html", "an HTML page"),
        ("handwritten_unrecognized.xml", "junk after document element"),
        ("feedparser_illformed_rss_empty_document.xml", "no element found"),
    ],
)
def test_not_a_feed(name: str, reason: str) -> None:
    with pytest.raises(ParseError, match=f"not a feed .*{reason}"):
        parse(name)


def test_json_feed() -> None:
    parsed = parse("handwritten_jsonfeed_1.json")
    assert parsed.version == "json1" and parsed.entries == 3
    first = parsed.hits[0]
    assert first.title == "Episode 12: Reading Groups on Prescription"
    assert first.published_at == dt.datetime(2024, 5, 3, 5, 5, 47, tzinfo=dt.UTC)
    assert first.summary_html and first.summary_html.startswith("<p>On Wednesday night")
    assert parsed.hits[1].published_at == dt.datetime(2024, 4, 20, 22, 0, tzinfo=dt.UTC)
    newer = parse("handwritten_jsonfeed_1.1.json")
    assert newer.version == "json11" and newer.title == "Blog \u2013 Health Data Lab"
    assert [a.display for a in newer.hits[0].authors] == ["Nordmann Ola"]


def test_json_that_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b'{"a": 1}', url="https://x.example/", name="x", rules=None, now=NOW)
    with pytest.raises(ParseError, match="cannot be read"):
        parse_feed(b"{nope", url="https://x.example/", name="x", rules=None, now=NOW)


# --------------------------------------------------------------- rules and hostile markup


def test_rules_choose_entries_and_record_the_phrase() -> None:
    rules = compile_rules([*TOPIC_PHRASES, "care"], ["veterinar*"])
    parsed = parse("handwritten_hostile.xml", rules=rules)
    assert parsed.entries == 5
    assert [(h.source_id, h.matched_rule) for h in parsed.hits] == [
        ("hostile-1", "social prescri*"),
        ("hostile-2", "arts on prescription"),
    ]  # hostile-3 says "careful", hostile-4 is excluded, the second hostile-1 is a repeat


def test_hostile_markup_is_neutralised() -> None:
    url = "https://news.example.org/feed.xml"
    parsed = parse("handwritten_hostile.xml", url=url)
    first, second = parsed.hits[0], parsed.hits[1]
    for hit in parsed.hits:
        assert_safe_hit(hit, url)
        assert "/etc/passwd" not in (hit.raw or b"").decode() and "root:" not in hit.title
    assert first.title == "Social prescribing link workers & GPs"
    assert first.url == "https://news.example.org/2024/05/social-prescribing-link-workers?id=42"
    assert first.authors[0].family == "Smith" and first.authors[0].given == "Jane"
    html = first.summary_html or ""
    for banned in (
        "script",
        "style",
        "iframe",
        "form",
        "input",
        "img",
        "svg",
        "object",
        "embed",
        "meta",
        "onclick",
        "onerror",
        "onload",
        "onmouseover",
        "javascript",
        "data:",
        "target=",
        "evil.example",
    ):
        assert banned not in html.lower(), banned
    assert "<p>Link workers <b>help</b> patients.</p>" in html
    assert (
        '<a href="https://www.nhs.uk/social-prescribing/" rel="nofollow noopener">NHS page</a>'
        in html
    )
    assert '<a href="https://news.example.org/relative/page" rel="nofollow noopener">' in html
    assert "<ul><li>one</li><li>two</li></ul><blockquote>quoted</blockquote>" in html
    assert first.abstract[0].text.startswith("Link workers help patients.")
    assert "document.cookie" not in first.abstract[0].text
    assert second.url == "https://www.example.com/arts-on-prescription?page=2"
    assert second.date_is_fallback and second.published_at == NOW
    assert second.pub_date is not None and second.pub_date.iso() == "2024-06-01"
    assert second.summary_html == "Plain text summary with <b>escaped</b> markup and no date."
    assert parsed.title == "Hostile Health News"
    assert first.source_name == "Test feed"


# -------------------------------------------------------------------------------- HTTP


def settings(**changes: Any) -> FeedsSettings:
    values: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "max_retries": 0,
        "backoff_base": 0.01,
        "concurrency": 4,
    }
    values.update(changes)
    return FeedsSettings(**values)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def fetch_one(request: FeedRequest, **changes: Any) -> FeedResult:
    results = list(fetch_feeds([request], settings(**changes), now=NOW))
    assert len(results) == 1
    return results[0]


def request_for(url: str, rules: Any = None, **validators: Any) -> FeedRequest:
    return FeedRequest(url=url, name="Local feed", rules=rules, **validators)


def test_fetch_parses_and_sends_the_user_agent(server: FeedServer) -> None:
    url = server.add_fixture("/large.xml", LARGE)
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.error is None and result.http_status == 200
    assert result.entries == 15 and len(result.hits) == 15
    assert result.final_url == url
    assert result.bytes_received == (FEEDS / LARGE).stat().st_size
    assert result.elapsed > 0
    (logged,) = server.requests_for("/large.xml")
    assert logged.headers["user-agent"] == USER_AGENT
    assert "harvester" in USER_AGENT and "https://" in USER_AGENT
    assert "application/rss+xml" in logged.headers["accept"]
    assert "if-none-match" not in logged.headers
    assert all(hit.origin == url for hit in result.hits)


def test_custom_user_agent(server: FeedServer) -> None:
    url = server.add_fixture("/a.xml", "handwritten_bom.xml")
    fetch_one(request_for(url), user_agent="LibraryBot/1.0 (+https://library.example/)")
    assert server.requests_for("/a.xml")[0].headers["user-agent"] == (
        "LibraryBot/1.0 (+https://library.example/)"
    )


def test_conditional_get_second_fetch_is_a_304_without_body(server: FeedServer) -> None:
    url = server.add_fixture(
        "/large.xml",
        LARGE,
        etag='"v1"',
        last_modified="Wed, 01 May 2024 10:00:00 GMT",
    )
    first = fetch_one(request_for(url))
    assert first.status == "ok" and first.etag == '"v1"'
    assert first.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert first.bytes_received > 100_000
    second = fetch_one(request_for(url, etag=first.etag, last_modified=first.last_modified))
    assert second.status == "not_modified" and second.http_status == 304
    assert second.bytes_received == 0 and second.hits == [] and second.entries == 0
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    logged = server.requests_for("/large.xml")[1]
    assert logged.headers["if-none-match"] == '"v1"'
    assert logged.headers["if-modified-since"] == "Wed, 01 May 2024 10:00:00 GMT"
    assert logged.status == 304 and logged.body_bytes == 0


def test_last_modified_alone_gives_a_304(server: FeedServer) -> None:
    url = server.add_fixture(
        "/lm.xml", "handwritten_rss2_four_items.xml", last_modified="Tue, 10 Jun 2003 04:00:00 GMT"
    )
    first = fetch_one(request_for(url))
    assert first.etag is None
    second = fetch_one(request_for(url, last_modified=first.last_modified))
    assert second.status == "not_modified" and second.last_modified == first.last_modified


def test_changed_feed_after_304_is_fetched_again(server: FeedServer) -> None:
    url = server.add_fixture("/f.xml", "handwritten_rss2_four_items.xml", etag='"old"')
    server.routes["/f.xml"].etag = '"new"'
    result = fetch_one(request_for(url, etag='"old"'))
    assert result.status == "ok" and result.etag == '"new"' and result.entries == 4


def test_gzip_body(server: FeedServer) -> None:
    url = server.add_fixture("/gz.rss", LARGE, gzip=True)
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.entries == 15
    assert 0 < result.bytes_received < (FEEDS / LARGE).stat().st_size // 3
    assert "gzip" in server.requests_for("/gz.rss")[0].headers["accept-encoding"]


def test_redirect_chain_keeps_the_final_url(server: FeedServer) -> None:
    final = server.add_fixture("/final.xml", "handwritten_rss2_four_items.xml")
    server.add("/moved", Route(status=301, location="/temp"))
    server.add("/temp", Route(status=302, location=final))
    result = fetch_one(request_for(server.url("/moved")))
    assert result.status == "ok" and result.final_url == final and result.entries == 4
    assert result.hits[0].origin == server.url("/moved")  # the URL as configured


def test_redirect_loop_is_an_error(server: FeedServer) -> None:
    server.add("/loop", Route(status=302, location="/loop"))
    result = fetch_one(request_for(server.url("/loop")))
    assert result.status == "error" and result.error == f"{server.url('/loop')}: too many redirects"


@pytest.mark.parametrize(("status", "text"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500")])
def test_http_errors(server: FeedServer, status: int, text: str) -> None:
    url = server.add(
        "/err", Route(status=status, body=b"<html>oops</html>", content_type="text/html")
    )
    result = fetch_one(request_for(url))
    assert result.status == "error" and result.http_status == status
    assert result.error is not None and result.error.startswith(f"{url}: {text}")
    assert "\n" not in result.error


def test_transient_errors_are_retried(server: FeedServer) -> None:
    url = server.add("/busy", Route(status=503, headers={"Retry-After": "0"}))
    result = fetch_one(request_for(url), max_retries=2)
    assert result.error == f"{url}: failed after 3 attempts: HTTP 503 Service Unavailable"
    assert len(server.requests_for("/busy")) == 3
    once = fetch_one(request_for(url), max_retries=0)
    assert once.error == f"{url}: HTTP 503 Service Unavailable"


def test_slow_answer_times_out(server: FeedServer) -> None:
    url = server.add_fixture("/slow.xml", "handwritten_rss2_four_items.xml", delay=1.0)
    result = fetch_one(request_for(url), read_timeout=0.2)
    assert result.status == "error"
    assert result.error == f"{url}: no answer within 0.2 s (read timeout)"
    assert result.elapsed < 0.9


def test_truncated_body_is_an_error_and_stores_no_validators(server: FeedServer) -> None:
    url = server.add_fixture("/cut.rss", LARGE, truncate_to=5000, etag='"partial"')
    result = fetch_one(request_for(url))
    assert result.status == "error"
    assert result.error is not None and "body incomplete" in result.error
    assert result.error.startswith(url)
    assert result.etag is None  # the stored validators (none) stay: next run fetches again


def test_oversize_body_is_refused(server: FeedServer) -> None:
    url = server.add_fixture("/big.rss", LARGE)
    result = fetch_one(request_for(url), max_bytes=20_000)
    assert result.error == f"{url}: body of 157701 bytes is over the 20000-byte limit"
    assert result.bytes_received == 0


def test_oversize_after_decompression_is_refused_while_streaming(server: FeedServer) -> None:
    body = b"<rss version='2.0'><channel><title>x</title>" + b" " * 3_000_000 + b"</channel></rss>"
    url = server.add("/bomb.xml", Route(body=body, gzip=True))
    result = fetch_one(request_for(url), max_bytes=100_000)
    assert result.error == f"{url}: body is over the 100000-byte limit"
    assert result.bytes_received < 100_000


def test_a_304_to_an_unconditional_request_is_an_error(server: FeedServer) -> None:
    url = server.add("/lying", Route(always_304=True))
    result = fetch_one(request_for(url))
    assert result.status == "error" and result.http_status == 304
    assert result.error == f"{url}: HTTP 304 Not Modified to a request without validators"


def test_a_body_dripped_slower_than_the_total_timeout_is_abandoned(server: FeedServer) -> None:
    url = server.add_fixture("/drip.xml", "handwritten_rss2_four_items.xml", trickle=0.02)
    result = fetch_one(request_for(url), read_timeout=1.0, total_timeout=0.5)
    assert result.status == "error"
    assert result.error == f"{url}: body not complete within 0.5 s"
    assert result.elapsed < 1.5


def test_a_stall_inside_the_body_is_a_read_timeout(server: FeedServer) -> None:
    url = server.add_fixture("/stall.xml", "handwritten_rss2_four_items.xml", trickle=0.5)
    result = fetch_one(request_for(url), read_timeout=0.2)
    assert result.error == f"{url}: timed out while reading the body"


def test_a_body_that_is_not_the_compression_it_claims_is_an_error(server: FeedServer) -> None:
    url = server.add_fixture(
        "/fake.gz", "handwritten_rss2_four_items.xml", headers={"Content-Encoding": "gzip"}
    )
    result = fetch_one(request_for(url))
    assert result.error is not None
    assert result.error.startswith(f"{url}: body cannot be decompressed")


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_redirect_to_a_non_http_scheme_is_an_error(server: FeedServer, target: str) -> None:
    url = server.add("/elsewhere", Route(status=302, location=target))
    result = fetch_one(request_for(url))
    assert result.status == "error" and result.error == f"{url}: not an http(s) URL"
    assert result.hits == []


def test_connection_refused(server: FeedServer) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed.xml")
    result = fetch_one(request_for(url), max_retries=1)
    assert result.status == "error" and result.http_status is None
    assert result.error == f"{url}: failed after 2 attempts: cannot connect (connection refused)"


def test_dns_failure(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host name that does not resolve (answered here, so no lookup leaves the machine)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "feeds.unresolvable.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    good = server.add_fixture("/bbc.xml", "handwritten_rss2_four_items.xml")
    bad = "http://feeds.unresolvable.test/rss.xml"
    results = {
        r.request.url: r
        for r in fetch_feeds(
            [request_for(bad), request_for(good)],
            settings(max_retries=3, backoff_base=1.0),
            now=NOW,
        )
    }
    # not retried: three back-offs of a second or more would not bring the network back
    assert results[bad].elapsed < 0.9
    assert results[bad].status == "error" and results[bad].http_status is None
    assert results[bad].error == f"{bad}: cannot connect (host name not found)"
    assert results[good].status == "ok" and results[good].entries > 0


def test_html_page_is_not_a_feed(server: FeedServer) -> None:
    url = server.add_fixture("/page", "handwritten_notafeed.html", content_type="text/html")
    result = fetch_one(request_for(url))
    assert result.status == "error" and result.http_status == 200
    assert result.error == f"{url}: not a feed (an HTML page)"


def test_malformed_but_recoverable_feed_is_ok_with_bozo(server: FeedServer) -> None:
    url = server.add_fixture("/sax.xml", "handwritten_saxerror.xml")
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.entries == 3
    assert result.bozo is not None and "not well-formed" in result.bozo


@pytest.mark.parametrize(
    "content_type",
    [
        "text/xml",  # no charset: RFC 3023 would say us-ascii; the XML declaration decides
        None,
        "text/xml; charset=iso-8859-1",  # wrong: the bytes are UTF-8
        "text/html; charset=windows-1252",  # wrong type and charset
        "application/rss+xml; charset=utf-8",
    ],
)
def test_charset_in_content_type(server: FeedServer, content_type: str | None) -> None:
    url = server.add_fixture("/gov.xml", LARGE, content_type=content_type)
    result = fetch_one(request_for(url))
    assert result.status == "ok" and result.entries == 15
    titles = [hit.title for hit in result.hits]
    assert titles[0] == "Невидимая броня для Вашего Nokia 5800"
    assert not any(mark in title for title in titles for mark in ("Ð", "Ñ", "â€", "Ã"))


def test_latin1_feed_served_as_utf8(server: FeedServer) -> None:
    url = server.add_fixture(
        "/jn.rss", "handwritten_latin1.rss", content_type="application/rss+xml; charset=utf-8"
    )
    result = fetch_one(request_for(url))
    assert result.hits[0].title == "Mãe de utente é a nova presidente da associação de doentes"
    assert result.bozo is not None and "CharacterEncodingOverride" in result.bozo


def test_one_failing_feed_never_stops_the_others(server: FeedServer) -> None:
    good = [
        server.add_fixture("/g1.xml", "handwritten_rss2_four_items.xml"),
        server.add_fixture("/g2.rss", LARGE),
    ]
    with FeedServer() as other:
        good.append(other.add_fixture("/g3.xml", "handwritten_search_alerts_atom.xml"))
        other.add("/slow", Route(body=b"<rss/>", delay=1.0))
        with FeedServer() as gone:
            refused = gone.url("/x")
        bad = [
            server.add("/missing", Route(status=404)),
            server.add("/broken", Route(status=500)),
            server.add_fixture("/html", "handwritten_notafeed.html", content_type="text/html"),
            server.add_fixture("/empty", "feedparser_illformed_rss_empty_document.xml"),
            other.url("/slow"),
            refused,
            "http://127.0.0.1:1/not-listening",
        ]
        requests_ = [request_for(url) for url in [*bad[:3], good[0], *bad[3:], *good[1:]]]
        results = {
            r.request.url: r for r in fetch_feeds(requests_, settings(read_timeout=0.3), now=NOW)
        }
    assert set(results) == {r.url for r in requests_}
    for url in good:
        assert results[url].status == "ok" and results[url].hits, url
    for url in bad:
        result = results[url]
        assert result.status == "error" and result.error and result.error.startswith(url), url
        assert result.hits == []


def test_concurrency_is_bounded_and_one_request_per_host() -> None:
    hosts = [FeedServer() for _ in range(3)]
    try:
        requests_ = []
        for host in hosts:
            for n in range(3):
                url = host.add_fixture(f"/f{n}.xml", "handwritten_rss2_four_items.xml", delay=0.15)
                requests_.append(request_for(url))
        results = list(fetch_feeds(requests_, settings(concurrency=2), now=NOW))
        assert [r.status for r in results] == ["ok"] * 9
        for host in hosts:
            assert max_overlap(host.log) == 1  # one request at a time per host
        everything = [entry for host in hosts for entry in host.log]
        assert max_overlap(everything) == 2  # the pool's bound, and it is used
    finally:
        for host in hosts:
            host.close()


def test_host_key_includes_the_port() -> None:
    assert host_key("http://127.0.0.1:8001/a") == "127.0.0.1:8001"
    assert host_key("http://127.0.0.1:8002/a") == "127.0.0.1:8002"
    assert host_key("https://Example.org/feed") == "example.org:443"
    assert host_key("http://example.org/feed") == "example.org:80"


def test_results_are_yielded_as_they_complete() -> None:
    with FeedServer() as slow, FeedServer() as fast:
        slow_url = slow.add_fixture("/s.xml", "handwritten_rss2_four_items.xml", delay=0.5)
        fast_url = fast.add_fixture("/f.xml", "handwritten_rss2_four_items.xml")
        order = [
            r.request.url
            for r in fetch_feeds(
                [request_for(slow_url), request_for(fast_url)], settings(), now=NOW
            )
        ]
    assert order == [fast_url, slow_url]


def test_stopping_early_does_not_hang(server: FeedServer) -> None:
    urls = [
        server.add_fixture(f"/s{n}.xml", "handwritten_rss2_four_items.xml", delay=0.1)
        for n in range(5)
    ]
    iterator = fetch_feeds([request_for(u) for u in urls], settings(), now=NOW)
    first = next(iterator)
    assert first.status == "ok"
    iterator.close()
    assert len(server.log) < 5


def test_empty_request_list() -> None:
    assert list(fetch_feeds([], settings(), now=NOW)) == []


def test_rules_apply_over_http(server: FeedServer) -> None:
    url = server.add_fixture("/hostile.xml", "handwritten_hostile.xml")
    rules = compile_rules(TOPIC_PHRASES, ["veterinar*"])
    result = fetch_one(request_for(url, rules=rules))
    assert result.entries == 5
    assert [hit.matched_rule for hit in result.hits] == ["social prescri*", "arts on prescription"]


@pytest.mark.parametrize(
    ("byline", "family", "given"),
    [
        ("Peter van der Berg", "van der Berg", "Peter"),
        ("Maria de la Cruz", "de la Cruz", "Maria"),
        ("Ludwig van Beethoven", "van Beethoven", "Ludwig"),
        ("Van Morrison", "Morrison", "Van"),  # a capitalised particle is a given name
        ("Ana Lucia Moya-Galé", "Moya-Galé", "Ana Lucia"),
        ("Plato", "Plato", None),
    ],
)
def test_a_family_name_keeps_its_particles(byline: str, family: str, given: str | None) -> None:
    (author,) = parse_authors([byline])
    assert (author.family, author.given) == (family, given)
