"""The JSON API for topics, harvests and people: what the topic and people pages do, for
scripts. A topic is the same fields as a topic file, as JSON; it is checked by the same rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

import tomlkit
from fastapi import APIRouter, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy import select

from harvester.config.settings import parse_topic
from harvester.core.errors import ConflictError, HarvesterError, NotFoundError
from harvester.store import people
from harvester.store import topics as store
from harvester.store.reports import run_page
from harvester.store.tables import User
from harvester.web.access import Reviewer, require, role_in, visible_slugs
from harvester.web.deps import Db, RowId, Topics
from harvester.web.topic_pages import Jobs

router = APIRouter(prefix="/api", tags=["topics"])


class TopicIn(BaseModel):
    """A topic's settings: the tables and keys of a topic file (``topic``, ``pubmed``,
    ``match``, ``feeds``, ``schedule``, ``digest``, ``bulletin``, ``review``)."""

    settings: dict[str, Any] = Field(description="the topic file's content as JSON")
    version: int | None = Field(
        default=None, description="the version this change was made on (refused if stale)"
    )


class RolesIn(BaseModel):
    admin: bool | None = None
    roles: dict[str, Literal["reviewer", "editor"] | None] = Field(
        default_factory=dict, description="topic slug to role (null removes it)"
    )


def _without_nulls(value: Any) -> Any:
    """TOML has no null: a key set to null is left out (its default applies)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def _topic_json(row: store.StoredTopic) -> dict[str, Any]:
    try:
        topic = parse_topic(row.document, f"topic {row.slug}", default_slug=row.slug)
        settings: Any = topic.model_dump(mode="json", exclude={"path"})
        problem = None
    except HarvesterError as exc:
        settings, problem = None, exc.message
    return {
        "slug": row.slug,
        "version": row.version,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
        "settings": settings,
        "problem": problem,
        "document": row.document,
    }


@router.get("/topics")
def list_topics(request: Request, user: Reviewer, db: Db) -> list[dict[str, Any]]:
    """The topics this account may see."""
    with db.read() as session:
        rows = store.stored_topics(session)
    shown = set(visible_slugs(request, db, user, [row.slug for row in rows]))
    return [jsonable_encoder(_topic_json(row)) for row in rows if row.slug in shown]


@router.get("/topics/{slug}")
def get_topic(request: Request, slug: str, user: Reviewer, db: Db) -> dict[str, Any]:
    require(request, db, user, slug)
    with db.read() as session:
        row = store.stored_topic(session, slug)
    if row is None:
        raise HTTPException(404, f"no topic {slug!r}")
    return jsonable_encoder(_topic_json(row))  # type: ignore[no-any-return]


@router.put("/topics/{slug}")
def put_topic(request: Request, slug: str, body: TopicIn, user: Reviewer, db: Db) -> dict[str, Any]:
    """Create or change a topic (editors of the topic and admins; only admins create)."""
    with db.read() as session:
        exists = store.stored_topic(session, slug) is not None
    if exists:
        require(request, db, user, slug, edit=True)
    elif not user.is_admin:
        raise HTTPException(403, "only an administrator can add a topic")
    settings = dict(body.settings)
    meta = dict(settings.get("topic") or {})
    if meta.get("slug", slug) != slug:
        raise HTTPException(422, f"the settings name topic {meta.get('slug')!r}, not {slug!r}")
    meta["slug"] = slug
    settings["topic"] = meta
    try:
        document = tomlkit.dumps(_without_nulls(settings))
    except (TypeError, ValueError) as exc:
        raise HTTPException(422, f"the settings cannot be written as a topic file: {exc}") from None
    try:
        with db.write() as session:
            store.save_topic(
                session,
                document,
                actor=user.email,
                now=dt.datetime.now(dt.UTC),
                origin="the settings sent",
                slug=slug,
                expected_version=body.version if exists else None,
            )
            row = store.stored_topic(session, slug)
    except ConflictError as exc:
        raise HTTPException(409, exc.message) from None
    except HarvesterError as exc:
        raise HTTPException(422, exc.message) from None
    assert row is not None
    return jsonable_encoder(_topic_json(row))  # type: ignore[no-any-return]


@router.delete("/topics/{slug}", status_code=204)
def delete_topic(slug: str, user: Reviewer, db: Db) -> None:
    """Remove a topic's settings (admins); its works, queue and bulletins stay."""
    if not user.is_admin:
        raise HTTPException(403, "only an administrator can remove a topic")
    try:
        with db.write() as session:
            store.delete_topic(session, slug, actor=user.email, now=dt.datetime.now(dt.UTC))
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None


@router.get("/topics/{slug}/changes")
def topic_changes(request: Request, slug: str, user: Reviewer, db: Db) -> list[dict[str, Any]]:
    require(request, db, user, slug)
    with db.read() as session:
        changes = store.topic_changes(session, slug, limit=200)
    return jsonable_encoder([dataclasses.asdict(c) for c in changes])  # type: ignore[no-any-return]


@router.post("/topics/{slug}/harvest", status_code=202)
def harvest_topic(
    request: Request,
    slug: str,
    user: Reviewer,
    db: Db,
    topics: Topics,
    jobs: Jobs,
    source: str | None = None,
) -> dict[str, Any]:
    """Start a harvest of the topic (all sources, or ``source``) in the service; 409 while one
    is running. Follow it with ``GET /api/harvests/{id}`` or the runs it lists."""
    require(request, db, user, slug, edit=True)
    try:
        topic = topics.get(slug)
        job = jobs.start(topic, by=user.email, sources=[source] if source else None)
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None
    except HarvesterError as exc:
        raise HTTPException(409, exc.message) from None
    return jsonable_encoder(dataclasses.asdict(job))  # type: ignore[no-any-return]


@router.get("/harvests/{job_id}")
def harvest_status(
    request: Request, job_id: RowId, user: Reviewer, db: Db, jobs: Jobs
) -> dict[str, Any]:
    """A harvest started through the API or the topic page: its state and progress per source."""
    job = jobs.get(job_id)
    if job is None or role_in(request, db, user, job.topic) is None:
        raise HTTPException(404, "no such harvest")
    return jsonable_encoder(dataclasses.asdict(job))  # type: ignore[no-any-return]


@router.get("/runs/{run_id}")
def get_run(request: Request, run_id: RowId, user: Reviewer, db: Db) -> dict[str, Any]:
    """One harvest run: topic, source, status, counts, error (admins and the topic's
    editors)."""
    with db.read() as session:
        page = run_page(session, before=run_id + 1, limit=1)
    run = page.items[0] if page.items and page.items[0].id == run_id else None
    if run is None or role_in(request, db, user, run.topic) not in ("admin", "editor"):
        raise HTTPException(404, "no such run")
    return jsonable_encoder(dataclasses.asdict(run))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------- people


def _admin(user: Any) -> None:
    if not user.is_admin:
        raise HTTPException(403, "only an administrator can see and change people")


@router.get("/users")
def list_people(user: Reviewer, db: Db) -> list[dict[str, Any]]:
    """Every account with what it may do (admins)."""
    _admin(user)
    with db.read() as session:
        roles = people.all_roles(session)
        rows = list(session.scalars(select(User).order_by(User.email)))
        return [
            {
                "id": row.id,
                "email": row.email,
                "admin": row.is_admin,
                "active": row.active,
                "roles": roles.get(row.id, {}),
            }
            for row in rows
        ]


@router.put("/users/{user_id}/roles")
def put_roles(user_id: RowId, body: RolesIn, user: Reviewer, db: Db) -> dict[str, Any]:
    """Set an account's roles per topic (and whether it is an admin)."""
    _admin(user)
    with db.write() as session:
        account = session.get(User, user_id)
        if account is None:
            raise HTTPException(404, "no such account")
        if body.admin is not None:
            if account.id == user.id and not body.admin:
                raise HTTPException(422, "you cannot take away your own admin rights")
            account.is_admin = body.admin
        for slug in body.roles:
            if store.stored_topic(session, slug) is None:
                raise HTTPException(422, f"no topic {slug!r}")
        people.set_roles(session, user_id, dict(body.roles))
        return {
            "id": user_id,
            "admin": account.is_admin,
            "roles": people.roles_of(session, user_id),
        }
