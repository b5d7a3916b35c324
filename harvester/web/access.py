"""Who may do what in a topic: an admin everything; an editor of the topic its queue, its
settings and its harvests; a reviewer of the topic its queue; anyone else nothing (the topic
answers 404 to them, as if it did not exist)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from harvester.store import people

__all__ = ["can_edit", "role_in", "visible_slugs"]


def _roles(request: Request, user: Any) -> dict[str, str]:
    cache = getattr(request.state, "roles", None)
    if cache is None or cache[0] != user.id:
        with request.app.state.db.read() as session:
            cache = (user.id, people.roles_of(session, user.id))
        request.state.roles = cache
    roles: dict[str, str] = cache[1]
    return roles


def role_in(request: Request, user: Any, slug: str) -> str | None:
    """``admin``, ``editor``, ``reviewer`` or None."""
    if user.is_admin:
        return "admin"
    return _roles(request, user).get(slug)


def can_edit(request: Request, user: Any, slug: str) -> bool:
    return role_in(request, user, slug) in ("admin", "editor")


def require(request: Request, user: Any, slug: str, *, edit: bool = False) -> None:
    """404 for a topic the person has no role in; 403 for a change only editors may make."""
    role = role_in(request, user, slug)
    if role is None:
        raise HTTPException(404, f"There is no topic {slug!r}.")
    if edit and role == "reviewer":
        raise HTTPException(403, "Only an administrator or an editor of this topic can change it.")


def visible_slugs(request: Request, user: Any, slugs: list[str]) -> list[str]:
    if user.is_admin:
        return slugs
    roles = _roles(request, user)
    return [slug for slug in slugs if slug in roles]
