"""full-text search over works: an FTS5 table kept by triggers (SQLite), a GIN expression index
(PostgreSQL); see harvester.store.search. An expression index for the queue sorted by score.

Revision ID: 0006_search (0008_search before release 0.2)
Revises: 0005_web
"""

from __future__ import annotations

from alembic import op

revision = "0006_search"
down_revision = "0005_web"
branch_labels = None
depends_on = None

# The text of a work's row the SQLite index holds, column by column (every string of the authors
# and abstract JSON, like json_to_tsvector's "string" filter on PostgreSQL).
_ROW = (
    "{p}.id, coalesce({p}.title, ''), "
    "coalesce({p}.journal, '') || ' ' || coalesce({p}.source_name, ''), "
    "(SELECT group_concat(value, ' ') FROM json_tree({p}.authors) WHERE type = 'text'), "
    "(SELECT group_concat(value, ' ') FROM json_tree({p}.abstract) WHERE type = 'text'), "
    "coalesce({p}.summary_html, '')"
)
_COLUMNS = "rowid, title, journal, authors, abstract, summary"
_WATCHED = "title, journal, source_name, authors, abstract, summary_html"

# kept in step with harvester.store.search.PG_DOCUMENT (a test compares them), written out here
# so that this migration stays as it is when the module changes
PG_DOCUMENT = (
    "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(journal, '') "
    "|| ' ' || coalesce(source_name, '') || ' ' "
    "|| regexp_replace(coalesce(summary_html, ''), '<[^>]*>', ' ', 'g')) "
    "|| json_to_tsvector('simple'::regconfig, coalesce(authors, '[]'::json), '[\"string\"]'::jsonb) "
    "|| json_to_tsvector('simple'::regconfig, coalesce(abstract, '[]'::json), '[\"string\"]'::jsonb))"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index("ix_sighting_topic_source", "sighting", ["topic", "source"])
    # the queue sorted by score walks this index (harvester.store.candidates._sort_key)
    op.execute(
        "CREATE INDEX ix_candidate_topic_score ON candidate (topic, coalesce(score, -1.0), id)"
    )
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE work_fts USING fts5("
            "title, journal, authors, abstract, summary, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        # constants of this file only, no outside text: S608 does not apply
        op.execute(f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='work')} FROM work")  # noqa: S608
        op.execute(
            "CREATE TRIGGER work_fts_insert AFTER INSERT ON work BEGIN "
            f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='new')}; END"
        )
        op.execute(
            f"CREATE TRIGGER work_fts_update AFTER UPDATE OF {_WATCHED} ON work BEGIN "  # noqa: S608
            "DELETE FROM work_fts WHERE rowid = old.id; "
            f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='new')}; END"
        )
        op.execute(
            "CREATE TRIGGER work_fts_delete AFTER DELETE ON work BEGIN "
            "DELETE FROM work_fts WHERE rowid = old.id; END"
        )
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX ix_work_fts ON work USING gin ({PG_DOCUMENT})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP INDEX IF EXISTS ix_candidate_topic_score")
    op.drop_index("ix_sighting_topic_source", table_name="sighting")
    if dialect == "sqlite":
        for trigger in ("work_fts_insert", "work_fts_update", "work_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS work_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_work_fts")
