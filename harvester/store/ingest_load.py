"""What a batch of hits can touch, read from the store for the ingest planner.

:func:`load_snapshot` reads, in a few queries for all the hits together, the
:class:`~harvester.core.ingest.snapshot.Snapshot` :func:`~harvester.core.ingest.planner.plan_batch`
decides with: the hits' stored sightings, the owners of their identities, every work behind
their blocking keys (no cap) with its stored keys and, of the works a hit is likely to join,
their fields, their candidates in the topic, their feed entries (for a batch with feed entries)
and their links. Rows are read with Core selects as plain values; the stored keys of a work are
parsed once per process (:data:`KEYS_CACHE`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Table, Text, cast, select
from sqlalchemy.orm import Session

from harvester.core.dedupe.keys import Keys
from harvester.core.ingest import feeds
from harvester.core.ingest.planner import HitFacts, likely_targets
from harvester.core.ingest.snapshot import (
    Identity,
    KeysDoc,
    SightingKey,
    Snapshot,
    StoredCandidate,
    StoredSighting,
    StoredWork,
    identity_value,
)
from harvester.core.ingest.workkeys import RECORD_IDENTITY, relation_ids
from harvester.core.merge import MERGED_FIELDS, source_rank
from harvester.core.models import CandidateStatus, Hit, WorkKind
from harvester.core.normalise import filed_place, lookup_ranges, place_finds, title_lookup
from harvester.store.tables import (
    Base,
    Candidate,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
)

__all__ = ["KEYS_CACHE", "KeysCache", "load_snapshot", "table"]

#: Parsed keys of stored works kept between batches (each about 1 kB).
KEYS_CACHE_SIZE = 65_536
# Ids per IN list when reading rows for many hits or works at once.
_CHUNK = 500
_WORK_COLUMNS = (*MERGED_FIELDS, "title_key")


def table(model: type[Base]) -> Table:
    """The model's table, for Core reads and writes (no per-row ORM bookkeeping)."""
    found = model.__table__
    assert isinstance(found, Table)
    return found


class KeysCache:
    """The stored keys of works, parsed once per process instead of once per batch.

    A work's stored keys are read again by every batch whose hits share a blocking key with it;
    parsing the JSON document each time was most of an ingest's cost in a large store. An entry
    holds the keys with a digest of the document they were parsed from, and is used only while
    the document read from the database has that digest: a document another process (or another
    database) wrote is parsed afresh. Bounded: when full, the oldest quarter is dropped.

    An entry is kept as a tuple of strings, numbers, dates and tuples of those (:func:`_packed`),
    which Python's garbage collector stops watching: kept as objects, tens of thousands of
    entries were walked by every full collection, which with Python's default thresholds (not
    the command's, see :func:`harvester.cli.main.main`) came about once per batch, so each batch
    cost more than the last as the cache filled. A hit costs the :class:`KeysDoc` made from its
    tuple.
    """

    def __init__(self, size: int = KEYS_CACHE_SIZE) -> None:
        self.size = size
        self._entries: dict[int, tuple[bytes, Packed | None]] = {}
        self._lock = threading.Lock()

    def parse(self, work_id: int, document: str | None) -> KeysDoc | None:
        """The keys in ``document`` (a work's ``dedupe_keys`` as stored text), or None when it
        holds none of the current :data:`~harvester.core.dedupe.keys.KEYS_VERSION`."""
        if document is None:
            return None
        digest = hashlib.blake2b(document.encode(), digest_size=16).digest()
        entry = self._entries.get(work_id)
        if entry is not None and entry[0] == digest:
            return None if entry[1] is None else _unpacked(entry[1])
        keys = KeysDoc.from_document(json.loads(document))
        with self._lock:
            if len(self._entries) >= self.size:
                for old in list(self._entries)[: max(1, self.size // 4)]:
                    del self._entries[old]
            self._entries[work_id] = (digest, None if keys is None else _packed(keys))
        return keys

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: A :class:`KeysDoc` as a plain tuple: its kind, titles seen, URLs and the values of its
#: :class:`Keys` in field order, the work's kind by its value.
Packed = tuple[str, tuple[str, ...], tuple[str, ...], tuple[Any, ...]]
_KEY_FIELDS = tuple(f.name for f in dataclasses.fields(Keys))
_KIND_AT = _KEY_FIELDS.index("kind")
_keys: Callable[..., Keys] = Keys  # called with the values of every field, in order


def _packed(doc: KeysDoc) -> Packed:
    values = [getattr(doc.keys, name) for name in _KEY_FIELDS]
    values[_KIND_AT] = doc.keys.kind.value
    return (doc.kind, doc.seen, doc.urls, tuple(values))


def _unpacked(packed: Packed) -> KeysDoc:
    kind, seen, urls, values = packed
    keys = _keys(*values[:_KIND_AT], WorkKind(values[_KIND_AT]), *values[_KIND_AT + 1 :])
    return KeysDoc(kind=kind, seen=seen, urls=urls, keys=keys)


KEYS_CACHE = KeysCache()


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def load_snapshot(
    session: Session,
    hits: Sequence[Hit],
    facts: Sequence[HitFacts],
    topic: str | None,
    *,
    all_fields: bool = False,
) -> Snapshot:
    """Read what ``hits`` (with their ``facts``) can touch (see the module docstring). The fields
    of a work are read when a hit is likely to join it (it owns a hit's identity or sighting),
    of every work with ``all_fields``; a work only compared needs its keys alone."""
    sightings = _sightings(session, hits)
    wanted: set[Identity] = set()
    for hit, fact in zip(hits, facts, strict=True):
        wanted.update((k, identity_value(v)) for k, v in fact.keys.identities())
        if fact.fingerprint is not None:
            wanted.add((RECORD_IDENTITY, fact.fingerprint))
        for relation in hit.relations:
            wanted.update((k, identity_value(v)) for k, v in relation_ids(relation))
    owners = _owners(session, wanted)
    blocks = _blocks(session, {block for fact in facts for block in fact.lookups})
    work_ids = {s.work_id for s in sightings.values()} | set(owners.values())
    for members in blocks.values():
        work_ids.update(members)
    likely = {s.work_id for s in sightings.values()} | set(owners.values())
    works = _works(session, work_ids, work_ids if all_fields else likely, hits)
    light = Snapshot(works=works, blocks=blocks)
    if not all_fields:
        # the works the hits will probably join, by their stored keys: read their fields too
        more = _fields(session, likely_targets(light, facts))
        works.update({i: replace(works[i], fields=f) for i, f in more.items()})
    # A hit only changes a work it joins, whose fields are read (else the plan stops there,
    # ``fields_wanted``): a work only compared needs no candidate, feed entries or links.
    joinable = {work_id for work_id, work in works.items() if work.fields is not None}
    entries: dict[int, tuple[StoredSighting, ...]] = {}
    if any(hit.source == feeds.FEED_SOURCE for hit in hits):
        entries = _entries(session, joinable)
    return Snapshot(
        works=works,
        sightings=sightings,
        owners=owners,
        blocks=blocks,
        candidates=_candidates(session, joinable, topic),
        entries=entries,
        links=_links(session, joinable),
        comparisons=light.comparisons,
    )


def _sighting_columns() -> Any:
    c = table(Sighting).c
    return select(c.id, c.work_id, c.source, c.source_id, c.origin, c.title, c.url, c.match_reason)


def _sightings(session: Session, hits: Sequence[Hit]) -> dict[SightingKey, StoredSighting]:
    wanted: dict[tuple[str, str], set[str]] = {}
    for hit in hits:
        ids = wanted.setdefault((hit.source, hit.origin or ""), set())
        ids.add(hit.source_id)
        if hit.source == feeds.FEED_SOURCE:
            ids.add(feeds.reused_guid_id(hit))
    c = table(Sighting).c
    found: dict[SightingKey, StoredSighting] = {}
    for (source, origin), source_ids in wanted.items():
        for chunk in _chunks(source_ids):
            query = _sighting_columns().where(
                c.source == source, c.origin == origin, c.source_id.in_(chunk)
            )
            for row in session.execute(query):
                sighting = StoredSighting(*row)
                found[sighting.key] = sighting
    return found


def _owners(session: Session, wanted: set[Identity]) -> dict[Identity, int]:
    ids = table(WorkIdentity).c
    by_kind: dict[str, set[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, set()).add(value)
    owners: dict[Identity, int] = {}
    for kind, values in by_kind.items():
        for chunk in _chunks(values):
            query = select(ids.value, ids.work_id).where(ids.kind == kind, ids.value.in_(chunk))
            for value, work_id in session.execute(query):
                owners[(kind, value)] = work_id
    return owners


def _blocks(session: Session, lookups: set[str]) -> dict[str, tuple[int, ...]]:
    """The works each of ``lookups`` finds (:func:`~harvester.core.normalise.lookup_finds`). A
    title's lookup reads the ranges of keys it may find
    (:func:`~harvester.core.normalise.lookup_ranges`), all the batch's in a few queries, and keeps
    the keys of its volumes and years; any other key is read as it is. Those keys compare as
    bytes on either database: SQLite's own collation, and PostgreSQL's pattern operators on an
    index built for them (``text_pattern_ops``), so the database's locale never reorders them."""
    c = table(WorkKey).c
    members: dict[str, set[int]] = {lookup: set() for lookup in lookups}
    exact: list[str] = []
    # each range, with the lookups that read it and the volume and year each looks for
    spans: dict[tuple[str, str], list[tuple[str, str | None, int | None]]] = {}
    for lookup in lookups:
        title = title_lookup(lookup)
        if title is None:
            exact.append(lookup)
            continue
        start, volume, year = title
        for span in lookup_ranges(start, volume):
            spans.setdefault(span, []).append((lookup, volume, year))
    for chunk in _chunks(exact):
        for key, work_id in session.execute(select(c.key, c.work_id).where(c.key.in_(chunk))):
            members[key].add(work_id)
    connection = session.connection()
    dialect = connection.dialect
    for chunk in _chunks(spans):
        # Plain SQL: compiling a statement of hundreds of rows took longer than running it.
        query = _spans_query(len(chunk), dialect.name == "postgresql", dialect.paramstyle)
        values = [value for n, (low, high) in enumerate(chunk) for value in (n, low, high)]
        for n, key, work_id in connection.exec_driver_sql(query, tuple(values)):
            place = filed_place(key)
            if place is None:
                continue
            for lookup, volume, year in spans[chunk[n]]:
                if place_finds(volume, year, place[1], place[2]):
                    members[lookup].add(work_id)
    return {lookup: tuple(sorted(found)) for lookup, found in members.items()}


@functools.lru_cache(maxsize=16)
def _spans_query(count: int, postgresql: bool, paramstyle: str) -> str:
    """The works filed under ``count`` ranges of keys, each row with its range's number. No
    ORDER BY: sorting by work would let the database walk the (work, key) index."""
    mark = "?" if paramstyle == "qmark" else "%s"
    rows = ", ".join([f"({mark}, {mark}, {mark})"] * count)
    at_least, below = ("~>=~", "~<~") if postgresql else (">=", "<")
    # only placeholders and fixed operators are formatted in
    select_part = 'SELECT span.n, work_key."key", work_key.work_id FROM span JOIN work_key'
    on = f'work_key."key" {at_least} span.low AND work_key."key" {below} span.high'
    return f"WITH span (n, low, high) AS (VALUES {rows}) {select_part} ON {on}"  # noqa: S608


def _works(
    session: Session, work_ids: set[int], full: set[int], hits: Sequence[Hit]
) -> dict[int, StoredWork]:
    """The works with their stored keys; with their fields when in ``full``, when their keys
    must be rebuilt (missing, outdated, or a hit of the batch may change the work's kind) and
    then with their sightings' titles and URL identities too."""
    c = table(Work).c
    parse = KEYS_CACHE.parse
    kinds = {(hit.kind.value, source_rank(hit.source)) for hit in hits}
    docs: dict[int, KeysDoc | None] = {}
    rebuild: set[int] = set()
    for chunk in _chunks(work_ids):
        query = select(c.id, cast(c.dedupe_keys, Text), c.kind, c.metadata_rank).where(
            c.id.in_(chunk)
        )
        for work_id, text, kind, rank in session.execute(query).all():
            docs[work_id] = doc = parse(work_id, text)
            if doc is None or any(k != kind and r > rank for k, r in kinds):
                rebuild.add(work_id)
    fields = _fields(session, (full & docs.keys()) | rebuild)
    titles, urls = _sources(session, rebuild)
    return {
        work_id: StoredWork(
            work_id,
            fields.get(work_id),
            doc,
            titles=titles.get(work_id, ()) if work_id in rebuild else None,
            urls=urls.get(work_id, ()) if work_id in rebuild else None,
        )
        for work_id, doc in docs.items()
    }


def _fields(session: Session, work_ids: set[int]) -> dict[int, dict[str, Any]]:
    c = table(Work).c
    columns = [getattr(c, name) for name in _WORK_COLUMNS]
    fields: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(work_ids):
        for work_id, *values in session.execute(select(c.id, *columns).where(c.id.in_(chunk))):
            fields[work_id] = dict(zip(_WORK_COLUMNS, values, strict=True))
    return fields


def _sources(
    session: Session, work_ids: set[int]
) -> tuple[dict[int, tuple[str | None, ...]], dict[int, tuple[str, ...]]]:
    """The titles of the works' sightings (in the order they were seen) and their URL
    identities."""
    titles: dict[int, list[str | None]] = {}
    urls: dict[int, list[str]] = {}
    s, i = table(Sighting).c, table(WorkIdentity).c
    for chunk in _chunks(work_ids):
        for work_id, title in session.execute(
            select(s.work_id, s.title).where(s.work_id.in_(chunk)).order_by(s.id)
        ):
            titles.setdefault(work_id, []).append(title)
        for work_id, value in session.execute(
            select(i.work_id, i.value).where(i.work_id.in_(chunk), i.kind == "url").order_by(i.id)
        ):
            urls.setdefault(work_id, []).append(value)
    return (
        {k: tuple(v) for k, v in titles.items()},
        {k: tuple(v) for k, v in urls.items()},
    )


def _candidates(
    session: Session, work_ids: set[int], topic: str | None
) -> dict[int, StoredCandidate]:
    if topic is None:
        return {}
    c = table(Candidate).c
    found = {}
    for chunk in _chunks(work_ids):
        query = select(c.id, c.work_id, c.status, c.version, c.decided_by).where(
            c.topic == topic, c.work_id.in_(chunk)
        )
        for candidate_id, work_id, status, version, decided_by in session.execute(query):
            found[work_id] = StoredCandidate(
                candidate_id, work_id, CandidateStatus(status), version, decided_by
            )
    return found


def _entries(session: Session, work_ids: set[int]) -> dict[int, tuple[StoredSighting, ...]]:
    """The works' feed sightings, in the order they were seen."""
    c = table(Sighting).c
    found: dict[int, list[StoredSighting]] = {}
    for chunk in _chunks(work_ids):
        query = (
            _sighting_columns()
            .where(c.work_id.in_(chunk), c.source == feeds.FEED_SOURCE)
            .order_by(c.id)
        )
        for row in session.execute(query).all():
            sighting = StoredSighting(*row)
            found.setdefault(sighting.work_id, []).append(sighting)
    return {k: tuple(v) for k, v in found.items()}


def _links(session: Session, work_ids: set[int]) -> frozenset[tuple[int, int, str]]:
    c = table(WorkLink).c
    found: set[tuple[int, int, str]] = set()
    for chunk in _chunks(work_ids):
        query = select(c.work_id, c.other_id, c.relation).where(c.work_id.in_(chunk))
        found.update((a, b, rel) for a, b, rel in session.execute(query))
    return frozenset(found)
