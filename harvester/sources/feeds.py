"""News from RSS, Atom and JSON feeds: conditional GET, phrase rules, isolated failures.

:func:`fetch_feeds` fetches a topic's feeds concurrently (at most ``settings.concurrency`` at a
time, and at most one request at a time per host, where a host is ``host:port``), and yields one
:class:`FeedResult` per feed as each completes. It never raises for one feed's failure: a DNS
failure, an HTTP error, a timeout, an oversize or truncated body, a page that is not a feed, all
become a result with ``status="error"`` and a one-line ``error`` naming the URL, and the other
feeds go on. A feed that parses with complaints (feedparser's *bozo*: an XML error it recovered
from, a wrong declared charset) still yields its entries, with the complaint in ``bozo``.

Requests carry the stored ETag and Last-Modified (``If-None-Match`` / ``If-Modified-Since``); a
304 answer costs no parsing and keeps the stored validators (a 304 to a request that sent none is
an error). Requests go through the one fetch helper (:mod:`harvester.sources.fetch`, see
:func:`policy`): bodies are read in chunks and abandoned once they pass ``settings.max_bytes`` or
take longer than ``settings.total_timeout``; redirects are followed and the final URL kept.
Transient failures (dropped connections, 429, 502, 503, 504) are retried ``settings.max_retries``
times with exponential back-off (``settings.backoff_base``, honouring ``Retry-After``); a host name
that does not resolve fails at once.

:func:`parse_feed` is the pure half: bytes (plus the response headers, for the charset) in,
entries that pass the topic's :class:`~harvester.core.phrases.PhraseRules` out as
:class:`~harvester.core.models.Hit` objects. feedparser is only ever handed bytes, never a URL, so it
never fetches anything itself. How entries become hits is described in
:mod:`harvester.sources.feed_entry`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
import requests
from requests.adapters import HTTPAdapter

from harvester import USER_AGENT
from harvester.config.settings import FeedsSettings, Settings, Topic
from harvester.core.errors import FetchError, ParseError
from harvester.core.models import Hit
from harvester.core.normalise import normalise_url
from harvester.core.phrases import PhraseRules, compile_rules
from harvester.core.text import plain_text
from harvester.sources import Batch
from harvester.sources.feed_entry import (
    RawEntry,
    entry_identity,
    from_feedparser,
    from_json_feed,
    to_hit,
)
from harvester.sources.fetch import Fetcher, Policy, Reply

log = logging.getLogger(__name__)

__all__ = [
    "FeedRequest",
    "FeedResult",
    "ParsedFeed",
    "fetch_feed",
    "fetch_feeds",
    "host_key",
    "parse_feed",
]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
_LATIN = frozenset({"iso-8859-1", "latin-1", "windows-1252", "cp1252", "us-ascii", "ascii"})


@dataclass
class FeedRequest:
    """One feed to fetch: its URL, display name, rules (None keeps every entry: ``all = true``)
    and the validators stored from its last successful fetch."""

    url: str
    name: str
    rules: PhraseRules | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FeedResult:
    """What fetching one feed did. ``etag``/``last_modified`` are the validators to store (the
    old ones on a 304); ``hits`` are the entries that passed the rules, ``entries`` all of them."""

    request: FeedRequest
    status: Literal["ok", "not_modified", "error"]
    http_status: int | None
    final_url: str | None
    etag: str | None
    last_modified: str | None
    hits: list[Hit]
    entries: int
    error: str | None
    bozo: str | None
    bytes_received: int
    elapsed: float


@dataclass
class ParsedFeed:
    """A parsed feed: its own title and link, how many entries it had, and the hits."""

    title: str | None
    link: str | None
    version: str
    entries: int
    hits: list[Hit] = field(default_factory=list)
    bozo: str | None = None
    encoding: str | None = None


# ----------------------------------------------------------------------------------- parse


def parse_feed(
    body: bytes,
    *,
    url: str,
    name: str,
    rules: PhraseRules | None,
    now: dt.datetime,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a feed body and keep the entries that pass ``rules`` (all of them when None).

    ``url`` is the feed's URL as configured (the hits' ``origin``); relative links inside the
    feed are resolved against ``headers["content-location"]`` when given, else ``url``.
    Raises :class:`~harvester.core.errors.ParseError` when the body is not a feed at all.
    """
    if body.lstrip()[:1] == b"{":
        meta, raws, version = _parse_json_feed(body, url)
        parsed = ParsedFeed(
            title=meta.get("title"), link=meta.get("home_page_url"), version=version, entries=0
        )
    else:
        parsed, raws = _parse_xml_feed(body, url, headers or {})
    raws = [raw for raw in raws if raw.guid or raw.link or raw.title or raw.summary]
    parsed.entries = len(raws)  # empty <item/> elements are no entries
    seen: set[tuple[str, str | None]] = set()
    for raw in raws:
        # A feed listing one entry twice: the first one stands. One guid on entries with other
        # links is a guid the feed reuses: each is kept (the ingest tells them apart).
        identity = (entry_identity(raw), normalise_url(raw.link) or raw.link)
        if identity in seen:
            continue
        seen.add(identity)
        rule = (
            "all" if rules is None else rules.match(plain_text(raw.title), plain_text(raw.summary))
        )
        if rule is None:
            continue
        parsed.hits.append(
            to_hit(
                raw,
                feed_url=url,
                feed_name=name,
                feed_title=parsed.title,
                matched_rule=rule,
                now=now,
            )
        )
    return parsed


def _parse_xml_feed(
    body: bytes, url: str, headers: Mapping[str, str]
) -> tuple[ParsedFeed, list[RawEntry]]:
    response_headers = {k.lower(): v for k, v in headers.items()}
    content_type = response_headers.get("content-type", "")
    if "charset=" not in content_type.lower():
        # RFC 7303: without a charset parameter the XML declaration (or BOM) decides, even for
        # text/xml. feedparser still applies RFC 3023's us-ascii default to text/* (and a Latin-1
        # default to a missing type), so it is told "application/xml", which defers to the body.
        response_headers["content-type"] = "application/xml"
    response_headers.setdefault("content-location", url)
    result = _feedparser(body, response_headers)
    note = None
    if (result.get("encoding") or "").lower() in _LATIN and _is_utf8(body):
        # Declared (or served as) Latin-1 but the bytes are UTF-8, as from many CMSs: read it
        # as what it is rather than producing mojibake.
        note = f"declared {result.get('encoding')} but the bytes are UTF-8; read as UTF-8"
        result = _feedparser(body, {**response_headers, "content-type": "text/xml; charset=utf-8"})
    entries = result.get("entries") or []
    version = result.get("version") or ""
    if not entries and not version:
        raise ParseError(f"{url}: not a feed ({_not_a_feed_reason(body, result)})", url=url)
    feed = result.get("feed") or {}
    exc = result.get("bozo_exception") if result.get("bozo") else None
    complaint = _one_line(f"{type(exc).__name__}: {exc}") if exc is not None else None
    if note and complaint and "CharacterEncodingOverride" in complaint:
        complaint = None
    bozo = "; ".join(part for part in (note, complaint) if part) or None
    parsed = ParsedFeed(
        title=plain_text(feed.get("title")) or None,
        link=feed.get("link"),
        version=version,
        entries=len(entries),
        bozo=bozo,
        encoding=result.get("encoding"),
    )
    return parsed, [from_feedparser(entry, feed) for entry in entries]


def _feedparser(body: bytes, headers: Mapping[str, str]) -> Any:
    # A file object, never bytes or str: feedparser would treat a str as a URL or a path.
    # nh3 (feed_text) is the sanitiser of record; feedparser's own pass would only cost time.
    return feedparser.parse(io.BytesIO(body), response_headers=dict(headers), sanitize_html=False)


def _is_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_a_feed_reason(body: bytes, result: Any) -> str:
    head = body[:2048].lower()
    if not body.strip():
        return "empty body"
    if b"<html" in head or b"<!doctype html" in head:
        return "an HTML page"
    exc = result.get("bozo_exception")
    return _one_line(f"{type(exc).__name__}: {exc}") if exc is not None else "no feed elements"


def _parse_json_feed(body: bytes, url: str) -> tuple[dict[str, Any], list[RawEntry], str]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"{url}: not a feed (JSON that cannot be read: {exc})", url=url) from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError(f"{url}: not a feed (JSON, but not a JSON Feed)", url=url)
    items = data.get("items")
    raws = (
        [from_json_feed(item) for item in items if isinstance(item, dict)]
        if isinstance(items, list)
        else []
    )
    title = plain_text(data.get("title")) if isinstance(data.get("title"), str) else ""
    home = data.get("home_page_url")
    meta = {"title": title or None, "home_page_url": home if isinstance(home, str) else None}
    return meta, raws, "json" + version.rsplit("/", 1)[-1].replace(".", "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------------- fetch


def host_key(url: str) -> str:
    """``host:port`` of ``url`` (default port by scheme): the unit of politeness."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return url
    return f"{(parts.hostname or '').lower()}:{port}"


def make_session(settings: FeedsSettings) -> requests.Session:
    """A session whose connection pool fits ``settings.concurrency`` workers."""
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=settings.concurrency, pool_maxsize=settings.concurrency, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def fetch_feeds(
    requests_: Sequence[FeedRequest],
    settings: FeedsSettings,
    *,
    now: dt.datetime,
    session: requests.Session | None = None,
) -> Iterator[FeedResult]:
    """Fetch every feed, concurrently, yielding each result as it completes.

    Feeds are grouped by host; a bounded pool works through the groups, each group one request
    after the other, so no host sees two requests of ours at once. Closing the iterator early
    stops the remaining work (requests in flight finish first).
    """
    if not requests_:
        return
    http = session or make_session(settings)
    by_host: dict[str, list[FeedRequest]] = {}
    for request in requests_:
        by_host.setdefault(host_key(request.url), []).append(request)
    results: queue.SimpleQueue[FeedResult] = queue.SimpleQueue()
    stop = threading.Event()

    def work(batch: list[FeedRequest]) -> None:
        for request in batch:
            if stop.is_set():
                return
            results.put(fetch_feed(request, settings, now=now, session=http))

    pool = ThreadPoolExecutor(
        max_workers=min(settings.concurrency, len(by_host)), thread_name_prefix="feeds"
    )
    try:
        for batch in by_host.values():
            pool.submit(work, batch)
        for _ in range(len(requests_)):
            yield results.get()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        if session is None:
            http.close()


def fetch_feed(
    request: FeedRequest,
    settings: FeedsSettings,
    *,
    now: dt.datetime,
    session: requests.Session,
) -> FeedResult:
    """Fetch and parse one feed; every failure becomes an error result, never an exception."""
    started = time.monotonic()
    result = FeedResult(
        request=request,
        status="error",
        http_status=None,
        final_url=None,
        etag=request.etag,
        last_modified=request.last_modified,
        hits=[],
        entries=0,
        error=None,
        bozo=None,
        bytes_received=0,
        elapsed=0.0,
    )
    try:
        _fetch_into(result, settings, now=now, session=session)
    except (FetchError, ParseError) as exc:
        result.status = "error"
        result.error = _one_line(str(exc))
    except Exception as exc:  # one feed's surprise must not stop the others
        result.status = "error"
        result.error = _one_line(f"{request.url}: internal error: {type(exc).__name__}: {exc}")
    result.elapsed = time.monotonic() - started
    return result


def policy(settings: FeedsSettings) -> Policy:
    """How feeds are fetched: redirects followed, a size cap and a total deadline on the body;
    only dropped connections and 429/502/503/504 are retried (a feed that times out or sends a
    broken body fails at once, so it cannot hold a worker and its host for long)."""
    return Policy.of(
        settings,
        max_retry_after=MAX_RETRY_AFTER,
        retry_statuses=RETRY_STATUSES,
        retry_unfinished=False,
        follow_redirects=True,
        ok_statuses=(304,),
        max_bytes=settings.max_bytes,
        total_timeout=settings.total_timeout,
    )


def _fetch_into(
    result: FeedResult, settings: FeedsSettings, *, now: dt.datetime, session: requests.Session
) -> None:
    request = result.request
    headers = {
        "User-Agent": settings.user_agent or USER_AGENT,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    fetcher = Fetcher(policy(settings), session, logger=log, label="feed")
    try:
        fetcher.fetch(request.url, lambda reply: _handle(result, reply, now=now), headers=headers)
    finally:
        result.http_status = fetcher.http_status
        result.final_url = fetcher.final_url
        result.bytes_received = fetcher.bytes_received


def _handle(result: FeedResult, reply: Reply, *, now: dt.datetime) -> None:
    request = result.request
    if reply.status == 304:
        if not (request.etag or request.last_modified):
            # Nothing was stored to be "not modified" against: treating this as success would
            # keep the feed unread for ever.
            raise FetchError(
                f"{request.url}: HTTP 304 Not Modified to a request without validators",
                url=request.url,
            )
        result.status = "not_modified"
        result.etag = reply.headers.get("ETag") or request.etag
        result.last_modified = reply.headers.get("Last-Modified") or request.last_modified
        return
    parsed = parse_feed(
        reply.body,
        url=request.url,
        name=request.name,
        rules=request.rules,
        now=now,
        headers={**reply.headers, "content-location": reply.url},
    )
    result.status = "ok"
    result.etag = reply.headers.get("ETag")
    result.last_modified = reply.headers.get("Last-Modified")
    result.hits = parsed.hits
    result.entries = parsed.entries
    result.bozo = parsed.bozo


# ------------------------------------------------------------------------------------- source

#: Feed entries stored together in one transaction (several small feeds, or one large one).
FEED_STORE_BATCH = 500


class FeedsSource:
    """Feeds as a conditional source of the registry (:mod:`harvester.sources`): a batch holds
    the results of several feeds, at least ``FEED_STORE_BATCH`` entries (the last: the rest)."""

    name = "feeds"
    state: Literal["conditional"] = "conditional"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.feeds

    @property
    def requests_made(self) -> int:
        return 0  # not counted per request: each feed's result says what it fetched

    def close(self) -> None:
        pass

    def uses(self, topic: Topic) -> bool:
        return any(feed.enabled for feed in topic.feeds)

    def urls(self, topic: Topic) -> list[tuple[str, str]]:
        return [(feed.url, feed.name) for feed in topic.feeds if feed.enabled]

    def fetch(
        self,
        topic: Topic,
        validators: dict[str, tuple[str | None, str | None]],
        now: dt.datetime,
    ) -> Iterator[Batch]:
        requests_ = []
        for feed in topic.feeds:
            if not feed.enabled:
                continue
            rules = topic.feed_rules(feed)
            etag, last_modified = validators.get(feed.url, (None, None))
            requests_.append(
                FeedRequest(
                    url=feed.url,
                    name=feed.name,
                    rules=None if feed.all else compile_rules(rules.phrases, rules.exclude),
                    etag=etag,
                    last_modified=last_modified,
                )
            )
        group: list[FeedResult] = []
        for result in fetch_feeds(requests_, self.settings, now=now):
            group.append(result)
            if sum(len(r.hits) for r in group) >= FEED_STORE_BATCH:
                yield _batch(group)
                group = []
        if group:
            yield _batch(group)


def _batch(group: list[FeedResult]) -> Batch:
    return Batch([hit for r in group if r.error is None for hit in r.hits], group)
