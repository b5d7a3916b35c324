"""A backfill killed midway and run again with the same --since/--until resumes after its last
completed slice (slices of at most about 1,000 records), against the local E-utilities server;
once the window is done its checkpoint is dropped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, serve
from sqlalchemy import select

from harvester.config.settings import PubMedQuery, Settings, Topic, TopicMeta
from harvester.sources.pubmed import CHECKPOINT_RECORDS, EutilsClient, PubMedSource
from harvester.sources.ratelimit import RateLimiter
from harvester.store.db import Database
from harvester.store.tables import Watermark, Work
from harvester.usecases.harvest import Harvest, RunSummary

SINCE, UNTIL = dt.date(2022, 1, 1), dt.date(2022, 3, 31)
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
RECORDS = 3000


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.synthetic(Corpus.from_files(TOPIC_SUBSET), RECORDS, start=SINCE, days=90)


@pytest.fixture
def server(corpus: Corpus) -> Iterator[EutilsServer]:
    with serve(corpus) as running:
        yield running


def _harvest(db: Database, server: EutilsServer, progress: Any = None) -> tuple[Harvest, Topic]:
    settings = Settings(
        database={"url": db.url},
        pubmed={"base_url": server.base_url, "batch_size": 200, "backoff_base": 0.001},
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


def _fetched(server: EutilsServer, since: int = 0) -> int:
    return sum(int(r.params["retmax"]) for r in server.requests[since:] if r.endpoint == "efetch")


def test_a_killed_backfill_resumes_its_explicit_window(
    db: Database, server: EutilsServer, corpus: Corpus
) -> None:
    def kill(summary: RunSummary) -> None:
        if summary.fetched >= RECORDS // 2:
            raise KeyboardInterrupt

    harvest, topic = _harvest(db, server, progress=kill)
    with harvest, pytest.raises(KeyboardInterrupt):
        harvest.run_source("pubmed", topic, since=SINCE, until=UNTIL)
    first = _fetched(server)
    with db.read() as session:
        marks = {m.key: m.value.date() for m in session.scalars(select(Watermark))}
        stored = set(session.scalars(select(Work.pmid)))
    window = [day for key, day in marks.items() if key.endswith(f"@{SINCE}..{UNTIL}")]
    assert len(window) == 1
    through = window[0]
    done = {str(r.pmid) for r in corpus.records if r.edat <= through}
    assert done <= stored
    # checkpoints are at most about CHECKPOINT_RECORDS apart: a kill loses less than a slice
    assert first - len(done) <= CHECKPOINT_RECORDS

    requests_before = len(server.requests)
    again, topic = _harvest(db, server)
    with again:
        summary = again.run_source("pubmed", topic, since=SINCE, until=UNTIL)
    assert summary is not None and summary.status.value == "ok", summary
    second = _fetched(server, requests_before)
    assert second == RECORDS - len(done)  # nothing before the checkpoint is asked for again
    searches = [r for r in server.requests[requests_before:] if r.endpoint == "esearch"]
    assert min(r.params["mindate"] for r in searches) > through.strftime("%Y/%m/%d")
    with db.read() as session:
        assert set(session.scalars(select(Work.pmid))) == {str(r.pmid) for r in corpus.records}
        keys = list(session.scalars(select(Watermark.key)))
    assert not any("@" in key for key in keys)  # the finished window's checkpoint is gone

    # a finished window asked for again is fetched again (records may have joined old dates)
    requests_before = len(server.requests)
    third, topic = _harvest(db, server)
    with third:
        third.run_source("pubmed", topic, since=SINCE, until=UNTIL)
    assert _fetched(server, requests_before) == RECORDS
