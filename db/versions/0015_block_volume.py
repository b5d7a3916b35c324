"""title blocking keys filed under the volume too; the work_key index on work_id alone dropped

A title's start and end keys ("p:<start>", "s:<end>") are now also filed under the work's
volume ("p:<start>|34", "p:<start>|" without one), and a record with a volume looks only in
those (harvester.core.normalise.title_lookups): a common title start or end no longer puts
every work that has it in one block. This adds the volume-filed keys of the works already
stored. The index on ``work_key.work_id`` alone is dropped: the unique (work_id, key) index
serves the same lookups.

Revision ID: 0015_block_volume
Revises: 0014_work_merge
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015_block_volume"
down_revision = "0014_work_merge"
branch_labels = None
depends_on = None

_BATCH = 2000
_TITLE_KEY = re.compile(r"^[ps]:[^:|]+$")
_VOLUME = re.compile(r"\s*(\d+[a-z]?)")


def _volume(volume: str | None) -> str:
    """The volume's leading number, as the blocking keys give it (normalise_volume)."""
    match = _VOLUME.match((volume or "").casefold())
    return match.group(1)[:40] if match else ""


def _doc(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table("work_key", schema=None) as batch_op:
        batch_op.drop_index("ix_work_key_work_id")
    bind = op.get_bind()
    work = sa.table(
        "work",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("volume", sa.Text),
        sa.column("dedupe_keys", sa.JSON),
    )
    key = sa.table("work_key", sa.column("work_id", sa.Integer), sa.column("key", sa.String))
    last = 0
    while True:
        ids = [
            row[0]
            for row in bind.execute(
                sa.select(work.c.id).where(work.c.id > last).order_by(work.c.id).limit(_BATCH)
            )
        ]
        if not ids:
            break
        last = ids[-1]
        filed: dict[int, set[str]] = {}
        for work_id, value in bind.execute(
            sa.select(key.c.work_id, key.c.key).where(key.c.work_id.in_(ids))
        ):
            filed.setdefault(work_id, set()).add(value)
        rows = []
        for work_id, kind, volume, stored in bind.execute(
            sa.select(work.c.id, work.c.kind, work.c.volume, work.c.dedupe_keys).where(
                work.c.id.in_(ids)
            )
        ):
            doc = _doc(stored)
            keys = filed.get(work_id, set())
            place = "" if kind == "news" or doc.get("preprint") else _volume(volume)
            places = {place, ""} if doc.get("notice") else {place}
            for title in sorted(k for k in keys if _TITLE_KEY.match(k)):
                for where in sorted(places):
                    new = f"{title}|{where}"
                    if new not in keys:
                        keys.add(new)
                        rows.append({"work_id": work_id, "key": new})
            page = doc.get("page")
            number = f"n:{page}"
            if (
                isinstance(page, str)
                and re.fullmatch(r"[a-z]{1,3}\d{5,}", page)
                and number not in keys
            ):
                keys.add(number)
                rows.append({"work_id": work_id, "key": number})
        if rows:
            bind.execute(sa.insert(key), rows)


def downgrade() -> None:
    bind = op.get_bind()
    key = sa.table("work_key", sa.column("key", sa.String))
    bind.execute(sa.delete(key).where(key.c.key.like("p:%|%") | key.c.key.like("s:%|%")))
    bind.execute(sa.delete(key).where(key.c.key.like("n:%")))
    with op.batch_alter_table("work_key", schema=None) as batch_op:
        batch_op.create_index("ix_work_key_work_id", ["work_id"], unique=False)
