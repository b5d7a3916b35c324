"""Decisions written: the one place a :class:`~harvester.core.queue_rules.DecisionIntent` becomes rows.

:mod:`harvester.core.queue_rules` decides (a reviewer's move, an undo, an edit, publishing, what an import
creates or moves forward); this module only applies what it decided, the same way for every
caller: :func:`candidate_changes` says what the candidate row takes, :func:`decision_row` what
the audit row says. :func:`apply_decision` writes both for a stored candidate, only while it is
still at the version its decider saw; the ingest path (:mod:`harvester.store.ingest_apply`)
applies the same two to the candidates of its plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from harvester.core import queue_rules
from harvester.core.errors import NotFoundError
from harvester.core.models import CandidateStatus
from harvester.core.queue_rules import CandidateState, DecisionIntent, conflict
from harvester.store.tables import Candidate, Decision

__all__ = [
    "apply_decision",
    "candidate_changes",
    "candidate_state",
    "decision_row",
    "edit_candidate",
    "state_of",
]


def candidate_state(session: Session, candidate_id: int) -> CandidateState:
    """What the queue rules need to know of a stored candidate."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFoundError(f"there is no item {candidate_id}")
    return state_of(candidate)


def state_of(candidate: Candidate) -> CandidateState:
    return CandidateState(
        candidate.id, CandidateStatus(candidate.status), candidate.version, candidate.decided_by
    )


def candidate_changes(intent: DecisionIntent) -> dict[str, Any]:
    """The candidate's columns after ``intent`` (its version is the caller's to bump).

    A move records who decided and when; an edit (the status stays) and the creation of a
    ``new`` candidate (nobody decided yet) do not."""
    values: dict[str, Any] = {"status": intent.to_status.value, "updated_at": intent.at}
    created_new = intent.from_status is None and intent.to_status is CandidateStatus.NEW
    if intent.from_status is not intent.to_status and not created_new:
        values["decided_by"], values["decided_at"] = intent.actor, intent.at
    if intent.section is not None:
        values["section"] = intent.section
    if intent.reason is not None:
        values["reason"] = intent.reason
    elif intent.clear_reason:
        values["reason"] = None
    return values


def decision_row(intent: DecisionIntent) -> dict[str, Any]:
    """The audit row of ``intent``, without its ``candidate_id``."""
    note = intent.note
    if intent.reason is not None:
        note = f"reason: {intent.reason}" + (f"; {note}" if note else "")
    if intent.section is not None:
        note = f"section: {intent.section}" + (f"; {note}" if note else "")
    return {
        "actor": intent.actor,
        "at": intent.at,
        "from_status": None if intent.from_status is None else intent.from_status.value,
        "to_status": intent.to_status.value,
        "note": note,
    }


def apply_decision(
    session: Session, intent: DecisionIntent, values: dict[str, Any] | None = None
) -> None:
    """Write ``intent`` (and ``values``, other columns an edit changes) and its decision row, if
    the candidate is still at ``intent.version``; :class:`ConflictError` (nothing written)
    otherwise."""
    changes = {**candidate_changes(intent), **(values or {})}
    changes["version"] = Candidate.version + 1
    _versioned_update(session, intent.candidate_id, intent.version, changes)
    session.add(Decision(candidate_id=intent.candidate_id, **decision_row(intent)))
    session.flush()


def edit_candidate(
    session: Session,
    candidate_id: int,
    *,
    seen_version: int,
    actor: str,
    at: dt.datetime,
    note: str | None = None,
    summary: str | None = None,
    set_note: bool = False,
    set_summary: bool = False,
) -> None:
    """Change a candidate's note and/or bulletin summary (``set_*`` says which), recorded as a
    decision row that keeps the status; a conflict when the candidate changed meanwhile."""
    values: dict[str, Any] = {}
    if set_note:
        values["note"] = note
    if set_summary:
        values["summary"] = summary
    if not values:
        return
    state = candidate_state(session, candidate_id)
    what = " and ".join(values)
    intent = queue_rules.edit(state, what, actor=actor, at=at, seen_version=seen_version)
    apply_decision(session, intent, values)


def _versioned_update(
    session: Session, candidate_id: int, version: int, values: dict[str, Any]
) -> None:
    stmt = (
        update(Candidate)
        .where(Candidate.id == candidate_id, Candidate.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(stmt)
    if getattr(result, "rowcount", 0) != 1:
        current = session.execute(
            select(Candidate.status, Candidate.decided_by, Candidate.version).where(
                Candidate.id == candidate_id
            )
        ).first()
        if current is None:
            raise NotFoundError(f"there is no item {candidate_id}")
        raise conflict(
            CandidateState(
                candidate_id, CandidateStatus(current.status), current.version, current.decided_by
            )
        )
    # rows loaded earlier in this session are stale now
    cached = session.get(Candidate, candidate_id)
    if cached is not None:
        session.expire(cached)
