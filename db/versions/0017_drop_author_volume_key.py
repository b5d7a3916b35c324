"""the blocking key of a first author's year in one volume ("v:...") dropped

Every rule that compares records sharing no title word (a translated title, the same place in
a volume) asks for the same first page too, so the key of the first author's year at one first
page ("p:<author>:<year>:<page>") always puts such records in one block; the volume key added
nothing but comparisons, and its blocks grow with the store (a prolific author's year in a
journal's volume). This deletes the stored ones.

Revision ID: 0017_drop_author_volume_key
Revises: 0016_ranking_state
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017_drop_author_volume_key"
down_revision = "0016_ranking_state"
branch_labels = None
depends_on = None

_BATCH = 2000
_KEY = sa.table("work_key", sa.column("work_id", sa.Integer), sa.column("key", sa.String))


def upgrade() -> None:
    # the first two characters compared as they are (a range over the index would depend on
    # PostgreSQL's collation, and SQLite's LIKE ignores case)
    op.get_bind().execute(sa.delete(_KEY).where(sa.func.substr(_KEY.c.key, 1, 2) == "v:"))


def _keys(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    keys = value.get("keys") if isinstance(value, dict) else None
    return keys if isinstance(keys, dict) else {}


def downgrade() -> None:
    """File the works again under their first author's year and volume, from their stored
    dedupe keys (works without them get theirs when next compared)."""
    bind = op.get_bind()
    work = sa.table("work", sa.column("id", sa.Integer), sa.column("dedupe_keys", sa.JSON))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(work.c.id, work.c.dedupe_keys)
            .where(work.c.id > last)
            .order_by(work.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        new = []
        for work_id, stored in rows:
            keys = _keys(stored)
            authors, year, volume = keys.get("authors") or [], keys.get("year"), keys.get("volume")
            if authors and isinstance(authors[0], str) and authors[0] and year and volume:
                new.append({"work_id": work_id, "key": f"v:{authors[0][:100]}:{year}:{volume}"})
        if new:
            bind.execute(sa.insert(_KEY), new)
