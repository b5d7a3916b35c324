"""People and what they may do: a role per topic (reviewer, editor), accounts enabled again,
and one-time links (the first admin's set-up link, a password reset valid for a day).

A one-time link's token is random; only its SHA-256 is stored, and it works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from harvester.core.errors import AuthError, NotFoundError, StoreError
from harvester.store import users
from harvester.store.tables import OneTimeToken, TopicRole, User

__all__ = [
    "ROLES",
    "create_first_admin",
    "enable_user",
    "grant_all",
    "issue_reset_link",
    "issue_setup_token",
    "reset_password",
    "roles_of",
    "set_roles",
    "setup_token_valid",
]

ROLES = ("reviewer", "editor")
RESET_VALID = dt.timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def roles_of(session: Session, user_id: int) -> dict[str, str]:
    """The person's role per topic slug."""
    rows = session.execute(
        select(TopicRole.topic, TopicRole.role).where(TopicRole.user_id == user_id)
    )
    return {str(topic): str(role) for topic, role in rows}


def all_roles(session: Session) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for user_id, topic, role in session.execute(
        select(TopicRole.user_id, TopicRole.topic, TopicRole.role)
    ):
        found.setdefault(user_id, {})[topic] = role
    return found


def set_roles(session: Session, user_id: int, roles: Mapping[str, str | None]) -> None:
    """Set the person's role in each topic of ``roles`` (None or "" removes it)."""
    if session.get(User, user_id) is None:
        raise NotFoundError(f"no account {user_id}")
    for topic, role in roles.items():
        session.execute(
            delete(TopicRole).where(TopicRole.user_id == user_id, TopicRole.topic == topic)
        )
        if role:
            if role not in ROLES:
                raise StoreError(f"{role!r} is not a role (reviewer or editor)")
            session.add(TopicRole(user_id=user_id, topic=topic, role=role))
    session.flush()


def grant_all(session: Session, topics: list[str], role: str = "reviewer") -> None:
    """Give every active person who is not an admin ``role`` in ``topics`` (where they have no
    role yet): what reviewers could do before topics had roles."""
    for user in session.scalars(select(User).where(User.is_admin.is_(False))):
        have = roles_of(session, user.id)
        set_roles(session, user.id, {t: role for t in topics if t not in have})


def enable_user(session: Session, user_id: int) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no account {user_id}")
    user.active = True


def issue_reset_link(session: Session, user_id: int, *, now: dt.datetime) -> str:
    """A token for a one-time link that sets a new password, valid for a day; earlier unused
    links of the account stop working."""
    if session.get(User, user_id) is None:
        raise NotFoundError(f"no account {user_id}")
    session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == "reset",
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        OneTimeToken(
            token_hash=_hash(token),
            purpose="reset",
            user_id=user_id,
            created_at=now,
            expires_at=now + RESET_VALID,
        )
    )
    return token


def _live(session: Session, token: str, purpose: str, now: dt.datetime) -> OneTimeToken:
    row = session.get(OneTimeToken, _hash(token)) if token else None
    expired = row is not None and row.expires_at is not None and row.expires_at <= now
    if row is None or row.purpose != purpose or row.used_at is not None or expired:
        raise AuthError(
            "this link has expired or was used already; ask an administrator for a new one"
        )
    return row


def reset_user(session: Session, token: str, *, now: dt.datetime) -> str:
    """The e-mail of the account a live reset link is for."""
    row = _live(session, token, "reset", now)
    user = session.get(User, row.user_id)
    if user is None:
        raise AuthError("this link has expired or was used already")
    return user.email


def reset_password(session: Session, token: str, password: str, *, now: dt.datetime) -> str:
    """Set the password of the link's account (and enable it); the link is used up. Returns
    the account's e-mail."""
    row = _live(session, token, "reset", now)
    user = session.get(User, row.user_id)
    if user is None:
        raise AuthError("this link has expired or was used already")
    users.set_password(session, user.email, password)  # ends the account's sessions
    user.active = True
    row.used_at = now
    return user.email


def issue_setup_token(session: Session, *, now: dt.datetime) -> str | None:
    """On a database with no accounts, a new set-up token (earlier ones stop working); None when
    accounts exist."""
    if session.scalar(select(func.count(User.id))):
        return None
    session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.purpose == "setup", OneTimeToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(OneTimeToken(token_hash=_hash(token), purpose="setup", created_at=now))
    return token


def setup_token_valid(session: Session, token: str, *, now: dt.datetime) -> bool:
    if session.scalar(select(func.count(User.id))):
        return False
    try:
        _live(session, token, "setup", now)
    except AuthError:
        return False
    return True


def create_first_admin(
    session: Session, token: str, email: str, password: str, *, now: dt.datetime
) -> users.UserView:
    """The first account, an admin, made through the set-up link (which is then used up)."""
    if not setup_token_valid(session, token, now=now):
        raise AuthError("this set-up link has expired or was used already")
    row = _live(session, token, "setup", now)
    user = users.add_user(session, email, password, admin=True, now=now)
    row.used_at = now
    return user
