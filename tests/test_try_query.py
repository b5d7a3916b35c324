"""A topic's PubMed query tried before it is saved, against the loopback E-utilities server;
phrases tried against the queue's recent items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, serve

from harvester.config.settings import Settings
from harvester.core.errors import FetchError
from harvester.sources.pubmed import EutilsClient
from harvester.sources.ratelimit import RateLimiter
from harvester.usecases.try_query import try_pubmed_query


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.from_files(TOPIC_SUBSET)


@pytest.fixture
def server(corpus: Corpus) -> Iterator[EutilsServer]:
    with serve(corpus) as running:
        yield running


def _settings(server: EutilsServer) -> Settings:
    return Settings.model_validate(
        {"pubmed": {"base_url": server.base_url, "max_retries": 0, "tool": "harvester-tests"}}
    )


def test_the_query_shows_its_counts_and_newest_titles(server: EutilsServer, corpus: Corpus) -> None:
    latest = max(record.edat for record in corpus.records)
    settings = _settings(server)
    client = EutilsClient(settings.pubmed, limiter=RateLimiter(1000))
    trial = try_pubmed_query(
        settings,
        ' "social prescri*"[tiab] ',
        today=latest + dt.timedelta(days=10),
        since=dt.date(2020, 1, 1),
        until=latest,
        client=client,
    )
    recent = [r for r in corpus.records if r.edat >= latest + dt.timedelta(days=-20)]
    assert trial.query == '"social prescri*"[tiab]'
    assert trial.last_30_days == len(recent)
    assert trial.in_window == len(corpus.records)
    assert len(trial.titles) == 20
    assert all(link.startswith("https://pubmed.ncbi.nlm.nih.gov/") for _, _, link in trial.titles)
    searches = [r for r in server.requests if r.endpoint == "esearch"]
    assert [s.params["mindate"] for s in searches][1] == "2020/01/01"
    assert len(server.requests) == 3  # two searches and one page of titles


def test_a_failing_server_is_an_error_naming_the_request(server: EutilsServer) -> None:
    server.inject("esearch", "500")
    settings = _settings(server)
    client = EutilsClient(settings.pubmed, limiter=RateLimiter(1000))
    with pytest.raises(FetchError, match="esearch"):
        try_pubmed_query(settings, "x", today=dt.date(2021, 1, 1), client=client)
