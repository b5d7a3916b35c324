"""Signing in and out, changing one's password, and the sign-in throttle.

Signing in starts a session kept in the database (:mod:`harvester.store.users`); signing out
ends it there, so a copy of the cookie opens nothing afterwards. A new password ends every
session of the account but the one that set it.

Failed sign-ins are counted per account *and* address together, with a growing delay (OWASP's
Authentication Cheat Sheet): after :data:`FREE_TRIES` failures that pair waits
:data:`FIRST_DELAY`, doubling with each further failure up to :data:`MAX_DELAY`. Someone
guessing elsewhere therefore never locks the real account holder out at their own address. An
address that fails :data:`MAX_PER_ADDRESS` times within :data:`ADDRESS_WINDOW`, whatever the
accounts, is refused for that while (password spraying). The address is the client's as
:func:`harvester.web.access.client_address` finds it: proxy headers count only from
``[web] trusted_proxies``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from harvester.core.errors import AuthError, StoreError
from harvester.store import users
from harvester.store.users import FailedLogins
from harvester.web.access import (
    SESSION_LIFETIME,
    ClientAddress,
    CsrfChecked,
    Reviewer,
    csrf_token,
)
from harvester.web.deps import Db, Templates

__all__ = ["SESSION_LIFETIME", "retry_after", "router"]

router = APIRouter(include_in_schema=False)

FREE_TRIES = 5
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
PAIR_WINDOW = dt.timedelta(days=1)
ADDRESS_WINDOW = dt.timedelta(minutes=15)
MAX_PER_ADDRESS = 20


def retry_after(failed: FailedLogins, now: dt.datetime) -> dt.timedelta | None:
    """How long this account and address must still wait before another try, or None."""
    if failed.address >= MAX_PER_ADDRESS:
        return ADDRESS_WINDOW
    if failed.pair < FREE_TRIES or failed.pair_last is None:
        return None
    delay = min(FIRST_DELAY * 2 ** (failed.pair - FREE_TRIES), MAX_DELAY)
    left = failed.pair_last + delay - now
    return left if left > dt.timedelta(0) else None


def _wait_text(wait: dt.timedelta) -> str:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


class LoginForm(BaseModel):
    email: str = ""
    password: str = ""
    next: str = "/"


class PasswordForm(BaseModel):
    current: str = ""
    new: str = ""
    confirm: str = ""


@router.get("/login")
def login_page(request: Request, templates: Templates, next: str = "/") -> Response:  # noqa: A002 - a query name
    return templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": csrf_token(request), "next": _local(next), "error": None, "email": ""},
    )


@router.post("/login")
def login(
    request: Request,
    _csrf: CsrfChecked,
    form: Annotated[LoginForm, Form()],
    db: Db,
    templates: Templates,
    address: ClientAddress,
) -> Response:
    email = form.email[:255]
    now = dt.datetime.now(dt.UTC)
    error, status, headers = None, 200, {}
    with db.write() as session:
        failed = users.failed_logins(session, email, address, now - PAIR_WINDOW)
        recent = users.failed_logins(session, email, address, now - ADDRESS_WINDOW)
        wait = retry_after(FailedLogins(failed.pair, failed.pair_last, recent.address), now)
        if wait is not None:
            error = f"Too many failed sign-ins. Wait {_wait_text(wait)}, then try again."
            status, headers = 429, {"Retry-After": str(int(wait.total_seconds()) + 1)}
        else:
            try:
                user = users.authenticate(session, email, form.password)
            except AuthError:
                users.record_failed_login(session, email, address, now)
                error, status = "Wrong e-mail address or password.", 401
            else:
                users.clear_failed_logins(session, email, address)
                sid = users.start_session(session, user.id, now=now, lifetime=SESSION_LIFETIME)
    if error is not None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf": csrf_token(request),
                "next": _local(form.next),
                "error": error,
                "email": email,
            },
            status_code=status,
            headers=headers,
        )
    request.session.clear()  # a new session: no fixation of the old one
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse(_local(form.next), status_code=303)


@router.post("/logout")
def logout(request: Request, _csrf: CsrfChecked, db: Db) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        with db.write() as session:
            users.end_session(session, sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_page(request: Request, user: Reviewer, templates: Templates) -> Response:
    return templates.TemplateResponse(
        request, "password.html", {"user": user, "csrf": csrf_token(request), "error": None}
    )


@router.post("/account/password")
def change_password(
    request: Request,
    user: Reviewer,
    _csrf: CsrfChecked,
    form: Annotated[PasswordForm, Form()],
    db: Db,
    templates: Templates,
) -> Response:
    now = dt.datetime.now(dt.UTC)
    error = None
    if form.new != form.confirm:
        error = "The new password and its confirmation differ."
    else:
        with db.write() as session:
            try:
                users.authenticate(session, user.email, form.current)
            except AuthError:
                error = "The current password is wrong."
            else:
                try:
                    users.set_password(session, user.email, form.new)
                except StoreError as exc:
                    error = exc.message[0].upper() + exc.message[1:] + "."
                else:
                    sid = users.start_session(session, user.id, now=now, lifetime=SESSION_LIFETIME)
    if error is not None:
        return templates.TemplateResponse(
            request,
            "password.html",
            {"user": user, "csrf": csrf_token(request), "error": error},
            status_code=400,
        )
    request.session["sid"] = sid
    request.session["flash"] = {
        "text": "Password changed; every other session of this account has ended.",
        "error": False,
    }
    return RedirectResponse("/", status_code=303)


def _local(path: str) -> str:
    """Only a path on this site, never another host (open redirects)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
