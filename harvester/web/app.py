"""The web application: the review queue for librarians and the JSON API for scripts.

``create_app(settings, db)`` builds it; ``harvester serve`` runs it under uvicorn. Who may see
what is decided in :mod:`harvester.web.access` (one set of rules for pages and API); errors become
answers in :mod:`harvester.web.errors`. Nothing but the login page, the static files and
``/healthz`` (its status only; the details for administrators) answers without a session (or,
under /api/, a token). Every response carries a Content Security Policy that allows no inline
script and no other origin: the page's one script and stylesheet ship in the package.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from harvester import __version__
from harvester.config.settings import Settings
from harvester.config.topics import Topics
from harvester.store.db import Database
from harvester.store.topics import DatabaseTopics
from harvester.web import (
    add,
    api,
    api_topics,
    auth,
    bulletins,
    errors,
    pages,
    people,
    runs,
    topic_pages,
)
from harvester.web.access import Reviewer, session_account
from harvester.web.deps import Db, WebContext
from harvester.web.render import make_templates

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def create_app(
    settings: Settings,
    db: Database,
    *,
    topics: Topics | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """The app on ``db``, with the topics stored in it; ``health`` is the
    service's report for ``/healthz`` (without it, whether the database answers)."""
    app = FastAPI(
        title="harvester review queue API",
        version=__version__,
        description="Candidates, decisions and harvest runs. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `harvester token add`).",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = WebContext(
        db=db,
        settings=settings,
        topics=topics or DatabaseTopics(db),
        templates=make_templates(),
        health=health,
    )
    secret = settings.web.secret_key
    if not secret:
        log.warning("HARVESTER_WEB__SECRET_KEY is not set: sessions end when the service restarts")
        secret = secrets.token_urlsafe(32)
    https = bool(settings.web.base_url and settings.web.base_url.startswith("https://"))

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if "content-security-policy" in response.headers:
            # a response with its own, stricter policy (the bulletin preview, framed by its page)
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        else:
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="harvester_session",
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=https,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(add.router)
    app.include_router(bulletins.router)
    app.include_router(runs.router)
    app.include_router(topic_pages.router)
    app.include_router(people.router)
    app.include_router(api.router)
    app.include_router(api_topics.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request, db: Db) -> Response:
        """``{"status": ...}`` for anyone (200, or 503 when the database does not answer); the
        service's details (database, scheduler owner, next run, last failure) for administrators."""
        if health is not None:
            report = health()
        else:
            report = {"status": "ok", "database": "ok"}
            try:
                with db.read() as session:
                    session.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001 - reported, never raised
                report = {"status": "error", "database": f"unreachable: {type(exc).__name__}"}
        status = 200 if report.get("status") == "ok" else 503
        viewer = session_account(request, db) if report.get("status") == "ok" else None
        body = report if viewer is not None and viewer.is_admin else {"status": report["status"]}
        return JSONResponse(body, status_code=status)

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(user: Reviewer) -> dict[str, Any]:  # noqa: ARG001 - access rule
        return app.openapi()

    errors.install(app)
    return app
