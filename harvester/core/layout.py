"""The bulletin's layout rules (pure): which section an entry is in, its order there and how a
reviewer's move is applied (the period is :attr:`harvester.core.bulletin.BulletinDoc.period`).

The store (:mod:`harvester.store.bulletins`) reads and writes; this module decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from harvester.core.bulletin import BulletinDoc, BulletinItem, SectionSpec
from harvester.core.citation import sort_key

__all__ = ["Placement", "arrange", "move", "ordered_items", "section_of"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an entry goes: the intent the store applies after a move."""

    entry_id: int
    section: str
    position: int


def section_of(item: BulletinItem, sections: Sequence[SectionSpec]) -> SectionSpec:
    """The entry's own section when it names one of the bulletin's, else the first section that
    takes its kind, else the first section."""
    for spec in sections:
        if item.section is not None and spec.title == item.section:
            return spec
    for spec in sections:
        if item.kind in spec.kinds:
            return spec
    return sections[0]


def _order(item: BulletinItem) -> tuple[int, int, tuple[str, str, str], int]:
    # entries placed by hand (position > 0) first in their order; the rest alphabetically
    return (0 if item.position > 0 else 1, item.position, sort_key(item), item.entry_id)


def arrange(doc: BulletinDoc) -> list[tuple[SectionSpec, list[BulletinItem]]]:
    """The sections in the configured order with their entries in order (empty ones too)."""
    groups: dict[str, list[BulletinItem]] = {spec.title: [] for spec in doc.sections}
    for item in doc.items:
        groups[section_of(item, doc.sections).title].append(item)
    return [(spec, sorted(groups[spec.title], key=_order)) for spec in doc.sections]


def ordered_items(doc: BulletinDoc) -> list[BulletinItem]:
    """Every entry in reading order, each with its section filled in."""
    return [replace(item, section=spec.title) for spec, items in arrange(doc) for item in items]


def move(doc: BulletinDoc, entry_id: int, section: str, index: int) -> list[Placement]:
    """Put entry ``entry_id`` at ``index`` (0-based, clamped) of ``section``; returns the
    placements of every entry of the sections involved, numbered from 1 so that the order
    shown is the order kept."""
    titles = [spec.title for spec in doc.sections]
    if section not in titles:
        raise ValueError(f"unknown section {section!r} (sections: {', '.join(titles)})")
    layout = {spec.title: [i.entry_id for i in items] for spec, items in arrange(doc)}
    source = next((title for title, ids in layout.items() if entry_id in ids), None)
    if source is None:
        raise ValueError(f"entry {entry_id} is not in this bulletin")
    layout[source].remove(entry_id)
    target = layout[section]
    target.insert(max(0, min(index, len(target))), entry_id)
    touched = {source, section}
    return [
        Placement(entry_id=eid, section=title, position=number)
        for title in titles
        if title in touched
        for number, eid in enumerate(layout[title], start=1)
    ]
