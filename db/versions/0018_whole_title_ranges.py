"""a title's start and end filed once, under its volume: the whole title's block is a range

Every work filed under a title's start or end ("p:<start>") was filed under the same key with
its volume too ("p:<start>|34", or "p:<start>|" without one), so the whole title's block is the
range of keys that begin "p:<start>|". The store now reads it as that range
(harvester.core.normalise.volume_range) and keeps only the volumes' keys: this deletes the
whole titles' keys, about a quarter of the blocking keys. On PostgreSQL the index on key is
built with ``text_pattern_ops`` so that the range compares bytes, whatever the database's
locale.

Revision ID: 0018_whole_title_ranges
Revises: 0017_drop_author_volume_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_whole_title_ranges"
down_revision = "0017_drop_author_volume_key"
branch_labels = None
depends_on = None

_BATCH = 5000
_KEY = sa.table(
    "work_key",
    sa.column("id", sa.Integer),
    sa.column("work_id", sa.Integer),
    sa.column("key", sa.String),
)


def _count(key: sa.ColumnElement[str], char: str) -> sa.ColumnElement[int]:
    """How many times ``char`` occurs in ``key`` (the same SQL on SQLite and PostgreSQL)."""
    return sa.func.length(key) - sa.func.length(sa.func.replace(key, char, ""))


def _title_key(key: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """A title's start or end key (not the first author's "p:<author>:<year>:<page>")."""
    return sa.func.substr(key, 1, 2).in_(["p:", "s:"]) & (_count(key, ":") == 1)


def _index(postgresql_ops: dict[str, str] | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_work_key_key", table_name="work_key")
    op.create_index("ix_work_key_key", "work_key", ["key"], postgresql_ops=postgresql_ops or {})


def upgrade() -> None:
    c = _KEY.c
    op.get_bind().execute(sa.delete(_KEY).where(_title_key(c.key) & (_count(c.key, "|") == 0)))
    _index({"key": "text_pattern_ops"})


def downgrade() -> None:
    """File every work under its whole titles' keys again, from the keys of their volumes."""
    _index(None)
    bind = op.get_bind()
    c = _KEY.c
    last = 0
    while True:
        rows = bind.execute(
            sa.select(c.id, c.work_id, c.key)
            .where(c.id > last, _title_key(c.key), _count(c.key, "|") == 1)
            .order_by(c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        whole = {(work_id, key.partition("|")[0]) for _id, work_id, key in rows}
        have = set(
            bind.execute(
                sa.select(c.work_id, c.key).where(
                    c.work_id.in_({w for w, _k in whole}), c.key.in_({k for _w, k in whole})
                )
            ).all()
        )
        new = [{"work_id": w, "key": k} for w, k in sorted(whole - have)]
        if new:
            bind.execute(sa.insert(_KEY), new)
