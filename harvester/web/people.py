"""People: an admin's page to add, disable and enable accounts, give each person a role per
topic (reviewer, editor) or make them an admin, and hand out a password reset link (shown to the
admin, valid for a day); the reset page itself; and the set-up page that makes the first admin
through the one-time link ``harvester serve`` prints on a first start (without the link's token
the page does not exist).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from harvester.core.errors import HarvesterError
from harvester.store import people, users
from harvester.store.tables import User
from harvester.web.auth import AdminUser, check_csrf, csrf_token

router = APIRouter(include_in_schema=False)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _link(request: Request, path: str) -> str:
    base = request.app.state.settings.web.base_url
    return (base.rstrip("/") if base else str(request.base_url).rstrip("/")) + path


def _people_page(
    request: Request,
    user: Any,
    *,
    error: str | None = None,
    notice: str | None = None,
    link: str | None = None,
    status: int = 200,
) -> Response:
    with request.app.state.db.read() as session:
        rows = list(session.scalars(select(User).order_by(User.email)))
        accounts = [
            {
                "id": row.id,
                "email": row.email,
                "is_admin": row.is_admin,
                "active": row.active,
                "created_at": row.created_at,
            }
            for row in rows
        ]
        roles = people.all_roles(session)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "people.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "accounts": accounts,
            "roles": roles,
            "topics": request.app.state.topics.all(),
            "error": error,
            "notice": notice,
            "link": link,
        },
        status_code=status,
    )


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, user: AdminUser) -> Response:
    return _people_page(request, user)


def _account_id(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise HTTPException(404, "There is no such account.") from None
    if not 0 < number < 2**31:
        raise HTTPException(404, "There is no such account.")
    return number


def _roles_from(form: Any, topics: list[Any]) -> dict[str, str | None]:
    return {t.slug: (str(form.get(f"role:{t.slug}") or "") or None) for t in topics}


@router.post("/people")
async def add_person(request: Request, user: AdminUser) -> Response:
    form = await check_csrf(request)
    email = str(form.get("email", ""))[:255]
    admin = bool(form.get("admin"))
    topics = request.app.state.topics.all()
    try:
        with request.app.state.db.write() as session:
            import secrets

            account = users.add_user(
                session, email, secrets.token_urlsafe(24), admin=admin, now=_now()
            )
            people.set_roles(session, account.id, _roles_from(form, topics))
            token = people.issue_reset_link(session, account.id, now=_now())
    except HarvesterError as exc:
        return _people_page(request, user, error=exc.message, status=422)
    return _people_page(
        request,
        user,
        notice=f"Added {account.email}. Send them this link to choose a password "
        "(it works once, for a day):",
        link=_link(request, f"/reset/{token}"),
    )


@router.post("/people/{account_id}")
async def change_person(request: Request, account_id: str, user: AdminUser) -> Response:
    form = await check_csrf(request)
    target = _account_id(account_id)
    action = str(form.get("action", ""))
    topics = request.app.state.topics.all()
    link = None
    try:
        with request.app.state.db.write() as session:
            account = session.get(User, target)
            if account is None:
                raise HTTPException(404, "There is no such account.")
            email = account.email
            if action == "roles":
                people.set_roles(session, target, _roles_from(form, topics))
                make_admin = bool(form.get("admin"))
                if account.is_admin and not make_admin and target == user.id:
                    raise HarvesterError("you cannot take away your own admin rights")
                account.is_admin = make_admin
                notice = f"Saved what {email} may do."
            elif action == "disable":
                if target == user.id:
                    raise HarvesterError("you cannot disable your own account")
                people.disable_user_by_id(session, target)
                notice = f"Disabled {email}: they can no longer sign in."
            elif action == "enable":
                people.enable_user(session, target)
                notice = f"Enabled {email} again."
            elif action == "reset":
                token = people.issue_reset_link(session, target, now=_now())
                link = _link(request, f"/reset/{token}")
                notice = f"A link for {email} to choose a new password (it works once, for a day):"
            else:
                raise HTTPException(400, "Unknown change.")
    except HarvesterError as exc:
        return _people_page(request, user, error=exc.message, status=422)
    return _people_page(request, user, notice=notice, link=link)


# ------------------------------------------------------------------- reset and first admin


def _plain(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        template,
        {"user": None, "csrf": csrf_token(request), **context},
        status_code=status,
    )


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str) -> Response:
    with request.app.state.db.read() as session:
        try:
            email = people.reset_user(session, token[:100], now=_now())
        except HarvesterError as exc:
            return _plain(request, "password.html", {"error": exc.message, "email": None}, 404)
    return _plain(request, "password.html", {"error": None, "email": email, "token": token})


@router.post("/reset/{token}")
async def reset_password(request: Request, token: str) -> Response:
    form = await check_csrf(request)
    password = str(form.get("password", ""))
    if password != str(form.get("again", "")):
        return _plain(
            request,
            "password.html",
            {"error": "The two passwords differ.", "email": "", "token": token},
            422,
        )
    try:
        with request.app.state.db.write() as session:
            email = people.reset_password(session, token[:100], password, now=_now())
    except HarvesterError as exc:
        return _plain(
            request, "password.html", {"error": exc.message, "email": "", "token": token}, 422
        )
    return RedirectResponse(f"/login?email={email}", status_code=303)


@router.get("/setup/{token}", response_class=HTMLResponse)
def setup_page(request: Request, token: str) -> Response:
    with request.app.state.db.read() as session:
        if not people.setup_token_valid(session, token[:100], now=_now()):
            raise HTTPException(404, "Not found")
    return _plain(request, "setup.html", {"error": None, "token": token, "email": ""})


@router.post("/setup/{token}")
async def setup(request: Request, token: str) -> Response:
    form = await check_csrf(request)
    email = str(form.get("email", ""))[:255]
    password = str(form.get("password", ""))
    with request.app.state.db.read() as session:
        if not people.setup_token_valid(session, token[:100], now=_now()):
            raise HTTPException(404, "Not found")
    if password != str(form.get("again", "")):
        return _plain(
            request,
            "setup.html",
            {"error": "The two passwords differ.", "token": token, "email": email},
            422,
        )
    try:
        with request.app.state.db.write() as session:
            account = people.create_first_admin(session, token[:100], email, password, now=_now())
    except HarvesterError as exc:
        return _plain(
            request, "setup.html", {"error": exc.message, "token": token, "email": email}, 422
        )
    request.session.clear()
    request.session["uid"] = account.id
    return RedirectResponse("/", status_code=303)
