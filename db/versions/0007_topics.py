"""topics live in the database: their settings documents and a record of every change.

Revision ID: 0007_topics
Revises: 0006_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_topics"
down_revision = "0006_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic",
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_topic")),
    )
    op.create_table(
        "topic_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_change")),
    )
    op.create_index("ix_topic_change_slug_at", "topic_change", ["slug", "at"])


def downgrade() -> None:
    op.drop_index("ix_topic_change_slug_at", table_name="topic_change")
    op.drop_table("topic_change")
    op.drop_table("topic")
