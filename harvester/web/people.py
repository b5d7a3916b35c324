"""People: an admin's page to add, disable and enable accounts, give each person a role per
topic (reviewer, editor) or make them an admin, and hand out a password reset link (shown to the
admin, valid for a day); the reset page itself; and the set-up page that makes the first admin
through the one-time link ``harvester serve`` prints on a first start (without the link's token
the page does not exist).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select

from harvester.core.errors import HarvesterError
from harvester.store import people, users
from harvester.store.db import Database
from harvester.store.tables import User
from harvester.web.access import SESSION_LIFETIME, Admin, CsrfChecked, csrf_token
from harvester.web.deps import AppSettings, Db, RowId, Templates, Topics

router = APIRouter(include_in_schema=False)

TOKEN = 100  # longer than any token issued


class PersonForm(BaseModel):
    email: str = Field(max_length=255)
    admin: bool = False
    roles: list[str] = Field(default_factory=list, description="topic=role pairs")


class ChangeForm(BaseModel):
    action: Literal["roles", "disable", "enable", "reset"]
    admin: bool = False
    roles: list[str] = Field(default_factory=list, description="topic=role pairs")


class PasswordForm(BaseModel):
    password: str = Field(max_length=1000)
    again: str = Field(max_length=1000)


class SetupForm(PasswordForm):
    email: str = Field(max_length=255)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _roles(pairs: list[str], slugs: list[str]) -> dict[str, str | None]:
    """``topic=role`` pairs for the known topics; a topic not named loses its role."""
    chosen = dict(pair.partition("=")[::2] for pair in pairs if "=" in pair)
    return {slug: chosen.get(slug) or None for slug in slugs}


def _link(request: Request, base_url: str | None, path: str) -> str:
    return (base_url.rstrip("/") if base_url else str(request.base_url).rstrip("/")) + path


def _people_page(
    request: Request,
    user: Any,
    db: Database,
    templates: Jinja2Templates,
    topics: Any,
    *,
    error: str | None = None,
    notice: str | None = None,
    link: str | None = None,
    status: int = 200,
) -> Response:
    with db.read() as session:
        accounts = [
            {
                "id": row.id,
                "email": row.email,
                "is_admin": row.is_admin,
                "active": row.active,
                "created_at": row.created_at,
            }
            for row in session.scalars(select(User).order_by(User.email))
        ]
        roles = people.all_roles(session)
    return templates.TemplateResponse(
        request,
        "people.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "accounts": accounts,
            "roles": roles,
            "topics": topics.all(),
            "error": error,
            "notice": notice,
            "link": link,
        },
        status_code=status,
    )


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request, user: Admin, db: Db, templates: Templates, topics: Topics
) -> Response:
    return _people_page(request, user, db, templates, topics)


@router.post("/people")
def add_person(
    request: Request,
    user: Admin,
    db: Db,
    templates: Templates,
    topics: Topics,
    settings: AppSettings,
    _csrf: CsrfChecked,
    form: Annotated[PersonForm, Form()],
) -> Response:
    try:
        with db.write() as session:
            account = users.add_user(
                session, form.email, secrets.token_urlsafe(24), admin=form.admin, now=_now()
            )
            people.set_roles(session, account.id, _roles(form.roles, topics.slugs()))
            token = people.issue_reset_link(session, account.id, now=_now())
    except HarvesterError as exc:
        return _people_page(request, user, db, templates, topics, error=exc.message, status=422)
    return _people_page(
        request,
        user,
        db,
        templates,
        topics,
        notice=f"Added {account.email}. Send them this link to choose a password "
        "(it works once, for a day):",
        link=_link(request, settings.web.base_url, f"/reset/{token}"),
    )


@router.post("/people/{account_id}")
def change_person(
    request: Request,
    account_id: RowId,
    user: Admin,
    db: Db,
    templates: Templates,
    topics: Topics,
    settings: AppSettings,
    _csrf: CsrfChecked,
    form: Annotated[ChangeForm, Form()],
) -> Response:
    link = None
    try:
        with db.write() as session:
            account = session.get(User, account_id)
            if account is None:
                raise HTTPException(404, "There is no such account.")
            email = account.email
            if form.action == "roles":
                if account.is_admin and not form.admin and account.id == user.id:
                    raise HarvesterError("you cannot take away your own admin rights")
                people.set_roles(session, account_id, _roles(form.roles, topics.slugs()))
                account.is_admin = form.admin
                notice = f"Saved what {email} may do."
            elif form.action == "disable":
                if account.id == user.id:
                    raise HarvesterError("you cannot disable your own account")
                users.disable_user(session, email)
                notice = f"Disabled {email}: they can no longer sign in."
            elif form.action == "enable":
                people.enable_user(session, account_id)
                notice = f"Enabled {email} again."
            else:
                token = people.issue_reset_link(session, account_id, now=_now())
                link = _link(request, settings.web.base_url, f"/reset/{token}")
                notice = f"A link for {email} to choose a new password (it works once, for a day):"
    except HarvesterError as exc:
        return _people_page(request, user, db, templates, topics, error=exc.message, status=422)
    return _people_page(request, user, db, templates, topics, notice=notice, link=link)


# ------------------------------------------------------------------- reset and first admin


def _plain(
    request: Request,
    templates: Jinja2Templates,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {"user": None, "csrf": csrf_token(request), **context},
        status_code=status,
    )


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str, db: Db, templates: Templates) -> Response:
    with db.read() as session:
        try:
            email = people.reset_user(session, token[:TOKEN], now=_now())
        except HarvesterError as exc:
            return _plain(
                request,
                templates,
                "reset_password.html",
                {"error": exc.message, "email": None},
                404,
            )
    return _plain(request, templates, "reset_password.html", {"error": None, "email": email})


@router.post("/reset/{token}")
def reset_password(
    request: Request,
    token: str,
    db: Db,
    templates: Templates,
    _csrf: CsrfChecked,
    form: Annotated[PasswordForm, Form()],
) -> Response:
    if form.password != form.again:
        error = "The two passwords differ."
        return _plain(request, templates, "reset_password.html", {"error": error, "email": ""}, 422)
    try:
        with db.write() as session:
            email = people.reset_password(session, token[:TOKEN], form.password, now=_now())
    except HarvesterError as exc:
        context = {"error": exc.message, "email": ""}
        return _plain(request, templates, "reset_password.html", context, 422)
    return RedirectResponse(f"/login?email={email}", status_code=303)


@router.get("/setup/{token}", response_class=HTMLResponse)
def setup_page(request: Request, token: str, db: Db, templates: Templates) -> Response:
    with db.read() as session:
        if not people.setup_token_valid(session, token[:TOKEN], now=_now()):
            raise HTTPException(404, "Not found")
    return _plain(request, templates, "setup.html", {"error": None, "email": ""})


@router.post("/setup/{token}")
def setup(
    request: Request,
    token: str,
    db: Db,
    templates: Templates,
    _csrf: CsrfChecked,
    form: Annotated[SetupForm, Form()],
) -> Response:
    with db.read() as session:
        if not people.setup_token_valid(session, token[:TOKEN], now=_now()):
            raise HTTPException(404, "Not found")
    context = {"email": form.email}
    if form.password != form.again:
        return _plain(
            request, templates, "setup.html", {**context, "error": "The two passwords differ."}, 422
        )
    try:
        with db.write() as session:
            account = people.create_first_admin(
                session, token[:TOKEN], form.email, form.password, now=_now()
            )
            sid = users.start_session(session, account.id, now=_now(), lifetime=SESSION_LIFETIME)
    except HarvesterError as exc:
        return _plain(request, templates, "setup.html", {**context, "error": exc.message}, 422)
    request.session.clear()
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse("/", status_code=303)
