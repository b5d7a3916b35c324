"""Reading a topic's review queue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from harvester.models import CandidateStatus
from harvester.store.tables import Candidate, Work


def list_candidates(
    session: Session,
    *,
    topic: str | None = None,
    status: CandidateStatus | None = None,
    limit: int | None = None,
) -> Sequence[Candidate]:
    """Candidates with their works and sightings loaded, newest first."""
    query = (
        select(Candidate)
        .join(Work)
        .options(selectinload(Candidate.work).selectinload(Work.sightings))
        .order_by(Candidate.created_at.desc(), Candidate.id.desc())
    )
    if topic is not None:
        query = query.where(Candidate.topic == topic)
    if status is not None:
        query = query.where(Candidate.status == status.value)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()
