"""End to end through real processes: `python -m harvester` as a user runs it, configured only by
its files and environment, against the local E-utilities and feed servers (loopback only)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from europepmc_server import WRITTEN, EuropePMCServer, load_records
from europepmc_server import serve as serve_europepmc
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, serve
from feed_server import EXAMPLE_TOPIC_FEEDS, FeedServer, local_example_topic

from harvester.config.scaffold import example_topic

TOPIC = "social-prescribing"


@pytest.fixture
def servers() -> Iterator[tuple[EutilsServer, FeedServer, EuropePMCServer]]:
    with (
        serve(Corpus.from_files(TOPIC_SUBSET)) as eutils,
        FeedServer() as feeds,
        serve_europepmc(load_records(WRITTEN)) as europepmc,
    ):
        for path, fixture in EXAMPLE_TOPIC_FEEDS.values():
            feeds.add_fixture(path, fixture, etag=f'"{path}"')
        yield eutils, feeds, europepmc


def run(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harvester", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_init_harvest_queue_export_as_a_user_would(
    tmp_path: Path, db_url: str, servers: tuple[EutilsServer, FeedServer, EuropePMCServer]
) -> None:
    eutils, feeds, europepmc = servers
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    env |= {
        "HARVESTER_DATABASE__URL": db_url,
        "HARVESTER_PUBMED__BASE_URL": eutils.base_url,
        "HARVESTER_PUBMED__API_KEY": "smoke-test-key",
        "HARVESTER_EUROPEPMC__BASE_URL": europepmc.base_url,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    init = run(tmp_path, env, "init")
    assert init.returncode == 0, init.stderr
    topic_file = tmp_path / "queries" / f"{TOPIC}.toml"
    topic_file.write_text(local_example_topic(feeds, example_topic()), encoding="utf-8")
    applied = run(tmp_path, env, "topic", "apply", "queries")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith(f"updated topic {TOPIC} from queries/{TOPIC}.toml: feed")

    first = run(tmp_path, env, "harvest", "--since", "2020-12-01", "--until", "2021-06-30")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"{TOPIC} pubmed 2020-12-01..2021-06-30: ok, 67 fetched, 67 new")
    assert lines[1].startswith(f"{TOPIC} europepmc 2020-12-01..2021-06-30: ok, 3 fetched, 2 new")
    assert lines[2].startswith(f"{TOPIC} feeds: ok, 10 fetched")
    assert "smoke-test-key" not in first.stdout + first.stderr

    second = run(tmp_path, env, "harvest", "--source", "feeds")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"{TOPIC} feeds: ok, 0 fetched")

    queue = run(tmp_path, env, "queue", "--topic", TOPIC, "--limit", "500")
    assert queue.returncode == 0
    assert len(queue.stdout.splitlines()) == 67 + 3 + 10 - _merged(first.stdout)

    export = run(tmp_path, env, "export", "--topic", TOPIC, "--format", "csv")
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout.lstrip("\ufeff"))))
    assert len(rows) == 67 + 3 + 10
    assert {r["source"] for r in rows} == {"pubmed", "europepmc", "feeds"}


def _merged(output: str) -> int:
    """Duplicates the first run reported (hits that joined a work already stored)."""
    total = 0
    for line in output.splitlines():
        total += int(line.split(" duplicates")[0].rsplit(", ", 1)[1])
    return total
