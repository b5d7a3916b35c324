"""a title's blocking keys filed with the year too: a record looks only at the years around its own

A title's start and end were filed under the volume ("p:<start>|34", "p:<start>|" without
one), and a record without a volume read every volume's works of its title's start, a block
that grew with every year a store held. They are now filed under the volume and the year
("p:<start>|34|2020", "p:<start>||" without either), and a record with a year looks only at the
years around its own and at works without one (harvester.core.normalise.lookup_finds). This
adds the work's year to its title keys; a notice (erratum, retraction) is also filed without a
year under its keys without a volume, as the article it names may be of any year.

Revision ID: 0020_title_block_years
Revises: 0019_drop_unread_work_indexes
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020_title_block_years"
down_revision = "0019_drop_unread_work_indexes"
branch_labels = None
depends_on = None

_BATCH = 5000
_KEY = sa.table(
    "work_key",
    sa.column("id", sa.Integer),
    sa.column("work_id", sa.Integer),
    sa.column("key", sa.String),
)
_WORK = sa.table(
    "work",
    sa.column("id", sa.Integer),
    sa.column("pub_year", sa.Integer),
    sa.column("dedupe_keys", sa.JSON),
)


def _count(key: sa.ColumnElement[str], char: str) -> sa.ColumnElement[int]:
    """How many times ``char`` occurs in ``key`` (the same SQL on SQLite and PostgreSQL)."""
    return sa.func.length(key) - sa.func.length(sa.func.replace(key, char, ""))


def _title_key(key: sa.ColumnElement[str], marks: int) -> sa.ColumnElement[bool]:
    """A title's start or end key (not the first author's "p:<author>:<year>:<page>") with
    ``marks`` "|" in it."""
    return (
        sa.func.substr(key, 1, 2).in_(["p:", "s:"])
        & (_count(key, ":") == 1)
        & (_count(key, "|") == marks)
    )


def _is_notice(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    keys = value.get("keys") if isinstance(value, dict) else None
    return isinstance(keys, dict) and bool(keys.get("notice"))


def _rows(marks: int, last: int) -> list[Any]:
    c = _KEY.c
    return list(
        op.get_bind()
        .execute(
            sa.select(c.id, c.work_id, c.key)
            .where(c.id > last, _title_key(c.key, marks))
            .order_by(c.id)
            .limit(_BATCH)
        )
        .all()
    )


def upgrade() -> None:
    bind = op.get_bind()
    c, w = _KEY.c, _WORK.c
    renamed = sa.update(_KEY).where(c.id == sa.bindparam("row")).values(key=sa.bindparam("new"))
    last = 0
    while rows := _rows(1, last):
        last = rows[-1][0]
        works = {work_id for _id, work_id, _key in rows}
        years: dict[int, int | None] = {}
        notices: set[int] = set()
        for work_id, year, document in bind.execute(
            sa.select(w.id, w.pub_year, w.dedupe_keys).where(w.id.in_(works))
        ):
            years[work_id] = year
            if _is_notice(document):
                notices.add(work_id)
        changes, added = [], []
        for row_id, work_id, key in rows:
            year = years.get(work_id)
            changes.append({"row": row_id, "new": f"{key}|{year or ''}"})
            if work_id in notices and key.endswith("|") and year:
                added.append({"work_id": work_id, "key": f"{key}|"})
        bind.execute(renamed, changes)
        if added:
            bind.execute(sa.insert(_KEY), added)


def downgrade() -> None:
    """File every title key under its volume alone again (one key where several years gave
    more)."""
    bind = op.get_bind()
    c = _KEY.c
    renamed = sa.update(_KEY).where(c.id == sa.bindparam("row")).values(key=sa.bindparam("new"))
    last = 0
    while rows := _rows(2, last):
        last = rows[-1][0]
        wanted = {(work_id, key.rpartition("|")[0]) for _id, work_id, key in rows}
        taken = set(
            bind.execute(
                sa.select(c.work_id, c.key).where(
                    c.work_id.in_({w for w, _k in wanted}), c.key.in_({k for _w, k in wanted})
                )
            ).all()
        )
        changes, extra = [], []
        for row_id, work_id, key in rows:
            volume_key = key.rpartition("|")[0]
            if (work_id, volume_key) in taken:  # another year's key of the work became it
                extra.append(row_id)
                continue
            taken.add((work_id, volume_key))
            changes.append({"row": row_id, "new": volume_key})
        if extra:
            bind.execute(sa.delete(_KEY).where(c.id.in_(extra)))
        if changes:
            bind.execute(renamed, changes)
