"""What the planner reads: the part of the store one batch of hits can touch, as plain values.

The store (:mod:`harvester.store.ingest_load`) reads these for a whole batch before anything is
decided; :func:`harvester.core.ingest.planner.plan_batch` decides with them and nothing else.

- the stored sightings the hits name (source, source id, origin);
- the owners of the hits' identities (DOI, PMID, PMCID, URL, identical record) and of the works
  their relations name;
- every work a hit's blocking keys find (no cap: a key too common to block with is made more
  selective, :meth:`harvester.core.dedupe.keys.Keys.blocks`; a title's key finds the works of
  the hit's volume and none, of the years around its own,
  :func:`harvester.core.normalise.lookup_finds`), with its stored dedupe keys,
  its fields when a hit is likely to join it and, where its keys must be rebuilt, its fields,
  its sightings' titles and URL identities;
- of the works whose fields were read (the only works a plan changes), the topic's candidates,
  the feed sightings (feed batches) and the links from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harvester.core.dedupe.keys import KEYS_VERSION, Keys
from harvester.core.dedupe.match import Comparisons
from harvester.core.models import CandidateStatus, safe_id

__all__ = [
    "IDENTITY_LIMIT",
    "Identity",
    "KeysDoc",
    "SightingKey",
    "Snapshot",
    "StoredCandidate",
    "StoredSighting",
    "StoredWork",
    "identity_value",
]

Identity = tuple[str, str]
SightingKey = tuple[str, str, str]

#: The width of ``work_identity.value``.
IDENTITY_LIMIT = 512


def identity_value(value: str) -> str:
    """An identity as stored: whole up to the column's width, else its start and a digest (two
    long URLs that share their first 512 characters are still two identities)."""
    return safe_id(value, IDENTITY_LIMIT)


@dataclass(frozen=True, slots=True)
class KeysDoc:
    """A work's stored dedupe keys: the :class:`Keys` of its fields, the title keys of all its
    sightings (``seen``) and its URL identities (``urls``), for a work of ``kind``."""

    kind: str
    seen: tuple[str, ...]
    urls: tuple[str, ...]
    keys: Keys

    def to_document(self) -> dict[str, Any]:
        return {
            "version": KEYS_VERSION,
            "kind": self.kind,
            "seen": list(self.seen),
            "urls": list(self.urls),
            "keys": self.keys.to_json(),
        }

    @classmethod
    def from_document(cls, data: Any) -> KeysDoc | None:
        """The keys of a stored document, or None when it holds none of the current
        :data:`~harvester.core.dedupe.keys.KEYS_VERSION` (they are then rebuilt)."""
        if not isinstance(data, dict) or data.get("version") != KEYS_VERSION:
            return None
        try:
            return cls(
                kind=data["kind"],
                seen=tuple(data["seen"]),
                urls=tuple(data["urls"]),
                keys=Keys.from_json(data["keys"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class StoredWork:
    """A stored work: its merged fields (:data:`harvester.core.merge.MERGED_FIELDS` and
    ``title_key``; None when not read: a work that is only compared needs its keys alone), its
    stored keys (None: to rebuild) and, when given, the titles of its sightings in the order
    they were seen and its URL identities (what a rebuild reads)."""

    id: int
    fields: Mapping[str, Any] | None
    keys: KeysDoc | None
    titles: tuple[str | None, ...] | None = None
    urls: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StoredSighting:
    id: int
    work_id: int
    source: str
    source_id: str
    origin: str
    title: str | None
    url: str | None
    match_reason: str | None

    @property
    def key(self) -> SightingKey:
        return self.source, self.source_id, self.origin


@dataclass(frozen=True, slots=True)
class StoredCandidate:
    id: int
    work_id: int
    status: CandidateStatus
    version: int
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the planner may read (see the module docstring). ``blocks`` lists the works
    each of the hits' lookups finds, by work id."""

    works: Mapping[int, StoredWork] = field(default_factory=dict)
    sightings: Mapping[SightingKey, StoredSighting] = field(default_factory=dict)
    owners: Mapping[Identity, int] = field(default_factory=dict)
    blocks: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    candidates: Mapping[int, StoredCandidate] = field(default_factory=dict)
    entries: Mapping[int, tuple[StoredSighting, ...]] = field(default_factory=dict)
    links: frozenset[tuple[int, int, str]] = frozenset()
    #: The hits' keys compared with stored works' keys so far, for the loader and the planner.
    comparisons: Comparisons = field(default_factory=Comparisons, compare=False, repr=False)
