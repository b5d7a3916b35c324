"""The JSON API under /api/: the same queries and decisions as the pages, for scripts.

Scripts authenticate with ``Authorization: Bearer <token>`` (``harvester token add``); the access
rules are the pages' (:mod:`harvester.web.access`): harvest runs are for administrators. A
decision names the candidate ``version`` it was made on; a stale one is refused with 409,
nothing changed. Errors are answered by :mod:`harvester.web.errors`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from harvester.core.models import CandidateView
from harvester.store.candidates import candidate_page, get_candidate, status_counts
from harvester.store.reports import run_page
from harvester.usecases import review
from harvester.web.access import Admin, Reviewer, TopicFromPath, require
from harvester.web.deps import MAX_ID, Db, QueryId, RowId, Topics
from harvester.web.pages import ACTIONS, query_from_params, topic_info

router = APIRouter(prefix="/api", tags=["api"])


class DecisionIn(BaseModel):
    """A decision on one candidate."""

    action: Literal["accept", "reject", "defer", "new", "undo"]
    version: int = Field(
        ge=0, le=MAX_ID, description="the candidate version the decision was made on"
    )
    note: str | None = None
    section: str | None = Field(default=None, description="accept: the bulletin section")
    reason: str | None = Field(default=None, description="reject: why")


def _candidate(view: CandidateView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data["work"]["link"] = view.work.link
    encoded: dict[str, Any] = jsonable_encoder(data)
    return encoded


@router.get("/topics/{slug}/candidates")
def list_candidates(
    user: Reviewer,  # noqa: ARG001 - access rule
    topic: TopicFromPath,
    db: Db,
    status: str = "new",
    source: str | None = None,
    kind: str | None = None,
    found_from: dt.date | None = None,
    found_to: dt.date | None = None,
    q: str | None = None,
    sort: Literal["found", "published", "score"] = "found",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
) -> dict[str, Any]:
    """A page of a topic's candidates, with the same filters as the queue page; pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    params = {
        "status": status,
        "source": source,
        "kind": kind,
        "from": found_from.isoformat() if found_from else None,
        "to": found_to.isoformat() if found_to else None,
        "q": q,
        "sort": sort,
        "cursor": cursor,
    }
    query = query_from_params(topic.slug, params, limit=limit)
    with db.read() as session:
        page = candidate_page(session, query)
        counts = status_counts(session, topic.slug)
    return {
        "items": [_candidate(c) for c in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
        "total_exact": page.total_exact,
        "counts": counts,
    }


@router.get("/candidates/{candidate_id}")
def one_candidate(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    db: Db,
) -> dict[str, Any]:
    """One candidate with its provenance, history and linked works."""
    with db.read() as session:
        found = get_candidate(session, candidate_id)
    require(request, db, user, found.topic)
    return _candidate(found)


@router.post("/candidates/{candidate_id}/decisions")
def post_decision(
    request: Request,
    candidate_id: RowId,
    decision: DecisionIn,
    user: Reviewer,
    db: Db,
    topics: Topics,
) -> dict[str, Any]:
    """Decide on a candidate (or undo its latest decision). 409 when ``version`` is stale."""
    now = dt.datetime.now(dt.UTC)
    with db.read() as session:
        current = get_candidate(session, candidate_id)
    require(request, db, user, current.topic)
    if decision.action == "undo":
        after = review.undo(
            db, candidate_id, actor=user.email, seen_version=decision.version, now=now
        )
    else:
        after = review.decide(
            db,
            candidate_id,
            ACTIONS[decision.action],
            actor=user.email,
            seen_version=decision.version,
            now=now,
            note=decision.note,
            section=decision.section,
            reason=decision.reason,
            sections=topic_info(topics.get(current.topic)).sections,
        )
    return _candidate(after)


@router.get("/runs")
def runs(
    user: Admin,  # noqa: ARG001 - access rule: the runs page's
    db: Db,
    topic: str | None = None,
    before: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Harvest runs, newest first; pass ``next_cursor`` back as ``before``. Administrators
    only, as the runs page."""
    with db.read() as session:
        page = run_page(session, topic=topic, before=before, limit=limit)
    encoded: dict[str, Any] = jsonable_encoder(
        {
            "items": [dataclasses.asdict(r) for r in page.items],
            "next_cursor": page.next_cursor,
            "total": page.total,
        }
    )
    return encoded
