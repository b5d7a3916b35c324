"""Topics in the database: each topic's settings document (the TOML of a topic file), checked
by the topic file rules before it is saved, with a record of every change (who, when, what).

:class:`DatabaseTopics` is the registry long-running processes and commands ask for topics: it
re-reads the table only when a topic was saved or removed since it last looked, and a stored
document that no longer passes the rules (after an upgrade that tightened one) is left out with
an error in the log; the other topics go on working.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.config.settings import Topic, parse_topic
from harvester.config.topics import describe_change
from harvester.core.errors import ConflictError, HarvesterError, NotFoundError
from harvester.store.db import Database
from harvester.store.tables import TopicChange, TopicRecord

__all__ = [
    "DatabaseTopics",
    "StoredTopic",
    "TopicChangeView",
    "delete_topic",
    "ever_had_topics",
    "save_topic",
    "stored_topic",
    "stored_topics",
    "topic_changes",
]

log = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class StoredTopic:
    slug: str
    document: str
    version: int
    updated_at: dt.datetime
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class TopicChangeView:
    id: int
    slug: str
    at: dt.datetime
    actor: str
    summary: str
    before: str | None
    after: str | None


def _view(row: TopicRecord) -> StoredTopic:
    return StoredTopic(row.slug, row.document, row.version, row.updated_at, row.updated_by)


def stored_topics(session: Session) -> list[StoredTopic]:
    rows = session.scalars(select(TopicRecord).order_by(TopicRecord.slug))
    return [_view(row) for row in rows]


def stored_topic(session: Session, slug: str) -> StoredTopic | None:
    row = session.get(TopicRecord, slug)
    return None if row is None else _view(row)


def ever_had_topics(session: Session) -> bool:
    """Whether any topic was ever saved (or removed) in this database."""
    return session.scalar(select(TopicChange.id).limit(1)) is not None


def _origin(slug: str) -> str:
    return f"topic {slug}"


def save_topic(
    session: Session,
    document: str,
    *,
    actor: str,
    now: dt.datetime,
    origin: str | None = None,
    slug: str | None = None,
    expected_version: int | None = None,
) -> tuple[Topic, Outcome]:
    """Check ``document`` by the topic file rules and store it (creating the topic, or
    updating the one of the same slug). ``slug`` is the slug a document without ``[topic]
    slug`` takes (a file's name); ``expected_version`` refuses the save when someone else saved
    the topic since it was read. A document that changes nothing is not saved again."""
    topic = parse_topic(document, origin or _origin(slug or "?"), default_slug=slug)
    row = session.get(TopicRecord, topic.slug, with_for_update=True)
    if expected_version is not None and (row is None or row.version != expected_version):
        who = f" by {row.updated_by}" if row is not None and row.updated_by else ""
        raise ConflictError(
            f"topic {topic.slug} was changed{who} since you opened it; "
            "reload it and make your change again"
        )
    if row is None:
        session.add(
            TopicRecord(
                slug=topic.slug,
                document=document,
                version=1,
                created_at=now,
                updated_at=now,
                updated_by=actor,
            )
        )
        session.add(
            TopicChange(
                slug=topic.slug,
                at=now,
                actor=actor,
                summary=describe_change(None, topic),
                before=None,
                after=document,
            )
        )
        return topic, "created"
    if row.document == document:
        return topic, "unchanged"
    before = _parse_stored(row.slug, row.document)
    summary = describe_change(before, topic)
    session.add(
        TopicChange(
            slug=topic.slug,
            at=now,
            actor=actor,
            summary=summary,
            before=row.document,
            after=document,
        )
    )
    row.document = document
    row.version += 1
    row.updated_at = now
    row.updated_by = actor
    return topic, "updated"


def delete_topic(session: Session, slug: str, *, actor: str, now: dt.datetime) -> None:
    """Remove a topic's settings (its works, queue and bulletins stay in the database)."""
    row = session.get(TopicRecord, slug)
    if row is None:
        raise NotFoundError(f"no topic {slug!r}")
    session.add(
        TopicChange(
            slug=slug, at=now, actor=actor, summary="topic removed", before=row.document, after=None
        )
    )
    session.delete(row)


def topic_changes(session: Session, slug: str, limit: int = 50) -> list[TopicChangeView]:
    rows = session.scalars(
        select(TopicChange)
        .where(TopicChange.slug == slug)
        .order_by(TopicChange.at.desc(), TopicChange.id.desc())
        .limit(limit)
    )
    return [
        TopicChangeView(r.id, r.slug, r.at, r.actor, r.summary, r.before, r.after) for r in rows
    ]


def _parse_stored(slug: str, document: str) -> Topic | None:
    try:
        return parse_topic(document, _origin(slug), default_slug=slug)
    except HarvesterError as exc:
        log.error("topic %s is left out until it is corrected: %s", slug, exc)
        return None


class DatabaseTopics:
    """The topics stored in ``db``: every one that passes the rules, re-read when one changes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, dt.datetime | None] | None = None
        self._topics: dict[str, Topic] = {}

    def _current_stamp(self, session: Session) -> tuple[int, int, dt.datetime | None]:
        count, versions, latest = session.execute(
            select(
                func.count(TopicRecord.slug),
                func.coalesce(func.sum(TopicRecord.version), 0),
                select(func.max(TopicChange.at)).scalar_subquery(),
            )
        ).one()
        return int(count), int(versions), latest

    def _refresh(self) -> dict[str, Topic]:
        with self.db.read() as session:
            stamp = self._current_stamp(session)
            with self._lock:
                if stamp == self._stamp:
                    return self._topics
                rows = stored_topics(session)
        parsed = {row.slug: _parse_stored(row.slug, row.document) for row in rows}
        with self._lock:
            self._topics = {slug: topic for slug, topic in parsed.items() if topic is not None}
            self._stamp = stamp
            return self._topics

    def all(self) -> list[Topic]:
        """Every topic, sorted by slug."""
        return list(self._refresh().values())

    def slugs(self) -> list[str]:
        return list(self._refresh())

    def get(self, slug: str) -> Topic:
        """The topic ``slug``; :class:`NotFoundError` naming the known ones otherwise."""
        topics = self._refresh()
        if slug not in topics:
            known = ", ".join(topics) or "none"
            raise NotFoundError(f"unknown topic {slug!r} (topics: {known})")
        return topics[slug]
