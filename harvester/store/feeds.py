"""Per topic and feed state: conditional-GET validators and consecutive failures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.store.tables import FeedState


def get_feed_state(session: Session, *, topic: str, url: str) -> FeedState | None:
    return session.scalar(select(FeedState).where(FeedState.topic == topic, FeedState.url == url))


def _state(session: Session, topic: str, url: str, name: str | None) -> FeedState:
    state = get_feed_state(session, topic=topic, url=url)
    if state is None:
        state = FeedState(topic=topic, url=url, error_count=0)
        session.add(state)
    if name is not None:
        state.name = name
    return state


def record_fetch(
    session: Session,
    *,
    topic: str,
    url: str,
    name: str | None,
    now: dt.datetime,
    http_status: int | None,
    error: str | None = None,
    final_url: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    not_modified: bool = False,
) -> FeedState:
    """Record one fetch of a feed.

    A failure (``error`` given) is counted, and the stored validators stay so that the next
    success can still be a 304. A success (200 or 304) clears the error state; a 200 replaces the
    validators and the final URL, a 304 keeps them.
    """
    state = _state(session, topic, url, name)
    state.last_status = http_status
    state.last_fetched_at = now
    if error is not None:
        state.error_count = (state.error_count or 0) + 1
        state.last_error = error
        if state.failing_since is None:
            state.failing_since = now
        return state
    state.last_success_at = now
    if not not_modified:
        state.etag = etag
        state.last_modified = last_modified
        state.final_url = final_url
    state.error_count = 0
    state.last_error = None
    state.failing_since = None
    return state
