"""The blocks a batch's plan looks in: the stored works a lookup finds, and the works the batch
files as it goes.

Pure. A lookup (:func:`~harvester.core.normalise.title_lookups`) is not always a filed key: a
title's lookup finds the keys of its volume and of none, of the years around its own
(:func:`~harvester.core.normalise.lookup_finds`). The snapshot holds what each lookup found in the
store; the works the batch files are kept by block, volume and year, and a lookup keeps those
of its block that :func:`~harvester.core.normalise.place_finds` says it finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harvester.core.normalise import filed_place, place_finds, title_lookup

__all__ = ["BlockIndex"]


class BlockIndex:
    """Lookups' members as the batch sees them; :attr:`filed` the (work, key) pairs to store."""

    def __init__(self, stored: Mapping[str, Sequence[int]]) -> None:
        self._stored = stored
        self._keys: dict[str, list[int]] = {}  # a key of another kind -> works filed
        # a title's block -> volume ("" for none) -> year (None for none) -> works filed
        self._titles: dict[str, dict[str, dict[int | None, list[int]]]] = {}
        self._filed: set[tuple[int, str]] = set()
        self.filed: list[tuple[int, str]] = []

    def works(self, lookups: Iterable[str]) -> set[int]:
        """The works the lookups find, stored or filed by the batch."""
        found: set[int] = set()
        for lookup in lookups:
            found.update(self._stored.get(lookup, ()))
            title = title_lookup(lookup)
            if title is None:
                found.update(self._keys.get(lookup, ()))
                continue
            block, volume, year = title
            for filed_volume, years in self._titles.get(block, {}).items():
                for filed_year, refs in years.items():
                    if place_finds(volume, year, filed_volume, filed_year):
                        found.update(refs)
        return found

    def file(self, ref: int, keys: Iterable[str]) -> None:
        """File work ``ref`` under ``keys`` (a key it has already is stored once)."""
        for key in keys:
            if (ref, key) in self._filed:
                continue
            self._filed.add((ref, key))
            self.filed.append((ref, key))
            place = filed_place(key)
            if place is None:
                self._keys.setdefault(key, []).append(ref)
                continue
            block, volume, year = place
            volumes = self._titles.setdefault(block, {})
            volumes.setdefault(volume, {}).setdefault(year, []).append(ref)
