"""The web application: the review queue for librarians and the JSON API for scripts.

``create_app(settings, db)`` builds it; ``harvester serve`` runs it under uvicorn. Nothing but
the login page, the static files and ``/healthz`` answers without a session (or, under /api/, a
token). Every response carries a Content Security Policy that allows no inline script and no
other origin: the page's one script and stylesheet ship in the package.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from harvester import __version__
from harvester.config.settings import Settings
from harvester.config.topics import Topics
from harvester.store.db import Database
from harvester.store.topics import DatabaseTopics
from harvester.web import api, api_topics, auth, bulletins, pages, people, runs, topic_pages
from harvester.web.render import make_templates

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SESSION_HOURS = 12


def create_app(settings: Settings, db: Database, *, topics: Topics | None = None) -> FastAPI:
    """The app on ``db``, with the topics stored in it."""
    app = FastAPI(
        title="harvester review queue API",
        version=__version__,
        description="Candidates, decisions and harvest runs. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `harvester token add`).",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.topics = topics or DatabaseTopics(db)
    app.state.templates = make_templates()
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
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=https,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(topic_pages.router)
    app.include_router(people.router)
    app.include_router(bulletins.router)
    app.include_router(runs.router)
    app.include_router(api.router)
    app.include_router(api_topics.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        with db.read() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(user: auth.ApiUser) -> dict[str, Any]:  # noqa: ARG001
        return app.openapi()

    @app.exception_handler(auth.LoginRequired)
    async def login_required(request: Request, _exc: auth.LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "error.html",
            {"status": exc.status_code, "message": exc.detail, "user": None},
            status_code=exc.status_code,
        )

    return app
