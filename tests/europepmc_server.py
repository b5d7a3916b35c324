"""A local Europe PMC REST server for the Europe PMC tests (loopback only).

It answers ``GET /search`` and ``POST /searchPOST`` the way Europe PMC does where it matters to a
client, over a list of real ``resultType=core`` records (from the corpus folder, or the suite's
own written records):

* the query is not interpreted, except its ``FIRST_IDATE:[YYYY-MM-DD TO YYYY-MM-DD]`` clause,
  which filters on each record's ``firstIndexDate``; ``match`` (a Python predicate) narrows the
  set further when a test wants a query to find nothing;
* ``hitCount`` is the true count; ``pageSize`` records per page (capped at 1000);
  ``cursorMark=*`` starts, each answer's ``nextCursorMark`` continues, and a page past the end is
  an empty result list whose ``nextCursorMark`` is the cursor asked for (Europe PMC's last page);
* ``resultType`` other than ``core`` and ``format`` other than ``json`` are refused with 400, so a
  client that forgets them fails;
* faults, consumed one per request: ``"500"``, ``"503"``, ``"429"`` (with ``Retry-After: 0``),
  ``"html"`` (an HTTP 200 HTML error page), ``"cut"`` (a body cut short).

Every request is recorded (method, path, parameters, headers) so tests can check what a client
sent.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "europepmc"
WRITTEN = FIXTURES / "handwritten_social_prescribing_core.json"
PREFIX = "/europepmc/webservices/rest/"
_WINDOW = re.compile(r"FIRST_IDATE:\[(\d{4}-\d{2}-\d{2}) TO (\d{4}-\d{2}-\d{2})\]")


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a saved ``/search`` JSON answer."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["resultList"]["result"])


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class ServerState:
    records: list[dict[str, Any]]
    match: Callable[[str, dict[str, Any]], bool] | None = None
    faults: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def found(self, query: str) -> list[dict[str, Any]]:
        window = _WINDOW.search(query)
        chosen = []
        for record in self.records:
            day = str(record.get("firstIndexDate", ""))
            if window and not (window.group(1) <= day <= window.group(2)):
                continue
            if self.match is not None and not self.match(query, record):
                continue
            chosen.append(record)
        return chosen


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int | None:
    if cursor == "*":
        return 0
    try:
        text = base64.b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text.split(":", 1)[1]) if text.startswith("offset:") else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self._handle(parts.path, parse_qs(parts.query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        self._handle(urlsplit(self.path).path, parse_qs(body))

    def _handle(self, path: str, raw: dict[str, list[str]]) -> None:
        state = self.server.state
        params = {k: v[-1] for k, v in raw.items()}
        with state.lock:
            state.requests.append(Request(self.command, path, params, dict(self.headers.items())))
            fault = state.faults.pop(0) if state.faults else None
        prefix, _, endpoint = path.rpartition("/")
        if fault in ("500", "503"):
            self._send(int(fault), b"<html><body>Service unavailable</body></html>", "text/html")
            return
        if fault == "429":
            self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": "0"})
            return
        if fault == "html":
            self._send(200, b"<html><body>Proxy error</body></html>", "text/html")
            return
        known = (("search", "GET"), ("searchPOST", "POST"))
        if prefix != PREFIX.rstrip("/") or (endpoint, self.command) not in known:
            self._send(404, b"Not found", "text/plain")
            return
        if params.get("resultType") != "core" or params.get("format") != "json":
            self._send(
                400, b'{"errMsg":"resultType core and format json expected"}', "application/json"
            )
            return
        query = params.get("query", "")
        offset = _offset(params.get("cursorMark", "*"))
        if offset is None:
            self._send(400, b'{"errMsg":"invalid cursorMark"}', "application/json")
            return
        size = min(int(params.get("pageSize", "25")), 1000)
        found = state.found(query)
        page = found[offset : offset + size]
        after = offset + len(page)
        answer = {
            "version": "6.9",
            "hitCount": len(found),
            "nextCursorMark": _cursor(after) if page else params.get("cursorMark", "*"),
            "request": {
                "queryString": query,
                "resultType": "core",
                "cursorMark": params.get("cursorMark", "*"),
                "pageSize": size,
                "sort": "",
                "synonym": False,
            },
            "resultList": {"result": page},
        }
        body = json.dumps(answer).encode("utf-8")
        if fault == "cut":
            self._send(200, body, "application/json", cut=True)
            return
        self._send(200, body, "application/json;charset=UTF-8")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)
        if cut:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


@dataclass
class EuropePMCServer:
    state: ServerState
    base_url: str

    @property
    def requests(self) -> list[Request]:
        return self.state.requests

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)


@contextmanager
def serve(
    records: list[dict[str, Any]],
    *,
    match: Callable[[str, dict[str, Any]], bool] | None = None,
) -> Iterator[EuropePMCServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = ServerState(records, match)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield EuropePMCServer(server.state, f"http://{host!s}:{port}{PREFIX}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
