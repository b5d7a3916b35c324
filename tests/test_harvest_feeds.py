"""End to end: ``harvester harvest --source feeds`` against loopback feed servers.

The example topic (queries/social-prescribing.toml) has its four feeds pointed at recorded
fixture feeds served locally, and is harvested through the real CLI, fetcher, parser, rules,
dedupe and store, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from feed_server import EXAMPLE_TOPIC_FEEDS, FeedServer, Route, local_example_topic
from sqlalchemy import select

from harvester.cli.main import cli
from harvester.config.scaffold import example_topic
from harvester.config.settings import Settings
from harvester.store.db import Database
from harvester.store.tables import FeedState, Run, Sighting, Work

TOPIC = "social-prescribing"
LAST_MODIFIED = "Mon, 06 May 2024 09:00:00 GMT"
# hostile: 3 of 5 entries match the topic's phrases (one is a repeat, one says "careful");
# the "Guardian" feed (a large Russian Atom feed from feedparser's tests): none of 15; the
# "GOV.UK" and "Google News" feeds are `all = true`: 2 + 5.
EXPECTED_HITS = 3 + 0 + 2 + 5


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        for path, fixture in EXAMPLE_TOPIC_FEEDS.values():
            feed_server.add_fixture(path, fixture, etag=f'"{path}-1"', last_modified=LAST_MODIFIED)
        yield feed_server


@pytest.fixture
def project(settings: Settings, server: FeedServer) -> Iterator[Database]:
    assert settings.config_file is not None
    text = settings.config_file.read_text(encoding="utf-8")
    text += "\n[feeds]\nconnect_timeout = 2\nread_timeout = 2\nmax_retries = 0\nfailing_after = 3\n"
    settings.config_file.write_text(text, encoding="utf-8")
    topic = local_example_topic(server, example_topic())
    (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(topic, encoding="utf-8")
    database = Database(settings.database.url)
    yield database
    database.dispose()


def harvest() -> Result:
    return CliRunner().invoke(
        cli, ["harvest", "--topic", TOPIC, "--source", "feeds"], catch_exceptions=False
    )


def feed_runs(db: Database) -> list[Run]:
    with db.read() as session:
        rows = session.scalars(select(Run).where(Run.source == "feeds").order_by(Run.id)).all()
        session.expunge_all()
        return list(rows)


def test_matching_news_is_stored_and_a_second_run_downloads_nothing(
    project: Database, server: FeedServer
) -> None:
    first = harvest()
    assert first.exit_code == 0, first.output
    assert f"{TOPIC} feeds: ok, {EXPECTED_HITS} fetched" in first.output
    with project.read() as session:
        titles = set(session.scalars(select(Work.title)))
        rules = dict(session.execute(select(Sighting.source_id, Sighting.matched_rule)).all())
        urls = set(session.scalars(select(Work.url)))
    assert "Social prescribing link workers & GPs" in titles
    assert "Careful now: nothing to see" not in titles
    assert rules["hostile-1"] == "social prescri*"
    assert rules["hostile-4"] == "green prescri*"
    assert rules["3b1f6c2e-8d4a-4f5b-9c7e-2a1d0e9f8b7c"] == "all"
    assert "https://carersweekly.example/2024/05/what-is-social-prescribing/" in urls
    assert not any("google.com/url" in (url or "") for url in urls)
    assert len(server.log) == 4 and all(r.status == 200 for r in server.log)

    server.clear_log()
    second = harvest()
    assert second.exit_code == 0, second.output
    assert f"{TOPIC} feeds: ok, 0 fetched" in second.output
    assert [r.status for r in server.log] == [304] * 4
    assert all(r.body_bytes == 0 and "if-none-match" in r.headers for r in server.log)
    latest = feed_runs(project)[-1]
    assert {d["status"] for d in latest.details.values()} == {"not_modified"}
    assert sum(d["bytes"] for d in latest.details.values()) == 0
    with project.read() as session:
        states = session.scalars(select(FeedState)).all()
        assert len(states) == 4
        assert all(s.etag and s.last_modified == LAST_MODIFIED for s in states)
        assert all(s.error_count == 0 for s in states)


def test_a_broken_feed_is_reported_and_flagged_while_the_others_are_stored(
    project: Database, server: FeedServer
) -> None:
    broken_path = EXAMPLE_TOPIC_FEEDS["https://www.theguardian.com/society/rss"][0]
    server.add(broken_path, Route(status=500, body=b"oops", content_type="text/plain"))
    broken = server.url(broken_path)
    for run in range(1, 4):
        result = harvest()
        assert result.exit_code == 0, result.output  # partial: the others were stored
        assert f"{TOPIC} feeds: partial" in result.output
        assert f"{broken}: HTTP 500" in result.output
        latest = feed_runs(project)[-1]
        assert latest.status == "partial"
        assert latest.details[broken]["status"] == "error"
        assert latest.details[broken]["failures_in_a_row"] == run
        assert latest.details[broken].get("flagged", False) == (run >= 3)
        assert (f"check: {broken} has failed {run} runs in a row" in result.output) == (run >= 3)
    assert feed_runs(project)[0].fetched == EXPECTED_HITS
    with project.read() as session:
        state = session.scalars(select(FeedState).where(FeedState.url == broken)).one()
        assert state.error_count == 3 and state.failing_since is not None
        assert state.last_error == f"{broken}: HTTP 500 Internal Server Error"
        assert state.etag is None

    server.add_fixture(broken_path, "feedparser_large_atom_touchnokia_ru.xml")  # it recovers
    recovered = harvest()
    assert f"{TOPIC} feeds: ok" in recovered.output
    with project.read() as session:
        state = session.scalars(select(FeedState).where(FeedState.url == broken)).one()
        assert state.error_count == 0 and state.failing_since is None and state.last_error is None
