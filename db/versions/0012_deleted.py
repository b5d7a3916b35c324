"""work.deleted_at: when a PubMed deletion notice (``<DeleteCitation>``) named the work.

Revision ID: 0012_deleted
Revises: 0011_ranking
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_deleted"
down_revision = "0011_ranking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work") as batch:
        batch.drop_column("deleted_at")
