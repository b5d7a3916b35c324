"""Adding a feed by its address or by a web page's: fetch it, and when it is a page rather than
a feed, follow the page's feed links (``<link rel="alternate" type="application/rss+xml">``,
Atom or JSON Feed), then show the feed's title and latest entries, or say why it failed.

OPML, the outline format every feed reader exports and imports, is read and written here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin
from xml.sax.saxutils import quoteattr

import requests
from lxml import etree

from harvester import USER_AGENT
from harvester.config.settings import FeedsSettings
from harvester.core.errors import FetchError, ParseError
from harvester.sources.feeds import ACCEPT, ParsedFeed, parse_feed, policy
from harvester.sources.fetch import Fetcher, Reply

__all__ = ["FeedCheck", "FeedOutline", "check_feed", "feed_links", "read_opml", "write_opml"]

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
)


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What checking a feed found: the feed's own address (``url``, which is the discovered
    one when a page was given), its title and its newest entries (title, link)."""

    url: str
    title: str | None
    entries: int
    latest: tuple[tuple[str, str | None], ...]
    page: str | None = None


class _FeedLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        href = values.get("href", "").strip()
        if href and "alternate" in rel and kind in FEED_TYPES:
            self.links.append((href, values.get("title") or None))


def feed_links(html: str, base: str) -> list[tuple[str, str | None]]:
    """The feeds a page names in its ``<link rel="alternate">`` tags, as absolute addresses,
    in page order (title as the page gives it)."""
    parser = _FeedLinks()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001,S110 - a broken page simply names no feeds
        pass
    seen: set[str] = set()
    found: list[tuple[str, str | None]] = []
    for href, title in parser.links:
        url = urljoin(base, href)
        if url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            found.append((url, title))
    return found


def _fetch(url: str, settings: FeedsSettings, session: requests.Session) -> Reply:
    headers = {
        "User-Agent": settings.user_agent or USER_AGENT,
        "Accept": ACCEPT + ", text/html;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    fetcher = Fetcher(policy(settings), session, label="feed")
    return fetcher.fetch(url, lambda reply: reply, headers=headers)


def _parse(reply: Reply, url: str, now: dt.datetime) -> ParsedFeed:
    return parse_feed(
        reply.body, url=url, name=url, rules=None, now=now, headers=dict(reply.headers)
    )


def _charset(reply: Reply) -> str:
    kind = reply.headers.get("Content-Type", "")
    for part in kind.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                "".encode(value.strip("\"' "))
            except LookupError:
                break
            return value.strip("\"' ")
    return "utf-8"


def _looks_like_html(reply: Reply) -> bool:
    kind = reply.headers.get("Content-Type", "").lower()
    start = reply.body.lstrip()[:200].lower()
    return "html" in kind or start.startswith((b"<!doctype html", b"<html"))


def check_feed(
    url: str,
    settings: FeedsSettings,
    *,
    now: dt.datetime,
    session: requests.Session | None = None,
    latest: int = 5,
) -> FeedCheck:
    """Fetch ``url``; a feed is parsed, a web page's feed links are followed (the first that
    parses wins). :class:`FetchError` or :class:`ParseError` naming the address otherwise."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise FetchError(
            f"{url or '(empty)'}: give the feed's or the page's full address (https://...)"
        )
    http = session or requests.Session()
    try:
        reply = _fetch(url, settings, http)
        page: str | None = None
        feed_url = url
        try:
            parsed = _parse(reply, url, now)
        except ParseError as not_a_feed:
            if not _looks_like_html(reply):
                raise
            html = reply.body.decode(_charset(reply), errors="replace")
            candidates = feed_links(html, reply.url or url)
            if not candidates:
                raise ParseError(
                    f"{url}: this page is not a feed and names no feed "
                    '(no <link rel="alternate"> to RSS, Atom or JSON Feed)'
                ) from not_a_feed
            errors: list[str] = []
            for candidate, _title in candidates:
                try:
                    parsed = _parse(_fetch(candidate, settings, http), candidate, now)
                except (FetchError, ParseError) as exc:
                    errors.append(str(exc))
                    continue
                page, feed_url = url, candidate
                break
            else:
                raise ParseError(
                    f"{url}: the page names {len(candidates)} feed(s), none could be read: "
                    + "; ".join(errors)
                ) from None
    finally:
        if session is None:
            http.close()
    shown = tuple((hit.title, hit.url) for hit in parsed.hits[:latest])
    return FeedCheck(
        url=feed_url, title=parsed.title, entries=parsed.entries, latest=shown, page=page
    )


# ------------------------------------------------------------------------------------ OPML


@dataclass(frozen=True, slots=True)
class FeedOutline:
    """One feed of an OPML file: its address and name."""

    url: str
    name: str


def read_opml(data: bytes, origin: str) -> list[FeedOutline]:
    """The feeds of an OPML file (every outline with an ``xmlUrl``, nested folders too);
    :class:`ParseError` naming ``origin`` when it is not OPML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{origin}: not an OPML file ({exc})") from None
    if root.tag != "opml":
        raise ParseError(f"{origin}: not an OPML file (it starts with <{root.tag!s}>)")
    found: list[FeedOutline] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        name = (outline.get("title") or outline.get("text") or url).strip()
        found.append(FeedOutline(url=url, name=" ".join(name.split())))
    return found


def write_opml(title: str, feeds: Sequence[FeedOutline], *, now: dt.datetime) -> str:
    """An OPML 2.0 document listing ``feeds``."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{now.strftime('%a, %d %b %Y %H:%M:%S GMT')}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        lines.append(
            f'    <outline type="rss" text={quoteattr(feed.name)} title={quoteattr(feed.name)} '
            f"xmlUrl={quoteattr(feed.url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
