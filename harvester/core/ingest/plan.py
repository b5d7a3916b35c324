"""What the planner decides for a batch, as plain values the store applies in one transaction.

A work the batch creates has no id until the store inserts it: it goes by a *reference*,
:data:`NEW_BASE` plus its position, larger than any stored id, so "the older work" (the smaller
id) still means the same; stored works go by their id. The store inserts new works in
reference order and maps every reference in the plan to the id it got.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harvester.core.queue_rules import DecisionIntent

__all__ = [
    "NEW_BASE",
    "CandidateMoves",
    "HitOutcome",
    "NewCandidate",
    "NewSighting",
    "NewWork",
    "Plan",
    "SightingChange",
    "WorkChange",
    "WorkMerge",
]

#: References of works created by the batch start here (far above any real id).
NEW_BASE = 1 << 60


@dataclass(slots=True)
class HitOutcome:
    """What became of one hit: the work it joined or started (None: a deletion notice naming no
    stored work), whether it started it, why (the match reason), the status of its candidate and
    whether it left a new sighting."""

    work_id: int | None
    created: bool
    reason: str
    candidate_status: str | None = None
    new_sighting: bool = False


@dataclass(frozen=True, slots=True)
class NewWork:
    """A work to insert: every column but its id."""

    ref: int
    row: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WorkChange:
    """Columns of a stored work that change (fields, ``title_key``, ``dedupe_keys``,
    ``updated_at``)."""

    work_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewSighting:
    ref: int
    row: Mapping[str, Any]  # every column but work_id and id


@dataclass(frozen=True, slots=True)
class SightingChange:
    """A stored sighting seen again: when, and its new id (a re-issued feed entry) or reason
    (a deletion notice), when they change."""

    sighting_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewCandidate:
    """A candidate to insert for work ``ref``, with the decisions that made it (the first one
    creates it; an import may move it forward later in the same batch)."""

    ref: int
    row: Mapping[str, Any]  # topic, first_run_id, created_at
    intents: tuple[DecisionIntent, ...]


@dataclass(frozen=True, slots=True)
class CandidateMoves:
    """Decisions on a stored candidate, applied only while it is at ``version``."""

    candidate_id: int
    version: int
    intents: tuple[DecisionIntent, ...]


@dataclass(frozen=True, slots=True)
class WorkMerge:
    """Two stored works a bridging record showed to be one: ``merged`` joins ``into``."""

    into: int
    merged: int
    reason: str


@dataclass(slots=True)
class Plan:
    """The whole batch's decisions, in the order the store applies them."""

    new_works: list[NewWork] = field(default_factory=list)
    work_changes: list[WorkChange] = field(default_factory=list)
    new_sightings: list[NewSighting] = field(default_factory=list)
    sighting_changes: list[SightingChange] = field(default_factory=list)
    identities: list[tuple[int, str, str]] = field(default_factory=list)  # ref, kind, value
    block_keys: list[tuple[int, str]] = field(default_factory=list)  # ref, key
    links: list[tuple[int, int, str, dt.datetime]] = field(default_factory=list)
    new_candidates: list[NewCandidate] = field(default_factory=list)
    candidate_moves: list[CandidateMoves] = field(default_factory=list)
    work_merges: list[WorkMerge] = field(default_factory=list)
    outcomes: list[HitOutcome] = field(default_factory=list)
    #: The plan stops before a hit that joins a stored work whose fields were not read.
    fields_wanted: bool = False
