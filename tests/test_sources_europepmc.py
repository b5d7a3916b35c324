"""The Europe PMC source: record parsing, the search client (paging, slicing, faults) against the
local Europe PMC server serving the suite's written records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from europepmc_server import WRITTEN, EuropePMCServer, load_records, serve

from harvester.config.settings import EuropePMCSettings, Settings
from harvester.core.errors import FetchError, ParseError
from harvester.core.models import DatePrecision
from harvester.sources import SOURCES, open_source
from harvester.sources.europepmc import EuropePMCClient, EuropePMCSource, harvest_europepmc
from harvester.sources.europepmc_record import parse_record, parse_search
from harvester.sources.ratelimit import RateLimiter

RECORDS = load_records(WRITTEN)


def _settings(server: EuropePMCServer, **extra: object) -> EuropePMCSettings:
    values: dict[str, object] = {
        "base_url": server.base_url,
        "max_retries": 2,
        "backoff_base": 0.001,
        "read_timeout": 2,
        "email": "library@example.org",
    }
    values.update(extra)
    return EuropePMCSettings.model_validate(values)


def _client(settings: EuropePMCSettings) -> EuropePMCClient:
    return EuropePMCClient(settings, limiter=RateLimiter(100, margin=0))


@pytest.fixture
def server() -> Iterator[EuropePMCServer]:
    with serve(RECORDS) as running:
        yield running


def test_a_medline_record_carries_its_identifiers_and_citation() -> None:
    hit = parse_record(RECORDS[0])
    assert (hit.source, hit.source_id) == ("europepmc", "MED:33274697")
    assert (hit.pmid, hit.doi, hit.pmcid) == ("33274697", "10.1080/07347332.2020.1853653", None)
    assert hit.journal == "Journal of psychosocial oncology"
    assert hit.journal_iso == "J Psychosoc Oncol"
    assert (hit.volume, hit.issue, hit.pages) == ("39", "3", "445-453")
    assert [a.family for a in hit.authors] == ["Gallagher", "Bennett", "Roper"]
    assert hit.authors[1].given == "Kate Mary" and hit.authors[1].initials == "KM"
    assert hit.pub_date is not None and hit.pub_date.year == 2021
    assert hit.url == "https://europepmc.org/article/MED/33274697"
    assert hit.raw is not None and b"33274697" in hit.raw


def test_a_preprint_is_marked_and_names_its_published_version() -> None:
    hit = parse_record(RECORDS[1])
    assert hit.source_id == "PPR:PPR900001"
    assert hit.publication_types[0] == "Preprint"
    assert hit.journal == "medRxiv" and hit.source_name == "medRxiv"
    assert hit.authors[0].orcid == "0000-0002-1825-0097"
    assert hit.pub_date is not None and hit.pub_date.precision is DatePrecision.DAY
    [relation] = hit.relations
    assert relation.type == "PreprintOf" and relation.pmid == "33274697"
    assert relation.doi == "10.1080/07347332.2020.1853653"
    assert [(s.label, s.text) for s in hit.abstract] == [
        ("Background", "Written for this suite."),
        ("Methods", "An online survey."),
    ]


def test_markup_group_authors_and_e_pages() -> None:
    pmc = parse_record(RECORDS[2])
    assert pmc.pmcid == "PMC9000001" and pmc.pmid is None and pmc.pages == "e101"
    assert pmc.abstract[0].text == "To learn how link workers help."
    assert pmc.pub_date is not None and pmc.pub_date.as_date() == dt.date(2021, 1, 15)
    group = parse_record(RECORDS[3])
    assert group.title == "Green prescribing for older adults: a consensus statement."
    assert group.authors[0].collective == "Green Prescribing Consensus Group"
    assert group.keywords == ["green prescribing", "nature"] and group.mesh == ["Aged"]
    assert group.pub_date is not None and group.pub_date.precision is DatePrecision.MONTH


def test_answers_that_are_not_the_search_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="not JSON"):
        parse_search(b"<html>Proxy error</html>")
    with pytest.raises(ParseError, match="no hitCount: bad query"):
        parse_search(b'{"errMsg": "bad query"}')
    with pytest.raises(ParseError, match="without an id"):
        parse_record({"source": "MED", "title": "x"})


def test_the_source_is_registered_and_used_only_by_topics_with_a_query() -> None:
    assert SOURCES["europepmc"].windowed
    source = open_source("europepmc", Settings())
    assert isinstance(source, EuropePMCSource)
    from harvester.config.settings import Topic

    assert not source.uses(Topic.model_validate({"pubmed": {"query": "x"}}))
    assert source.uses(Topic.model_validate({"europepmc": {"query": "x"}}))
    assert not source.uses(Topic.model_validate({"europepmc": {"query": "x", "enabled": False}}))


def test_window_and_last_complete_day() -> None:
    source = EuropePMCSource(Settings())
    today = dt.date(2025, 3, 10)
    assert source.window(None, since=None, until=None, today=today) == (dt.date(2025, 2, 8), today)
    mark = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    assert source.window(mark, since=None, until=None, today=today) == (dt.date(2025, 2, 26), today)
    late = dt.datetime(2025, 3, 10, 23, 30, tzinfo=dt.UTC)
    assert source.last_complete_day(late) == dt.date(2025, 3, 9)


def test_cursor_paging_sends_the_window_and_politeness(server: EuropePMCServer) -> None:
    settings = _settings(server, page_size=2)
    with _client(settings) as client:
        batches = list(
            harvest_europepmc(
                client,
                'TITLE_ABS:"link worker"',
                dt.date(2020, 1, 1),
                dt.date(2021, 12, 31),
                origin=None,
            )
        )
    assert [len(b.hits) for b in batches] == [2, 2]
    assert [b.checkpoint for b in batches] == [None, dt.date(2021, 12, 31)]
    first, second = server.requests
    assert first.path.endswith("/search") and first.params["cursorMark"] == "*"
    assert second.params["cursorMark"] != "*"
    assert first.params["query"] == (
        '(TITLE_ABS:"link worker") AND (FIRST_IDATE:[2020-01-01 TO 2021-12-31])'
    )
    assert first.params["resultType"] == "core" and first.params["format"] == "json"
    assert first.params["pageSize"] == "2" and first.params["email"] == "library@example.org"
    assert "mailto:library@example.org" in first.headers["User-Agent"]


def test_a_window_with_more_than_a_slice_is_cut_by_date_oldest_first(
    server: EuropePMCServer,
) -> None:
    settings = _settings(server, max_slice=2)
    with _client(settings) as client:
        batches = list(
            harvest_europepmc(client, "q", dt.date(2020, 9, 1), dt.date(2021, 2, 28), origin=None)
        )
    days = [h.source_id for b in batches for h in b.hits]
    assert sorted(days) == sorted(f"{r['source']}:{r['id']}" for r in RECORDS)
    checkpoints = [b.checkpoint for b in batches if b.checkpoint is not None]
    assert checkpoints == sorted(checkpoints) and checkpoints[-1] == dt.date(2021, 2, 28)
    assert len(checkpoints) >= 2  # the watermark moves slice by slice


def test_an_empty_window_yields_its_end_as_checkpoint(server: EuropePMCServer) -> None:
    with _client(_settings(server)) as client:
        batches = list(
            harvest_europepmc(client, "q", dt.date(2024, 1, 1), dt.date(2024, 1, 31), origin=None)
        )
    assert [(b.hits, b.checkpoint) for b in batches] == [([], dt.date(2024, 1, 31))]


def test_transient_faults_are_retried(server: EuropePMCServer) -> None:
    server.inject("503", "html")
    with _client(_settings(server)) as client:
        page = client.search("q", origin=None)
    assert page.count == 4 and len(page.hits) == 4
    assert len(server.requests) == 3


def test_a_fault_past_the_retries_names_the_url(server: EuropePMCServer) -> None:
    server.inject("500", "500", "500")
    with _client(_settings(server)) as client, pytest.raises(FetchError) as caught:
        client.search("q", origin=None)
    assert "failed after 3 attempts" in str(caught.value)
    assert server.base_url + "search?" in str(caught.value)
    assert "library@example.org" not in str(caught.value)


def test_a_refused_request_fails_at_once(server: EuropePMCServer) -> None:
    settings = _settings(server, base_url=server.base_url.replace("/rest/", "/nothing/"))
    with _client(settings) as client, pytest.raises(FetchError, match="HTTP 404"):
        client.search("q", origin=None)
    assert len(server.requests) == 1


def test_a_long_query_is_posted(server: EuropePMCServer) -> None:
    query = " OR ".join(f'TITLE_ABS:"phrase number {n}"' for n in range(80))
    with _client(_settings(server)) as client:
        page = client.search(query, origin=None)
    assert page.count == 4
    assert server.requests[0].method == "POST" and server.requests[0].path.endswith("/searchPOST")
