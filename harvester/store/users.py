"""Web UI accounts, browser sessions, API tokens and failed-login records.

Passwords are hashed with Argon2 (argon2-cffi); session ids and API tokens are random and only
their SHA-256 is stored, so a copy of the database gives none of them away. A session lives in
the database, so it ends for good on sign-out, on a password change and when the account is
disabled, whatever copies of the cookie exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from harvester.core.errors import AuthError, NotFoundError, StoreError
from harvester.store.tables import ApiToken, LoginAttempt, User, WebSession

__all__ = [
    "FailedLogins",
    "UserView",
    "add_token",
    "add_user",
    "authenticate",
    "check_password",
    "clear_failed_logins",
    "disable_user",
    "end_session",
    "end_sessions",
    "failed_logins",
    "find_user",
    "list_users",
    "record_failed_login",
    "session_user",
    "set_password",
    "start_session",
    "token_user",
]

_HASHER = PasswordHasher()
_DUMMY: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash verified when the account does not exist, so a wrong e-mail takes as long as a
    wrong password and timing does not tell which accounts exist."""
    key = id(_HASHER)
    if key not in _DUMMY:
        _DUMMY[key] = _HASHER.hash("not a password of anyone")
    return _DUMMY[key]


MIN_PASSWORD = 10
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
TOKEN_PREFIX = "hvt_"  # noqa: S105 - a prefix that marks harvester tokens, not a secret


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    email: str
    name: str | None
    is_admin: bool
    active: bool
    created_at: dt.datetime


def _view(user: User) -> UserView:
    return UserView(user.id, user.email, user.name, user.is_admin, user.active, user.created_at)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise StoreError(f"{email!r} is not an e-mail address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"the password is too short: at least {MIN_PASSWORD} characters")


def add_user(
    session: Session, email: str, password: str, *, admin: bool, now: dt.datetime
) -> UserView:
    """A new active account; refuses an e-mail already used and a short password."""
    email = normalise_email(email)
    check_password(password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise StoreError(f"an account for {email} already exists")
    user = User(
        email=email,
        password_hash=_HASHER.hash(password),
        is_admin=admin,
        active=True,
        topics=[],
        created_at=now,
    )
    session.add(user)
    session.flush()
    return _view(user)


def list_users(session: Session) -> list[UserView]:
    return [_view(u) for u in session.scalars(select(User).order_by(User.email))]


def find_user(session: Session, user_id: int) -> UserView | None:
    user = session.get(User, user_id)
    return _view(user) if user is not None and user.active else None


def disable_user(session: Session, email: str) -> UserView:
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise NotFoundError(f"no account for {email}")
    user.active = False
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.active = False
    end_sessions(session, user.id)
    session.flush()
    return _view(user)


def set_password(session: Session, email: str, password: str) -> UserView:
    """A new password for the account ``email``; every session it has ends."""
    email = normalise_email(email)
    check_password(password)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise NotFoundError(f"no account for {email}")
    user.password_hash = _HASHER.hash(password)
    end_sessions(session, user.id)
    session.flush()
    return _view(user)


def authenticate(session: Session, email: str, password: str) -> UserView:
    """The active account with this e-mail and password; :class:`AuthError` otherwise (one
    message whatever was wrong)."""
    refused = AuthError("wrong e-mail address or password")
    try:
        email = normalise_email(email)
    except StoreError:
        raise refused from None
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise refused from None
    if user is None or not user.active:
        raise refused
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = _HASHER.hash(password)
    return _view(user)


# ------------------------------------------------------------------------------ login throttle


def record_failed_login(session: Session, email: str, address: str, now: dt.datetime) -> None:
    session.add(LoginAttempt(email=email.strip().lower()[:255], address=address[:64], at=now))
    # keep the table small: attempts older than a day no longer count for anything
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))


@dataclass(frozen=True, slots=True)
class FailedLogins:
    """Failed sign-ins since some time: for this account from this address (and the last of
    them), and from this address for any account."""

    pair: int
    pair_last: dt.datetime | None
    address: int


def failed_logins(session: Session, email: str, address: str, since: dt.datetime) -> FailedLogins:
    """Failed logins since ``since`` from ``address``: for the account ``email``, and in all."""
    email = email.strip().lower()[:255]
    rows = session.execute(
        select(LoginAttempt.email, LoginAttempt.at).where(
            LoginAttempt.at >= since, LoginAttempt.address == address[:64]
        )
    ).all()
    mine = [r.at for r in rows if r.email == email]
    return FailedLogins(len(mine), max(mine) if mine else None, len(rows))


def clear_failed_logins(session: Session, email: str, address: str) -> None:
    """Forget the failed logins of ``email`` from ``address`` (after a successful one)."""
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.email == email.strip().lower()[:255],
            LoginAttempt.address == address[:64],
        )
    )


# ---------------------------------------------------------------------------------- sessions


def start_session(
    session: Session, user_id: int, *, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """A new session for the account ``user_id``, lasting ``lifetime``: the id for the cookie
    (only its hash is stored)."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_token_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def session_user(session: Session, token: str, *, now: dt.datetime) -> UserView | None:
    """The active account of an unexpired session, or None."""
    row = session.execute(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token_hash == _token_hash(token), WebSession.expires_at > now)
    ).scalar_one_or_none()
    return _view(row) if row is not None and row.active else None


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of the account ``user_id`` (password changed, account disabled)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


# ------------------------------------------------------------------------------------ tokens


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(session: Session, name: str, email: str, *, now: dt.datetime) -> str:
    """A new API token acting as the account ``email``; the token is shown once, never stored."""
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    if user is None:
        raise NotFoundError(f"no active account for {email}")
    if not name.strip():
        raise StoreError("a token needs a name (what script uses it)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name.strip()[:255],
            token_hash=_token_hash(token),
            user_id=user.id,
            active=True,
            created_at=now,
        )
    )
    session.flush()
    return token


def token_user(session: Session, token: str) -> UserView:
    """The account an API token acts as; :class:`AuthError` for an unknown or disabled one."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_hash(token))
    ).first()
    if row is None or not row.ApiToken.active or not row.User.active:
        raise AuthError("unknown or disabled API token")
    return _view(row.User)


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0
