"""A batch's ingest plan written: the one place a :class:`~harvester.core.ingest.plan.Plan`
becomes rows.

:func:`apply_plan` writes everything in the caller's transaction, one bulk statement per table
and kind of change: new works first (in reference order, so ids come out as they would one by
one), then changed works and sightings, new sightings, identities, blocking keys, links,
candidates with their decision rows (:mod:`harvester.store.decisions` turns intents into
columns), and last the work-to-work merges a bridging record asked for
(:mod:`harvester.store.merges`). Nothing here decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from harvester.core.ingest.plan import NEW_BASE, Plan
from harvester.core.models import CandidateStatus
from harvester.core.queue_rules import CandidateState, conflict
from harvester.store import merges
from harvester.store.decisions import candidate_changes, decision_row
from harvester.store.ingest_load import table
from harvester.store.tables import (
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
)

__all__ = ["apply_plan"]


def apply_plan(session: Session, plan: Plan, *, actor: str, now: dt.datetime) -> dict[int, int]:
    """Write ``plan``; the ids of the works it created, by their references."""
    ids: dict[int, int] = {}
    works = table(Work)
    if plan.new_works:
        work_ids = _insert_with_ids(
            session, works, [dict(w.row) for w in plan.new_works], indexed_text=True
        )
        for created, work_id in zip(plan.new_works, work_ids, strict=True):
            ids[created.ref] = work_id

    def real(ref: int) -> int:
        if ref >= NEW_BASE:
            return ids[ref]
        return ref

    _update_many(session, works, [(c.work_id, c.values) for c in plan.work_changes])
    _update_many(
        session, table(Sighting), [(c.sighting_id, c.values) for c in plan.sighting_changes]
    )
    if plan.new_sightings:
        session.execute(
            insert(table(Sighting)),
            [{**s.row, "work_id": real(s.ref)} for s in plan.new_sightings],
        )
    if plan.identities:
        session.execute(
            insert(table(WorkIdentity)),
            [{"work_id": real(r), "kind": k, "value": v} for r, k, v in plan.identities],
        )
    if plan.block_keys:
        _insert_keys(session, [{"work_id": real(r), "key": k} for r, k in plan.block_keys])
    if plan.links:
        session.execute(
            insert(table(WorkLink)),
            [
                {"work_id": real(a), "other_id": real(b), "relation": rel, "created_at": at}
                for a, b, rel, at in plan.links
            ],
        )
    decisions: list[dict[str, Any]] = []
    if plan.new_candidates:
        rows = []
        for candidate in plan.new_candidates:
            row: dict[str, Any] = {
                **candidate.row,
                "work_id": real(candidate.ref),
                "decided_by": None,
                "decided_at": None,
            }
            for intent in candidate.intents:
                row.update(candidate_changes(intent))
            rows.append(row)
        made_ids = _insert_with_ids(session, table(Candidate), rows)
        for made, candidate_id in zip(plan.new_candidates, made_ids, strict=True):
            decisions += [{**decision_row(i), "candidate_id": candidate_id} for i in made.intents]
    for moves in plan.candidate_moves:
        values: dict[str, Any] = {}
        for intent in moves.intents:
            values.update(candidate_changes(intent))
        _move_candidate(session, moves.candidate_id, moves.version, values)
        decisions += [
            {**decision_row(i), "candidate_id": moves.candidate_id} for i in moves.intents
        ]
    if decisions:
        session.execute(insert(table(Decision)), decisions)
    for merge in plan.work_merges:
        merges.merge_works(
            session, real(merge.into), real(merge.merged), reason=merge.reason, actor=actor, at=now
        )
    return ids


def _insert_with_ids(
    session: Session, target: Table, rows: list[dict[str, Any]], *, indexed_text: bool = False
) -> list[int]:
    """Insert ``rows`` into ``target``; the ids they were given, in order.

    SQLite gives a new row the largest id plus one, and the transaction holds the write lock
    while it writes (a transaction that read before another writer committed is refused the lock,
    not let through), so the ids are known before the insert and the rows go in as one
    ``executemany``. With ``RETURNING`` in parameter order, SQLite inserted them one statement
    per row (about a sixth of the time a batch spent writing). Other databases return the ids.

    ``indexed_text``: the table's rows are copied into a full-text index by a trigger
    (``work_fts``). SQLite's full-text index writes what it has gathered to the file at the end
    of every statement, so rows inserted one statement each made one small index segment apiece,
    all merged again later; they go in :data:`ROWS_PER_STATEMENT` to a statement instead
    (:func:`_insert_many_per_statement`), where SQLite has ``RETURNING`` (3.35 and later).
    """
    if session.get_bind().dialect.name != "sqlite":
        returned = session.execute(
            insert(target).returning(target.c.id, sort_by_parameter_order=True), rows
        )
        return list(returned.scalars())
    last = session.execute(select(func.max(target.c.id))).scalar_one() or 0  # NULL when empty
    ids = list(range(last + 1, last + 1 + len(rows)))
    numbered = [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
    if indexed_text and session.get_bind().dialect.insert_returning:  # SQLite 3.35 or later
        _insert_many_per_statement(session, target, numbered)
    else:
        session.execute(insert(target), numbered)
    return ids


#: Most rows one INSERT statement carries into a table with a full-text index (a power of two).
ROWS_PER_STATEMENT = 256


def _insert_many_per_statement(session: Session, target: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with multi-row ``VALUES`` statements of :data:`ROWS_PER_STATEMENT` rows,
    the rest in halving powers of two: a handful of statement shapes, each prepared once per
    connection however many rows come (a prepared statement of a few hundred rows holds
    megabytes, and one per distinct count would fill the connection's statement cache).

    SQLAlchemy writes the multi-row statements from the one-row statement it compiled once
    ("insertmanyvalues", which it uses for an INSERT with RETURNING; the ids returned are those
    given)."""
    statement = (
        insert(target)
        .returning(target.c.id)
        .execution_options(insertmanyvalues_page_size=ROWS_PER_STATEMENT)
    )
    start, size = 0, ROWS_PER_STATEMENT
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        session.execute(statement, rows[start : start + size])
        start += size


def _update_many(
    session: Session, target: Table, changes: Sequence[tuple[int, Mapping[str, Any]]]
) -> None:
    """Update rows by id, one executemany per set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in changes:
        names = tuple(sorted(values))
        row = {f"v_{name}": value for name, value in values.items()}
        groups.setdefault(names, []).append({"row_id": row_id, **row})
    for names, rows in groups.items():
        statement = (
            update(target)
            .where(target.c.id == bindparam("row_id"))
            .values({name: bindparam(f"v_{name}") for name in names})
        )
        session.execute(statement, rows)


def _move_candidate(
    session: Session, candidate_id: int, version: int, values: dict[str, Any]
) -> None:
    """The candidate takes ``values`` while it is at ``version`` (a conflict otherwise)."""
    c = table(Candidate).c
    result = session.execute(
        update(table(Candidate))
        .where(c.id == candidate_id, c.version == version)
        .values(**values, version=version + 1)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise conflict(CandidateState(candidate_id, CandidateStatus(values["status"]), version))


def _insert_keys(session: Session, rows: list[dict[str, Any]]) -> None:
    """File works under blocking keys; a key a stored work already has is left as it is (the
    planner reads only the blocks hits look in, not every block a work is filed under)."""
    keys = table(WorkKey)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        statement: Any = postgresql_insert(keys).on_conflict_do_nothing(
            index_elements=["work_id", "key"]
        )
    else:
        statement = sqlite_insert(keys).on_conflict_do_nothing(index_elements=["work_id", "key"])
    session.execute(statement, rows)
