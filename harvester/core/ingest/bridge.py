"""When a record that matches two works equally bridges them into one.

A record can match two stored works equally well (the same title, author and year) when the two
were kept apart only because neither said enough: one lacked the authors, the other the volume.
The record that says both shows they are one work. They are joined only when nothing the two
works both state keeps them apart: no exact id, kind, year (beyond one), volume, issue, first
page, journal or first author that differs, and neither is a notice or a preprint of the other.
The work that was seen first is kept; the merge is recorded and can be undone
(:mod:`harvester.store.merges`).
"""

from __future__ import annotations

from harvester.core.dedupe.keys import Keys
from harvester.core.dedupe.rules import authors_agree, journals_agree
from harvester.core.models import CandidateStatus

__all__ = ["STATUS_ORDER", "may_join", "merged_status"]


def may_join(a: Keys, b: Keys) -> bool:
    """Whether nothing ``a`` and ``b`` both state keeps them apart (see the module docstring)."""
    for name in ("pmid", "doi", "pmcid", "volume", "page"):
        va, vb = getattr(a, name), getattr(b, name)
        if va and vb and va != vb:
            return False
    if a.kind is not b.kind or a.preprint != b.preprint or a.notice != b.notice:
        return False
    if a.year and b.year and abs(a.year - b.year) > 1:
        return False
    if a.issue and b.issue and not set(a.issue) & set(b.issue):
        return False
    if journals_agree(a.journals, b.journals) is False:
        return False
    return not (a.authors and b.authors and not authors_agree(a.authors, b.authors))


#: When two works with a candidate in one topic become one, the candidate keeps the status that
#: says most about what reviewers did: published, then accepted, deferred, rejected (one copy
#: rejected as a duplicate of the other, accepted one, is an accepted article), new.
STATUS_ORDER = (
    CandidateStatus.PUBLISHED,
    CandidateStatus.ACCEPTED,
    CandidateStatus.DEFERRED,
    CandidateStatus.REJECTED,
    CandidateStatus.NEW,
)


def merged_status(kept: CandidateStatus, other: CandidateStatus) -> CandidateStatus:
    """The status of the candidate of two merged works (see :data:`STATUS_ORDER`)."""
    return min(kept, other, key=STATUS_ORDER.index)
