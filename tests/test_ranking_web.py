"""Ranking where reviewers meet it: the queue page (sorted by score once a model exists, each
card's score and what moved it, the model in use), `harvester import`/`rank`/`queue`/`export`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from ranking_support import hits, titles, write_ris
from websupport import REVIEWER, TOPIC, build, seed

from harvester.cli.main import cli
from harvester.config.settings import load_topics
from harvester.core.models import CandidateStatus
from harvester.store.db import Database
from harvester.store.works import ingest_hits
from harvester.usecases.ranking import rank_topic

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _login(client: TestClient) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login",
        data={"email": REVIEWER[0], "password": REVIEWER[1], "csrf": token.group(1), "next": "/"},
    )
    assert response.status_code == 303


def test_queue_page_is_ordered_by_the_model_and_says_why(tmp_path: Path, db: Database) -> None:
    seed(db)
    app = build(tmp_path, db)
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    _login(client)
    # before a model: found order, and the page says what the scores are made of
    page = client.get(f"/topics/{TOPIC}").text
    assert "Scores come from the topic's phrases" in page
    assert re.search(r'<option value="found"\s+selected', page)
    with db.write() as session:
        ingest_hits(
            session,
            hits("accepted", 20),
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.PUBLISHED,
            actor="import",
        )
        ingest_hits(
            session,
            hits("rejected", 20),
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.REJECTED,
            actor="import",
        )
        # arrivals: an off-topic one first, then one like those the team accepts
        ingest_hits(session, hits("rejected", 1, start=50), topic=TOPIC, run_id=None, now=NOW)
        ingest_hits(
            session,
            hits("accepted", 1, start=50),
            topic=TOPIC,
            run_id=None,
            now=NOW - dt.timedelta(days=30),
        )
    topic = next(t for t in load_topics(tmp_path / "site" / "queries") if t.slug == TOPIC)
    assert rank_topic(db, topic, now=NOW).version == 1
    page = client.get(f"/topics/{TOPIC}").text
    assert "Ordered by a model learned from this topic's decisions" in page
    assert "version 1, trained" in page
    assert "on 20 accepted and 20 rejected items" in page
    assert "put an accepted item above a rejected one" in page
    assert re.search(r'<option value="score"\s+selected', page)
    cards = re.findall(r'<h2 id="title-\d+">(.*?)</h2>', page, re.S)
    accepted_title = titles("accepted", 1, 50)[0][0].split(":")[-1]  # titles are shown marked
    rejected_title = titles("rejected", 1, 50)[0][0].split(":")[-1]
    order = [n for n, card in enumerate(cards) if accepted_title in card or rejected_title in card]
    assert accepted_title in cards[order[0]] and rejected_title in cards[order[-1]]
    why = re.findall(r'<p class="why muted">(.*?)</p>', page, re.S)
    assert why and all("moved most by" in w for w in why)
    assert any('class="up"' in w for w in why) and any('class="down"' in w for w in why)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_imported_past_bulletins_and_rejections_seed_a_model_on_day_one(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    new = write_ris(workdir / "new.ris", titles("accepted", 2, 60) + titles("rejected", 2, 60))
    past = write_ris(workdir / "past.ris", titles("accepted", 22))
    rejected = write_ris(workdir / "rejected.ris", titles("rejected", 25))
    first = invoke("import", str(new), "--topic", "social-prescribing")
    assert "4 candidates scored by the topic's phrases" in first.stdout
    invoke("import", str(past), "--topic", "social-prescribing", "--status", "published")
    result = invoke(
        "import", str(rejected), "--topic", "social-prescribing", "--status", "rejected"
    )
    assert result.exit_code == 0, result.output
    assert (
        "model version 1 trained on 22 accepted and 25 rejected; 51 candidates scored"
        in result.stdout
    )
    listed = invoke("queue", "--topic", "social-prescribing", "--status", "new").stdout.splitlines()
    assert len(listed) == 4 and all(line.split()[2] == "new" for line in listed)
    scores = [float(line.split()[5]) for line in listed]
    assert scores == sorted(scores, reverse=True)
    assert "(acc)" in listed[0] and "(acc)" in listed[1] and "(rej)" in listed[-1]
    ranked = invoke("rank", "--topic", "social-prescribing")
    assert "model version 2 trained" in ranked.stdout
    rows = list(
        csv.DictReader(
            io.StringIO(
                invoke(
                    "export", "--topic", "social-prescribing", "--status", "new", "--format", "csv"
                ).stdout
            )
        )
    )
    assert len(rows) == 4 and all(0 <= float(row["score"]) <= 1 for row in rows)
    # nothing was decided by the ranking: the new items are still new
    assert (
        invoke(
            "queue", "--topic", "social-prescribing", "--status", "rejected", "--limit", "1000"
        ).stdout.count("\n")
        == 25
    )
