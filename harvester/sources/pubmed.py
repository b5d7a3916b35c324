"""PubMed through NCBI E-utilities: incremental, polite and fault-tolerant.

A harvest of one query over an entrez-date window is one ``esearch`` (``usehistory=y``, no ids in
the answer) and then ``efetch`` pages of ``batch_size`` records straight from the history server
(``WebEnv`` + ``query_key``): for n records, 1 + ceil(n / batch_size) requests.

PubMed lets a search reach only its first 9,999 records (``max_esearch_ids``), through esearch and
the history server alike. A window holding more than :data:`CHECKPOINT_RECORDS` (1,000) is cut by
date into as many slices as its count says it needs (and a slice still too big is cut again)
until each slice holds about that many; slices are fetched oldest first, so a caller can move
its checkpoint slice by slice and a stopped run loses at most one slice. A single day that still holds too many records cannot be cut further: its reachable
records are fetched, the later slices too, and then a :class:`FetchError` says what was missed.

Politeness: every request passes through a process-wide rate limiter (3 requests/s, 10 with an
API key; see :mod:`harvester.sources.ratelimit`) and carries ``tool``, ``email`` and ``api_key``.

The history server forgets a ``WebEnv`` after about an hour, so a page asked for late (after long
back-offs) may find its search gone: the slice is searched again and fetching resumes where it
was, or starts the slice over when the new search counts differently (dedupe absorbs repeats).

Faults go through the one fetch helper (:mod:`harvester.sources.fetch`): HTTP 429 and 5xx,
timeouts, dropped connections, truncated or malformed bodies and NCBI's in-band ``<ERROR>``
answers (HTTP 200) are retried ``max_retries`` times with exponential back-off plus jitter,
honouring ``Retry-After``. Other HTTP errors fail at once, and so does a host name that does not
resolve (no network: half a minute of retries would not bring it back). Redirects are refused. A
request that keeps failing raises :class:`FetchError` naming the URL (the API key is never shown,
in errors or in the HTTP library's debug log) and the last reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
from lxml import etree

from harvester import __version__
from harvester.config.settings import PubMedSettings, Settings, Topic
from harvester.core.errors import FetchError, ParseError
from harvester.core.models import Hit
from harvester.sources import Batch
from harvester.sources.fetch import Fetcher, Policy, Reply, Retry
from harvester.sources.pubmed_xml import local_name, parse_pubmed_xml
from harvester.sources.ratelimit import RateLimiter, shared_limiter

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Longest ``Retry-After`` honoured as given; a longer one is cut to this many seconds.
MAX_RETRY_AFTER = 300.0
#: A search term longer than this (URL-encoded) is sent by POST, not in the URL.
MAX_GET_TERM = 1500
#: How many times one slice's search may be renewed after the history server lost it.
MAX_RENEWALS = 3
#: Where NCBI's days begin and end: entrez dates are given in its local time.
NCBI_TIME = ZoneInfo("America/New_York")
#: NCBI's in-band answer to an efetch whose WebEnv/query_key the history server no longer has.
_HISTORY_LOST = re.compile(rb"<ERROR>[^<]*(?:unable to obtain query|webenv)", re.IGNORECASE)
_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


class _HideApiKey(logging.Filter):
    """urllib3 logs every request line, query string included, at DEBUG (``harvester -vv``):
    the API key is cut out of those records before any handler sees them."""

    _PARAM = re.compile(r"(\bapi_key=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = self._PARAM.sub(r"\1<api_key>", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideApiKey())


def policy(settings: PubMedSettings) -> Policy:
    """How E-utilities are fetched: 429 and 5xx, timeouts, cut-off bodies and malformed answers
    are retried; redirects are refused (the API key must never reach another host)."""
    return Policy.of(
        settings,
        max_retry_after=MAX_RETRY_AFTER,
        retry_unfinished=True,
        follow_redirects=False,
        host_hint="no network, or a wrong [pubmed] base_url?",
    )


class HistoryExpired(FetchError):
    """The history server no longer holds the search an efetch named: search again."""


@dataclass(frozen=True)
class SearchResult:
    """An esearch answer: the true count, and where the history server keeps the result set."""

    count: int
    webenv: str
    query_key: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class PubMedBatch:
    """One efetch page of parsed records, to be stored in one transaction.

    ``complete_through``, when not None, is a date through which every record of the window (by
    entrez date) has now been yielded: the caller may move its watermark there.
    """

    hits: list[Hit]
    complete_through: dt.date | None


class EutilsClient:
    """Talks to E-utilities for PubMed; one per process is enough (the limiter is shared anyway).

    ``limiter`` and ``sleep`` exist for tests and benchmarks; by default the process-wide NCBI
    limiter for this API key (or none) and :func:`time.sleep` are used.
    """

    def __init__(
        self,
        settings: PubMedSettings,
        *,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        self._session = session or requests.Session()
        if self._own_session:
            self._session.headers["User-Agent"] = f"harvester/{__version__} ({settings.tool})"
        self._fetcher = Fetcher(
            policy(settings),
            self._session,
            limit=(limiter or shared_limiter("pubmed", settings.api_key)).slot,
            sleep=sleep,
            describe_status=lambda reply: f"HTTP {reply.status}: {self._snippet(reply.body)}",
            logger=log,
            label="PubMed request",
        )
        self._identity = {"tool": settings.tool}
        if settings.email:
            self._identity["email"] = settings.email
        if settings.api_key:
            self._identity["api_key"] = settings.api_key

    @property
    def requests_made(self) -> int:
        """Requests sent so far, every retry included."""
        return self._fetcher.requests_made

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> EutilsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------- endpoints

    def esearch(self, term: str, mindate: dt.date, maxdate: dt.date) -> SearchResult:
        """Search ``term`` among records whose entrez date is in [mindate, maxdate] (inclusive)."""
        params = {
            "db": "pubmed",
            "term": term,
            "usehistory": "y",
            "retmax": "0",
            "datetype": "edat",
            "mindate": mindate.strftime("%Y/%m/%d"),
            "maxdate": maxdate.strftime("%Y/%m/%d"),
        }
        post = len(urlencode({"term": term})) > MAX_GET_TERM
        return self._call("esearch.fcgi", params, post=post, parse=parse_esearch)

    def efetch_history(self, search: SearchResult, retstart: int, retmax: int) -> list[Hit]:
        """Records ``retstart`` .. ``retstart + retmax - 1`` of a search kept on the history server."""
        params = {
            "db": "pubmed",
            "WebEnv": search.webenv,
            "query_key": search.query_key,
            "retstart": str(retstart),
            "retmax": str(retmax),
            "retmode": "xml",
        }
        url = self.settings.base_url + "efetch.fcgi"
        shown = self._describe(url, params, post=False)

        def parse(body: bytes) -> list[Hit]:
            if _HISTORY_LOST.search(body[:1000]):
                detail = self._snippet(body)
                raise HistoryExpired(f"{shown}: the history server lost the search: {detail}")
            return self._parse_records(body)

        return self._call("efetch.fcgi", params, post=False, parse=parse)

    def efetch_ids(self, pmids: Sequence[str]) -> Iterator[list[Hit]]:
        """The records of ``pmids``, ``batch_size`` per request, sent by POST (ids in the body)."""
        size = self.settings.batch_size
        for start in range(0, len(pmids), size):
            params = {"db": "pubmed", "id": ",".join(pmids[start : start + size]), "retmode": "xml"}
            yield self._call("efetch.fcgi", params, post=True, parse=self._parse_records)

    # ------------------------------------------------------------------------------ plumbing

    def _parse_records(self, body: bytes) -> list[Hit]:
        """Records of an efetch body; bytes that are not UTF-8 are replaced, not fatal.

        Such a byte would fail every retry of the same page (and so every later run) for the
        sake of one character.
        """
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            log.warning("PubMed efetch response: byte %d is not UTF-8; replaced", exc.start)
            body = body.decode("utf-8", "replace").encode("utf-8")
        return list(parse_pubmed_xml(body, name="efetch response"))

    def _call(
        self,
        endpoint: str,
        params: dict[str, str],
        *,
        post: bool,
        parse: Callable[[bytes], T],
    ) -> T:
        """Send one logical request, retrying transient faults; return ``parse(body)``."""
        url = self.settings.base_url + endpoint
        payload = {**params, **self._identity}
        shown = self._describe(url, params, post)

        def accept(reply: Reply) -> T:
            if reply.status != 200:
                raise FetchError(f"{shown}: HTTP {reply.status}: {self._snippet(reply.body)}")
            try:
                return parse(reply.body)
            except ParseError as exc:  # a malformed or in-band error answer: asked again
                raise Retry(self._redact(exc.message)) from None

        return self._fetcher.fetch(
            url,
            accept,
            method="POST" if post else "GET",
            params=None if post else payload,
            data=payload if post else None,
            shown=shown,
        )

    def _describe(self, url: str, params: dict[str, str], post: bool) -> str:
        """The request in words a reader follows: the address without its query string, then
        what was asked (the query cut short, the dates, which records); never the API key."""
        parts = []
        if term := params.get("term"):
            flat = " ".join(term.split())
            parts.append(f"query {flat[:80]}{'...' if len(flat) > 80 else ''}")
        if "mindate" in params and "maxdate" in params:
            parts.append(f"dates {params['mindate']}..{params['maxdate']}")
        if "id" in params:
            parts.append(f"{params['id'].count(',') + 1} PMIDs")
        if "retstart" in params and "retmax" in params and "term" not in params:
            first = int(params["retstart"]) + 1
            parts.append(f"records {first}-{first + int(params['retmax']) - 1}")
        text = f"{url} ({'; '.join(parts)})" if parts else url
        return f"POST {text}" if post else text

    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "<api_key>") if key else text

    def _snippet(self, body: bytes) -> str:
        text = " ".join(body[:300].decode("utf-8", "replace").split())
        return self._redact(text) or "(empty body)"


def parse_esearch(body: bytes) -> SearchResult:
    """An esearch XML body; an in-band ``<ERROR>`` or a body without a count is a ParseError."""
    try:
        root = etree.fromstring(body, parser=_SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"esearch response is not well-formed XML: {exc}") from None
    error = root.findtext("ERROR")
    if root.tag != "eSearchResult" or error:
        detail = " ".join((error or f"root element <{local_name(root)}>").split())
        raise ParseError(f"esearch answered with an error: {detail}")
    count, webenv, query_key = (root.findtext(tag) for tag in ("Count", "WebEnv", "QueryKey"))
    if not count or not count.strip().isdigit():
        raise ParseError("esearch response has no Count")
    if int(count) > 0 and (not webenv or not query_key):
        raise ParseError("esearch response has no WebEnv/QueryKey (history server)")
    warnings = [
        f"{local_name(element)}: {' '.join((element.text or '').split())}"
        for path in ("ErrorList/*", "WarningList/*")
        for element in root.iterfind(path)
    ]
    return SearchResult(int(count), (webenv or "").strip(), (query_key or "").strip(), warnings)


# ------------------------------------------------------------------------------------ harvest

#: A window too big for one search is cut into slices meant to hold this share of the limit each,
#: so that an uneven spread of records over the days rarely needs a second cut.
SLICE_FILL = 0.8
#: Records a slice holds at most (unless it is one day): each completed slice is a checkpoint a
#: stopped run resumes from, so a kill costs at most this many records fetched again, for one
#: more search per slice.
CHECKPOINT_RECORDS = 1000


def _split(start: dt.date, end: dt.date, count: int, cap: int) -> list[tuple[dt.date, dt.date]]:
    """Cut [start, end] into consecutive day ranges, oldest first, expected to fit under ``cap``.

    Records are assumed spread evenly over the days; a slice that still holds too many is cut
    again when it is searched. Every slice has at least one day, so cutting always ends.
    """
    days = (end - start).days + 1
    parts = min(days, max(2, math.ceil(count / (cap * SLICE_FILL))))
    bounds = [start + dt.timedelta(days=days * i // parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - dt.timedelta(days=1)) for i in range(parts)]


def harvest_pubmed(
    client: EutilsClient, query: str, mindate: dt.date, maxdate: dt.date
) -> Iterator[PubMedBatch]:
    """Every record of ``query`` with an entrez date in [mindate, maxdate], batch by batch.

    Slices are fetched oldest first; the last batch of each slice (an empty batch when the slice
    holds nothing) carries the slice's end date as ``complete_through``. A :class:`FetchError`
    may be raised after some batches: what was yielded stays valid.
    """
    if mindate > maxdate:
        raise ValueError(f"mindate {mindate} is after maxdate {maxdate}")
    cap = client.settings.max_esearch_ids
    per_slice = min(cap, CHECKPOINT_RECORDS)
    batch = client.settings.batch_size
    complete: dt.date | None = None
    overflow: list[str] = []
    pending = [(mindate, maxdate)]  # a stack: the oldest slice is always on top
    while pending:
        start, end = pending.pop()
        search = client.esearch(query, start, end)
        for warning in search.warnings:
            log.warning("PubMed search %s..%s: %s", start, end, warning)
        reachable = search.count
        if search.count > per_slice and start < end:
            pending.extend(reversed(_split(start, end, search.count, per_slice)))
            continue
        if search.count > cap:
            overflow.append(
                f"{start}: {search.count} records, only {cap} reachable (one day cannot be cut)"
            )
            reachable = cap
        retstart = 0
        renewals = 0
        while retstart < reachable:
            wanted = min(batch, reachable - retstart)
            try:
                hits = client.efetch_history(search, retstart, wanted)
            except HistoryExpired:
                renewals += 1
                if renewals > MAX_RENEWALS:
                    raise
                log.warning(
                    "PubMed search %s..%s expired on the history server; renewed", start, end
                )
                fresh = client.esearch(query, start, end)
                if fresh.count != search.count:
                    retstart = 0  # positions moved: fetch the slice again from the start
                    if fresh.count > cap and search.count <= cap:
                        overflow.append(
                            f"{start}..{end}: grew to {fresh.count} records, only {cap} reachable"
                        )
                    reachable = min(fresh.count, cap)
                search = fresh
                continue
            if len(hits) != wanted:  # records deleted since the search, or a short answer
                log.warning(
                    "PubMed efetch %s..%s at %d: %d records for %d asked",
                    start,
                    end,
                    retstart,
                    len(hits),
                    wanted,
                )
            retstart += wanted
            if retstart >= reachable and not overflow:
                complete = end
            yield PubMedBatch(hits=hits, complete_through=complete)
        if reachable == 0:
            if not overflow:
                complete = end
            yield PubMedBatch(hits=[], complete_through=complete)
    if overflow:
        raise FetchError(
            f"PubMed search reached its {cap}-record limit, so some records were not fetched: "
            f"{'; '.join(overflow)}",
            hint="narrow the topic's query",
        )


# ------------------------------------------------------------------------------------- source


class PubMedSource:
    """PubMed as a window source of the registry (:mod:`harvester.sources`).

    A run asks from the watermark minus ``overlap_days`` (the overlap is absorbed by dedupe) up
    to today; a first run goes back ``initial_days``; ``since``/``until`` override it (a
    backfill). The watermark never passes NCBI's yesterday: entrez dates are US Eastern days, and
    a day still running there may yet gain records however late in the UTC day the run is.
    """

    name = "pubmed"
    state: Literal["window"] = "window"

    def __init__(self, settings: Settings, *, client: EutilsClient | None = None) -> None:
        self.settings = settings.pubmed
        self._data_dir = settings.data_dir
        self._client = client

    @property
    def client(self) -> EutilsClient:
        if self._client is None:
            # one request budget for every process of this installation (NCBI counts per client)
            limiter = shared_limiter("pubmed", self.settings.api_key, self._data_dir)
            self._client = EutilsClient(self.settings, limiter=limiter)
        return self._client

    @property
    def requests_made(self) -> int:
        return self._client.requests_made if self._client is not None else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def uses(self, topic: Topic) -> bool:
        return topic.pubmed is not None and topic.pubmed.enabled

    def state_key(self, topic: Topic) -> str:
        assert topic.pubmed is not None
        return hashlib.sha256(topic.pubmed.query.encode("utf-8")).hexdigest()[:16]

    def window(
        self,
        mark: dt.datetime | None,
        *,
        since: dt.date | None,
        until: dt.date | None,
        today: dt.date,
    ) -> tuple[dt.date, dt.date]:
        return pubmed_window(self.settings, mark, since=since, until=until, today=today)

    def last_complete_day(self, now: dt.datetime) -> dt.date:
        return now.astimezone(NCBI_TIME).date() - dt.timedelta(days=1)

    def fetch(self, topic: Topic, start: dt.date, end: dt.date) -> Iterator[Batch]:
        assert topic.pubmed is not None
        for batch in harvest_pubmed(self.client, topic.pubmed.query, start, end):
            yield Batch(batch.hits, batch.complete_through)


def pubmed_window(
    settings: PubMedSettings,
    mark: dt.datetime | None,
    *,
    since: dt.date | None,
    until: dt.date | None,
    today: dt.date,
) -> tuple[dt.date, dt.date]:
    """The entrez-date window of a PubMed run, given the topic's watermark ``mark``."""
    maxdate = until or today
    if since is not None:
        return since, maxdate
    if mark is None:
        return maxdate - dt.timedelta(days=settings.initial_days), maxdate
    return mark.date() - dt.timedelta(days=settings.overlap_days), maxdate
