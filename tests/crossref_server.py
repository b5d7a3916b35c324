"""A local Crossref REST API for the look-up and retraction tests (loopback only).

``GET /works/{doi}`` answers the saved body for that DOI (the real recorded answers of the corpus
folder, or the suite's written ones), HTTP 200 with ``application/json``; an unknown DOI gets
Crossref's real 404, a plain-text ``Resource not found.``. Faults, consumed one per request:
``"429"`` (with ``Retry-After: 0``) and ``"503"``. Every request is recorded (path, parameters,
headers) so tests can check the polite-pool etiquette.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "crossref"
NOT_FOUND = b"Resource not found."


def bodies(paths: Iterable[Path]) -> dict[str, bytes]:
    """Saved ``/works/{doi}`` answers by their (lower-case) DOI."""
    found = {}
    for path in paths:
        data = path.read_bytes()
        doi = json.loads(data)["message"]["DOI"].lower()
        found[doi] = data
    return found


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class State:
    works: dict[str, bytes]
    faults: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        state = self.server.state
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with state.lock:
            state.requests.append(Request(parts.path, params, dict(self.headers.items())))
            fault = state.faults.pop(0) if state.faults else None
        if fault == "429":
            self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": "0"})
            return
        if fault == "503":
            self._send(503, b"Service Unavailable", "text/plain")
            return
        if not parts.path.startswith("/works/"):
            self._send(404, NOT_FOUND, "text/plain")
            return
        doi = unquote(parts.path[len("/works/") :]).lower()
        body = state.works.get(doi)
        if body is None:
            self._send(404, NOT_FOUND, "text/plain")
            return
        self._send(200, body, "application/json")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


@dataclass
class CrossrefServer:
    state: State
    base_url: str

    @property
    def requests(self) -> list[Request]:
        return self.state.requests

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)


@contextmanager
def serve(works: dict[str, bytes]) -> Iterator[CrossrefServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = State(dict(works))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield CrossrefServer(server.state, f"http://{host!s}:{port}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
