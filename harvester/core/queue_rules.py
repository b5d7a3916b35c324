"""The review queue's rules: statuses, allowed transitions, and decisions as intents.

Pure: no database, no clock, no I/O. The store applies the intents these functions return
(:mod:`harvester.store.decisions`); the web UI, the JSON API, the command line
and the ingest path never re-implement a rule.

Statuses: ``new`` (waiting for a reviewer), ``accepted`` (for the next bulletin), ``rejected``,
``deferred`` (look again later) and ``published`` (carried by a bulletin).

- A reviewer may move a candidate between ``new``, ``accepted``, ``rejected`` and ``deferred``
  freely (changing one's mind is normal); a reviewer does not publish: a bulletin does, and only
  an accepted candidate. A published candidate stays published.
- An import may only move a candidate *forward* (:data:`IMPORT_FORWARD`): ``new``/``deferred`` to
  ``accepted``, ``rejected`` or ``published``, and ``accepted`` to ``published``. A human decision
  is never undone by an import.
- Undo returns a candidate to the status before its latest decision, when that decision was a
  reviewer's (not the row that created the candidate) and the move back is itself allowed.
- Every decision names the version of the candidate the reviewer saw. When the candidate changed
  since (another reviewer decided first), the decision is a conflict: nothing is written and the
  reviewer is shown the current state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from harvester.core.errors import ConflictError, QueueError
from harvester.core.models import CandidateStatus

__all__ = [
    "IMPORT_FORWARD",
    "REVIEW_STATUSES",
    "CandidateState",
    "DecisionIntent",
    "LastDecision",
    "admit",
    "can_move",
    "decide",
    "edit",
    "import_may_move",
    "import_move",
    "publish",
    "undo",
]

S = CandidateStatus

#: The statuses a reviewer chooses between.
REVIEW_STATUSES = frozenset({S.NEW, S.ACCEPTED, S.REJECTED, S.DEFERRED})

#: The moves a reviewer may make (from -> to).
REVIEW_MOVES: dict[CandidateStatus, frozenset[CandidateStatus]] = {
    status: REVIEW_STATUSES - {status} for status in REVIEW_STATUSES
}

#: The only move a bulletin makes.
PUBLISH_MOVES: dict[CandidateStatus, frozenset[CandidateStatus]] = {
    S.ACCEPTED: frozenset({S.PUBLISHED}),
}

#: Forward moves an import may make on an existing candidate.
IMPORT_FORWARD: dict[CandidateStatus, frozenset[CandidateStatus]] = {
    S.NEW: frozenset({S.ACCEPTED, S.REJECTED, S.PUBLISHED}),
    S.DEFERRED: frozenset({S.ACCEPTED, S.REJECTED, S.PUBLISHED}),
    S.ACCEPTED: frozenset({S.PUBLISHED}),
}

MAX_NOTE = 4000
MAX_REASON = 255
MAX_SECTION = 128
UNDO_NOTE = "undo"


def import_may_move(current: CandidateStatus, wanted: CandidateStatus) -> bool:
    """Whether an import bringing ``wanted`` moves a candidate that is ``current``."""
    return wanted in IMPORT_FORWARD.get(current, frozenset())


def can_move(current: CandidateStatus, wanted: CandidateStatus, *, publish: bool = False) -> bool:
    """Whether a reviewer (or, with ``publish``, a bulletin) may move ``current`` to ``wanted``."""
    moves = PUBLISH_MOVES if publish else REVIEW_MOVES
    return wanted in moves.get(current, frozenset())


@dataclass(frozen=True, slots=True)
class CandidateState:
    """What the rules need to know of a candidate."""

    id: int
    status: CandidateStatus
    version: int
    decided_by: str | None = None


def conflict(candidate: CandidateState) -> ConflictError:
    """The error a reviewer sees when someone else changed the candidate first."""
    by = f" by {candidate.decided_by}" if candidate.decided_by else ""
    return ConflictError(
        f"item {candidate.id} was changed{by} while you were looking at it: it is now "
        f"{candidate.status}. Nothing you sent was saved; look again and decide."
    )


@dataclass(frozen=True, slots=True)
class LastDecision:
    """The latest decision row of a candidate, for undo."""

    id: int
    actor: str
    from_status: CandidateStatus | None
    to_status: CandidateStatus
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionIntent:
    """A decision to write: the store applies it only while the candidate is at ``version``.

    ``from_status`` is ``None`` for the decision that creates a candidate (:func:`admit`; its
    ``candidate_id`` is 0 until the store has one). An intent that keeps the status is an edit
    (:func:`edit`): the candidate's decider stays as it was.
    ``section`` and ``reason`` are ``None`` when the decision leaves them as they are;
    ``clear_reason`` empties the reject reason (any move away from rejected does).
    """

    candidate_id: int
    version: int
    from_status: CandidateStatus | None
    to_status: CandidateStatus
    actor: str
    at: dt.datetime
    note: str | None = None
    section: str | None = None
    reason: str | None = None
    clear_reason: bool = False
    undo_of: int | None = None


def _clean(text: str | None, limit: int, what: str) -> str | None:
    if text is None:
        return None
    text = text.strip() if what in ("note", "summary") else " ".join(text.split())
    if not text:
        return None
    if len(text) > limit:
        raise QueueError(f"the {what} is too long ({len(text)} characters; at most {limit})")
    return text


def decide(
    candidate: CandidateState,
    to: CandidateStatus,
    *,
    actor: str,
    at: dt.datetime,
    seen_version: int,
    note: str | None = None,
    section: str | None = None,
    reason: str | None = None,
    sections: tuple[str, ...] | None = None,
    publish: bool = False,
) -> DecisionIntent:
    """The intent of ``actor`` moving ``candidate`` to ``to``, having seen ``seen_version``.

    Raises :class:`ConflictError` when the candidate changed since the reviewer saw it, and
    :class:`QueueError` for a move the rules do not allow or a section not in ``sections``.
    """
    if not actor.strip():
        raise QueueError("a decision needs the name of who made it")
    if seen_version != candidate.version:
        raise conflict(candidate)
    if not can_move(candidate.status, to, publish=publish):
        raise QueueError(
            f"this item cannot move from {candidate.status} to {to}"
            + (": published items stay published" if candidate.status is S.PUBLISHED else "")
        )
    section = _clean(section, MAX_SECTION, "section")
    if section is not None and to is not S.ACCEPTED:
        raise QueueError("a bulletin section is given only when accepting")
    if section is not None and sections is not None and section not in sections:
        raise QueueError(f"unknown bulletin section {section!r} (sections: {', '.join(sections)})")
    reason = _clean(reason, MAX_REASON, "reason")
    if reason is not None and to is not S.REJECTED:
        raise QueueError("a reason is given only when rejecting")
    return _move(
        candidate,
        to,
        actor=actor,
        at=at,
        note=_clean(note, MAX_NOTE, "note"),
        section=section,
        reason=reason,
        clear_reason=candidate.status is S.REJECTED and to is not S.REJECTED,
    )


def _move(
    candidate: CandidateState, to: CandidateStatus, *, actor: str, at: dt.datetime, **extra: Any
) -> DecisionIntent:
    """The intent moving ``candidate`` (at its version) to ``to``."""
    return DecisionIntent(
        candidate_id=candidate.id,
        version=candidate.version,
        from_status=candidate.status,
        to_status=to,
        actor=actor,
        at=at,
        **extra,
    )


def admit(status: CandidateStatus, *, actor: str, at: dt.datetime) -> DecisionIntent:
    """The decision row that creates a candidate with ``status`` (``new`` for a harvest, what
    an import brings for an import)."""
    return DecisionIntent(
        candidate_id=0, version=0, from_status=None, to_status=status, actor=actor, at=at
    )


def import_move(
    candidate: CandidateState, wanted: CandidateStatus, *, actor: str, at: dt.datetime
) -> DecisionIntent | None:
    """The intent of an import that brings ``wanted`` for an existing candidate: a forward move
    (:data:`IMPORT_FORWARD`), or ``None`` when the candidate stays as it is."""
    if not import_may_move(candidate.status, wanted):
        return None
    return _move(candidate, wanted, actor=actor, at=at)


def publish(candidate: CandidateState, *, actor: str, at: dt.datetime) -> DecisionIntent:
    """The one move a bulletin makes: accepted -> published (:class:`QueueError` otherwise)."""
    return decide(
        candidate, S.PUBLISHED, actor=actor, at=at, seen_version=candidate.version, publish=True
    )


def edit(
    candidate: CandidateState, what: str, *, actor: str, at: dt.datetime, seen_version: int
) -> DecisionIntent:
    """The audit row of an edit of ``what`` ("note", "summary", "note and summary"): the status
    stays; a conflict when the candidate changed since ``seen_version``."""
    if seen_version != candidate.version:
        raise conflict(candidate)
    return _move(candidate, candidate.status, actor=actor, at=at, note=f"edited {what}")


def undo(
    candidate: CandidateState,
    last: LastDecision | None,
    *,
    actor: str,
    at: dt.datetime,
    seen_version: int,
) -> DecisionIntent:
    """The intent that takes ``candidate`` back to where its latest decision found it."""
    if seen_version != candidate.version:
        raise conflict(candidate)
    if last is None or last.from_status is None:
        raise QueueError("nothing to undo: no decision has been made on this item yet")
    if last.to_status is not candidate.status:
        raise QueueError(
            "nothing to undo: this item's last decision has been replaced since; reload the page"
        )
    back = last.from_status
    if not can_move(candidate.status, back):
        raise QueueError(f"this item cannot go back from {candidate.status}")
    return _move(
        candidate,
        back,
        actor=actor,
        at=at,
        note=UNDO_NOTE,
        clear_reason=candidate.status is S.REJECTED,
        undo_of=last.id,
    )


def edit_text(text: str | None, *, what: str) -> str | None:
    """A note or summary as stored: stripped, ``None`` when blank, refused when too long."""
    return _clean(text, MAX_NOTE, what)
