"""the SQLite full-text index merges its segments 16 at a time instead of 4

SQLite's FTS5 index is a set of segments: every transaction that adds works writes a new one,
and once a level holds ``automerge`` segments (4 by default) they are merged into one of the
next level. The merging done after each write is proportional to the number of levels, which
grows with the log of the index's size: in a store of 100,000 works the index had 5 levels
against 3 at 10,000, so each new work cost more to index the larger the store. Merging 16 at a
time keeps it to 3 levels at 100,000 works (2 at 10,000): fewer rewrites of every word at any
size, and a smaller difference between a small store and a large one. A search reads a few
more segments, each a lookup in the same index table. PostgreSQL's index is a GIN index and is
left as it is.

Revision ID: 0021_fts_merge_width
Revises: 0020_title_block_years
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_fts_merge_width"
down_revision = "0020_title_block_years"
branch_labels = None
depends_on = None

#: Segments of one level the index merges into one (FTS5's ``automerge``; its default is 4).
MERGE_WIDTH = 16
_DEFAULT_WIDTH = 4


def upgrade() -> None:
    _set_width(MERGE_WIDTH)


def downgrade() -> None:
    _set_width(_DEFAULT_WIDTH)


def _set_width(width: int) -> None:
    # FTS5 keeps the setting in the index's own configuration table, so it holds for every
    # connection and process that writes works
    if op.get_bind().dialect.name == "sqlite":
        setting = "INSERT INTO work_fts (work_fts, rank) VALUES ('automerge', :width)"
        op.execute(sa.text(setting).bindparams(width=width))
