"""people: a role per topic (reviewer, editor) and one-time links (first admin, password reset).

Revision ID: 0008_people
Revises: 0007_topics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_people"
down_revision = "0007_topics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_topic_role_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "topic", name=op.f("pk_topic_role")),
    )
    op.create_table(
        "one_time_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_one_time_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_one_time_token")),
    )


def downgrade() -> None:
    op.drop_table("one_time_token")
    op.drop_table("topic_role")
