"""Who may do what: one set of rules for the pages and the JSON API.

Every route names one of three rules through the dependency it takes:

- public (no dependency): the sign-in page, ``/healthz`` (status only), the static files;
- :data:`Reviewer`: any signed-in account;
- :data:`Admin`: an administrator (harvest runs, feed health, accounts, people), whether asked
  by a page or the API.

Within a topic, a person's role decides (:func:`role_in`): an admin may do everything; an
*editor* of the topic may review it, change its settings and start its harvests; a *reviewer*
may review it; anyone else does not see it (the topic answers 404, as if it did not exist).
:data:`TopicFromPath` applies that rule to every route with a topic in its path, and
:func:`require` to the routes that find their topic another way (a candidate's, a run's).

An account is found the same way for both: a page by its browser session; the API by an
``Authorization: Bearer`` token, or by the browser session for reads. Sessions are kept in the
database (:mod:`harvester.store.users`): the cookie holds a random id, so signing out, a new
password or a disabled account ends them everywhere. No account is :class:`LoginRequired` (a
page redirects to the sign-in form, the API answers 401); the wrong role is a 403 for both.

Forms carry the session's CSRF token (a hidden ``csrf`` field, or ``X-CSRF-Token`` from
scripts); :data:`CsrfChecked` refuses a POST without it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from harvester.config.settings import Topic
from harvester.core.errors import AuthError, NotFoundError
from harvester.store import people, users
from harvester.store.db import Database
from harvester.store.users import UserView
from harvester.web.deps import AppSettings, Db, Topics

SESSION_LIFETIME = dt.timedelta(hours=12)


class LoginRequired(Exception):
    """No signed-in account: a page redirects to /login, the API answers 401."""

    def __init__(self, detail: str = "not signed in") -> None:
        super().__init__(detail)
        self.detail = detail


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def session_account(request: Request, db: Db) -> UserView | None:
    """The account of the browser session, when it is still open on the server."""
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        return None
    with db.read() as session:
        user = users.session_user(session, sid, now=dt.datetime.now(dt.UTC))
    if user is None:
        request.session.clear()
    return user


def signed_in(request: Request, db: Db) -> UserView:
    """The account making the request (see the module docstring); :class:`LoginRequired`
    without one."""
    if is_api(request):
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            with db.read() as session:
                try:
                    return users.token_user(session, header[7:].strip())
                except AuthError:
                    raise LoginRequired("unknown or disabled API token") from None
        if request.method != "GET":
            raise LoginRequired("an API token is required (Authorization: Bearer ...)")
    user = session_account(request, db)
    if user is None:
        raise LoginRequired(
            "an API token is required (Authorization: Bearer ...)" if is_api(request) else ""
        )
    return user


Reviewer = Annotated[UserView, Depends(signed_in)]


def admin(user: Reviewer) -> UserView:
    if not user.is_admin:
        raise HTTPException(403, "Only an administrator can see this.")
    return user


Admin = Annotated[UserView, Depends(admin)]


def topic_of(request: Request, user: Reviewer, topics: Topics, db: Db, slug: str) -> Topic:
    """The topic named in the path, for an account with a role in it (an unknown topic, and one
    the account has no role in, is a 404)."""
    require(request, db, user, slug)
    return topics.get(slug)


def _roles(request: Request, db: Database, user: UserView) -> dict[str, str]:
    cached = getattr(request.state, "roles", None)
    if cached is None or cached[0] != user.id:
        with db.read() as session:
            cached = (user.id, people.roles_of(session, user.id))
        request.state.roles = cached
    roles: dict[str, str] = cached[1]
    return roles


def role_in(request: Request, db: Database, user: UserView, slug: str) -> str | None:
    """``admin``, ``editor``, ``reviewer``, or None (no access)."""
    if user.is_admin:
        return "admin"
    return _roles(request, db, user).get(slug)


def can_edit(request: Request, db: Database, user: UserView, slug: str) -> bool:
    return role_in(request, db, user, slug) in ("admin", "editor")


def require(
    request: Request, db: Database, user: UserView, slug: str, *, edit: bool = False
) -> str:
    """The account's role in topic ``slug``: 404 without one, 403 when ``edit`` asks for more
    than a reviewer may do."""
    role = role_in(request, db, user, slug)
    if role is None:
        raise NotFoundError(f"unknown topic {slug!r}")
    if edit and role == "reviewer":
        raise HTTPException(403, "Only an administrator or an editor of this topic can change it.")
    return role


def visible_slugs(request: Request, db: Database, user: UserView, slugs: list[str]) -> list[str]:
    """The topics of ``slugs`` the account has a role in."""
    if user.is_admin:
        return slugs
    roles = _roles(request, db, user)
    return [slug for slug in slugs if slug in roles]


TopicFromPath = Annotated[Topic, Depends(topic_of)]


async def check_csrf(request: Request) -> None:
    """Refuse (403) a form whose CSRF token is not the session's."""
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


CsrfChecked = Annotated[None, Depends(check_csrf)]


def client_address(request: Request, settings: AppSettings) -> str:
    """The client's address: the peer's, or, when the peer is one of ``[web] trusted_proxies``,
    the nearest address in ``X-Forwarded-For`` that is not a trusted proxy (the header's other
    entries may be forged). ``harvester serve`` gives uvicorn the same rule."""
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(settings.web.trusted_proxies)
    if not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


ClientAddress = Annotated[str, Depends(client_address)]


def _networks(items: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in items]


def _in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
