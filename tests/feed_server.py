"""A loopback HTTP server for feed tests and the feeds benchmark.

Each path is a :class:`Route` saying what to serve and how to misbehave: validators and 304s,
gzip, redirect chains, error statuses, slow answers, truncated bodies, wrong or missing charsets.
Every request is logged (method, path, headers, start and end time) so tests can check the
User-Agent, the conditional headers and how many requests overlapped per host. A request is
logged once its answer is sent, which can be just after the client has read it, so reading the
log first waits for answers still being sent.

Only ever binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
SETTLE_SECONDS = 5.0  # how long reading the log waits for answers still being sent


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    location: str | None = None  # a redirect target (use with status 301/302/307/308)
    delay: float = 0.0  # seconds to wait before answering
    truncate_to: int | None = None  # send only this many body bytes, then close
    trickle: float = 0.0  # seconds to wait between body bytes (a server that drips its answer)
    always_304: bool = False  # answer 304 even to a request without validators
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    started: float
    finished: float = 0.0
    status: int = 0
    body_bytes: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (read timeout) is expected here, not an error to print."""


class FeedServer:
    """Serve routes on ``http://127.0.0.1:<port>``; use as a context manager."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.routes: dict[str, Route] = {}
        self.latency = latency
        self._logged: list[LoggedRequest] = []
        self._answering = 0  # requests received whose answer is not yet logged
        self._lock = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def add_fixture(self, path: str, name: str, **options: Any) -> str:
        """Serve the fixture file ``tests/fixtures/feeds/<name>`` at ``path``."""
        return self.add(path, Route(body=(FEEDS / name).read_bytes(), **options))

    @property
    def log(self) -> list[LoggedRequest]:
        """Every logged request, once those being answered are logged (up to a few seconds)."""
        with self._lock:
            self._lock.wait_for(lambda: self._answering == 0, timeout=SETTLE_SECONDS)
            return list(self._logged)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self._logged.clear()

    def _received(self) -> None:
        with self._lock:
            self._answering += 1

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._answering -= 1
            self._logged.append(entry)
            self._lock.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                pass

            def do_GET(self) -> None:
                entry = LoggedRequest(
                    method="GET",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    started=time.monotonic(),
                )
                server._received()
                try:
                    self._answer(entry)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    entry.finished = time.monotonic()
                    server._record(entry)

            def _answer(self, entry: LoggedRequest) -> None:
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    route = Route(status=404, body=b"not found", content_type="text/plain")
                wait = route.delay + server.latency
                if wait:
                    time.sleep(wait)
                entry.status = route.status
                if route.location is not None:
                    self.send_response(route.status)
                    self.send_header("Location", route.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.always_304 or (
                    route.status == 200 and _not_modified(route, entry.headers)
                ):
                    entry.status = 304
                    self.send_response(304)
                    self._validators(route)
                    self.end_headers()
                    return
                body = route.body
                self.send_response(route.status)
                if route.content_type:
                    self.send_header("Content-Type", route.content_type)
                self._validators(route)
                if route.gzip and "gzip" in entry.headers.get("accept-encoding", ""):
                    body = gzip.compress(body, mtime=0)
                    self.send_header("Content-Encoding", "gzip")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.truncate_to is not None:
                    self.wfile.write(body[: route.truncate_to])
                    self.wfile.flush()
                    entry.body_bytes = route.truncate_to
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if route.trickle:
                    for index in range(len(body)):
                        self.wfile.write(body[index : index + 1])
                        self.wfile.flush()
                        entry.body_bytes = index + 1
                        time.sleep(route.trickle)
                    return
                self.wfile.write(body)
                entry.body_bytes = len(body)

            def _validators(self, route: Route) -> None:
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)

        return Handler


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    match = headers.get("if-none-match")
    if match is not None and route.etag:
        tags = [t.strip() for t in match.split(",")]
        return "*" in tags or route.etag in tags
    since = headers.get("if-modified-since")
    if since is not None and route.last_modified:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def max_overlap(entries: Iterable[LoggedRequest]) -> int:
    """The largest number of logged requests that were being answered at the same moment."""
    events = []
    for entry in entries:
        events.append((entry.started, 1))
        events.append((entry.finished, -1))
    current = best = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        current += step
        best = max(best, current)
    return best


#: The example topic's feeds (queries/social-prescribing.toml), in its order, with the path and
#: the fixture each one is served from in the end-to-end tests.
EXAMPLE_TOPIC_FEEDS = {
    "https://feeds.bbci.co.uk/news/health/rss.xml": ("/bbc.xml", "handwritten_hostile.xml"),
    "https://www.theguardian.com/society/rss": (
        "/guardian.rss",
        "feedparser_large_atom_touchnokia_ru.xml",
    ),
    "https://www.gov.uk/search/news-and-communications.atom?keywords=%22social+prescribing%22": (
        "/govuk.xml",
        "handwritten_gov_news_leading_newline.xml",
    ),
    "https://news.google.com/rss/search?q=%22social+prescribing%22&hl=en-GB&gl=GB&ceid=GB:en": (
        "/google.xml",
        "handwritten_search_alerts_atom.xml",
    ),
}


def local_example_topic(server: FeedServer, topic: str) -> str:
    """``topic`` (the example topic's text) with each feed URL pointed at ``server``."""
    for real, (path, _) in EXAMPLE_TOPIC_FEEDS.items():
        assert f'url = "{real}"' in topic
        topic = topic.replace(f'url = "{real}"', f'url = "{server.url(path)}"')
    return topic
