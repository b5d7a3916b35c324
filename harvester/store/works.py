"""The ingest path: the only code that turns hits into works, sightings and candidates.

Every hit, from a harvest, an import or a reviewer adding an item by hand, goes through
:func:`ingest_hits`, plan-then-apply:

1. the store reads what the batch can touch (:func:`harvester.store.ingest_load.load_snapshot`);
2. the pure planner decides everything (:func:`harvester.core.ingest.planner.plan_batch`: the
   rules are listed there: seen before, deletion notices, dedupe, merge of fields, feed guids and
   links, links, candidates, bridging records);
3. the store writes the plan (:func:`harvester.store.ingest_apply.apply_plan`).

The caller owns the transaction (``Database.write()``). A batch gives exactly what its hits give
ingested one by one, each in its own call. A plan ends early after a record that bridged two works
(they are merged when the plan is written), or before a hit that joins a work whose fields were
not read (the snapshot reads the fields of the works hits are likely to join, those owning their
identities and sightings; the rest of the batch is then planned with every work's fields); the
rest of the batch is planned against the store as it is then.

:func:`ingest_batch` (an import's batches) owns its transaction: on SQLite it makes the first
plan on a read snapshot before the write lock is taken and writes it under the lock when no
other connection committed in between, else plans again under the lock
(:meth:`harvester.store.db.Database.plan_then_write`).

On PostgreSQL an ingest first takes a transaction-level advisory lock, so two processes
harvesting or importing at once take turns batch by batch (as SQLite's write lock makes them do):
the planner decides on what the store held when it was read, and two batches deciding at once
could each create the same work. Batches are short, so the wait is short too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.core.ingest.plan import HitOutcome, Plan
from harvester.core.ingest.planner import batch_facts, plan_batch
from harvester.core.models import CandidateStatus, Hit, make_safe
from harvester.store.db import Database
from harvester.store.ingest_apply import apply_plan
from harvester.store.ingest_load import load_snapshot

__all__ = ["HitOutcome", "IngestResult", "Planned", "ingest_batch", "ingest_hits"]

#: Identifies harvester's ingest among PostgreSQL advisory locks (any fixed 64-bit number).
INGEST_LOCK = 0x68617276_65737401


@dataclass(slots=True)
class IngestResult:
    """Counts of one batch; ``merged`` counts hits that joined an existing work (stored before,
    or created by an earlier hit of the same batch)."""

    new_works: int = 0
    merged: int = 0
    new_candidates: int = 0
    new_sightings: int = 0
    work_merges: int = 0
    outcomes: list[HitOutcome] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Planned:
    """The first plan of a batch, made on a read snapshot (:func:`ingest_batch`)."""

    hits: list[Hit]
    plan: Plan
    done: int


def ingest_batch(
    db: Database,
    hits: Iterable[Hit],
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
    actor: str = "harvester",
) -> IngestResult:
    """:func:`ingest_hits` in a write transaction of its own, its first plan made before the
    write lock is taken (on SQLite): the web interface or a harvest waits for a batch's writing,
    not its planning. When another writer committed in between, the batch is planned again
    under the lock."""
    safe = [make_safe(hit) for hit in hits]

    def plan(session: Session) -> Planned:
        return Planned(safe, *_plan(session, safe, topic, run_id, now, status, actor, False))

    def write(session: Session, planned: Planned | None) -> IngestResult:
        return ingest_hits(
            session,
            safe,
            topic=topic,
            run_id=run_id,
            now=now,
            status=status,
            actor=actor,
            planned=planned,
        )

    return db.plan_then_write(plan, write)


def ingest_hits(
    session: Session,
    hits: Iterable[Hit],
    *,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
    actor: str = "harvester",
    planned: Planned | None = None,
) -> IngestResult:
    """Store ``hits``: dedupe each into a work, record its sighting, ensure its candidate.

    With ``planned`` (made from these hits on the store as this transaction finds it, see
    :func:`ingest_batch`), its plan is written first instead of planning the batch again."""
    hits = planned.hits if planned is not None else [make_safe(hit) for hit in hits]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))
    result = IngestResult()
    start = 0
    all_fields = False
    while start < len(hits):
        if planned is not None and start == 0:
            plan, done = planned.plan, planned.done
        else:
            plan, done = _plan(session, hits[start:], topic, run_id, now, status, actor, all_fields)
        ids = apply_plan(session, plan, actor=actor, now=now)
        for outcome in plan.outcomes:
            if outcome.work_id is not None:
                outcome.work_id = ids.get(outcome.work_id, outcome.work_id)
                result.merged += not outcome.created
            result.new_works += outcome.created
            result.new_sightings += outcome.new_sighting
            result.outcomes.append(outcome)
        result.new_candidates += len(plan.new_candidates)
        result.work_merges += len(plan.work_merges)
        start += done
        all_fields = all_fields or plan.fields_wanted
    return result


def _plan(
    session: Session,
    hits: list[Hit],
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
    status: CandidateStatus,
    actor: str,
    all_fields: bool,
) -> tuple[Plan, int]:
    """Read what ``hits`` can touch and plan them: the plan and how many hits it covers."""
    facts = batch_facts(hits)
    snapshot = load_snapshot(session, hits, facts, topic, all_fields=all_fields)
    return plan_batch(
        snapshot,
        hits,
        facts=facts,
        topic=topic,
        run_id=run_id,
        now=now,
        status=status,
        actor=actor,
    )
