"""Europe PMC through its REST search API: incremental by index date, polite and fault-tolerant.

A run searches the topic's ``[europepmc] query`` (Europe PMC syntax) restricted to the records
first indexed in the run's window::

    (<query>) AND (FIRST_IDATE:[2025-01-01 TO 2025-01-31])

with ``resultType=core`` (every citation field, the abstract, the publication types and the
CommentsCorrections) and ``format=json``, ``pageSize`` records per request (at most 1000), paged
with ``cursorMark`` until the cursor stops moving. Europe PMC reaches what PubMed does not:
preprints (``PPR``: medRxiv, bioRxiv, Research Square, ...), journals outside MEDLINE, some
conference abstracts; its records carry PMID, PMCID and DOI where known, so dedupe joins them
with the PubMed hits of the same articles.

A window holding more than ``max_slice`` records is cut by date into slices fetched oldest first
(a slice still too big is cut again), so the watermark moves slice by slice and a long backfill
stopped half-way resumes where its stored records stop.

Politeness and faults are PubMed's: a process-wide limit of ``requests_per_second``, a
User-Agent naming harvester (and the ``email`` setting, also sent as Europe PMC's ``email``
parameter), connect and read timeouts, 429 and 5xx, time-outs, cut-off bodies and answers that
are not the search's JSON retried ``max_retries`` times with back-off, other HTTP errors and an
unknown host failing at once, each failure naming the URL (see :mod:`harvester.sources.fetch`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests

from harvester import __version__
from harvester.config.settings import EuropePMCSettings, Settings, Topic
from harvester.core.errors import ParseError
from harvester.core.models import Hit
from harvester.sources import Batch
from harvester.sources.europepmc_record import parse_record, parse_search
from harvester.sources.fetch import Fetcher, Policy, Reply, Retry
from harvester.sources.ratelimit import RateLimiter

__all__ = ["EuropePMCClient", "EuropePMCSource", "SearchPage", "window_query"]

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 300.0
#: A query longer than this (URL-encoded) is sent by POST (``searchPOST``), not in the URL.
MAX_GET_QUERY = 1500
#: Europe PMC's days: records are indexed in the UK.
EBI_TIME = ZoneInfo("Europe/London")
#: Slices are cut to hold this share of ``max_slice`` each, so an uneven spread rarely needs a
#: second cut.
SLICE_FILL = 0.8

_limiters: dict[int, RateLimiter] = {}
_limiters_lock = threading.Lock()


def _shared_limiter(rate: int) -> RateLimiter:
    """One limiter per rate for every Europe PMC client of the process (topics run in threads)."""
    with _limiters_lock:
        limiter = _limiters.get(rate)
        if limiter is None:
            limiter = _limiters[rate] = RateLimiter(rate)
        return limiter


def policy(settings: EuropePMCSettings) -> Policy:
    return Policy.of(
        settings,
        max_retry_after=MAX_RETRY_AFTER,
        retry_unfinished=True,
        follow_redirects=True,
        host_hint="no network, or a wrong [europepmc] base_url?",
    )


def window_query(query: str, start: dt.date, end: dt.date) -> str:
    """``query`` restricted to the records first indexed in [start, end]."""
    return (
        f"({' '.join(query.split())}) AND (FIRST_IDATE:[{start.isoformat()} TO {end.isoformat()}])"
    )


class SearchPage:
    """One page of a search: the true count, the next cursor and the records as hits."""

    def __init__(self, count: int, cursor: str | None, hits: list[Hit]) -> None:
        self.count, self.cursor, self.hits = count, cursor, hits


class EuropePMCClient:
    """Talks to Europe PMC's REST API; ``limiter`` and ``sleep`` exist for tests."""

    def __init__(
        self,
        settings: EuropePMCSettings,
        *,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        self._session = session or requests.Session()
        if self._own_session:
            contact = f"; mailto:{settings.email}" if settings.email else ""
            self._session.headers["User-Agent"] = f"harvester/{__version__} (harvester{contact})"
        self._fetcher = Fetcher(
            policy(settings),
            self._session,
            limit=(limiter or _shared_limiter(settings.requests_per_second)).slot,
            sleep=sleep,
            describe_status=lambda reply: f"HTTP {reply.status}: {_snippet(reply.body)}",
            logger=log,
            label="Europe PMC request",
        )

    @property
    def requests_made(self) -> int:
        return self._fetcher.requests_made

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> EuropePMCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self, query: str, *, cursor: str = "*", page_size: int | None = None, origin: str | None
    ) -> SearchPage:
        """One page of ``query`` (``resultType=core``), from ``cursor``."""
        params = {
            "query": query,
            "resultType": "core",
            "format": "json",
            "pageSize": str(page_size or self.settings.page_size),
            "cursorMark": cursor,
        }
        if self.settings.email:
            params["email"] = self.settings.email
        post = len(urlencode({"query": query})) > MAX_GET_QUERY
        endpoint = "searchPOST" if post else "search"
        url = self.settings.base_url + endpoint
        shown = _describe(url, params, post)

        def accept(reply: Reply) -> SearchPage:
            try:
                count, next_cursor, records = parse_search(reply.body)
            except ParseError as exc:
                raise Retry(exc.message) from None
            hits = []
            for number, record in enumerate(records, 1):
                try:
                    hits.append(parse_record(record, origin=origin))
                except ParseError as exc:
                    log.warning("%s: record %d skipped: %s", shown, number, exc.message)
            return SearchPage(count, next_cursor, hits)

        return self._fetcher.fetch(
            url,
            accept,
            method="POST" if post else "GET",
            params=None if post else params,
            data=params if post else None,
            shown=shown,
        )

    def records(self, query: str, *, origin: str | None) -> Generator[SearchPage, None, None]:
        """Every page of ``query``, following ``nextCursorMark`` until it stops moving."""
        cursor = "*"
        seen = 0
        while True:
            page = self.search(query, cursor=cursor, origin=origin)
            seen += len(page.hits)
            yield page
            if not page.hits or page.cursor is None or page.cursor == cursor or seen >= page.count:
                return
            cursor = page.cursor


def _describe(url: str, params: dict[str, str], post: bool) -> str:
    shown = dict(params)
    shown.pop("email", None)
    if len(shown["query"]) > 120:
        shown["query"] = shown["query"][:120] + "..."
    text = f"{url}?{urlencode(shown, safe='/:*[]()')}"
    return f"POST {text}" if post else text


def _snippet(body: bytes) -> str:
    return " ".join(body[:300].decode("utf-8", "replace").split()) or "(empty body)"


def _split(start: dt.date, end: dt.date, count: int, cap: int) -> list[tuple[dt.date, dt.date]]:
    days = (end - start).days + 1
    parts = min(days, max(2, math.ceil(count / (cap * SLICE_FILL))))
    bounds = [start + dt.timedelta(days=days * i // parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - dt.timedelta(days=1)) for i in range(parts)]


def harvest_europepmc(
    client: EuropePMCClient, query: str, start: dt.date, end: dt.date, *, origin: str | None
) -> Iterator[Batch]:
    """Every record of ``query`` first indexed in [start, end], page by page, oldest slice first;
    the last batch of each slice carries the slice's end as its checkpoint."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    cap = client.settings.max_slice
    pending = [(start, end)]
    while pending:
        first, last = pending.pop()
        pages = client.records(window_query(query, first, last), origin=origin)
        head = next(pages)
        if head.count > cap and first < last:
            pages.close()
            pending.extend(reversed(_split(first, last, head.count, cap)))
            continue
        if head.count > cap:
            log.warning("Europe PMC %s: %d records on one day; all are fetched", first, head.count)
        page: SearchPage | None = head
        while page is not None:
            following = next(pages, None)
            yield Batch(page.hits, last if following is None else None)
            page = following


class EuropePMCSource:
    """Europe PMC as a window source of the registry (:mod:`harvester.sources`).

    A run asks from the watermark minus ``overlap_days`` up to today (a first run goes back
    ``initial_days``; ``since``/``until`` make a backfill). The watermark never passes the UK's
    yesterday, the last day Europe PMC may still be indexing into.
    """

    name = "europepmc"
    state: Literal["window"] = "window"

    def __init__(self, settings: Settings, *, client: EuropePMCClient | None = None) -> None:
        self.settings = settings.europepmc
        self._client = client

    @property
    def client(self) -> EuropePMCClient:
        if self._client is None:
            self._client = EuropePMCClient(self.settings)
        return self._client

    @property
    def requests_made(self) -> int:
        return self._client.requests_made if self._client is not None else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def uses(self, topic: Topic) -> bool:
        return topic.europepmc is not None and topic.europepmc.enabled

    def state_key(self, topic: Topic) -> str:
        assert topic.europepmc is not None
        return hashlib.sha256(topic.europepmc.query.encode("utf-8")).hexdigest()[:16]

    def window(
        self,
        mark: dt.datetime | None,
        *,
        since: dt.date | None,
        until: dt.date | None,
        today: dt.date,
    ) -> tuple[dt.date, dt.date]:
        end = until or today
        if since is not None:
            return since, end
        if mark is None:
            return end - dt.timedelta(days=self.settings.initial_days), end
        return mark.date() - dt.timedelta(days=self.settings.overlap_days), end

    def last_complete_day(self, now: dt.datetime) -> dt.date:
        return now.astimezone(EBI_TIME).date() - dt.timedelta(days=1)

    def fetch(self, topic: Topic, start: dt.date, end: dt.date) -> Iterator[Batch]:
        assert topic.europepmc is not None
        yield from harvest_europepmc(self.client, topic.europepmc.query, start, end, origin=None)
