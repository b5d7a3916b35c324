"""The administrators' pages: harvest runs, feed health and accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from harvester.store.digests import needing_attention
from harvester.store.health import open_problems
from harvester.store.reports import feed_health, last_runs, run_page
from harvester.store.users import list_users
from harvester.usecases.digest_send import describe
from harvester.web.access import Admin, csrf_token
from harvester.web.deps import Db, QueryId, Templates

router = APIRouter(include_in_schema=False)

#: A feed failing this many fetches in a row is listed as failing.
FAILING_AFTER = 3


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request, user: Admin, db: Db, templates: Templates, before: QueryId = None
) -> Response:
    with db.read() as session:
        latest = last_runs(session)
        page = run_page(session, before=before, limit=50)
        failing = feed_health(session, min_errors=FAILING_AFTER)
        users = list_users(session)
        problems = open_problems(session)
        digests = [(d, describe(d)) for d in needing_attention(session)]
    return templates.TemplateResponse(
        request,
        "runs.html",
        {
            "user": user,
            "latest": latest,
            "page": page,
            "failing": failing,
            "failing_after": FAILING_AFTER,
            "users": users,
            "problems": problems,
            "digests": digests,
            "csrf": csrf_token(request),
        },
    )
