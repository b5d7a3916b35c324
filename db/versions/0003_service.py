"""service: scheduler lease, job runs, digest attempts

Revision ID: 0003_service (0005_service before release 0.2)
Revises: 0002_bulletin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import harvester.store.tables

revision = "0003_service"
down_revision = "0002_bulletin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("started_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", harvester.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_run_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.alter_column("attempts", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("attempts")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_run_job_id"))
    op.drop_table("job_run")
    op.drop_table("scheduler_lease")
