"""A local NCBI E-utilities server for the PubMed tests and benchmark (loopback only).

It answers ``esearch.fcgi`` and ``efetch.fcgi`` for ``db=pubmed`` over a corpus of real PubMed
records (the fixture files), the way NCBI does where it matters to a client:

* esearch: ``term`` is not interpreted (the corpus is the result set, optionally narrowed by a
  Python predicate), ``datetype=edat`` + ``mindate``/``maxdate`` filter on each record's entrez
  date, ``usehistory=y`` stores the result under a ``WebEnv``/``QueryKey``. ``Count`` is always the
  true count, but only the first 9,999 ids are reachable: ``retmax`` is clamped with NCBI's
  "Restrictions achieved" warning and ``retstart`` > 9998 gets NCBI's in-band ``<ERROR>``.
* efetch: by ``WebEnv``/``query_key`` + ``retstart``/``retmax`` (a page crossing the 9,999 limit is
  clamped silently; ``retstart`` > 9998 is HTTP 400 with NCBI's message), or by ``id`` list, GET or
  POST, answering a ``PubmedArticleSet`` of the records' own XML.
* faults, injected per endpoint and consumed one per request: 429 with NCBI's JSON body and a
  ``Retry-After``, 500/502/503, a slow answer, a truncated body (with or without a Content-Length),
  an HTTP 200 ``<ERROR>Search Backend failed: ...</ERROR>``, a connection reset, an HTTP 200
  proxy error page in HTML, an HTTP 200 with an empty body, a body with bytes that are not UTF-8,
  and the history server forgetting every ``WebEnv`` (as NCBI does after about an hour).

A strict rate limit can be switched on (``serve(..., max_per_second=3)``): then any one-second
window of arrivals (closed at both ends, every request counted, refused ones too) may hold at most
that many requests, and a request that would make one more is answered 429 with NCBI's JSON body,
as a server counting requests in a sliding second would.

Every request is recorded (method, endpoint, merged parameters, arrival time) so tests can check
what a client sent. :meth:`Corpus.synthetic` clones real records with new PMIDs and spread entrez
dates to build large result sets cheaply (records are rendered from templates on demand).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lxml import etree

FIXTURES = Path(__file__).parent / "fixtures" / "pubmed"
TOPIC_SUBSET = FIXTURES / "pubmed21n1298_topic_subset.xml"

REACHABLE = 9_999
RETSTART_ERROR = (
    "Search Backend failed: Exception:\n'retstart' cannot be larger than 9998. For PubMed, "
    "ESearch can only retrieve the first 9,999 records matching the query. To obtain more than "
    "9,999 PubMed records, consider using EDirect that contains additional logic to batch PubMed "
    "search results automatically so that an arbitrary number can be retrieved. For details see "
    "https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)
BACKEND_ERROR = "Search Backend failed: Database is not supported: pubmed"
ESEARCH_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
EFETCH_HEAD = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)

_PMID_MARK = b"\x00PMID\x00"
_EDAT_MARK = b"\x00EDAT\x00"


# ------------------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Template:
    """A real record's XML with its PMID and entrez date cut out, to be filled in again."""

    xml: bytes
    edat: dt.date
    entrez: bytes  # the record's own entrez PubMedPubDate element


@dataclass(frozen=True)
class Record:
    """One served record: its PMID, its entrez date and the template its XML is rendered from.

    A record served with its original PMID and date is byte-for-byte the fixture's record.
    """

    pmid: int
    edat: dt.date
    template: Template

    def xml(self) -> bytes:
        if self.edat == self.template.edat:
            date = self.template.entrez
        else:
            date = (
                f'<PubMedPubDate PubStatus="entrez"><Year>{self.edat.year}</Year>'
                f"<Month>{self.edat.month}</Month><Day>{self.edat.day}</Day></PubMedPubDate>"
            ).encode()
        xml = self.template.xml.replace(_PMID_MARK, str(self.pmid).encode())
        return xml.replace(_EDAT_MARK, date)


def _template(element: etree._Element) -> tuple[int, Template]:
    pmid = element.findtext("MedlineCitation/PMID") or ""
    # Records from before the entrez date existed carry only the "pubmed" date.
    for status in ("entrez", "pubmed"):
        entrez = element.find(f"PubmedData/History/PubMedPubDate[@PubStatus='{status}']")
        if entrez is not None:
            break
    else:
        raise ValueError(f"record {pmid} has no entrez date")
    edat = dt.date(*(int(entrez.findtext(tag) or "") for tag in ("Year", "Month", "Day")))
    raw = etree.tostring(element, with_tail=False)
    raw = raw.replace(f">{pmid}<".encode(), b">" + _PMID_MARK + b"<")
    pattern = rf'<PubMedPubDate PubStatus="{status}">.*?</PubMedPubDate>'.encode()
    match = re.search(pattern, raw, re.DOTALL)
    assert match is not None
    raw = raw[: match.start()] + _EDAT_MARK + raw[match.end() :]
    return int(pmid), Template(raw, edat, match.group(0))


@dataclass
class Corpus:
    records: list[Record]

    @classmethod
    def from_files(cls, *paths: Path) -> Corpus:
        records = []
        for path in paths:
            for _event, element in etree.iterparse(
                str(path), tag="PubmedArticle", load_dtd=False, no_network=True
            ):
                pmid, template = _template(element)
                records.append(Record(pmid, template.edat, template))
                element.clear()
        return cls(records)

    @classmethod
    def synthetic(
        cls,
        base: Corpus,
        count: int,
        *,
        start: dt.date,
        days: int,
        first_pmid: int = 50_000_000,
    ) -> Corpus:
        """``count`` clones of ``base``'s records, entrez dates spread evenly over ``days``."""
        records = []
        for index in range(count):
            template = base.records[index % len(base.records)].template
            edat = start + dt.timedelta(days=index * days // count)
            records.append(Record(first_pmid + index, edat, template))
        return cls(records)

    def by_pmid(self) -> dict[int, Record]:
        return {record.pmid: record for record in self.records}


# -------------------------------------------------------------------------------------- faults


class Fault:
    """The faults a test can inject, one per request, in order."""

    NONE = "none"  # this request is answered normally (to aim a fault at a later request)
    RATE_LIMIT = "429"
    HTTP_400 = "400"
    HTTP_500 = "500"
    HTTP_502 = "502"
    HTTP_503 = "503"
    SLOW = "slow"
    TRUNCATE = "truncate"  # Content-Length of the whole body, half of it sent, then closed
    TRUNCATE_UNSIZED = "truncate-unsized"  # no Content-Length, half the body, closed
    BACKEND_ERROR = "backend-error"  # HTTP 200 carrying <ERROR>Search Backend failed</ERROR>
    RESET = "reset"  # the connection is reset without an answer
    HTML_200 = "html-200"  # a proxy's error page, in HTML, with HTTP 200
    EMPTY_200 = "empty-200"  # HTTP 200 and no body at all
    NOT_UTF8 = "not-utf8"  # the normal answer with one Latin-1 byte in the first title
    EXPIRE_HISTORY = "expire-history"  # every WebEnv is forgotten before this request is answered


@dataclass
class Request:
    method: str
    path: str
    endpoint: str
    params: dict[str, str]
    at: float
    fault: str | None = None


@dataclass
class _Search:
    ids: list[int]
    count: int


@dataclass
class ServerState:
    corpus: Corpus
    term_filter: Callable[[str, Record], bool] | None = None
    retry_after: str = "0"
    slow_seconds: float = 1.0
    requests: list[Request] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    history: dict[str, dict[str, _Search]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_per_second: int | None = None
    rate_limited: int = 0  # requests refused by the strict limit

    def __post_init__(self) -> None:
        # PubMed's default esearch order is newest first; PMIDs stand in for that.
        self._sorted = sorted(self.corpus.records, key=lambda r: r.pmid, reverse=True)
        self._by_pmid = self.corpus.by_pmid()

    def inject(self, endpoint: str, *faults: str) -> None:
        """Queue ``faults`` for the next requests to ``endpoint`` ("esearch", "efetch" or "*")."""
        with self.lock:
            self.faults.setdefault(endpoint, []).extend(faults)

    def next_fault(self, endpoint: str) -> str | None:
        with self.lock:
            for key in (endpoint, "*"):
                queue = self.faults.get(key)
                if queue:
                    fault = queue.pop(0)
                    return None if fault == Fault.NONE else fault
        return None

    def search(self, term: str, mindate: dt.date | None, maxdate: dt.date | None) -> list[int]:
        return [
            record.pmid
            for record in self._sorted
            if (mindate is None or record.edat >= mindate)
            and (maxdate is None or record.edat <= maxdate)
            and (self.term_filter is None or self.term_filter(term, record))
        ]

    def record(self, pmid: int) -> Record | None:
        return self._by_pmid.get(pmid)

    def count(self, endpoint: str) -> int:
        return sum(1 for r in self.requests if r.endpoint == endpoint)

    def over_limit(self, at: float) -> bool:
        """Whether a request arriving ``at`` makes more than ``max_per_second`` arrivals in the
        second ending then (the request itself, and every earlier one, counted); call with the
        lock held, after recording the request."""
        if self.max_per_second is None:
            return False
        recent = 0
        for earlier in reversed(self.requests):  # arrivals are stamped before the lock: scan on
            if earlier.at < at - 2.0:
                break
            recent += at - 1.0 <= earlier.at <= at
        if recent > self.max_per_second:
            self.rate_limited += 1
            return True
        return False


# -------------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive answers must not wait for a delayed ACK
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read ``state.requests`` instead."""

    def do_GET(self) -> None:
        self._handle(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        params = parse_qs(urlsplit(self.path).query)
        for key, values in parse_qs(body).items():
            params.setdefault(key, []).extend(values)
        self._handle(params)

    def _handle(self, raw: dict[str, list[str]]) -> None:
        state = self.server.state
        params = {key: values[-1] for key, values in raw.items()}
        endpoint = urlsplit(self.path).path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        arrived = time.monotonic()
        fault = state.next_fault(endpoint)
        with state.lock:
            state.requests.append(
                Request(self.command, self.path, endpoint, params, arrived, fault=fault)
            )
            if fault is None and state.over_limit(arrived):
                fault = state.requests[-1].fault = Fault.RATE_LIMIT
        if fault == Fault.RESET:
            self._reset()
            return
        if fault == Fault.SLOW:
            time.sleep(state.slow_seconds)
        if fault == Fault.RATE_LIMIT:
            body = json.dumps(
                {
                    "error": "API rate limit exceeded",
                    "api-key": _client_ip(self),
                    "count": str((state.max_per_second or 3) + 1),
                    "limit": str(state.max_per_second or 3),
                }
            ).encode()
            self._send(429, body, "application/json", {"Retry-After": state.retry_after})
            return
        if fault in (Fault.HTTP_400, Fault.HTTP_500, Fault.HTTP_502, Fault.HTTP_503):
            status = int(fault)
            body = f"<html><body><h1>{status} {self.responses[status][0]}</h1></body></html>"
            self._send(status, body.encode(), "text/html")
            return
        if fault == Fault.BACKEND_ERROR:
            self._send(200, _esearch_error(BACKEND_ERROR), "text/xml")
            return
        if fault == Fault.HTML_200:
            page = b"<!DOCTYPE html><html><head><meta charset=utf-8></head><body>Proxy error"
            self._send(200, page, "text/html")
            return
        if fault == Fault.EMPTY_200:
            self._send(200, b"", "text/xml")
            return
        if fault == Fault.EXPIRE_HISTORY:
            with state.lock:
                state.history.clear()
        if endpoint == "esearch":
            status, body = _esearch(state, params)
        elif endpoint == "efetch":
            status, body = _efetch(state, params)
        else:
            status, body = 404, b"unknown endpoint"
        if fault == Fault.NOT_UTF8:
            body = body.replace(b"<ArticleTitle>", b"<ArticleTitle>\xe9", 1)
        if fault == Fault.TRUNCATE:
            self._send(status, body, "text/xml", cut=len(body) // 2)
        elif fault == Fault.TRUNCATE_UNSIZED:
            self._send(status, body, "text/xml", cut=len(body) // 2, sized=False)
        else:
            self._send(status, body, "text/xml" if status == 200 else "text/plain")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        cut: int | None = None,
        sized: bool = True,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=UTF-8")
            if sized:
                self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if cut is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body if cut is None else body[:cut])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a read timeout): fine

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _client_ip(handler: BaseHTTPRequestHandler) -> str:
    return str(handler.client_address[0])


def _esearch_error(message: str) -> bytes:
    text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ESEARCH_HEAD + f"<eSearchResult><ERROR>{text}</ERROR></eSearchResult>\n".encode()


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    parts = [int(p) for p in value.split("/")]
    year, month, day = (parts + [1, 1])[:3]
    return dt.date(year, month, day)


def _esearch(state: ServerState, params: dict[str, str]) -> tuple[int, bytes]:
    if params.get("db", "pubmed") != "pubmed":
        return 200, _esearch_error(f"Invalid db name specified: {params['db']}")
    retstart = int(params.get("retstart", "0"))
    retmax = int(params.get("retmax", "20"))
    if retstart > REACHABLE - 1:
        return 200, _esearch_error(RETSTART_ERROR)
    dated = params.get("datetype") == "edat"
    ids = state.search(
        params.get("term", ""),
        _date(params.get("mindate")) if dated else None,
        _date(params.get("maxdate")) if dated else None,
    )
    reachable = ids[:REACHABLE]
    warnings = ""
    if retstart + retmax > REACHABLE:
        retmax = REACHABLE - retstart
        warnings = (
            "<WarningList><OutputMessage>Restrictions achieved. start and count adjusted to "
            f"{retstart}, {retmax}</OutputMessage></WarningList>"
        )
    page = reachable[retstart : retstart + retmax]
    history = ""
    if params.get("usehistory") == "y":
        webenv = params.get("WebEnv") or f"MCID_{secrets.token_hex(12)}"
        with state.lock:
            queries = state.history.setdefault(webenv, {})
            query_key = str(len(queries) + 1)
            queries[query_key] = _Search(reachable, len(ids))
        history = f"<QueryKey>{query_key}</QueryKey><WebEnv>{webenv}</WebEnv>"
    id_list = "".join(f"<Id>{pmid}</Id>\n" for pmid in page)
    body = (
        f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(page)}</RetMax>"
        f"<RetStart>{retstart}</RetStart>{history}<IdList>\n{id_list}</IdList>"
        f"<TranslationSet/><QueryTranslation>{_escape(params.get('term', ''))}"
        f"</QueryTranslation>{warnings}</eSearchResult>\n"
    )
    return 200, ESEARCH_HEAD + body.encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _efetch(state: ServerState, params: dict[str, str]) -> tuple[int, bytes]:
    if params.get("db", "pubmed") != "pubmed":
        return 400, f"Invalid db name specified: {params['db']}".encode()
    if "id" in params:
        pmids = [int(p) for p in params["id"].split(",") if p.strip()]
    else:
        search = state.history.get(params.get("WebEnv", ""), {}).get(params.get("query_key", ""))
        if search is None:
            body = "<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
            return 200, body.encode()
        retstart = int(params.get("retstart", "0"))
        retmax = int(params.get("retmax", "20"))
        if retstart > REACHABLE - 1:
            return 400, RETSTART_ERROR.encode()
        pmids = search.ids[retstart : retstart + retmax]
    records = (state.record(pmid) for pmid in pmids)
    parts = [EFETCH_HEAD, b"<PubmedArticleSet>\n"]
    parts.extend(record.xml() + b"\n" for record in records if record is not None)
    parts.append(b"</PubmedArticleSet>\n")
    return 200, b"".join(parts)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


@dataclass
class EutilsServer:
    """A running server: ``base_url`` for the client settings, ``state`` for faults and records."""

    base_url: str
    state: ServerState

    @property
    def requests(self) -> list[Request]:
        return self.state.requests

    def inject(self, endpoint: str, *faults: str) -> None:
        self.state.inject(endpoint, *faults)


@contextmanager
def serve(
    corpus: Corpus,
    *,
    term_filter: Callable[[str, Record], bool] | None = None,
    max_per_second: int | None = None,
) -> Iterator[EutilsServer]:
    """Run an E-utilities server on 127.0.0.1 (a free port) in a thread for the ``with`` block;
    ``max_per_second`` switches the strict sliding-window rate limit on."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = ServerState(corpus, term_filter=term_filter, max_per_second=max_per_second)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="eutils-server", daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield EutilsServer(f"http://{host!s}:{port}/entrez/eutils/", server.state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def pmids(records: Iterable[Record]) -> set[str]:
    return {str(record.pmid) for record in records}
