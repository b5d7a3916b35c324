"""bulletin drafts: edited summaries, removed entries, frozen entries and settings

Revision ID: 0002_bulletin (0004_bulletin before release 0.2)
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_bulletin"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=True))
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("bulletin_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulletin_entry", schema=None) as batch_op:
        batch_op.drop_column("data")
        batch_op.drop_column("removed")
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.drop_column("settings")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_column("summary")
