"""ranking scores kept while their scorer and their work are unchanged

A topic's queue was scored afresh, every candidate, after every harvest and import: in a large
store that cost more than the harvest. ``ranking_state`` records which scorer (a fingerprint of
the learned model, or of the phrases and weights) wrote a topic's scores, and
``candidate.scored_at`` when each score was written; a ranking by the same scorer scores only
the candidates without a score and those whose work changed since. Existing scores have no
``scored_at`` and are written again by the first ranking after the upgrade.

Revision ID: 0016_ranking_state
Revises: 0015_block_volume
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import harvester.store.tables

revision = "0016_ranking_state"
down_revision = "0015_block_volume"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ranking_state",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("scorer", sa.String(length=128), nullable=False),
        sa.Column("scored_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_ranking_state")),
    )
    # a plain ADD COLUMN (as 0011_ranking): a batch copy of the table on SQLite would lose the
    # expression index of the queue's score order (ix_candidate_topic_score)
    op.add_column(
        "candidate",
        sa.Column("scored_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("candidate", "scored_at")
    op.drop_table("ranking_state")
