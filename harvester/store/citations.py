"""A reviewer's correction of a work's citation fields, written to the work.

The decision row (who, when, which fields) and the version check are the caller's, through
:func:`harvester.store.decisions.apply_decision`; this module compares and writes the fields. The
work's metadata source becomes ``reviewer``, which no later harvest or import outranks
(:data:`harvester.core.merge.SOURCE_RANKS`), and its dedupe keys are rebuilt from the new title.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from harvester.core.errors import NotFoundError
from harvester.core.merge import source_rank
from harvester.core.models import Author, DatePrecision, PubDate, WorkKind
from harvester.core.normalise import title_key
from harvester.store.tables import Candidate, Work

__all__ = ["REVIEWER_SOURCE", "changed_fields", "set_citation"]

REVIEWER_SOURCE = "reviewer"


def _work(session: Session, candidate_id: int) -> Work:
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFoundError(f"no candidate {candidate_id}")
    work = session.get(Work, candidate.work_id)
    if work is None:
        raise NotFoundError(f"no work for candidate {candidate_id}")
    return work


def _current(work: Work) -> dict[str, Any]:
    return {
        "title": work.title,
        "authors": tuple(Author.from_dict(a) for a in work.authors or []),
        "journal": work.journal,
        "volume": work.volume,
        "issue": work.issue,
        "pages": work.pages,
        "pub_date": PubDate.from_dict(work.pub_date) if work.pub_date else None,
        "source_name": work.source_name,
        "kind": WorkKind(work.kind),
    }


def changed_fields(session: Session, candidate_id: int, values: Mapping[str, Any]) -> list[str]:
    """The names of the fields ``values`` would change on the candidate's work."""
    current = _current(_work(session, candidate_id))
    changed = []
    for name, value in values.items():
        was = current.get(name)
        same_year = (
            name == "pub_date"
            and was is not None
            and value.precision is DatePrecision.YEAR
            and was.year == value.year
        )
        if same_year:  # the same year typed: the known month and day stay
            continue
        if was != value:
            changed.append(name)
    return changed


def set_citation(
    session: Session, candidate_id: int, values: Mapping[str, Any], *, now: dt.datetime
) -> None:
    """Write ``values`` (citation fields by name) to the candidate's work."""
    work = _work(session, candidate_id)
    for name, value in values.items():
        if name == "authors":
            work.authors = [a.to_dict() for a in value]
        elif name == "pub_date":
            work.pub_date, work.pub_year = value.to_dict(), value.year
        elif name == "kind":
            work.kind = WorkKind(value).value
        else:
            setattr(work, name, value)
    work.title_key = title_key(work.title, WorkKind(work.kind))
    work.dedupe_keys = None  # rebuilt from the corrected fields
    work.metadata_source, work.metadata_rank = REVIEWER_SOURCE, source_rank(REVIEWER_SOURCE)
    work.updated_at = now
    session.flush()
