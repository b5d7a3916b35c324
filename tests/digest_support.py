"""Helpers for digest tests: golden messages with volatile parts scrubbed, a loopback SMTP server
with STARTTLS and AUTH (aiosmtpd), and a few stored candidates."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from golden_files import check_text

from harvester.core.models import AbstractSection, Hit, RunStatus, WorkKind
from harvester.store import runs
from harvester.store.db import Database
from harvester.store.works import ingest_hits

GOLDEN = Path(__file__).parent / "golden"
USER = "digest-user"
PASSWORD = "s3cret-for-tests"


def scrub(raw: bytes | str) -> str:
    """A message with its Date, Message-ID and MIME boundaries made constant, CRLF as LF."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    text = text.replace("\r\n", "\n")
    boundaries = set(re.findall(r'boundary="([^"]+)"', text))
    for number, boundary in enumerate(sorted(boundaries)):
        text = text.replace(boundary, f"BOUNDARY-{number}")
    text = re.sub(r"(?m)^Date: .*$", "Date: DATE", text)
    text = re.sub(r"(?m)^Message-ID: .*$", "Message-ID: <MESSAGE-ID>", text)
    return text


def check_golden(name: str, raw: bytes | str) -> None:
    """Compare with tests/golden/NAME (UPDATE_GOLDEN=1 rewrites it), with a diff on mismatch."""
    check_text(GOLDEN / name, scrub(raw))


@dataclass
class SmtpServer:
    host: str
    port: int
    client_context: ssl.SSLContext
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)
    #: Seconds to wait, after taking a message in, before answering its DATA (a slow server).
    delay: float = 0.0


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.lock = threading.Lock()

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.server.fail_next:
                return self.server.fail_next.pop(0)
            self.server.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        return "250 Message accepted for delivery"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    if ok:
        return AuthResult(success=True)
    return AuthResult(
        success=False, handled=False, message="535 5.7.8 Authentication credentials invalid"
    )


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 that requires STARTTLS (self-signed CA) and AUTH."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = SmtpServer("127.0.0.1", port, client_context)
    controller = Controller(
        _Handler(state),
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
        auth_exclude_mechanism=["LOGIN"],  # PLAIN is enough; one failed login, one answer
    )
    controller.start()
    try:
        yield state
    finally:
        controller.stop()


def add_candidates(db: Database, topic: str, now: dt.datetime, count: int = 3) -> None:
    """``count`` articles and one news story as new candidates of ``topic``, arriving at ``now``."""
    hits = [
        Hit(
            source="pubmed",
            source_id=str(1000 + n),
            pmid=str(1000 + n),
            title=f"Link workers and loneliness <em>study</em> {n}",
            journal="BMJ Open",
            published_at=dt.datetime(2025, 1, 6 + n, tzinfo=dt.UTC),
            abstract=[AbstractSection(text="Social prescribing " * 30, label="BACKGROUND")],
        )
        for n in range(count)
    ]
    hits.append(
        Hit(
            source="feeds",
            source_id="news-1",
            kind=WorkKind.NEWS,
            title='Council expands "green prescribing" <script>alert(1)</script>',
            url="https://news.example.org/green",
            source_name="Example News",
            summary_html="<p>Parks &amp; walks on prescription.</p>",
            published_at=dt.datetime(2025, 1, 9, tzinfo=dt.UTC),
            origin="https://news.example.org/rss",
        )
    )
    with db.write() as session:
        run = runs.start_run(session, topic=topic, source="pubmed", now=now)
        ingest_hits(session, hits, topic=topic, run_id=run.id, now=now)
        runs.finish_run(session, run.id, status=RunStatus.OK, now=now)
