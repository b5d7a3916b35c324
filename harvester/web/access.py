"""Who may do what: one set of rules for the pages and the JSON API.

Every route names one of three rules through the dependency it takes:

- public (no dependency): the sign-in page, ``/healthz`` (status only), the static files;
- :data:`Reviewer`: any signed-in account;
- :data:`Admin`: an administrator (harvest runs, feed health, accounts), whether asked by a
  page or the API.

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
from harvester.core.errors import AuthError
from harvester.store import users
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


def topic_of(user: Reviewer, topics: Topics, slug: str) -> Topic:  # noqa: ARG001 - access first
    """The topic named in the path, for a signed-in account (an unknown one is a 404)."""
    return topics.get(slug)


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
