"""Harvest runs that do not go to plan: an interrupted backfill, a feed entry the store refuses,
and imports stored batch by batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, serve
from feed_server import FeedServer, Route
from sqlalchemy import select

from harvester.config.settings import FeedConfig, PubMedQuery, Settings, Topic, TopicMeta
from harvester.sources.pubmed import EutilsClient, PubMedSource
from harvester.sources.ratelimit import RateLimiter
from harvester.store import runs as run_store
from harvester.store.db import Database
from harvester.store.tables import Run, Work
from harvester.usecases import harvest as harvest_module
from harvester.usecases import importing
from harvester.usecases.harvest import Harvest, RunSummary
from harvester.usecases.importing import import_file

SINCE, UNTIL = dt.date(2020, 12, 1), dt.date(2021, 6, 30)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.from_files(TOPIC_SUBSET)


@pytest.fixture
def server(corpus: Corpus) -> Iterator[EutilsServer]:
    with serve(corpus) as running:
        yield running


def _pubmed_harvest(
    db: Database, server: EutilsServer, progress: Any = None
) -> tuple[Harvest, Topic]:
    settings = Settings(
        database={"url": db.url},
        pubmed={
            "base_url": server.base_url,
            "batch_size": 10,
            "max_esearch_ids": 30,  # 67 records: the window is cut into date slices
            "backoff_base": 0.001,
        },
    )
    client = EutilsClient(settings.pubmed, limiter=RateLimiter(1000))
    harvest = Harvest(
        db,
        settings,
        progress=progress,
        clock=lambda: NOW,
        sources={"pubmed": PubMedSource(settings, client=client)},
    )
    return harvest, Topic(topic=TopicMeta(slug="t"), pubmed=PubMedQuery(query="q"))


def test_an_interrupted_backfill_keeps_each_finished_slice_and_its_run_is_finished(
    db: Database, server: EutilsServer, corpus: Corpus
) -> None:
    def interrupt(summary: RunSummary) -> None:
        if summary.fetched >= 40:  # past the first date slice
            raise KeyboardInterrupt

    harvest, topic = _pubmed_harvest(db, server, progress=interrupt)
    with harvest, pytest.raises(KeyboardInterrupt):
        harvest.run_source("pubmed", topic, since=SINCE, until=UNTIL)
    with db.read() as session:
        run = session.scalars(select(Run)).one()
        assert (run.status, run.error, run.finished_at) == ("failed", "interrupted", NOW)
        mark = run_store.get_watermark(session, topic="t", source="pubmed", key=_key(session))
        stored = set(session.scalars(select(Work.pmid)))
    assert mark is not None and SINCE <= mark.date() < UNTIL
    # Every record up to the watermark is stored: the next run may start there.
    assert {str(r.pmid) for r in corpus.records if r.edat <= mark.date()} <= stored

    resumed, topic = _pubmed_harvest(db, server)
    with resumed:
        summary = resumed.run_source("pubmed", topic, until=UNTIL)
    assert summary is not None and summary.status.value == "ok"
    assert summary.window is not None and summary.window[0] < mark.date()
    with db.read() as session:
        assert set(session.scalars(select(Work.pmid))) == {str(r.pmid) for r in corpus.records}


def _key(session: Any) -> str:
    from harvester.store.tables import Watermark

    return session.scalars(select(Watermark.key).where(~Watermark.key.contains("@"))).one()


# --------------------------------------------------------------------------------- feeds


def _rss(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid></item>"
        for title, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"<link>https://news.example.org/</link>{body}</channel></rss>"
    ).encode()


def test_an_entry_the_store_refuses_is_skipped_and_the_rest_is_stored(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = harvest_module.ingest_hits

    def refusing(session: Any, hits: list[Any], **kwargs: Any) -> Any:
        if any("Poisoned" in hit.title for hit in hits):
            raise ValueError("refused by the store")
        return real(session, hits, **kwargs)

    monkeypatch.setattr(harvest_module, "ingest_hits", refusing)
    with FeedServer() as server:
        one = server.add(
            "/one.xml",
            Route(
                body=_rss(
                    ("Link workers in the news", "https://news.example.org/a"),
                    ("Poisoned entry", "https://news.example.org/b"),
                    ("Green prescriptions at the GP", "https://news.example.org/c"),
                )
            ),
        )
        two = server.add(
            "/two.xml",
            Route(
                body=_rss(
                    ("Arts on prescription grows", "https://other.example.org/x"),
                    ("Walking groups for loneliness", "https://other.example.org/y"),
                )
            ),
        )
        settings = Settings(database={"url": db.url}, feeds={"max_retries": 0})
        topic = Topic(
            topic=TopicMeta(slug="t"),
            feeds=[
                FeedConfig(name="One", url=one, all=True),
                FeedConfig(name="Two", url=two, all=True),
            ],
        )
        with Harvest(db, settings, clock=lambda: NOW) as harvest:
            summary = harvest.run_source("feeds", topic)
    assert summary is not None and summary.status.value == "partial"
    assert summary.details[one]["skipped"] == [
        "entry https://news.example.org/b not stored (ValueError: refused by the store)"
    ]
    assert "skipped" not in summary.details[two]
    with db.read() as session:
        titles = set(session.scalars(select(Work.title)))
        run = session.scalars(select(Run)).one()
    assert titles == {
        "Link workers in the news",
        "Green prescriptions at the GP",
        "Arts on prescription grows",
        "Walking groups for loneliness",
    }
    assert run.status == "partial" and "1 entries skipped" in (run.error or "")
    assert run.finished_at == NOW and run.fetched == 4


# -------------------------------------------------------------------------------- imports


def test_an_import_is_stored_in_batches_and_summarised_per_file(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = []
    for rid, title, doi, language in [
        ("1", "A trial of link workers", "10.1000/one", None),
        ("2", "A trial of link workers.", "10.1000/ONE", None),
        ("3", "Green prescriptions in practice", None, "x" * 40),
        ("4", "Green prescriptions in practice", None, None),
        ("5", "Arts on prescription for older adults", None, None),
        ("6", "Arts on prescription for older adults", None, None),
    ]:
        lines += ["TY  - JOUR", f"ID  - {rid}", f"TI  - {title}", "PY  - 2021", "AU  - Doe, J"]
        lines += ["T2  - Perspectives in Public Health", "VL  - 141"]
        lines += [f"DO  - {doi}"] if doi else []
        lines += [f"LA  - {language}"] if language else []
        lines += ["ER  - ", ""]
    path = tmp_path / "dups.ris"
    path.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
    calls: list[int] = []
    real = importing.ingest_batch

    def counting(database: Any, hits: list[Any], **kwargs: Any) -> Any:
        calls.append(len(hits))
        return real(database, hits, **kwargs)

    monkeypatch.setattr(importing, "ingest_batch", counting)
    told: list[tuple[int, int]] = []
    first = import_file(db, path, topic="t", now=NOW, progress=lambda d, t: told.append((d, t)))
    assert calls == [2, 2, 2] and told == [(2, 6), (4, 6), (6, 6)]
    assert (first.records, first.new_works, first.merged_within, first.merged_existing) == (
        6,
        3,
        3,
        0,
    )
    assert [p.line() for p in first.problems] == [
        "record 3: language cut to 16 of its 40 characters"
    ]
    assert "1 records with problems:\n  record 3: language cut" in first.line()
    again = import_file(db, path, topic="t", now=NOW)
    assert (again.new_works, again.new_sightings, again.merged_existing) == (0, 0, 6)
