"""The E-utilities client and ``harvest_pubmed`` against the local E-utilities server.

Real HTTP on 127.0.0.1, real PubMed records (tests/fixtures/pubmed), no mocks: request counts,
history-server paging, POST by id list, the 9,999 split, rate limits and every fault kind.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from eutils_server import (
    FIXTURES,
    RETSTART_ERROR,
    TOPIC_SUBSET,
    Corpus,
    EutilsServer,
    Fault,
    Record,
    serve,
)

from harvester.config.settings import PubMedSettings
from harvester.core.errors import FetchError, ParseError
from harvester.core.models import Hit
from harvester.sources.pubmed import (
    CHECKPOINT_RECORDS,
    EutilsClient,
    PubMedBatch,
    harvest_pubmed,
    parse_esearch,
)
from harvester.sources.pubmed_xml import parse_pubmed_xml
from harvester.sources.ratelimit import (
    NCBI_RATE_ANONYMOUS,
    NCBI_RATE_WITH_KEY,
    SAFETY_MARGIN,
    RateLimiter,
    limiter_key,
    shared_limiter,
)

API_KEY = "test-api-key-0123456789"
WINDOW = (dt.date(2020, 12, 1), dt.date(2021, 6, 30))  # holds all 67 topic records


@pytest.fixture(scope="module")
def topic_corpus() -> Corpus:
    return Corpus.from_files(TOPIC_SUBSET)


@pytest.fixture
def server(topic_corpus: Corpus) -> Iterator[EutilsServer]:
    with serve(topic_corpus) as running:
        yield running


def make_settings(server: EutilsServer, **overrides: object) -> PubMedSettings:
    values: dict[str, object] = {
        "base_url": server.base_url,
        "api_key": API_KEY,
        "email": "library@example.org",
        "tool": "harvester-tests",
        "batch_size": 20,
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "max_retries": 3,
        "backoff_base": 0.001,
    }
    values.update(overrides)
    return PubMedSettings.model_validate(values)


def make_client(server: EutilsServer, **overrides: object) -> EutilsClient:
    """A client with its own fast limiter, so tests are not held to NCBI's 3 requests/s."""
    return EutilsClient(make_settings(server, **overrides), limiter=RateLimiter(1000))


def in_window(corpus: Corpus, start: dt.date, end: dt.date) -> list[Record]:
    return [r for r in corpus.records if start <= r.edat <= end]


def collect(batches: Iterator[PubMedBatch], corpus: Corpus, start: dt.date) -> list[PubMedBatch]:
    """Consume ``batches``, checking each ``complete_through`` promise as it is made."""
    seen: set[str] = set()
    out: list[PubMedBatch] = []
    previous: dt.date | None = None
    for batch in batches:
        seen.update(hit.source_id for hit in batch.hits)
        out.append(batch)
        check_promise(batch, corpus, start, seen, previous)
        previous = batch.complete_through or previous
    return out


def check_promise(
    batch: PubMedBatch, corpus: Corpus, start: dt.date, seen: set[str], previous: dt.date | None
) -> None:
    if batch.complete_through is None:
        return
    assert previous is None or batch.complete_through >= previous
    owed = {str(r.pmid) for r in in_window(corpus, start, batch.complete_through)}
    assert owed <= seen, f"complete_through {batch.complete_through} but records are missing"


def all_hits(batches: list[PubMedBatch]) -> list[Hit]:
    return [hit for batch in batches for hit in batch.hits]


# ------------------------------------------------------------------------ requests and paging


def test_a_harvest_is_one_esearch_and_one_efetch_per_batch(
    server: EutilsServer, topic_corpus: Corpus
) -> None:
    client = make_client(server)
    batches = collect(
        harvest_pubmed(client, "social prescribing", *WINDOW), topic_corpus, WINDOW[0]
    )
    hits = all_hits(batches)
    assert sorted(h.source_id for h in hits) == sorted(str(r.pmid) for r in topic_corpus.records)
    assert [len(b.hits) for b in batches] == [20, 20, 20, 7]
    assert [b.complete_through for b in batches] == [None, None, None, WINDOW[1]]
    assert client.requests_made == 1 + math.ceil(67 / 20) == len(server.requests)

    search, *fetches = server.requests
    assert (search.method, search.endpoint) == ("GET", "esearch")
    assert search.params["usehistory"] == "y" and search.params["retmax"] == "0"
    assert search.params["term"] == "social prescribing"
    assert (search.params["datetype"], search.params["mindate"], search.params["maxdate"]) == (
        "edat",
        "2020/12/01",
        "2021/06/30",
    )
    webenvs = {f.params["WebEnv"] for f in fetches}
    assert len(webenvs) == 1 and webenvs.pop().startswith("MCID_")
    assert [(f.params["retstart"], f.params["retmax"]) for f in fetches] == [
        ("0", "20"),
        ("20", "20"),
        ("40", "20"),
        ("60", "7"),
    ]
    assert all(f.params["query_key"] == "1" and "id" not in f.params for f in fetches)
    for request in server.requests:
        assert request.params["tool"] == "harvester-tests"
        assert request.params["email"] == "library@example.org"
        assert request.params["api_key"] == API_KEY


@pytest.mark.parametrize(("batch_size", "efetches"), [(200, 1), (67, 1), (66, 2), (1, 67)])
def test_the_request_count_is_the_minimum_for_any_batch_size(
    server: EutilsServer, topic_corpus: Corpus, batch_size: int, efetches: int
) -> None:
    client = make_client(server, batch_size=batch_size)
    hits = all_hits(list(harvest_pubmed(client, "q", *WINDOW)))
    assert len(hits) == len({h.source_id for h in hits}) == 67
    assert client.requests_made == 1 + efetches


def test_the_window_filters_by_entrez_date_inclusively(
    server: EutilsServer, topic_corpus: Corpus
) -> None:
    days = sorted({r.edat for r in topic_corpus.records})
    start, end = days[2], days[-3]
    client = make_client(server)
    batches = collect(harvest_pubmed(client, "q", start, end), topic_corpus, start)
    got = {h.source_id for h in all_hits(batches)}
    assert got == {str(r.pmid) for r in in_window(topic_corpus, start, end)}
    assert all(start <= (h.entrez_date or start) <= end for h in all_hits(batches))
    assert 0 < len(got) < 67


def test_an_empty_window_costs_one_request_and_still_completes(server: EutilsServer) -> None:
    client = make_client(server)
    day = dt.date(2019, 1, 1)
    assert list(harvest_pubmed(client, "q", day, day)) == [PubMedBatch([], day)]
    assert client.requests_made == 1


def test_a_reversed_window_is_refused(server: EutilsServer) -> None:
    with pytest.raises(ValueError, match="after maxdate"):
        next(harvest_pubmed(make_client(server), "q", WINDOW[1], WINDOW[0]))


def test_served_records_parse_exactly_like_the_fixture_file(server: EutilsServer) -> None:
    hits = all_hits(list(harvest_pubmed(make_client(server), "q", *WINDOW)))
    expected = {h.source_id: h for h in parse_pubmed_xml(TOPIC_SUBSET.read_bytes())}
    assert {h.source_id: h for h in hits} == expected


def test_an_id_list_is_posted_in_batches(server: EutilsServer, topic_corpus: Corpus) -> None:
    client = make_client(server)
    wanted = [str(r.pmid) for r in topic_corpus.records[:45]]
    pages = list(client.efetch_ids(wanted))
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [h.source_id for p in pages for h in p] == wanted
    assert [r.method for r in server.requests] == ["POST"] * 3
    assert all("id=" not in r.path and "api_key" not in r.path for r in server.requests)
    assert server.requests[0].params["id"] == ",".join(wanted[:20])
    assert server.requests[0].params["api_key"] == API_KEY


def test_a_long_search_term_is_posted(server: EutilsServer) -> None:
    term = " OR ".join(f'"phrase number {i}"[tiab]' for i in range(80))
    client = make_client(server)
    list(harvest_pubmed(client, term, *WINDOW))
    search = server.requests[0]
    assert (search.method, search.params["term"]) == ("POST", term)
    assert "term=" not in search.path


# ---------------------------------------------------------------------------- the 9,999 limit


def test_the_server_keeps_ncbis_limits(server: EutilsServer) -> None:
    """The fake answers as NCBI does past record 9,999 (so the client is tested against it)."""
    url = server.base_url
    search = requests.get(
        url + "esearch.fcgi", params={"db": "pubmed", "retstart": "9999"}, timeout=5
    )
    assert search.status_code == 200 and b"<ERROR>" in search.content
    assert "cannot be larger than 9998" in search.text
    with pytest.raises(ParseError, match="cannot be larger than 9998"):
        parse_esearch(search.content)
    found = parse_esearch(
        requests.get(
            url + "esearch.fcgi", params={"db": "pubmed", "usehistory": "y"}, timeout=5
        ).content
    )
    fetch = requests.get(
        url + "efetch.fcgi",
        timeout=5,
        params={
            "db": "pubmed",
            "WebEnv": found.webenv,
            "query_key": found.query_key,
            "retstart": "9999",
        },
    )
    assert fetch.status_code == 400 and fetch.text == RETSTART_ERROR


@pytest.fixture(scope="module")
def backfill_corpus(topic_corpus: Corpus) -> Corpus:
    small = Corpus.from_files(FIXTURES / "pubmed21n1298_edge_cases.xml")
    small.records = [r for r in small.records if len(r.template.xml) < 4000]
    return Corpus.synthetic(small, 30_000, start=dt.date(2020, 1, 1), days=366)


@pytest.mark.slow
def test_a_30000_record_backfill_is_split_by_date_and_gets_every_record_once(
    backfill_corpus: Corpus,
) -> None:
    start, end = dt.date(2020, 1, 1), dt.date(2020, 12, 31)
    with serve(backfill_corpus) as server:
        client = make_client(server, batch_size=500, read_timeout=5.0)
        batches = collect(harvest_pubmed(client, "q", start, end), backfill_corpus, start)
        searches = [r for r in server.requests if r.endpoint == "esearch"]
        fetches = [r for r in server.requests if r.endpoint == "efetch"]
    ids = [h.source_id for h in all_hits(batches)]
    assert len(ids) == len(set(ids)) == 30_000
    assert batches[-1].complete_through == end
    assert all(int(f.params["retstart"]) <= 9998 for f in fetches)
    # The year (30,000) is cut into slices of about 800 (a checkpoint at most 1,000 records
    # apart), each cut again only when the records' spread makes it hold more.
    windows = [(s.params["mindate"], s.params["maxdate"]) for s in searches]
    assert windows[0] == ("2020/01/01", "2020/12/31")
    counts = _slice_counts(backfill_corpus, windows)
    leaves = [(w, c) for w, c in zip(windows, counts, strict=True) if c <= CHECKPOINT_RECORDS]
    assert len(leaves) == len(windows) - sum(1 for c in counts if c > CHECKPOINT_RECORDS)
    assert leaves[0][0][0] == "2020/01/01" and leaves[-1][0][1] == "2020/12/31"
    for (before, _), (after, _) in itertools.pairwise(leaves):
        previous = dt.datetime.strptime(before[1], "%Y/%m/%d").date()
        assert dt.datetime.strptime(after[0], "%Y/%m/%d").date() == previous + dt.timedelta(1)
    assert sum(c for _, c in leaves) == 30_000
    assert len(fetches) == sum(math.ceil(c / 500) for _, c in leaves)
    marks = [b.complete_through for b in batches if b.complete_through is not None]
    assert len(set(marks)) == len(leaves)
    assert client.requests_made == len(searches) + len(fetches)


def _slice_counts(corpus: Corpus, slices: list[tuple[str, str]]) -> list[int]:
    def day(text: str) -> dt.date:
        return dt.datetime.strptime(text, "%Y/%m/%d").date()

    return [len(in_window(corpus, day(s), day(e))) for s, e in slices]


def test_splitting_yields_slices_oldest_first_with_honest_watermarks(
    server: EutilsServer, topic_corpus: Corpus
) -> None:
    client = make_client(server, max_esearch_ids=20, batch_size=8)
    batches = collect(harvest_pubmed(client, "q", *WINDOW), topic_corpus, WINDOW[0])
    hits = all_hits(batches)
    assert sorted(h.source_id for h in hits) == sorted(str(r.pmid) for r in topic_corpus.records)
    marks = [b.complete_through for b in batches if b.complete_through is not None]
    assert len(marks) > 2 and marks == sorted(marks) and marks[-1] == WINDOW[1]
    searches = [r for r in server.requests if r.endpoint == "esearch"]
    fetched = [int(r.params["retmax"]) for r in server.requests if r.endpoint == "efetch"]
    assert sum(fetched) == 67 and all(n <= 8 for n in fetched)
    assert len(searches) > 3


def test_a_day_beyond_the_limit_is_fetched_in_part_and_reported(topic_corpus: Corpus) -> None:
    busy = dt.date(2021, 3, 2)
    clones = Corpus.synthetic(topic_corpus, 30, start=busy, days=1)
    later = Corpus.synthetic(
        topic_corpus, 5, start=busy + dt.timedelta(days=3), days=1, first_pmid=60_000_000
    )
    corpus = Corpus(clones.records + later.records)
    with serve(corpus) as server:
        client = make_client(server, max_esearch_ids=12, batch_size=5)
        batches: list[PubMedBatch] = []
        with pytest.raises(FetchError, match=r"2021-03-02: 30 records, only 12 reachable"):
            batches.extend(
                harvest_pubmed(
                    client, "q", busy - dt.timedelta(days=5), busy + dt.timedelta(days=5)
                )
            )
    ids = [h.source_id for h in all_hits(batches)]
    assert len(ids) == len(set(ids)) == 12 + 5  # the reachable part of the day, and the rest
    marks = [b.complete_through for b in batches if b.complete_through is not None]
    assert max(marks) == busy - dt.timedelta(days=1)  # never up to the incomplete day


# -------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    "fault",
    [
        Fault.RATE_LIMIT,
        Fault.HTTP_500,
        Fault.HTTP_502,
        Fault.HTTP_503,
        Fault.SLOW,
        Fault.TRUNCATE,
        Fault.TRUNCATE_UNSIZED,
        Fault.BACKEND_ERROR,
        Fault.RESET,
        Fault.HTML_200,
        Fault.EMPTY_200,
    ],
)
def test_every_transient_fault_is_retried_until_the_harvest_succeeds(
    server: EutilsServer, topic_corpus: Corpus, fault: str
) -> None:
    server.state.slow_seconds = 0.6
    server.inject("esearch", fault)
    server.inject("efetch", Fault.NONE, fault, fault)
    client = make_client(server, read_timeout=0.3)
    hits = all_hits(collect(harvest_pubmed(client, "q", *WINDOW), topic_corpus, WINDOW[0]))
    assert sorted(h.source_id for h in hits) == sorted(str(r.pmid) for r in topic_corpus.records)
    assert client.requests_made == (1 + 4) + 3 == len(server.requests)
    assert [r.fault for r in server.requests].count(fault) == 3


def test_an_expired_history_is_searched_again_and_the_slice_resumes_where_it_was(
    server: EutilsServer, topic_corpus: Corpus
) -> None:
    server.inject("efetch", Fault.NONE, Fault.EXPIRE_HISTORY)
    client = make_client(server)
    batches = collect(harvest_pubmed(client, "q", *WINDOW), topic_corpus, WINDOW[0])
    ids = [h.source_id for h in all_hits(batches)]
    assert sorted(ids) == sorted(str(r.pmid) for r in topic_corpus.records)
    # the lost page is not retried against the dead WebEnv: one new search, then onwards
    assert [r.endpoint for r in server.requests] == ["esearch", "efetch", "efetch", "esearch"] + [
        "efetch"
    ] * 3
    assert [r.params["retstart"] for r in server.requests[-3:]] == ["20", "40", "60"]
    assert client.requests_made == len(server.requests)


def test_an_expired_history_whose_search_changed_refetches_the_slice(
    topic_corpus: Corpus,
) -> None:
    gone = max(r.pmid for r in topic_corpus.records)  # newest first: on the first page

    def term_filter(_term: str, record: Record) -> bool:
        return record.pmid != gone or running.state.count("esearch") < 2

    with serve(topic_corpus, term_filter=term_filter) as running:
        running.inject("efetch", Fault.NONE, Fault.EXPIRE_HISTORY)
        client = make_client(running)
        ids = [h.source_id for h in all_hits(list(harvest_pubmed(client, "q", *WINDOW)))]
        fetches = [r.params["retstart"] for r in running.requests if r.endpoint == "efetch"]
    assert set(ids) == {str(r.pmid) for r in topic_corpus.records}
    assert fetches == ["0", "20", "0", "20", "40", "60"]


def test_history_that_keeps_expiring_fails_after_a_few_new_searches(
    server: EutilsServer,
) -> None:
    server.inject("efetch", *[Fault.EXPIRE_HISTORY] * 10)
    client = make_client(server)
    with pytest.raises(FetchError, match="Unable to obtain query"):
        list(harvest_pubmed(client, "q", *WINDOW))
    assert 2 < server.state.count("esearch") < 6


def test_bytes_that_are_not_utf8_are_replaced_not_fatal(
    server: EutilsServer, topic_corpus: Corpus
) -> None:
    server.inject("efetch", *[Fault.NOT_UTF8] * 4)  # one bad byte in each of the four pages
    client = make_client(server)
    hits = all_hits(collect(harvest_pubmed(client, "q", *WINDOW), topic_corpus, WINDOW[0]))
    assert len({h.source_id for h in hits}) == 67
    assert sum("\ufffd" in h.title for h in hits) == 4
    assert client.requests_made == 1 + 4  # no page was retried


def test_retry_after_is_honoured_and_backoff_grows(server: EutilsServer) -> None:
    sleeps: list[float] = []
    settings = make_settings(server, backoff_base=0.01, max_retries=4)
    client = EutilsClient(settings, limiter=RateLimiter(1000), sleep=sleeps.append)
    server.inject("esearch", Fault.HTTP_503, Fault.HTTP_503, Fault.HTTP_503)
    client.esearch("q", *WINDOW)
    assert [round(s, 3) for s in sleeps] == pytest.approx([0.015, 0.025, 0.045], abs=0.0051)
    sleeps.clear()
    server.state.retry_after = "7"
    server.inject("esearch", Fault.RATE_LIMIT)
    client.esearch("q", *WINDOW)
    assert sleeps == [7.0]


def test_a_fault_that_persists_raises_fetch_error_after_the_retries(
    server: EutilsServer, topic_corpus: Corpus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="harvester.sources.pubmed")
    client = make_client(server, max_retries=2, max_esearch_ids=30, batch_size=10)
    server.inject("efetch", Fault.NONE, Fault.NONE, Fault.HTTP_500, Fault.HTTP_500, Fault.HTTP_500)
    batches: list[PubMedBatch] = []
    with pytest.raises(FetchError) as caught:
        for batch in harvest_pubmed(client, "q", *WINDOW):
            batches.append(batch)
    error = caught.value
    assert "efetch.fcgi" in str(error) and "failed after 3 attempts: HTTP 500" in str(error)
    assert error.url is not None and "efetch.fcgi (records " in error.url
    assert API_KEY not in str(error) and API_KEY not in error.url
    assert API_KEY not in caplog.text and "retry 2 of 2" in caplog.text
    assert len(batches) == 2
    # What was yielded keeps its promise; the watermark may only move to a complete slice.
    seen: set[str] = set()
    for batch in batches:
        seen.update(h.source_id for h in batch.hits)
        check_promise(batch, topic_corpus, WINDOW[0], seen, None)


def test_debug_logging_of_the_http_library_does_not_show_the_api_key(
    server: EutilsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # what `harvester -vv` does
    list(harvest_pubmed(make_client(server), "q", *WINDOW))
    assert "esearch.fcgi" in caplog.text and "api_key=" in caplog.text
    assert API_KEY not in caplog.text


def test_a_client_error_is_not_retried(server: EutilsServer) -> None:
    client = make_client(server)
    server.inject("esearch", Fault.HTTP_400)
    with pytest.raises(FetchError, match="esearch.fcgi.*: HTTP 400"):
        client.esearch("q", *WINDOW)
    assert client.requests_made == 1


def test_timeouts_bound_every_request(server: EutilsServer) -> None:
    server.state.slow_seconds = 2.0
    server.inject("esearch", Fault.SLOW, Fault.SLOW)
    client = make_client(server, read_timeout=0.2, max_retries=1)
    started = time.monotonic()
    with pytest.raises(
        FetchError, match=r"failed after 2 attempts: no answer within 0.2 s \(read timeout\)"
    ):
        client.esearch("q", *WINDOW)
    assert time.monotonic() - started < 1.5


def test_an_unreachable_server_fails_without_showing_the_api_key() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = PubMedSettings(
        base_url=f"http://127.0.0.1:{port}/eutils/",
        api_key=API_KEY,
        max_retries=1,
        backoff_base=0.001,
    )
    client = EutilsClient(settings, limiter=RateLimiter(1000))
    with pytest.raises(FetchError, match=r"cannot connect \(connection refused\)$") as caught:
        client.esearch("q", *WINDOW)
    assert API_KEY not in str(caught.value)
    assert str(caught.value).startswith(
        f"http://127.0.0.1:{port}/eutils/esearch.fcgi (query q; dates "
    )
    assert client.requests_made == 2


def test_esearch_bodies_from_ncbi() -> None:
    history = parse_esearch((FIXTURES / "esearch" / "biopython_esearch2.xml").read_bytes())
    assert (history.count, history.query_key) == (42249, "1")
    assert history.webenv.startswith("MCID_")
    empty = parse_esearch((FIXTURES / "esearch" / "biopython_esearch8.xml").read_bytes())
    assert empty.count == 0
    assert empty.warnings == ["PhraseNotFound: abcXYZ", "OutputMessage: No items found."]
    with pytest.raises(ParseError, match="Invalid db name specified: fleegle"):
        parse_esearch((FIXTURES / "esearch" / "handwritten_esearch_baderror.xml").read_bytes())


# -------------------------------------------------------------------------------- rate limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("rate", [NCBI_RATE_ANONYMOUS, NCBI_RATE_WITH_KEY])
def test_the_limiter_allows_rate_requests_in_any_second(rate: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(3 * rate + 1):
        limiter.acquire()
        starts.append(clock.now)
    step = 1.0 + SAFETY_MARGIN
    assert starts[:rate] == [100.0] * rate
    assert starts[rate] == pytest.approx(100 + step)
    assert starts[-1] == pytest.approx(100 + 3 * step)
    for i in range(len(starts) - rate):
        # Strictly more than a second: a server counting arrivals in any closed one-second
        # window (and seeing the first request a little late) still counts at most `rate`.
        assert starts[i + rate] - starts[i] >= 1.0 + SAFETY_MARGIN - 1e-9
    clock.now += 10  # after a pause, a burst is allowed again without waiting
    waited = [limiter.acquire() for _ in range(rate)]
    assert waited == [0.0] * rate


def test_the_limiter_keeps_a_safety_margin() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.acquire()
    assert clock.now - 100.0 > 1.0  # the 4th never starts exactly one second after the 1st
    assert SAFETY_MARGIN >= 0.05
    with pytest.raises(ValueError, match="margin"):
        RateLimiter(3, margin=-0.1)


def test_a_slot_counts_from_the_end_of_its_answer() -> None:
    """A request arrives somewhere between its start and its answer's end: the (N+1)th waits a
    period (and the margin) after the first one's end, however slow that one was."""
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    with limiter.slot():
        clock.now += 0.8  # a slow first answer: it may have reached the server at 100.79
    for _ in range(2):
        with limiter.slot():
            pass
    with limiter.slot() as wait:
        assert clock.now == pytest.approx(100.8 + 1.0 + SAFETY_MARGIN)
        assert wait == pytest.approx(1.0 + SAFETY_MARGIN)


def test_no_429_from_a_server_counting_requests_in_any_sliding_second() -> None:
    """A backfill of 600 records in 31 quick requests at 10 requests/s against a stand-in that
    refuses the 11th request in any one second, as a strict counter would. Without the safety
    margin the (N+1)th request starts exactly a second after the first and arrival jitter drew
    one or two 429s per run."""
    corpus = Corpus.synthetic(Corpus.from_files(TOPIC_SUBSET), 600, start=WINDOW[0], days=30)
    with serve(corpus, max_per_second=NCBI_RATE_WITH_KEY) as strict:
        settings = make_settings(strict, max_retries=3, backoff_base=0.5, read_timeout=10.0)
        client = EutilsClient(settings, limiter=RateLimiter(NCBI_RATE_WITH_KEY))
        fetched = sum(len(batch.hits) for batch in harvest_pubmed(client, "q", *WINDOW))
        assert fetched == 600
        assert strict.state.rate_limited == 0
        assert len(strict.requests) == 31


def test_the_strict_stand_in_refuses_the_request_over_the_limit() -> None:
    corpus = Corpus.from_files(TOPIC_SUBSET)
    with serve(corpus, max_per_second=3) as strict:
        settings = make_settings(strict, max_retries=0)
        client = EutilsClient(settings, limiter=RateLimiter(1000))  # no limiter to speak of
        for _ in range(3):
            client.esearch("q", *WINDOW)
        with pytest.raises(FetchError, match="HTTP 429: .*API rate limit exceeded"):
            client.esearch("q", *WINDOW)
        assert strict.state.rate_limited == 1


def test_the_limiter_is_thread_safe() -> None:
    """Threads racing for slots get exactly the schedule one thread would get: 4 per period."""
    waits: list[float] = []
    lock = threading.Lock()
    limiter = RateLimiter(4, period=0.5, clock=lambda: 0.0, sleep=lambda _s: None)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            wait = limiter.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([(0.5 + SAFETY_MARGIN) * (i // 4) for i in range(40)])


def test_one_limiter_per_identity_for_the_whole_process() -> None:
    anonymous = shared_limiter("pubmed", None)
    assert anonymous is shared_limiter("pubmed", "")
    assert anonymous.rate == 3
    keyed = shared_limiter("pubmed", API_KEY)
    assert keyed is shared_limiter("pubmed", API_KEY) and keyed.rate == 10
    assert keyed is not shared_limiter("pubmed", API_KEY + "x")
    assert API_KEY not in limiter_key("pubmed", API_KEY)


def test_the_client_keeps_to_three_requests_a_second_without_a_key(server: EutilsServer) -> None:
    client = EutilsClient(make_settings(server, api_key=None, batch_size=20))
    list(harvest_pubmed(client, "q", *WINDOW))  # 5 requests
    times = [r.at for r in server.requests]
    assert len(times) == 5
    assert "api_key" not in server.requests[0].params
    # Arrival times carry scheduling noise; without the limiter these gaps would be ~10 ms.
    assert times[3] - times[0] >= 1.0 - 0.1
    assert times[4] - times[1] >= 1.0 - 0.1


def test_the_client_may_send_ten_a_second_with_a_key(server: EutilsServer) -> None:
    key = f"fresh-key-{time.monotonic_ns()}"  # a limiter of its own: no earlier traffic counts
    client = EutilsClient(make_settings(server, api_key=key, batch_size=6))
    list(harvest_pubmed(client, "q", *WINDOW))  # 1 + 12 requests
    times = [r.at for r in server.requests]
    assert len(times) == 13
    assert times[9] - times[0] < 0.9  # the first ten go at once (3/s would take 3 s)
    assert times[10] - times[0] >= 1.0 - 0.1
    assert all(r.params["api_key"] == key for r in server.requests)


def test_a_redirect_is_not_followed_so_the_key_never_reaches_another_host() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    visits: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            visits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_address[1]}/x")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (other, first)]
    for thread in threads:
        thread.start()
    try:
        settings = PubMedSettings(
            base_url=f"http://127.0.0.1:{first.server_address[1]}/eutils/",
            api_key=API_KEY,
            backoff_base=0.001,
        )
        client = EutilsClient(settings, limiter=RateLimiter(1000))
        with pytest.raises(FetchError, match="HTTP 302"):
            client.esearch("q", *WINDOW)
        client.close()
    finally:
        for server in (first, other):
            server.shutdown()
            server.server_close()
    assert visits == []
