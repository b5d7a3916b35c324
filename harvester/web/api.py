"""The JSON API under /api/: the same queries and decisions as the pages, for scripts.

Scripts authenticate with ``Authorization: Bearer <token>`` (``harvester token add``). A decision
names the candidate ``version`` it was made on; a stale one is refused with 409, nothing changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from harvester.core.errors import ConflictError, NotFoundError, QueueError
from harvester.core.models import CandidateView
from harvester.store.candidates import candidate_page, get_candidate, status_counts
from harvester.store.reports import run_page
from harvester.usecases import review
from harvester.web.auth import ApiUser
from harvester.web.pages import ACTIONS, query_from_params, topic_info

router = APIRouter(prefix="/api", tags=["api"])


class DecisionIn(BaseModel):
    """A decision on one candidate."""

    action: Literal["accept", "reject", "defer", "new", "undo"]
    version: int = Field(description="the candidate version the decision was made on")
    note: str | None = None
    section: str | None = Field(default=None, description="accept: the bulletin section")
    reason: str | None = Field(default=None, description="reject: why")


def _candidate(view: CandidateView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data["work"]["link"] = view.work.link
    return jsonable_encoder(data)  # type: ignore[no-any-return]


@router.get("/topics/{slug}/candidates")
def list_candidates(
    request: Request,
    slug: str,
    user: ApiUser,  # noqa: ARG001 - authentication
    status: str = "new",
    source: str | None = None,
    kind: str | None = None,
    found_from: dt.date | None = None,
    found_to: dt.date | None = None,
    q: str | None = None,
    sort: Literal["found", "published", "score"] = "found",
    cursor: str | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    """A page of a topic's candidates, with the same filters as the queue page; pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    _known_topic(request, slug)
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
    try:
        query = query_from_params(slug, params, limit=limit)
        with request.app.state.db.read() as session:
            page = candidate_page(session, query)
            counts = status_counts(session, slug)
    except QueueError as exc:
        raise HTTPException(400, exc.message) from None
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
    candidate_id: int,
    user: ApiUser,  # noqa: ARG001 - authentication
) -> dict[str, Any]:
    """One candidate with its provenance, history and linked works."""
    with request.app.state.db.read() as session:
        try:
            return _candidate(get_candidate(session, candidate_id))
        except NotFoundError as exc:
            raise HTTPException(404, exc.message) from None


@router.post("/candidates/{candidate_id}/decisions")
def post_decision(
    request: Request, candidate_id: int, decision: DecisionIn, user: ApiUser
) -> dict[str, Any]:
    """Decide on a candidate (or undo its latest decision). 409 when ``version`` is stale."""
    db = request.app.state.db
    now = dt.datetime.now(dt.UTC)
    try:
        with db.read() as session:
            current = get_candidate(session, candidate_id)
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
                sections=_known_topic(request, current.topic).sections,
            )
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None
    except ConflictError as exc:
        raise HTTPException(409, exc.message) from None
    except QueueError as exc:
        raise HTTPException(400, exc.message) from None
    return _candidate(after)


@router.get("/runs")
def runs(
    request: Request,
    user: ApiUser,  # noqa: ARG001 - authentication
    topic: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Harvest runs, newest first; pass ``next_cursor`` back as ``before``."""
    with request.app.state.db.read() as session:
        page = run_page(session, topic=topic, before=before, limit=max(1, min(limit, 200)))
    return jsonable_encoder(  # type: ignore[no-any-return]
        {
            "items": [dataclasses.asdict(r) for r in page.items],
            "next_cursor": page.next_cursor,
            "total": page.total,
        }
    )


def _known_topic(request: Request, slug: str):  # type: ignore[no-untyped-def]
    try:
        return topic_info(request.app.state.topics.get(slug))
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None
