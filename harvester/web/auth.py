"""Sessions, CSRF tokens, login with throttling, and API tokens.

A session cookie (signed, HttpOnly, SameSite=Lax, Secure when the app is served over HTTPS)
holds the account id and a CSRF token. Every form carries the token in a hidden ``csrf`` field
(scripts send it as ``X-CSRF-Token``) and every POST from a page is refused without it. Failed
logins are counted per account and per address; past the limits the login form refuses for a
while, whatever the password. Scripts calling the API send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from harvester.core.errors import AuthError
from harvester.store import users
from harvester.store.users import UserView

router = APIRouter(include_in_schema=False)

THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20


class LoginRequired(Exception):
    """Raised by :func:`page_user` when there is no session; the app redirects to /login."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> FormData:
    """The posted form, when its CSRF token is the session's; 403 otherwise."""
    form = await request.form()
    sent = request.headers.get("x-csrf-token") or form.get("csrf")
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent, expected)
    ):
        raise HTTPException(
            403,
            "This form has expired or did not come from this site. Reload the page and try again.",
        )
    return form


def page_user(request: Request) -> UserView:
    """The signed-in account of a page request; :class:`LoginRequired` without one."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise LoginRequired
    with request.app.state.db.read() as session:
        user = users.find_user(session, user_id)
    if user is None:
        request.session.clear()
        raise LoginRequired
    return user


def admin_user(request: Request) -> UserView:
    user = page_user(request)
    if not user.is_admin:
        raise HTTPException(403, "Only an administrator can see this page.")
    return user


def api_user(request: Request) -> UserView:
    """The account of an API call: a bearer token (or the browser's session, for reads)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with request.app.state.db.read() as session:
            try:
                return users.token_user(session, header[7:].strip())
            except AuthError:
                pass
        raise HTTPException(
            401, "unknown or disabled API token", headers={"WWW-Authenticate": "Bearer"}
        )
    if request.method == "GET" and isinstance(request.session.get("uid"), int):
        try:
            return page_user(request)
        except LoginRequired:
            pass
    raise HTTPException(
        401,
        "an API token is required (Authorization: Bearer ...)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - a query name
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "login.html",
        {"csrf": csrf_token(request), "next": _local(next), "error": None, "email": ""},
    )


@router.post("/login")
async def login(request: Request) -> Response:
    form = await check_csrf(request)
    email = str(form.get("email", ""))[:255]
    password = str(form.get("password", ""))
    address = client_address(request)
    now = dt.datetime.now(dt.UTC)
    db = request.app.state.db
    error = None
    with db.write() as session:
        per_account, per_address = users.failed_logins(
            session, email, address, now - THROTTLE_WINDOW
        )
        if per_account >= MAX_PER_ACCOUNT or per_address >= MAX_PER_ADDRESS:
            error = "Too many failed sign-ins. Wait 15 minutes, then try again."
            status = 429
        else:
            try:
                user = users.authenticate(session, email, password)
            except AuthError as exc:
                users.record_failed_login(session, email, address, now)
                error, status = exc.message[0].upper() + exc.message[1:] + ".", 401
            else:
                users.clear_failed_logins(session, email)
    if error is not None:
        templates = request.app.state.templates
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "login.html",
            {
                "csrf": csrf_token(request),
                "next": _local(str(form.get("next", "/"))),
                "error": error,
                "email": email,
            },
            status_code=status,
        )
    request.session.clear()  # a new session id's worth: no fixation of the old one
    request.session["uid"] = user.id
    csrf_token(request)
    return RedirectResponse(_local(str(form.get("next", "/"))), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _local(path: str) -> str:
    """Only a path on this site, never another host (open redirects)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


PageUser = Annotated[UserView, Depends(page_user)]
AdminUser = Annotated[UserView, Depends(admin_user)]
ApiUser = Annotated[UserView, Depends(api_user)]
