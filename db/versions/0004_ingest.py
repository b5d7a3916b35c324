"""ingest: text columns wide enough for the data

Revision ID: 0004_ingest (0002_ingest before release 0.2)
Revises: 0003_service
Create Date: 2026-12-02 10:00:00

Volume, issue, pages, elocation and the ISO journal abbreviation become unlimited text (real
records carry volumes over 64 characters, which PostgreSQL refused while SQLite kept them); a DOI
may have up to 1,024 characters. Sighting ``raw`` is compressed by the application (values
written before stay readable as they are), so the schema does not change for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ingest"
down_revision = "0003_service"
branch_labels = None
depends_on = None

_WIDENED = {"journal_iso": 255, "volume": 64, "issue": 64, "pages": 64, "elocation": 255}


def upgrade() -> None:
    with op.batch_alter_table("work", schema=None) as batch_op:
        for column, length in _WIDENED.items():
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=length),
                type_=sa.Text(),
                existing_nullable=True,
            )
        batch_op.alter_column(
            "doi",
            existing_type=sa.String(length=255),
            type_=sa.String(length=1024),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("work", schema=None) as batch_op:
        batch_op.alter_column(
            "doi",
            existing_type=sa.String(length=1024),
            type_=sa.String(length=255),
            existing_nullable=True,
        )
        for column, length in _WIDENED.items():
            batch_op.alter_column(
                column,
                existing_type=sa.Text(),
                type_=sa.String(length=length),
                existing_nullable=True,
            )
