"""Work merges as a user sees them: list them, undo one (:mod:`harvester.store.merges` keeps
what moved)."""

from __future__ import annotations

import datetime as dt

from harvester.store.db import Database
from harvester.store.merges import MergeView, merge_views, undo_merge

__all__ = ["list_merges", "undo"]


def list_merges(db: Database, work_id: int | None = None, limit: int = 100) -> list[MergeView]:
    with db.read() as session:
        return merge_views(session, work_id, limit)


def undo(db: Database, merge_id: int, *, actor: str, now: dt.datetime) -> None:
    """Undo merge ``merge_id``: both works as they were, each with its own rows again."""
    with db.write() as session:
        undo_merge(session, merge_id, actor=actor, at=now)
