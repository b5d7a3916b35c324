"""Harvest health: each problem is provoked through real harvests against the local servers
(Europe PMC, E-utilities, feeds), stored, shown by ``harvester health``, on the runs page and in
the digest, and closes by itself when its cause goes away."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from europepmc_server import WRITTEN, EuropePMCServer, load_records
from europepmc_server import serve as serve_europepmc
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, Fault
from eutils_server import serve as serve_eutils
from feed_server import FeedServer, Route

from harvester.cli.main import cli
from harvester.config.settings import Settings, Topic
from harvester.core.health import Limits, RunFacts, check
from harvester.sources.europepmc import EuropePMCClient, EuropePMCSource
from harvester.sources.ratelimit import RateLimiter
from harvester.store.db import Database
from harvester.store.health import open_problems
from harvester.usecases.harvest import Harvest

TEMPLATE = load_records(WRITTEN)[2]
DAY = dt.date(2024, 3, 1)


def records(per_day: list[int]) -> list[dict[str, Any]]:
    """``per_day[i]`` written records first indexed on day i (from DAY)."""
    made = []
    for offset, count in enumerate(per_day):
        for n in range(count):
            record = copy.deepcopy(TEMPLATE)
            ident = f"PMC9{offset:03d}{n:03d}"
            record.update(
                id=ident,
                pmcid=ident,
                doi=f"10.9999/hw.health.{offset}.{n}",
                title=f"Written record {offset}-{n} on link workers and {ident}",
                firstIndexDate=(DAY + dt.timedelta(days=offset)).isoformat(),
            )
            made.append(record)
    return made


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database.url)
    yield database
    database.dispose()


def europepmc_harvest(db: Database, settings: Settings, server: EuropePMCServer) -> Harvest:
    config = settings.europepmc.model_copy(
        update={"base_url": server.base_url, "max_retries": 0, "backoff_base": 0.001}
    )
    client = EuropePMCClient(config, limiter=RateLimiter(100, margin=0))
    return Harvest(db, settings, sources={"europepmc": EuropePMCSource(settings, client=client)})


SEARCH_TOPIC = Topic.model_validate({"topic": {"slug": "t"}, "europepmc": {"query": "q"}})


def day_runs(harvest: Harvest, days: range) -> None:
    for offset in days:
        day = DAY + dt.timedelta(days=offset)
        harvest.run([SEARCH_TOPIC], sources=["europepmc"], since=day, until=day)


def kinds(db: Database) -> list[str]:
    with db.read() as session:
        return [p.kind for p in open_problems(session)]


def test_a_search_that_stops_finding_anything(db: Database, settings: Settings) -> None:
    with serve_europepmc(records([3, 3, 0, 0, 0, 0, 0, 2])) as server:
        harvest = europepmc_harvest(db, settings, server)
        day_runs(harvest, range(6))  # 3, 3, then four empty days
        assert "no-results" not in kinds(db)
        day_runs(harvest, range(6, 7))  # the fifth empty run in a row
        assert kinds(db) == ["no-results"]
        with db.read() as session:
            [problem] = open_problems(session)
        assert problem.message.startswith("the Europe PMC search found nothing in its last 5 runs")
        day_runs(harvest, range(7, 8))  # it finds records again: closed
        assert kinds(db) == []


def test_a_count_that_jumps_and_one_that_drops(db: Database, settings: Settings) -> None:
    with serve_europepmc(records([2, 2, 2, 40, 40, 40, 40, 1])) as server:
        harvest = europepmc_harvest(db, settings, server)
        day_runs(harvest, range(4))
        assert kinds(db) == ["count-jump"]
        day_runs(harvest, range(4, 6))  # still ten times the usual (the median of 2, 2, 2, 40)
        assert kinds(db) == ["count-jump"]
        day_runs(harvest, range(6, 7))  # 40 is what the search usually finds now: closed
        assert kinds(db) == []
        day_runs(harvest, range(7, 8))  # then 1: a drop
        assert kinds(db) == ["count-drop"]


def test_a_source_failing_run_after_run(db: Database, settings: Settings) -> None:
    with serve_europepmc(records([1, 1, 1, 1])) as server:
        harvest = europepmc_harvest(db, settings, server)
        server.inject("503", "503")
        day_runs(harvest, range(2))
        assert kinds(db) == []
        server.inject("503")
        day_runs(harvest, range(2, 3))
        assert kinds(db) == ["source-failing"]
        day_runs(harvest, range(3, 4))
        assert kinds(db) == []


@pytest.fixture
def eutils() -> Iterator[EutilsServer]:
    with serve_eutils(Corpus.from_files(TOPIC_SUBSET)) as server:
        yield server


def pubmed_harvest(db: Database, settings: Settings, eutils: EutilsServer, **extra: Any) -> Harvest:
    config = settings.pubmed.model_copy(
        update={"base_url": eutils.base_url, "max_retries": 1, "backoff_base": 0.001, **extra}
    )
    return Harvest(db, settings.model_copy(update={"pubmed": config}))


PUBMED_TOPIC = Topic.model_validate({"topic": {"slug": "t"}, "pubmed": {"query": "loneliness"}})


def test_an_in_band_ncbi_error(db: Database, settings: Settings, eutils: EutilsServer) -> None:
    harvest = pubmed_harvest(db, settings, eutils)
    eutils.inject("esearch", Fault.BACKEND_ERROR, Fault.BACKEND_ERROR)
    day = dt.date(2020, 12, 4)
    [summary] = harvest.run([PUBMED_TOPIC], sources=["pubmed"], since=day, until=day)
    assert summary.status.value == "failed"
    with db.read() as session:
        [problem] = open_problems(session)
    assert problem.kind == "service-error"
    assert problem.message.startswith("PubMed answered with an error:")
    assert "Search Backend failed" in problem.message
    harvest.run([PUBMED_TOPIC], sources=["pubmed"], since=day, until=day)
    assert kinds(db) == []


def test_a_slice_that_reaches_the_record_limit(
    db: Database, settings: Settings, eutils: EutilsServer
) -> None:
    day = dt.date(2020, 12, 4)  # two records share this entrez day
    harvest = pubmed_harvest(db, settings, eutils, max_esearch_ids=1)
    harvest.run([PUBMED_TOPIC], sources=["pubmed"], since=day, until=day)
    assert kinds(db) == ["limit-reached"]
    with db.read() as session:
        [problem] = open_problems(session)
    assert "1-record limit" in problem.message
    pubmed_harvest(db, settings, eutils).run(
        [PUBMED_TOPIC], sources=["pubmed"], since=day, until=day
    )
    assert kinds(db) == []


def rss(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>Link workers story {guid}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid></item>'
        for guid, link in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Written feed</title>'
        f"<link>https://news.example.org/</link><description>d</description>{entries}"
        "</channel></rss>"
    ).encode()


def feed_topic(url: str) -> Topic:
    return Topic.model_validate(
        {"topic": {"slug": "t"}, "feeds": [{"name": "Written feed", "url": url, "all": True}]}
    )


def feed_harvest(db: Database, settings: Settings) -> Harvest:
    feeds = settings.feeds.model_copy(update={"max_retries": 0, "read_timeout": 2})
    return Harvest(db, settings.model_copy(update={"feeds": feeds}))


def test_a_failing_feed_a_silent_feed_and_a_churning_feed(db: Database, settings: Settings) -> None:
    harvest = feed_harvest(db, settings)
    links = [(f"guid-{n}", f"https://news.example.org/story/{n}") for n in range(6)]
    with FeedServer() as server:
        url = server.add("/feed.xml", Route(body=rss(links)))
        topic = feed_topic(url)
        harvest.run([topic], sources=["feeds"])
        # the same six stories again under new guids: a churning feed
        server.add("/feed.xml", Route(body=rss([(f"new-{g}", link) for g, link in links])))
        harvest.run([topic], sources=["feeds"])
        assert kinds(db) == ["feed-churn"]
        with db.read() as session:
            [churn] = open_problems(session)
        assert churn.subject == url and "re-issued 6 of its 6 entries" in churn.message
        # fails three fetches in a row: a failing feed (the churn is judged gone)
        server.add("/feed.xml", Route(body=b"oops", status=500, content_type="text/plain"))
        for _ in range(3):
            harvest.run([topic], sources=["feeds"])
        assert kinds(db) == ["feed-failing"]
        # answers again, but empty, five downloads in a row: a silent feed
        server.add("/feed.xml", Route(body=rss([])))
        for _ in range(5):
            harvest.run([topic], sources=["feeds"])
        assert kinds(db) == ["feed-silent"]
        server.add("/feed.xml", Route(body=rss(links[:1])))
        harvest.run([topic], sources=["feeds"])
        assert kinds(db) == []


def test_problems_are_shown_by_the_health_command_the_runs_page_and_the_digest(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli, ["health"])
    assert clean.exit_code == 0 and clean.output == "no open harvest problems\n"
    with serve_europepmc(records([1, 1, 1, 1])) as server:
        harvest = europepmc_harvest(db, settings, server)
        server.inject("503", "503", "503")
        day_runs(harvest, range(3))
    result = runner.invoke(cli, ["health"])
    assert result.exit_code == 1
    assert result.output.startswith("t Europe PMC: Europe PMC failed in the last 3 runs: ")
    as_json = runner.invoke(cli, ["health", "--json"])
    assert as_json.exit_code == 1
    document = json.loads(as_json.output)
    assert document["open"] == 1 and document["problems"][0]["kind"] == "source-failing"

    from fastapi.testclient import TestClient
    from websupport import ADMIN, build, seed

    seed(db)
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1", follow_redirects=False)
    from test_web import login

    login(client, ADMIN)
    page = client.get("/runs").text
    assert "Open harvest problems" in page and "Europe PMC failed in the last 3 runs" in page

    from harvester.usecases.digest_send import gather

    topic = Topic.model_validate({"topic": {"slug": "t", "name": "T"}})
    data = gather(db, settings, topic, "2030-W01", now=dt.datetime.now(dt.UTC))
    assert any("Europe PMC failed in the last 3 runs" in line for line in data.health)
    from harvester.core.digest import Envelope
    from harvester.mail.digest import compose

    message = compose(
        data,
        Envelope(sender="h@example.org", recipients=("r@example.org",)),
        now=dt.datetime.now(dt.UTC),
    )
    text = message.get_body(("plain",))
    assert text is not None and "Europe PMC failed in the last 3 runs" in text.get_content()


def test_the_rules_leave_unjudged_kinds_alone() -> None:
    failed = RunFacts(id=2, status="failed", fetched=0, error="x", days=1)
    findings, judged = check("europepmc", [RunFacts(1, "ok", 5, days=1), failed], Limits())
    assert findings == [] and "no-results" not in judged and "source-failing" in judged
