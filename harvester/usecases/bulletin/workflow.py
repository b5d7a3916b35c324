"""The bulletin operations a command or a web handler calls: draft, move, remove, restore, edit a
summary, publish, list, and render a draft or a past bulletin. Each opens one transaction, asks
the pure core (:mod:`harvester.core.layout`) what to do and lets the store apply it.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from harvester.config.settings import Topic
from harvester.core.bulletin import BulletinDoc, BulletinItem, publication_span
from harvester.core.csl import cite
from harvester.core.errors import BulletinError
from harvester.core.layout import move, ordered_items
from harvester.store import bulletins as store
from harvester.store.db import Database
from harvester.usecases.bulletin.draft import doc_for_topic

__all__ = [
    "Draft",
    "draft",
    "draft_doc",
    "list_bulletins",
    "move_entry",
    "publish",
    "published_doc",
    "remove_entry",
    "restore_entry",
    "set_period",
]


class Draft(NamedTuple):
    """A refreshed draft: its id, its document, and how many accepted items a date filter left
    out of it."""

    bulletin_id: int
    doc: BulletinDoc
    left_out: int = 0


def draft(
    db: Database,
    topic: Topic,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    period: str | None = None,
    now: dt.datetime,
    actor: str = "cli",
) -> Draft:
    """Create or refresh the topic's draft.

    The entries are every accepted candidate of the topic not yet published; ``start``/``end``
    (optional) keep only those *accepted* within those days, and a filter that would leave the
    draft empty is refused (nothing changes). ``period`` is the period as printed ("October–
    November 2024"); None keeps the one set before, "" goes back to the default: the span of
    the entries' publication dates."""
    if start is not None and end is not None and start > end:
        raise BulletinError(f"--from ({start}) is after --to ({end})")
    doc = doc_for_topic(topic, [], None, None)
    with db.write() as session:
        bulletin_id, left_out = store.refresh_draft(
            session,
            topic.slug,
            title=doc.title,
            accepted_from=start,
            accepted_to=end,
            period_text=period,
            now=now,
            actor=actor,
        )
        items = store.bulletin_items(session, bulletin_id)
        store.set_draft_period(session, bulletin_id, span=publication_span(items))
        view = store.get_bulletin(session, bulletin_id)
    return Draft(bulletin_id, _draft_doc(topic, view, items), left_out)


def _draft_doc(topic: Topic, view: store.BulletinView, items: list[BulletinItem]) -> BulletinDoc:
    return doc_for_topic(
        topic, items, view.period_from, view.period_to, store.draft_period_text(view)
    )


def set_period(db: Database, topic: Topic, period: str) -> None:
    """Set the draft's period as printed ("" goes back to the span of its entries' dates)."""
    bulletin_id, _ = draft_doc(db, topic)
    with db.write() as session:
        store.set_draft_period(
            session,
            bulletin_id,
            period_text=period,
            span=publication_span(store.bulletin_items(session, bulletin_id)),
        )


def draft_doc(db: Database, topic: Topic) -> tuple[int, BulletinDoc]:
    """The topic's current draft as it stands (no refresh)."""
    with db.read() as session:
        view = store.topic_draft(session, topic.slug)
        if view is None:
            raise BulletinError(
                f"topic {topic.slug!r} has no draft bulletin",
                hint=f"run `harvester bulletin draft --topic {topic.slug}` first",
            )
        items = store.bulletin_items(session, view.id)
    return view.id, _draft_doc(topic, view, items)


def move_entry(db: Database, topic: Topic, entry_id: int, section: str, index: int) -> None:
    """Move a draft entry to ``index`` (0-based) of ``section`` (the same or another)."""
    bulletin_id, doc = draft_doc(db, topic)
    try:
        placements = move(doc, entry_id, section, index)
    except ValueError as exc:
        raise BulletinError(str(exc)) from None
    with db.write() as session:
        store.place_entries(
            session, bulletin_id, [(p.entry_id, p.section, p.position) for p in placements]
        )


def remove_entry(db: Database, topic: Topic, entry_id: int) -> None:
    """Take an entry out of the draft (its candidate stays accepted)."""
    bulletin_id, _ = draft_doc(db, topic)
    with db.write() as session:
        store.remove_entry(session, bulletin_id, entry_id)


def removed_entries(db: Database, bulletin_id: int) -> list[tuple[int, str]]:
    """The entries taken out of a draft, (entry id, title), to be put back if wanted."""
    with db.read() as session:
        return store.removed_entries(session, bulletin_id)


def restore_entry(db: Database, topic: Topic, entry_id: int) -> None:
    """Put a removed entry back into the draft, in its section's alphabetical place."""
    bulletin_id, _ = draft_doc(db, topic)
    with db.write() as session:
        store.restore_entry(session, bulletin_id, entry_id)


def publish(
    db: Database, topic: Topic, *, now: dt.datetime, actor: str = "cli"
) -> store.BulletinView:
    """Publish the topic's draft as it stands: entries in their order, their citation data and
    the settings frozen; the candidates marked published."""
    bulletin_id, doc = draft_doc(db, topic)
    entries = [(item, cite(item, doc.style, doc.locale).markdown()) for item in ordered_items(doc)]
    with db.write() as session:
        return store.publish_bulletin(
            session,
            bulletin_id,
            settings=doc.settings_dict(),
            entries=entries,
            now=now,
            actor=actor,
        )


def published_doc(db: Database, bulletin_id: int) -> BulletinDoc:
    """A bulletin as it was published (or a draft as it stands now, with its stored settings)."""
    with db.read() as session:
        view = store.get_bulletin(session, bulletin_id)
        if view.status != store.PUBLISHED:
            raise BulletinError(
                f"bulletin {bulletin_id} is a draft",
                hint=f"render it with `harvester bulletin draft --topic {view.topic}`",
            )
        items = store.bulletin_items(session, bulletin_id)
    return BulletinDoc.from_settings(view.settings, items)


def list_bulletins(db: Database, topic: str | None = None) -> list[store.BulletinView]:
    with db.read() as session:
        return store.list_bulletins(session, topic)
