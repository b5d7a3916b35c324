"""A harvest scores what it stores and retrains the topic's model (``harvester harvest`` against
loopback feed servers, as in test_harvest_feeds)."""

from __future__ import annotations

import datetime as dt

from ranking_support import hits
from sqlalchemy import select
from test_harvest_feeds import TOPIC, harvest, project, server  # noqa: F401 - fixtures

from harvester.core.models import CandidateStatus
from harvester.store.db import Database
from harvester.store.ranking import model_info
from harvester.store.tables import Candidate
from harvester.store.works import ingest_hits

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def test_a_harvest_scores_new_candidates_and_retrains(project: Database) -> None:  # noqa: F811
    first = harvest()
    assert first.exit_code == 0, first.output
    with project.read() as session:
        scores = list(session.scalars(select(Candidate.score).where(Candidate.topic == TOPIC)))
        assert model_info(session, TOPIC) is None
    assert scores and all(score is not None for score in scores)
    with project.write() as session:
        for kind, status in (
            ("accepted", CandidateStatus.PUBLISHED),
            ("rejected", CandidateStatus.REJECTED),
        ):
            ingest_hits(
                session,
                hits(kind, 20),
                topic=TOPIC,
                run_id=None,
                now=NOW,
                status=status,
                actor="import",
            )
    assert harvest().exit_code == 0
    with project.read() as session:
        info = model_info(session, TOPIC)
        statuses = set(session.scalars(select(Candidate.status).where(Candidate.topic == TOPIC)))
    assert (
        info is not None
        and info.trigger == "harvest"
        and (info.accepted, info.rejected) == (20, 20)
    )
    assert statuses == {"new", "published", "rejected"}
