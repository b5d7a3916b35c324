"""harvest problems (what each run's health check found, open until the cause goes away) and
work notices (what the retraction watch found about accepted and published works).

Revision ID: 0010_health
Revises: 0009_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import harvester.store.tables

revision = "0010_health"
down_revision = "0009_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harvest_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_seen_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("closed_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_harvest_problem_run_id_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_problem")),
    )
    with op.batch_alter_table("harvest_problem", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_harvest_problem_closed_at"), ["closed_at"], unique=False
        )
        batch_op.create_index("ix_harvest_problem_topic_source", ["topic", "source"], unique=False)

    op.create_table(
        "work_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("found_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_id"], ["work.id"], name=op.f("fk_work_notice_work_id_work"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_notice")),
    )
    with op.batch_alter_table("work_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_notice_work_id"), ["work_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_notice_found_at"), ["found_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_notice_found_at"))
        batch_op.drop_index(batch_op.f("ix_work_notice_work_id"))
    op.drop_table("work_notice")
    with op.batch_alter_table("harvest_problem", schema=None) as batch_op:
        batch_op.drop_index("ix_harvest_problem_topic_source")
        batch_op.drop_index(batch_op.f("ix_harvest_problem_closed_at"))
    op.drop_table("harvest_problem")
