"""smaller stored records: the SQLite full-text index keeps no second copy of the text; raw
source records recompressed with the preset dictionary; a work's sightings indexed by source

Revision ID: 0013_raw
Revises: 0012_deleted

SQLite: ``work_fts`` becomes a contentless FTS5 table (``content = ''``): it keeps the index of
the words, not a second copy of the text (which is in the work rows; a search only needs the
matching rowids). The triggers tell the index what a row held before a change (the "delete"
command with the old values, as a contentless table needs), computed from the old row by the
same expressions that indexed it. PostgreSQL's GIN index keeps no copy and is left as it is.

Both: the index on ``sighting.work_id`` becomes one on ``(work_id, source)``: a work's
sightings by one source are looked up for every feed entry, and with ``work_id`` alone SQLite
chose the unique index on ``source`` instead, reading every sighting of that source.

Both: every ``sighting.raw`` written with plain zlib is rewritten with zlib and the preset
dictionary of :mod:`harvester.store.rawdict` (a stored PubMed record shrinks by about a third);
downgrade writes them back with plain zlib.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

from harvester.store.rawdict import RAW_DICTIONARY, RAW_DICTIONARY_ID

revision = "0013_raw"
down_revision = "0012_deleted"
branch_labels = None
depends_on = None

# The text of a work's row the SQLite index holds (as in 0006_search, written out here so that
# this migration stays as it is when later ones change it).
_ROW = (
    "{p}.id, coalesce({p}.title, ''), "
    "coalesce({p}.journal, '') || ' ' || coalesce({p}.source_name, ''), "
    "(SELECT group_concat(value, ' ') FROM json_tree({p}.authors) WHERE type = 'text'), "
    "(SELECT group_concat(value, ' ') FROM json_tree({p}.abstract) WHERE type = 'text'), "
    "coalesce({p}.summary_html, '')"
)
_COLUMNS = "rowid, title, journal, authors, abstract, summary"
_WATCHED = "title, journal, source_name, authors, abstract, summary_html"
_TRIGGERS = ("work_fts_insert", "work_fts_update", "work_fts_delete")
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"

_PLAIN = b"\x00hz1"
_WITH_DICTIONARY = b"\x00hzd" + bytes([RAW_DICTIONARY_ID])
_CHUNK = 500


def upgrade() -> None:
    op.create_index("ix_sighting_work_source", "sighting", ["work_id", "source"])
    op.drop_index("ix_sighting_work_id", table_name="sighting")
    if op.get_bind().dialect.name == "sqlite":
        _drop_index()
        op.execute(
            "CREATE VIRTUAL TABLE work_fts USING fts5("
            f"title, journal, authors, abstract, summary, content = '', {_TOKENIZE})"
        )
        # constants of this file only, no outside text: S608 does not apply
        op.execute(f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='work')} FROM work")  # noqa: S608
        forget = (
            f"INSERT INTO work_fts (work_fts, {_COLUMNS}) "
            f"SELECT 'delete', {_ROW.format(p='old')};"  # noqa: S608
        )
        add = f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='new')};"  # noqa: S608
        op.execute(f"CREATE TRIGGER work_fts_insert AFTER INSERT ON work BEGIN {add} END")
        op.execute(
            f"CREATE TRIGGER work_fts_update AFTER UPDATE OF {_WATCHED} ON work BEGIN "
            f"{forget} {add} END"
        )
        op.execute(f"CREATE TRIGGER work_fts_delete AFTER DELETE ON work BEGIN {forget} END")
    _recompress(_PLAIN, _with_dictionary)


def downgrade() -> None:
    op.create_index("ix_sighting_work_id", "sighting", ["work_id"])
    op.drop_index("ix_sighting_work_source", table_name="sighting")
    if op.get_bind().dialect.name == "sqlite":
        _drop_index()
        op.execute(f"CREATE VIRTUAL TABLE work_fts USING fts5({_COLUMNS[7:]}, {_TOKENIZE})")
        op.execute(f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='work')} FROM work")  # noqa: S608
        add = f"INSERT INTO work_fts ({_COLUMNS}) SELECT {_ROW.format(p='new')};"  # noqa: S608
        op.execute(f"CREATE TRIGGER work_fts_insert AFTER INSERT ON work BEGIN {add} END")
        op.execute(
            f"CREATE TRIGGER work_fts_update AFTER UPDATE OF {_WATCHED} ON work BEGIN "  # noqa: S608
            f"DELETE FROM work_fts WHERE rowid = old.id; {add} END"
        )
        op.execute(
            "CREATE TRIGGER work_fts_delete AFTER DELETE ON work BEGIN "
            "DELETE FROM work_fts WHERE rowid = old.id; END"
        )
    _recompress(_WITH_DICTIONARY, _plain)


def _drop_index() -> None:
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS work_fts")


def _with_dictionary(value: bytes) -> bytes:
    data = zlib.decompress(value[len(_PLAIN) :])
    compressor = zlib.compressobj(6, zdict=RAW_DICTIONARY)
    return _WITH_DICTIONARY + compressor.compress(data) + compressor.flush()


def _plain(value: bytes) -> bytes:
    decompressor = zlib.decompressobj(zdict=RAW_DICTIONARY)
    data = decompressor.decompress(value[len(_WITH_DICTIONARY) :]) + decompressor.flush()
    return _PLAIN + zlib.compress(data, 6)


def _recompress(mark: bytes, convert: object) -> None:
    """Rewrite every ``sighting.raw`` that starts with ``mark``, ``_CHUNK`` rows at a time."""
    assert callable(convert)
    bind = op.get_bind()
    sighting = sa.table("sighting", sa.column("id", sa.Integer), sa.column("raw", sa.LargeBinary))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(sighting.c.id, sighting.c.raw)
            .where(sighting.c.id > last, sighting.c.raw.is_not(None))
            .order_by(sighting.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        changed = [
            {"ref": row.id, "value": convert(bytes(row.raw))}
            for row in rows
            if bytes(row.raw).startswith(mark)
        ]
        if changed:
            bind.execute(
                sighting.update()
                .where(sighting.c.id == sa.bindparam("ref"))
                .values(raw=sa.bindparam("value")),
                changed,
            )
