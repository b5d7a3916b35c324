"""review queue web UI: candidate version and reason (the summary came with 0004_bulletin); API tokens; login attempts

Revision ID: 0005_web (0003_web before release 0.2)
Revises: 0004_ingest
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import harvester.store.tables

revision = "0005_web"
down_revision = "0004_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(
            "ix_candidate_topic_created", ["topic", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_candidate_topic_status_created",
            ["topic", "status", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_api_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_email_at", ["email", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_address_at", ["address", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_address_at")
        batch_op.drop_index("ix_login_attempt_email_at")
    op.drop_table("login_attempt")
    op.drop_table("api_token")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_candidate_topic_status_created")
        batch_op.drop_index("ix_candidate_topic_created")
        batch_op.drop_column("version")
        batch_op.drop_column("reason")
