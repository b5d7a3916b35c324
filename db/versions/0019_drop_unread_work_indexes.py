"""drop the indexes on a work's DOI and PMID: no query reads them

A record finds the work that already holds its DOI or PMID through ``work_identity`` (unique
on kind and value); nothing looks a work up by its own ``doi`` or ``pmid`` column. Both indexes
were written at a random place by every new work and changed, in a store of 80,000 works, about
a hundred pages of the database file per 1,000 records imported.

Revision ID: 0019_drop_unread_work_indexes
Revises: 0018_whole_title_ranges
"""

from __future__ import annotations

from alembic import op

revision = "0019_drop_unread_work_indexes"
down_revision = "0018_whole_title_ranges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_work_doi", table_name="work")
    op.drop_index("ix_work_pmid", table_name="work")


def downgrade() -> None:
    op.create_index("ix_work_doi", "work", ["doi"])
    op.create_index("ix_work_pmid", "work", ["pmid"])
