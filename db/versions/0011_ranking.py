"""ranking: a topic's learned model (version, training date, decisions, evaluation, the model as
JSON) and the reasons of each candidate's score.

Revision ID: 0011_ranking
Revises: 0010_health
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_ranking"
down_revision = "0010_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (SQLite too): the candidate table is not rebuilt, its expression index
    # of the score sort stays
    op.add_column("candidate", sa.Column("score_reasons", sa.JSON(), nullable=True))
    op.create_table(
        "ranking_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("decisions_seen", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_model")),
        sa.UniqueConstraint("topic", "version", name=op.f("uq_ranking_model_topic_version")),
    )


def downgrade() -> None:
    op.drop_table("ranking_model")
    op.drop_column("candidate", "score_reasons")
