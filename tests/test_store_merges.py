"""Work-to-work merges on SQLite and PostgreSQL: a bridging record joins two works, keeping the
queue states, sightings and decisions of both, and the merge can be undone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from harvester.core import queue_rules
from harvester.core.errors import ConflictError
from harvester.core.models import Author, CandidateStatus, Hit, PubDate
from harvester.store.db import Database
from harvester.store.decisions import apply_decision, candidate_state
from harvester.store.merges import merge_works, merges_of, undo_merge
from harvester.store.tables import (
    Bulletin,
    BulletinEntry,
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
    WorkMergeRecord,
)
from harvester.store.works import ingest_hits

NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
TITLE = "Social prescribing for people with long-term conditions: a cohort study"


def record(source_id: str, origin: str = "a.ris", **changes: Any) -> Hit:
    values: dict[str, Any] = {
        "source": "import:ris",
        "source_id": source_id,
        "origin": origin,
        "title": TITLE,
        "authors": [Author(family="Example", given="Ann", initials="A")],
        "journal": "Journal of Test Records",
        "volume": "12",
        "pages": "101-109",
        "pub_date": PubDate(2024),
    }
    values.update(changes)
    return Hit(**values)


def ingest(db: Database, hits: list[Hit], topic: str = "sp") -> Any:
    with db.write() as session:
        return ingest_hits(session, hits, topic=topic, run_id=None, now=NOW)


def decide(db: Database, work_id: int, to: CandidateStatus, topic: str = "sp") -> None:
    with db.write() as session:
        candidate_id = session.scalar(
            select(Candidate.id).where(Candidate.work_id == work_id, Candidate.topic == topic)
        )
        assert candidate_id is not None
        state = candidate_state(session, candidate_id)
        intent = queue_rules.decide(state, to, actor="ann", at=NOW, seen_version=state.version)
        apply_decision(session, intent)


def split_pair(db: Database) -> None:
    """One article as two works: one record lacks the authors, the other the volume."""
    ingest(
        db,
        [
            record("a", authors=[], doi="10.1000/sp.1"),
            record("b", volume=None, pages=None, journal="J Test Rec", url="https://x.org/a/1"),
        ],
    )


def rows(db: Database) -> dict[str, Any]:
    """Every row a merge touches, as plain values (candidates without their version)."""
    with db.read() as session:

        def plain(model: type, *names: str) -> list[tuple[Any, ...]]:
            return sorted(
                tuple(getattr(r, n) for n in names) for r in session.scalars(select(model))
            )

        return {
            "works": plain(Work, "id", "title", "authors", "volume", "doi", "url", "dedupe_keys"),
            "sightings": plain(Sighting, "id", "work_id", "source_id"),
            "identities": plain(WorkIdentity, "id", "work_id", "kind", "value"),
            "keys": plain(WorkKey, "work_id", "key"),
            "links": plain(WorkLink, "work_id", "other_id", "relation"),
            "candidates": plain(Candidate, "id", "work_id", "topic", "status", "decided_by"),
            "decisions": plain(Decision, "id", "candidate_id", "to_status"),
            "entries": plain(BulletinEntry, "id", "bulletin_id", "candidate_id"),
        }


def test_a_bridging_record_merges_two_works_keeping_both_queue_states(db: Database) -> None:
    split_pair(db)
    decide(db, 2, CandidateStatus.REJECTED)  # one copy rejected as a duplicate ...
    decide(db, 1, CandidateStatus.ACCEPTED)  # ... the other accepted
    result = ingest(db, [record("c", origin="b.ris"), record("d", origin="b.ris", pages="9")])
    assert result.work_merges == 1
    assert [o.work_id for o in result.outcomes][0] == 1
    with db.read() as session:
        (candidate,) = session.scalars(select(Candidate).where(Candidate.work_id == 1)).all()
        assert candidate.status == "accepted"
        assert session.scalars(select(Candidate).where(Candidate.work_id == 2)).all() == []
        # both candidates' decisions are the kept candidate's now
        statuses = session.scalars(
            select(Decision.to_status).where(Decision.candidate_id == candidate.id)
        ).all()
        assert sorted(statuses) == ["accepted", "new", "new", "rejected"]
        sightings = session.scalars(select(Sighting.source_id).where(Sighting.work_id == 1))
        assert sorted(sightings) == ["a", "b", "c"]
        work = session.get_one(Work, 1)
        assert work.doi == "10.1000/sp.1" and work.url == "https://x.org/a/1"
        assert work.authors and work.volume == "12"
        (merge,) = session.scalars(select(WorkMergeRecord)).all()
        assert (merge.work_id, merge.merged_id) == (1, 2) and merge.reason.startswith("bridge")
    # a record with the merged work's URL now finds the kept work
    again = ingest(db, [record("e", origin="c.ris", volume=None, url="https://x.org/a/1")])
    assert again.outcomes[0].work_id == 1


def test_a_merge_is_undone_row_for_row(db: Database) -> None:
    split_pair(db)
    ingest(db, [record("n", title=f"Erratum: {TITLE}", pages="300", doi=None)])
    decide(db, 2, CandidateStatus.REJECTED)
    decide(db, 2, CandidateStatus.ACCEPTED)
    decide(db, 1, CandidateStatus.DEFERRED)
    ingest(db, [record("b2", origin="other.ris", volume=None, pages=None)], topic="other")
    with db.write() as session:  # the merged work's candidate is in a bulletin
        bulletin = Bulletin(topic="sp", title="March")
        session.add(bulletin)
        session.flush()
        candidate_id = session.scalar(select(Candidate.id).where(Candidate.work_id == 2))
        session.add(BulletinEntry(bulletin_id=bulletin.id, candidate_id=candidate_id))
    before = rows(db)
    with db.write() as session:
        merge_id = merge_works(session, 1, 2, reason="by hand", actor="ann", at=NOW)
    merged = rows(db)
    assert {s[1] for s in merged["sightings"]} == {1, 3}
    assert [c[3] for c in merged["candidates"] if c[2] == "sp" and c[1] == 1] == ["accepted"]
    assert [c[1] for c in merged["candidates"] if c[2] == "other"] == [1]
    assert len(merged["entries"]) == 1 and merged["entries"][0][2] == before["entries"][0][2] - 1
    with db.write() as session:
        assert [m.id for m in merges_of(session, 2)] == [merge_id]
        undo_merge(session, merge_id, actor="ann", at=NOW)
    after = rows(db)
    # every row is back; the decisions add one row for the merge and one for its undo
    assert {k: v for k, v in after.items() if k != "decisions"} == {
        k: v for k, v in before.items() if k != "decisions"
    }
    extra = [d for d in after["decisions"] if d not in before["decisions"]]
    assert [d[2] for d in extra] == ["accepted", "deferred"]
    with db.write() as session, pytest.raises(ConflictError):
        undo_merge(session, merge_id, actor="ann", at=NOW)


def test_works_something_keeps_apart_are_not_merged(db: Database) -> None:
    ingest(db, [record("a", authors=[]), record("b", volume="13", pages=None, journal="J X")])
    result = ingest(db, [record("c", origin="b.ris", volume=None, pages=None)])
    assert result.work_merges == 0
