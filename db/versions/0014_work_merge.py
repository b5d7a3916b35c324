"""work merges: two works a bridging record showed to be one, recorded so the merge can be undone

Revision ID: 0014_work_merge
Revises: 0013_raw
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import harvester.store.tables

revision = "0014_work_merge"
down_revision = "0013_raw"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("undone_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_id"], ["work.id"], name=op.f("fk_work_merge_work_id_work"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["work.id"],
            name=op.f("fk_work_merge_merged_id_work"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_merge")),
    )
    with op.batch_alter_table("work_merge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_merge_work_id"), ["work_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_merge_merged_id"), ["merged_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_merge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_merge_merged_id"))
        batch_op.drop_index(batch_op.f("ix_work_merge_work_id"))
    op.drop_table("work_merge")
