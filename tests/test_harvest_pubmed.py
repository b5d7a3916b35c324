"""End to end: ``harvester harvest --source pubmed`` against the local E-utilities server.

The example topic (queries/social-prescribing.toml) is harvested through the real CLI, client,
parser, dedupe and store, on SQLite and PostgreSQL. The client keeps to NCBI's real rate limit (the
process-wide limiter, 10 requests/s with the test's API key), so runs are kept short.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, Fault, serve
from sqlalchemy import func, select

from harvester.cli.main import cli
from harvester.config.scaffold import example_topic
from harvester.config.settings import Settings, load_settings, load_topics
from harvester.store.db import Database
from harvester.store.tables import Candidate, Run, Work
from harvester.usecases.harvest import Harvest, RunSummary

TOPIC = "social-prescribing"
SINCE, UNTIL = "2020-12-01", "2021-06-30"  # the 67 records' entrez dates lie in this window
BATCH = 30  # 67 records: 1 esearch + 3 efetches per run


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.from_files(TOPIC_SUBSET)


@pytest.fixture
def server(corpus: Corpus) -> Iterator[EutilsServer]:
    with serve(corpus) as running:
        yield running


API_KEY = "e2e-api-key-5f3a"


@pytest.fixture
def project(
    settings: Settings, server: EutilsServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A project whose settings point PubMed at the local server, with the example topic.

    An API key (from the environment, as in production) lets the client send 10 requests/s.
    """
    monkeypatch.setenv("HARVESTER_PUBMED__API_KEY", API_KEY)
    assert settings.config_file is not None
    text = settings.config_file.read_text(encoding="utf-8")
    text += (
        "\n[pubmed]\n"
        f'base_url = "{server.base_url}"\n'
        'email = "library@example.org"\n'
        f"batch_size = {BATCH}\n"
        "max_retries = 3\n"
        "backoff_base = 0.001\n"
        "read_timeout = 0.5\n"
    )
    settings.config_file.write_text(text, encoding="utf-8")
    (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(
        example_topic(), encoding="utf-8"
    )
    database = Database(settings.database.url)
    yield database
    database.dispose()


def harvest(*extra: str) -> Result:
    args = ["harvest", "--topic", TOPIC, "--source", "pubmed", *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def runs(db: Database) -> list[tuple[str, int, int]]:
    """(status, fetched, new works) of every run, oldest first."""
    with db.read() as session:
        rows = session.execute(select(Run.status, Run.fetched, Run.new_works).order_by(Run.id))
        return [(status, fetched, new) for status, fetched, new in rows]


def stored_pmids(db: Database) -> set[str]:
    with db.read() as session:
        return {p for p in session.scalars(select(Work.pmid)) if p is not None}


def candidates(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Candidate)) or 0


def test_a_harvest_stores_every_record_and_a_second_adds_nothing(
    project: Database, server: EutilsServer, corpus: Corpus
) -> None:
    first = harvest("--since", SINCE, "--until", UNTIL)
    assert first.exit_code == 0, first.output
    assert f"{TOPIC} pubmed {SINCE}..{UNTIL}: ok, 67 fetched" in first.output
    assert stored_pmids(project) == {str(r.pmid) for r in corpus.records}
    assert candidates(project) == 67
    assert runs(project) == [("ok", 67, 67)]
    assert len(server.requests) == 1 + 3
    search = server.requests[0]
    assert '"social prescri*"[tiab]' in search.params["term"]
    assert search.params["email"] == "library@example.org"
    assert all(r.params["api_key"] == API_KEY for r in server.requests)

    again = harvest("--since", SINCE, "--until", UNTIL)
    assert again.exit_code == 0, again.output
    assert "0 new works, 0 new candidates, 67 duplicates" in again.output
    assert candidates(project) == 67 and len(stored_pmids(project)) == 67

    # Incremental: from the watermark (minus the overlap) to today; nothing newer exists.
    incremental = harvest()
    assert incremental.exit_code == 0, incremental.output
    assert runs(project)[-1] == ("ok", 0, 0)
    assert server.requests[-1].params["mindate"] == "2021/06/27"  # 30 June - 3 overlap days


def test_transient_faults_are_absorbed(
    project: Database, server: EutilsServer, corpus: Corpus
) -> None:
    server.inject("esearch", Fault.RATE_LIMIT, Fault.BACKEND_ERROR)
    server.inject("efetch", Fault.HTTP_503, Fault.NONE, Fault.TRUNCATE, Fault.RESET)
    result = harvest("--since", SINCE, "--until", UNTIL)
    assert result.exit_code == 0, result.output
    assert ": ok, 67 fetched" in result.output
    assert stored_pmids(project) == {str(r.pmid) for r in corpus.records}
    assert len(server.requests) == 4 + 5
    assert runs(project) == [("ok", 67, 67)]


def test_a_fault_past_the_retries_leaves_a_partial_run_that_the_next_run_completes(
    project: Database, server: EutilsServer, corpus: Corpus
) -> None:
    server.inject("efetch", Fault.NONE, *[Fault.HTTP_500] * 4)
    partial = harvest("--since", SINCE, "--until", UNTIL)
    assert partial.exit_code == 0, partial.output  # partial: what was stored stays
    assert f": partial, {BATCH} fetched" in partial.output
    assert "efetch.fcgi" in partial.output and "HTTP 500" in partial.output
    assert API_KEY not in partial.output
    assert len(stored_pmids(project)) == BATCH
    assert runs(project) == [("partial", BATCH, BATCH)]

    complete = harvest("--since", SINCE, "--until", UNTIL)
    assert complete.exit_code == 0, complete.output
    assert stored_pmids(project) == {str(r.pmid) for r in corpus.records}
    assert runs(project) == [("partial", BATCH, BATCH), ("ok", 67, 67 - BATCH)]


def test_a_search_that_keeps_failing_fails_the_run(project: Database, server: EutilsServer) -> None:
    server.inject("esearch", *[Fault.HTTP_502] * 4)
    result = harvest("--since", SINCE, "--until", UNTIL)
    assert result.exit_code == 1
    assert ": failed, 0 fetched" in result.output and "HTTP 502" in result.output
    assert API_KEY not in result.output
    assert stored_pmids(project) == set()
    assert runs(project) == [("failed", 0, 0)]


def test_progress_is_reported_after_every_stored_batch(project: Database) -> None:
    settings = load_settings()
    seen: list[int] = []

    def progress(summary: RunSummary) -> None:
        seen.append(summary.fetched)

    with Harvest(project, settings, progress=progress) as harvester:
        harvester.run(
            load_topics(settings.queries_dir),
            sources=["pubmed"],
            since=dt.date.fromisoformat(SINCE),
            until=dt.date.fromisoformat(UNTIL),
        )
    assert seen == [30, 60, 67]


def test_a_day_still_running_in_us_eastern_time_is_read_again_by_the_next_run(
    project: Database, server: EutilsServer, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NCBI dates records in US Eastern time: at 01:00 UTC its day is the day before, still open.

    With no overlap at all, the next run must still re-read that day, or records entered in the
    rest of the US day are never fetched.
    """
    monkeypatch.setenv("HARVESTER_PUBMED__OVERLAP_DAYS", "0")
    settings = load_settings()
    topics = load_topics(settings.queries_dir)
    last = max(r.edat for r in corpus.records)
    late = {str(r.pmid) for r in corpus.records if r.edat == last}
    server.state.term_filter = lambda _term, record: record.edat != last  # not yet entered

    def at(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)

    next_day = last + dt.timedelta(days=1)
    with Harvest(project, settings, clock=lambda: at(next_day, 1)) as harvester:
        harvester.run(topics, sources=["pubmed"])
    assert not late & stored_pmids(project)

    server.state.term_filter = None  # entered later on the same US day
    with Harvest(project, settings, clock=lambda: at(next_day, 13)) as harvester:
        (summary,) = harvester.run(topics, sources=["pubmed"])
    assert summary.window is not None and summary.window[0] <= last
    assert late <= stored_pmids(project)


def test_until_before_the_next_window_says_to_give_since(project: Database) -> None:
    assert harvest("--since", SINCE, "--until", UNTIL).exit_code == 0
    result = harvest("--until", "2021-01-15")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --until 2021-01-15 is before social-prescribing's next")
    assert "give --since as well" in result.stderr


def test_a_reversed_window_is_told_in_the_words_of_the_flags(project: Database) -> None:
    result = harvest("--since", "2024-05-02", "--until", "2024-05-01")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --since 2024-05-02 is after --until 2024-05-01")
