"""The blocks a batch's plan looks in: the stored works a lookup finds, and the works the batch
files as it goes.

Pure. A lookup (:func:`~harvester.core.normalise.title_lookups`) is not always a filed key: a
title's lookup finds the keys of its volume and of none, of the years around its own
(:func:`~harvester.core.normalise.lookup_finds`). The snapshot holds what each lookup found in the
store; a work the batch files is added to every lookup already read that finds it, and to every
one read later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harvester.core.normalise import block_of, lookup_finds

__all__ = ["BlockIndex"]


class BlockIndex:
    """Lookups' members as the batch sees them; :attr:`filed` the (work, key) pairs to store."""

    def __init__(self, stored: Mapping[str, Sequence[int]]) -> None:
        self._stored = stored
        self._members: dict[str, list[int]] = {}
        self._known: dict[str, set[int]] = {}
        self._read: dict[str, list[str]] = {}  # block -> its lookups read so far
        self._added: dict[str, list[tuple[str, int]]] = {}  # block -> (key, work) filed
        self._filed: set[tuple[int, str]] = set()
        self.filed: list[tuple[int, str]] = []

    def members(self, lookup: str) -> list[int]:
        """The works ``lookup`` finds: stored, then filed by the batch (each once)."""
        members = self._members.get(lookup)
        if members is None:
            block = block_of(lookup)
            members = list(self._stored.get(lookup, ()))
            known = set(members)
            for key, ref in self._added.get(block, ()):
                if ref not in known and lookup_finds(lookup, key):
                    known.add(ref)
                    members.append(ref)
            self._members[lookup], self._known[lookup] = members, known
            self._read.setdefault(block, []).append(lookup)
        return members

    def works(self, lookups: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for lookup in lookups:
            found.update(self.members(lookup))
        return found

    def file(self, ref: int, keys: Iterable[str]) -> None:
        """File work ``ref`` under ``keys`` (a key it has already is stored once)."""
        for key in keys:
            if (ref, key) in self._filed:
                continue
            self._filed.add((ref, key))
            self.filed.append((ref, key))
            block = block_of(key)
            self._added.setdefault(block, []).append((key, ref))
            for lookup in self._read.get(block, ()):
                known = self._known[lookup]
                if ref not in known and lookup_finds(lookup, key):
                    known.add(ref)
                    self._members[lookup].append(ref)
