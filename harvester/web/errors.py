"""One place where errors become HTTP answers.

The error tree of :mod:`harvester.core.errors` maps to statuses by class (the nearest class in
:data:`STATUSES` wins). The API answers ``{"detail": ...}`` as JSON; a page answers the error
page. A request whose path id no row can have is a 404, a query or form value of the wrong kind
a 422 naming the field; nothing reaches the reader as a traceback.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from harvester.core.errors import (
    AlreadyRunningError,
    AuthError,
    BulletinError,
    ConfigError,
    ConflictError,
    HarvesterError,
    ImportFormatError,
    MailError,
    NotFoundError,
    OutputError,
    QueueError,
    SourceError,
    StoreError,
)
from harvester.web.access import LoginRequired, is_api
from harvester.web.deps import context

log = logging.getLogger(__name__)

#: The HTTP status of each kind of error; subclasses not listed take their parent's.
STATUSES: dict[type[HarvesterError], int] = {
    NotFoundError: 404,
    AlreadyRunningError: 409,
    ConflictError: 409,
    QueueError: 400,
    BulletinError: 400,
    ImportFormatError: 400,
    AuthError: 403,
    SourceError: 502,
    MailError: 502,
    StoreError: 503,
    OutputError: 500,
    ConfigError: 500,
    HarvesterError: 500,
}

_NAMES = {
    "greater_than_equal": "too small",
    "greater_than": "too small",
    "less_than_equal": "too large",
    "less_than": "too large",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "literal_error": "not one of the choices",
}


def status_of(error: HarvesterError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return 500


def error_response(request: Request, status: int, message: str, headers: Any = None) -> Response:
    """``message`` with ``status``: JSON for the API, the error page otherwise."""
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return context(request).templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "user": None},
        status_code=status,
        headers=headers,
    )


def _field_problem(error: dict[str, Any]) -> str:
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    name = ".".join(where) or "value"
    kind = str(error.get("type", ""))
    if kind == "missing":
        return f"{name} is missing"
    if kind in _NAMES:
        return f"{name} is {_NAMES[kind]}"
    return f"{name}: {error.get('msg', 'not valid')}"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(HarvesterError)
    async def harvester_error(request: Request, exc: HarvesterError) -> Response:
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return error_response(
            request, status, _sentence(exc.message) if not is_api(request) else exc.message
        )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse(
                {"detail": exc.detail or "not signed in"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(error.get("loc", ("",))[0] == "path" for error in errors):
            return error_response(
                request,
                404,
                "There is nothing at this address." if not is_api(request) else "not found",
            )
        problems = "; ".join(_field_problem(error) for error in errors[:5])
        if is_api(request):
            return JSONResponse({"detail": problems, "errors": _plain(errors)}, status_code=422)
        return error_response(
            request,
            422,
            f"The request was not understood: {problems}. Reload the page and try again.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _plain(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors without the input echoed back or exception objects."""
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in errors
    ]
