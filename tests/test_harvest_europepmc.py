"""End to end: the example topic harvested from PubMed, Europe PMC and its feeds into one
deduplicated queue, through the real ``harvester harvest`` command against three loopback
servers (E-utilities, Europe PMC, feeds), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from europepmc_server import WRITTEN, EuropePMCServer, load_records
from europepmc_server import serve as serve_europepmc
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer
from eutils_server import serve as serve_eutils
from feed_server import EXAMPLE_TOPIC_FEEDS, FeedServer, local_example_topic
from sqlalchemy import func, select

from harvester.cli.main import cli
from harvester.config.scaffold import example_topic
from harvester.config.settings import Settings
from harvester.store.db import Database
from harvester.store.tables import Candidate, Run, Sighting, Work, WorkLink

TOPIC = "social-prescribing"
SINCE, UNTIL = "2020-09-01", "2021-06-30"


@pytest.fixture
def servers() -> Iterator[tuple[EutilsServer, EuropePMCServer, FeedServer]]:
    with (
        serve_eutils(Corpus.from_files(TOPIC_SUBSET)) as eutils,
        serve_europepmc(load_records(WRITTEN)) as europepmc,
        FeedServer() as feeds,
    ):
        for path, fixture in EXAMPLE_TOPIC_FEEDS.values():
            feeds.add_fixture(path, fixture)
        yield eutils, europepmc, feeds


@pytest.fixture
def project(
    settings: Settings,
    servers: tuple[EutilsServer, EuropePMCServer, FeedServer],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Database]:
    eutils, europepmc, feeds = servers
    monkeypatch.setenv("HARVESTER_PUBMED__API_KEY", "e2e-key")
    monkeypatch.setenv("HARVESTER_EUROPEPMC__BASE_URL", europepmc.base_url)
    assert settings.config_file is not None
    text = settings.config_file.read_text(encoding="utf-8")
    text += (
        f'\n[pubmed]\nbase_url = "{eutils.base_url}"\nbatch_size = 50\nbackoff_base = 0.001\n'
        '[europepmc]\nbase_url = "https://europepmc.invalid/"\nmax_retries = 1\n'
        "backoff_base = 0.001\nread_timeout = 2\n"
        "[feeds]\nmax_retries = 0\nread_timeout = 2\n"
    )
    settings.config_file.write_text(text, encoding="utf-8")
    topic = local_example_topic(feeds, example_topic())
    (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(topic, encoding="utf-8")
    database = Database(settings.database.url)
    yield database
    database.dispose()


def harvest(*extra: str) -> Result:
    args = ["harvest", "--topic", TOPIC, "--since", SINCE, "--until", UNTIL, *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_three_sources_fill_one_deduplicated_queue(
    project: Database, servers: tuple[EutilsServer, EuropePMCServer, FeedServer]
) -> None:
    _, europepmc, _ = servers
    result = harvest()
    assert result.exit_code == 0, result.output
    assert f"{TOPIC} europepmc {SINCE}..{UNTIL}: ok, 4 fetched, 3 new works" in result.output
    # the environment's base URL wins over the settings file's
    assert (
        europepmc.requests
        and "FIRST_IDATE:[2020-09-01 TO 2021-06-30]" in (europepmc.requests[0].params["query"])
    )
    assert 'TITLE_ABS:("social prescribing"' in europepmc.requests[0].params["query"]
    with project.read() as session:
        sources = {s for (s,) in session.execute(select(Run.source))}
        assert sources == {"pubmed", "europepmc", "feeds"}
        # The MEDLINE record Europe PMC also has joins PubMed's work: one work, two sightings.
        work = session.scalars(select(Work).where(Work.pmid == "33274697")).one()
        seen_by = sorted(s.source for s in work.sightings)
        assert seen_by == ["europepmc", "pubmed"]
        assert work.metadata_source == "pubmed"  # PubMed's metadata ranks higher
        # The preprint is its own work, linked to its published version.
        preprint = session.scalars(
            select(Work).where(Work.doi == "10.1101/2020.09.01.20185801")
        ).one()
        assert "Preprint" in preprint.publication_types
        links = (
            session.execute(
                select(WorkLink.relation).where(
                    (WorkLink.work_id == preprint.id) & (WorkLink.other_id == work.id)
                )
            )
            .scalars()
            .all()
        )
        assert "preprint-of" in links
        works = session.scalar(select(func.count()).select_from(Work))
        queued = session.scalar(select(func.count()).select_from(Candidate))
        assert queued == works  # one candidate per work in this one topic
        per_source = dict(
            session.execute(select(Sighting.source, func.count()).group_by(Sighting.source)).all()
        )
    assert per_source["europepmc"] == 4 and per_source["pubmed"] == 67

    again = harvest("--source", "europepmc")
    assert again.exit_code == 0, again.output
    assert (
        "europepmc" in again.output
        and "0 new works, 0 new candidates, 4 duplicates" in again.output
    )


def test_a_failing_europe_pmc_never_stops_the_other_sources(
    project: Database, servers: tuple[EutilsServer, EuropePMCServer, FeedServer]
) -> None:
    _, europepmc, _ = servers
    europepmc.inject("503", "503")
    result = harvest()
    assert f"{TOPIC} europepmc {SINCE}..{UNTIL}: failed" in result.output
    assert "failed after 2 attempts" in result.output and "HTTP 503" in result.output
    assert f"{TOPIC} pubmed {SINCE}..{UNTIL}: ok, 67 fetched" in result.output
    assert f"{TOPIC} feeds: ok" in result.output
    with project.read() as session:
        statuses = dict(session.execute(select(Run.source, Run.status)).all())
    assert statuses == {"pubmed": "ok", "europepmc": "failed", "feeds": "ok"}
    # The next run asks for the same window again: the watermark did not move.
    retry = harvest("--source", "europepmc")
    assert retry.exit_code == 0, retry.output
    assert "ok, 4 fetched" in retry.output
