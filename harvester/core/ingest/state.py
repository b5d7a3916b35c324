"""The planner's working state: the works, sightings and candidates a batch has touched so far,
and how they become a :class:`~harvester.core.ingest.plan.Plan` (:func:`assemble`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvester.core.ingest.plan import (
    CandidateMoves,
    NewCandidate,
    NewSighting,
    NewWork,
    Plan,
    SightingChange,
    WorkChange,
)
from harvester.core.ingest.snapshot import KeysDoc, SightingKey
from harvester.core.merge import MERGED_FIELDS
from harvester.core.models import CandidateStatus, Hit
from harvester.core.queue_rules import DecisionIntent

__all__ = ["CandidateDraft", "SightingState", "WorkState", "assemble", "blank_fields"]


@dataclass(slots=True)
class WorkState:
    ref: int
    fields: dict[str, Any]
    doc: KeysDoc | None
    stored_doc: KeysDoc | None
    titles: list[str | None] | None  # the stored sightings' titles, when loaded
    urls: list[str] | None  # the stored URL identities, when loaded
    new: bool
    added_titles: list[str | None] = field(default_factory=list)
    added_urls: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class SightingState:
    ref: int
    id: int | None  # stored sightings only
    source: str
    source_id: str
    origin: str
    title: str | None
    url: str | None
    match_reason: str | None
    last_seen_at: dt.datetime | None = None
    row: dict[str, Any] | None = None  # new sightings: their other columns
    changed: set[str] = field(default_factory=set)

    @property
    def key(self) -> SightingKey:
        return self.source, self.source_id, self.origin


@dataclass(slots=True, eq=False)
class CandidateDraft:
    ref: int
    id: int | None  # stored candidates only
    status: CandidateStatus
    version: int
    decided_by: str | None
    intents: list[DecisionIntent] = field(default_factory=list)
    row: dict[str, Any] | None = None  # new candidates: their other columns


def blank_fields(hit: Hit) -> dict[str, Any]:
    """The fields of a work not yet merged with anything (rank -1 takes every field)."""
    fields: dict[str, Any] = dict.fromkeys(MERGED_FIELDS)
    fields.update(
        kind=hit.kind.value,
        title="",
        authors=[],
        abstract=[],
        publication_types=[],
        mesh=[],
        keywords=[],
        relations=[],
        date_is_fallback=False,
        title_key="",
        metadata_source=hit.source,
        metadata_rank=-1,
    )
    return fields


def assemble(
    plan: Plan,
    *,
    new_works: Sequence[WorkState],
    works: Mapping[int, WorkState],
    sightings: Mapping[int, SightingState],
    new_sightings: Sequence[SightingState],
    candidates: Mapping[int, CandidateDraft | None],
    new_candidates: Sequence[CandidateDraft],
    now: dt.datetime,
) -> Plan:
    """``plan`` (its identities, keys, links, merges and outcomes already in) with the rows and
    changes of the works, the sightings (``sightings``: the stored ones touched, by id) and the
    candidates."""
    for work in new_works:
        row = {name: work.fields[name] for name in (*MERGED_FIELDS, "title_key")}
        row["deleted_at"] = work.fields.get("deleted_at")  # a deletion notice later in the batch
        assert work.doc is not None
        row.update(dedupe_keys=work.doc.to_document(), created_at=now, updated_at=now)
        plan.new_works.append(NewWork(work.ref, row))
    for work in works.values():
        if work.new:
            continue
        values = {name: work.fields[name] for name in work.changed}
        if work.doc is not None and work.doc != work.stored_doc:
            values["dedupe_keys"] = work.doc.to_document()
        if values:
            plan.work_changes.append(WorkChange(work.ref, values))
    for sighting in sightings.values():
        if sighting.changed:
            values = {name: getattr(sighting, name) for name in sorted(sighting.changed)}
            plan.sighting_changes.append(SightingChange(sighting.id or 0, values))
    for sighting in new_sightings:
        row = {
            **(sighting.row or {}),
            "source": sighting.source,
            "source_id": sighting.source_id,
            "origin": sighting.origin,
            "title": sighting.title,
            "url": sighting.url,
            "match_reason": sighting.match_reason,
            "last_seen_at": sighting.last_seen_at,
        }
        plan.new_sightings.append(NewSighting(sighting.ref, row))
    for candidate in new_candidates:
        plan.new_candidates.append(
            NewCandidate(candidate.ref, candidate.row or {}, tuple(candidate.intents))
        )
    for stored in candidates.values():
        if stored is not None and stored.id is not None and stored.intents:
            plan.candidate_moves.append(
                CandidateMoves(stored.id, stored.version, tuple(stored.intents))
            )
    return plan
