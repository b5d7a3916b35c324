"""What one :func:`~harvester.store.works.ingest_hits` call reads once and writes once.

A batch reads, in a few queries for all its hits together, what the hits can touch: their stored
sightings, the owners of their identities, the works behind their blocking keys and those works'
dedupe keys and candidates. Each hit then works against those rows plus an index of what the
earlier hits of the batch added, so a hit sees exactly what it would have seen had each earlier
hit been stored (and committed) on its own. New rows are written at the end, in one bulk insert
per table, in the order the hits created them, so ids come out as they would one by one.

A work the batch creates has no id until then: it goes by a *reference*, ``NEW_BASE`` plus its
position, larger than any stored id, so "the older work" (the smaller id) still means the same.
Stored works go by their id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, cast, func, insert, select
from sqlalchemy.orm import Session, selectinload

from harvester.core.dedupe.keys import KEYS_VERSION, Keys
from harvester.core.models import FIELD_LIMITS, Hit, safe_id
from harvester.store.tables import (
    Base,
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
)

#: References of works created by the batch start here (far above any real id).
NEW_BASE = 1 << 60
#: A blocking key shared by more works than this ("Editorial", a prolific author's year) is too
#: common to tell works apart: it is passed over, and the hit's other keys and identities decide.
#: Such a key gains no further members either (they would never be read), so the cost of one hit
#: stays bounded however large the store grows.
MAX_BLOCK = 100
# Ids per IN list when reading rows for many hits or works at once.
_CHUNK = 500
IDENTITY_LIMIT = 512  # work_identity.value

#: Parsed keys of stored works kept between batches (each about 1 kB).
KEYS_CACHE_SIZE = 65_536

Identity = tuple[str, str]
SightingKey = tuple[str, str, str]


class KeysCache:
    """The :class:`Keys` of stored works, parsed once per process instead of once per batch.

    A work's stored keys are read again by every batch whose hits share a blocking key with it;
    parsing the JSON document each time was most of an ingest's cost in a large store. An entry
    holds the keys with a digest of the document they were parsed from, and is used only while
    the document read from the database has that digest: a document another process (or another
    database) wrote is parsed afresh. Bounded: when full, the oldest quarter is dropped.
    """

    def __init__(self, size: int = KEYS_CACHE_SIZE) -> None:
        self.size = size
        self._entries: dict[int, tuple[bytes, Keys | None]] = {}
        self._lock = threading.Lock()

    def parse(self, work_id: int, document: str | None) -> Keys | None:
        """The keys in ``document`` (a work's ``dedupe_keys`` as stored text), or None when it
        holds none of the current :data:`~harvester.core.dedupe.keys.KEYS_VERSION`."""
        if document is None:
            return None
        digest = hashlib.blake2b(document.encode(), digest_size=16).digest()
        entry = self._entries.get(work_id)
        if entry is not None and entry[0] == digest:
            return entry[1]
        data = json.loads(document)
        keys = (
            Keys.from_json(data["keys"])
            if isinstance(data, dict) and data.get("version") == KEYS_VERSION
            else None
        )
        with self._lock:
            if len(self._entries) >= self.size:
                for old in list(self._entries)[: max(1, self.size // 4)]:
                    del self._entries[old]
            self._entries[work_id] = (digest, keys)
        return keys

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


KEYS_CACHE = KeysCache()


def identity_value(value: str) -> str:
    """An identity as stored: whole up to the column's width, else its start and a digest (two
    long URLs that share their first 512 characters are still two identities)."""
    return safe_id(value, IDENTITY_LIMIT)


def sighting_key(hit: Hit) -> SightingKey:
    return hit.source, hit.source_id, hit.origin or ""


@dataclass(slots=True, eq=False)
class PendingSighting:
    """A sighting this batch adds (the attributes the ingest reads and changes are Sighting's)."""

    ref: int
    source: str
    source_id: str
    origin: str
    title: str | None
    url: str | None
    match_reason: str
    last_seen_at: dt.datetime
    row: dict[str, Any]


@dataclass(slots=True, eq=False)
class PendingCandidate:
    ref: int
    status: str
    row: dict[str, Any]
    id: int | None = None


AnySighting = Sighting | PendingSighting
AnyCandidate = Candidate | PendingCandidate


def sighting_ref(sighting: AnySighting) -> int:
    return sighting.ref if isinstance(sighting, PendingSighting) else sighting.work_id


@dataclass(slots=True)
class IngestBatch:
    session: Session
    topic: str | None
    sightings: dict[SightingKey, AnySighting] = field(default_factory=dict)
    owners: dict[Identity, int] = field(default_factory=dict)  # by stored identity value
    block_counts: dict[str, int] = field(default_factory=dict)
    block_members: dict[str, list[int]] = field(default_factory=dict)
    keys: dict[int, Keys] = field(default_factory=dict)
    stored_keys: dict[int, Keys | None] = field(default_factory=dict)  # None: to rebuild
    works: dict[int, Work] = field(default_factory=dict)
    refs: dict[int, int] = field(default_factory=dict)  # id(Work object) -> reference
    new_works: list[Work] = field(default_factory=list)
    new_sightings: list[PendingSighting] = field(default_factory=list)
    sightings_of: dict[int, list[PendingSighting]] = field(default_factory=dict)
    new_identities: list[tuple[int, str, str]] = field(default_factory=list)
    urls_of: dict[int, list[str]] = field(default_factory=dict)
    new_keys: list[tuple[int, str]] = field(default_factory=list)
    links: set[tuple[int, int, str]] = field(default_factory=set)
    new_links: list[tuple[int, int, str, dt.datetime]] = field(default_factory=list)
    candidates: dict[int, AnyCandidate | None] = field(default_factory=dict)
    # (work id, source) -> its stored sightings by that source: (origin, url, sighting id)
    entries: dict[tuple[int, str], list[tuple[str, str | None, int]]] = field(default_factory=dict)
    new_candidates: list[PendingCandidate] = field(default_factory=list)
    decisions: list[tuple[AnyCandidate, dict[str, Any]]] = field(default_factory=list)

    # ---------------------------------------------------------------------------- reading

    def load(self, hits: list[Hit], keys: list[Keys], relations: Iterable[Identity]) -> None:
        """Read what ``hits`` (with their ``keys``) can touch, a few queries for all of them."""
        self._load_sightings(hits)
        wanted = {(k, identity_value(v)) for ks in keys for k, v in ks.identities()}
        wanted |= {(k, identity_value(v)) for k, v in relations}
        self._load_owners(wanted)
        self._load_works(set(self.owners.values()))
        self._load_blocks({block for ks in keys for block in ks.blocks()})
        works = set(self.owners.values())
        for members in self.block_members.values():
            works.update(members)
        self._load_stored_keys(works)
        seen = {s.work_id for s in self.sightings.values() if isinstance(s, Sighting)}
        self._load_candidates(seen | set(self.owners.values()))

    def _chunks(self, values: Iterable[Any]) -> Iterable[list[Any]]:
        ordered = sorted(values)
        for start in range(0, len(ordered), _CHUNK):
            yield ordered[start : start + _CHUNK]

    def _load_sightings(self, hits: list[Hit]) -> None:
        wanted: dict[tuple[str, str], set[str]] = {}
        for hit in hits:
            wanted.setdefault((hit.source, hit.origin or ""), set()).add(hit.source_id)
        for (source, origin), source_ids in wanted.items():
            for ids in self._chunks(source_ids):
                query = (
                    select(Sighting)
                    .where(
                        Sighting.source == source,
                        Sighting.origin == origin,
                        Sighting.source_id.in_(ids),
                    )
                    .options(selectinload(Sighting.work))
                )
                for sighting in self.session.scalars(query):
                    self.sightings[(sighting.source, sighting.source_id, sighting.origin)] = (
                        sighting
                    )
                    self.works[sighting.work_id] = sighting.work

    def _load_owners(self, wanted: set[Identity]) -> None:
        ids = _table(WorkIdentity)  # Core columns: plain rows, no ORM result processing
        by_kind: dict[str, set[str]] = {}
        for kind, value in wanted:
            by_kind.setdefault(kind, set()).add(value)
        for kind, values in by_kind.items():
            for chunk in self._chunks(values):
                query = select(ids.c.value, ids.c.work_id).where(
                    ids.c.kind == kind, ids.c.value.in_(chunk)
                )
                for value, work_id in self.session.execute(query):
                    self.owners[(kind, value)] = work_id

    def _load_works(self, work_ids: set[int]) -> None:
        """The works owning the hits' identities: the ones most hits that merge join."""
        for chunk in self._chunks(work_ids - self.works.keys()):
            for work in self.session.scalars(select(Work).where(Work.id.in_(chunk))):
                self.works[work.id] = work

    def _load_blocks(self, blocks: set[str]) -> None:
        keys = _table(WorkKey).c
        for chunk in self._chunks(blocks):
            query = select(keys.key, func.count()).where(keys.key.in_(chunk)).group_by(keys.key)
            self.block_counts.update({row[0]: row[1] for row in self.session.execute(query)})
        usable = [key for key in blocks if self.block_counts.get(key, 0) <= MAX_BLOCK]
        for key in usable:
            self.block_members[key] = []
        for chunk in self._chunks(usable):
            query = select(keys.key, keys.work_id).where(keys.key.in_(chunk)).order_by(keys.work_id)
            members = self.block_members
            for key, work_id in self.session.execute(query).all():
                members[key].append(work_id)

    def _load_stored_keys(self, work_ids: set[int]) -> None:
        parse = KEYS_CACHE.parse
        works = _table(Work).c
        for chunk in self._chunks(work_ids):
            query = select(works.id, cast(works.dedupe_keys, Text)).where(works.id.in_(chunk))
            self.stored_keys.update(
                {
                    work_id: parse(work_id, text)
                    for work_id, text in self.session.execute(query).all()
                }
            )

    def stored(self, ref: int) -> Keys | None:
        """The stored keys of work ``ref`` (read now unless :meth:`load` read them), or None
        when it has none of the current version."""
        if ref not in self.stored_keys:
            text = self.session.scalar(select(cast(Work.dedupe_keys, Text)).where(Work.id == ref))
            self.stored_keys[ref] = KEYS_CACHE.parse(ref, text)
        return self.stored_keys[ref]

    def _load_candidates(self, work_ids: set[int]) -> None:
        if self.topic is None:
            return
        for chunk in self._chunks(work_ids):
            for work_id in chunk:
                self.candidates[work_id] = None
            query = select(Candidate).where(
                Candidate.topic == self.topic, Candidate.work_id.in_(chunk)
            )
            for candidate in self.session.scalars(query):
                self.candidates[candidate.work_id] = candidate

    # ------------------------------------------------------------------------ the works

    def ref(self, work: Work) -> int:
        return self.refs.get(id(work)) or work.id

    def work(self, ref: int) -> Work:
        work = self.works.get(ref)
        if work is None:
            work = self.session.get_one(Work, ref)
            self.works[ref] = work
        return work

    def add_work(self, work: Work) -> int:
        ref = NEW_BASE + len(self.new_works)
        self.new_works.append(work)
        self.works[ref] = work
        self.refs[id(work)] = ref
        return ref

    def owners_of(self, identities: Iterable[Identity]) -> dict[Identity, int]:
        """The works owning any of ``identities`` (as dedupe gives them), by identity."""
        found = {}
        for kind, value in identities:
            owner = self.owners.get((kind, identity_value(value)))
            if owner is not None:
                found[(kind, value)] = owner
        return found

    def block_works(self, blocks: Iterable[str]) -> set[int]:
        """The works sharing a usable blocking key."""
        found: set[int] = set()
        for key in blocks:
            if self.block_counts.get(key, 0) <= MAX_BLOCK:
                found.update(self.block_members.get(key, ()))
        return found

    def title_and_url_sources(self, ref: int) -> tuple[list[str | None], list[str]]:
        """The titles of a work's sightings (in the order they were seen) and its URL
        identities, stored and added by this batch."""
        titles: list[str | None] = []
        urls: list[str] = []
        if ref < NEW_BASE:
            titles += self.session.scalars(
                select(Sighting.title).where(Sighting.work_id == ref).order_by(Sighting.id)
            )
            urls += self.session.scalars(
                select(WorkIdentity.value)
                .where(WorkIdentity.work_id == ref, WorkIdentity.kind == "url")
                .order_by(WorkIdentity.id)
            )
        titles += [s.title for s in self.sightings_of.get(ref, ())]
        urls += self.urls_of.get(ref, [])
        return titles, urls

    # ------------------------------------------------------------------------ new rows

    def add_sighting(self, sighting: PendingSighting) -> None:
        self.new_sightings.append(sighting)
        self.sightings_of.setdefault(sighting.ref, []).append(sighting)
        self.sightings[(sighting.source, sighting.source_id, sighting.origin)] = sighting

    def same_entry(self, ref: int, source: str, origin: str, url: str) -> AnySighting | None:
        """The work's first sighting by ``source`` and ``origin`` with link ``url``, if any."""
        if ref < NEW_BASE:
            if (ref, source) not in self.entries:
                # Read once per batch, as plain rows: the works owning the hits' identities
                # (where a re-issued entry's link usually leads) together, any other alone.
                owners = {w for w in self.owners.values() if w < NEW_BASE}
                self._load_entries(owners if ref in owners else {ref}, source)
            entries = self.entries[(ref, source)]
            first = next((i for o, u, i in entries if o == origin and u == url), None)
            if first is not None:
                return self.session.get_one(Sighting, first)
        for pending in self.sightings_of.get(ref, ()):
            if pending.source == source and pending.origin == origin and pending.url == url:
                return pending
        return None

    def _load_entries(self, work_ids: set[int], source: str) -> None:
        """The stored sightings by ``source`` of the works (those not read yet)."""
        wanted = {w for w in work_ids if (w, source) not in self.entries}
        for work_id in wanted:
            self.entries[(work_id, source)] = []
        table = _table(Sighting).c
        for chunk in self._chunks(wanted):
            query = (
                select(table.work_id, table.origin, table.url, table.id)
                .where(table.work_id.in_(chunk), table.source == source)
                .order_by(table.id)
            )
            for work_id, origin, url, sighting_id in self.session.execute(query).all():
                self.entries[(work_id, source)].append((origin, url, sighting_id))

    def add_identities(self, ref: int, identities: list[Identity]) -> None:
        for kind, value in identities:
            stored = identity_value(value)
            self.owners[(kind, stored)] = ref
            self.new_identities.append((ref, kind, stored))
            if kind == "url":
                self.urls_of.setdefault(ref, []).append(stored)

    def add_blocks(self, ref: int, blocks: list[str], *, new_work: bool) -> None:
        """Give the work the blocking keys it lacks (a key already too common is not added)."""
        for key in blocks:
            count = self.block_counts.get(key, 0)
            if count > MAX_BLOCK:
                continue
            members = self.block_members.setdefault(key, [])
            if not new_work and ref in members:
                continue
            members.append(ref)
            self.block_counts[key] = count + 1
            self.new_keys.append((ref, key))

    def add_link(self, ref: int, other: int, relation: str, now: dt.datetime) -> None:
        if ref == other or (ref, other, relation) in self.links:
            return
        self.links.add((ref, other, relation))
        if ref < NEW_BASE and other < NEW_BASE:
            exists = self.session.scalar(
                select(WorkLink.id).where(
                    WorkLink.work_id == ref,
                    WorkLink.other_id == other,
                    WorkLink.relation == relation,
                )
            )
            if exists is not None:
                return
        self.new_links.append((ref, other, relation, now))

    def candidate(self, ref: int) -> AnyCandidate | None:
        if ref not in self.candidates:
            found = None
            if ref < NEW_BASE and self.topic is not None:
                found = self.session.scalar(
                    select(Candidate).where(Candidate.topic == self.topic, Candidate.work_id == ref)
                )
            self.candidates[ref] = found
        return self.candidates[ref]

    def add_candidate(self, candidate: PendingCandidate) -> None:
        self.candidates[candidate.ref] = candidate
        self.new_candidates.append(candidate)

    # ---------------------------------------------------------------------------- writing

    def write(self) -> dict[int, int]:
        """Store everything the batch changed; return the ids of the works it created by their
        references."""
        session = self.session
        ids: dict[int, int] = {}
        if self.new_works:
            columns = [c.key for c in Work.__table__.columns if c.key != "id"]
            rows = [{name: getattr(work, name) for name in columns} for work in self.new_works]
            returned = session.execute(
                insert(_table(Work)).returning(_table(Work).c.id, sort_by_parameter_order=True),
                rows,
            )
            for position, work_id in enumerate(returned.scalars()):
                ids[NEW_BASE + position] = work_id
        session.flush()  # changes to stored works, sightings and candidates

        def real(ref: int) -> int:
            return ids.get(ref, ref)

        if self.new_sightings:
            session.execute(
                insert(_table(Sighting)),
                [
                    {
                        **s.row,
                        "work_id": real(s.ref),
                        "source_id": s.source_id,
                        "match_reason": s.match_reason,
                        "last_seen_at": s.last_seen_at,
                    }
                    for s in self.new_sightings
                ],
            )
        if self.new_identities:
            session.execute(
                insert(_table(WorkIdentity)),
                [{"work_id": real(r), "kind": k, "value": v} for r, k, v in self.new_identities],
            )
        if self.new_keys:
            session.execute(
                insert(_table(WorkKey)),
                [{"work_id": real(r), "key": key} for r, key in self.new_keys],
            )
        if self.new_links:
            session.execute(
                insert(_table(WorkLink)),
                [
                    {"work_id": real(a), "other_id": real(b), "relation": rel, "created_at": at}
                    for a, b, rel, at in self.new_links
                ],
            )
        if self.new_candidates:
            returned = session.execute(
                insert(_table(Candidate)).returning(
                    _table(Candidate).c.id, sort_by_parameter_order=True
                ),
                [
                    {**c.row, "work_id": real(c.ref), "status": c.status}
                    for c in self.new_candidates
                ],
            )
            for candidate, candidate_id in zip(
                self.new_candidates, returned.scalars(), strict=True
            ):
                candidate.id = candidate_id
        if self.decisions:
            session.execute(
                insert(_table(Decision)),
                [{**row, "candidate_id": c.id} for c, row in self.decisions],
            )
        return ids


def _table(model: type[Base]) -> Table:
    """The model's table: rows go in as Core inserts (the ORM's bulk insert adds per-row
    bookkeeping these plain rows do not need; column defaults and types apply alike)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


__all__ = [
    "FIELD_LIMITS",
    "MAX_BLOCK",
    "NEW_BASE",
    "AnyCandidate",
    "AnySighting",
    "KEYS_CACHE",
    "IngestBatch",
    "KeysCache",
    "PendingCandidate",
    "PendingSighting",
    "identity_value",
    "sighting_key",
    "sighting_ref",
]
