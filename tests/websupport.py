"""Helpers for the web tests: a topic folder, seeded candidates, accounts, a live server."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from harvester.config.settings import Settings, load_settings
from harvester.core.models import Author, Hit, PubDate, WorkKind
from harvester.store import users
from harvester.store.db import Database
from harvester.store.works import ingest_hits
from harvester.web.app import create_app

TOPIC = "social-prescribing"
NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
ADMIN = ("admin@example.org", "admin password 1")
REVIEWER = ("rev@example.org", "reviewer password 1")
XSS_TITLE = 'Link workers <script>alert("title")</script> praised'
XSS_SUMMARY = (
    '<img src=x onerror="alert(1)"><script>alert("summary")</script>Social prescribing <b>helps</b>'
)
XSS_URL = "javascript:alert(document.cookie)"

TOPIC_FILE = """
[topic]
name = "Social prescribing"

[match]
phrases = ["social prescri*", "link worker*"]
exclude = ["veterinary"]

[bulletin]
sections = ["Journal articles", "News"]

[review]
reasons = ["Off topic", "Not UK"]
"""


def make_settings(
    folder: Path,
    db_url: str,
    *,
    secret: str = "test-secret-key-of-the-web-suite-0123456789",  # noqa: S107
) -> Settings:
    queries = folder / "queries"
    queries.mkdir(parents=True, exist_ok=True)
    (queries / f"{TOPIC}.toml").write_text(TOPIC_FILE, encoding="utf-8")
    (folder / "harvester.toml").write_text(
        f'[database]\nurl = "{db_url}"\n\n[web]\nbase_url = "http://127.0.0.1"\n', encoding="utf-8"
    )
    settings = load_settings(folder / "harvester.toml")
    settings.web.secret_key = secret
    return settings


def article(n: int) -> Hit:
    return Hit(
        source="pubmed",
        source_id=str(5000 + n),
        origin="query:social prescribing",
        title=f"Social prescribing trial {n}: outcomes of link worker support in cohort {n * 13}",
        pmid=str(5000 + n),
        authors=[Author(family=f"Writer{n}", given="Sam", initials="S")],
        journal="Journal of Community Health",
        pub_date=PubDate(2024),
        abstract=[],
    )


def seed(db: Database, count: int = 6) -> None:
    """``count`` articles, one news entry carrying an XSS payload, and two accounts."""
    with db.write() as session:
        for n in range(count):
            ingest_hits(
                session, [article(n)], topic=TOPIC, run_id=None, now=NOW + dt.timedelta(minutes=n)
            )
        ingest_hits(
            session,
            [
                Hit(
                    source="feeds",
                    source_id="evil-1",
                    origin="https://news.example/rss",
                    title=XSS_TITLE,
                    kind=WorkKind.NEWS,
                    url=XSS_URL,
                    summary_html=XSS_SUMMARY,
                    matched_rule="link worker*",
                )
            ],
            topic=TOPIC,
            run_id=None,
            now=NOW - dt.timedelta(days=1),
        )
        users.add_user(session, *ADMIN, admin=True, now=NOW)
        users.add_user(session, *REVIEWER, admin=False, now=NOW)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
    )  # as `harvester serve` with no [web] trusted_proxies
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def build(tmp_path: Path, db: Database) -> FastAPI:
    settings = make_settings(tmp_path / "site", db.url)
    apply_topics(db, settings)
    return create_app(settings, db)


def apply_topics(db: Database, settings: Settings) -> None:
    """The topic files of ``settings``' queries folder applied to ``db`` (as ``harvester init``
    and a first start do)."""
    from harvester.store.people import grant_all
    from harvester.usecases.topics import apply_files

    results = apply_files(db, [settings.queries_dir], actor="tests", now=NOW)
    assert all(r.outcome != "refused" for r in results), [r.line for r in results]
    with db.write() as session:  # reviewers review every topic of the suite's sites
        grant_all(session, [r.slug for r in results if r.slug])
