"""Raw source records: compressed with the preset dictionary, read back as given; migration
0007_raw recompresses older rows and makes the SQLite full-text index contentless."""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, select, text

from harvester.sources.pubmed_xml import parse_pubmed_xml
from harvester.store import migrate
from harvester.store.db import Database
from harvester.store.tables import CompressedBytes, Sighting, compress_raw, decompress_raw
from harvester.store.works import ingest_hits

PUBMED = Path(__file__).parent / "fixtures" / "pubmed"


def _records() -> list[bytes]:
    raws = []
    for path in sorted(PUBMED.glob("*.xml")):
        if b"<PubmedArticle>" in path.read_bytes():
            raws += [hit.raw for hit in parse_pubmed_xml(path.read_bytes()) if hit.raw]
    return raws


def test_values_read_back_as_given_whatever_wrote_them() -> None:
    for value in [b"", b"\x00", b"plain", "Soci\u00e1l".encode(), *_records()[:20]]:
        stored = compress_raw(value)
        assert stored.startswith(CompressedBytes.MARK_DICT)
        assert decompress_raw(stored) == value
        # an older release's plain zlib, and a value from before compression
        assert decompress_raw(CompressedBytes.MARK + zlib.compress(value)) == value
        if not value.startswith(b"\x00"):
            assert decompress_raw(value) == value


def test_the_dictionary_makes_pubmed_records_smaller_than_plain_zlib() -> None:
    records = _records()
    assert len(records) > 50
    plain = sum(len(zlib.compress(raw, 6)) for raw in records)
    with_dictionary = sum(len(compress_raw(raw)) for raw in records)
    assert with_dictionary < 0.85 * plain


def test_raw_keeps_no_reference_list_and_parses_to_the_same_hit() -> None:
    body = (PUBMED / "pubmed21n1298_topic_subset.xml").read_bytes()
    assert body.count(b"<ReferenceList") > 5
    for hit in parse_pubmed_xml(body):
        assert hit.raw is not None and b"<ReferenceList" not in hit.raw
        again = list(parse_pubmed_xml(b"<PubmedArticleSet>" + hit.raw + b"</PubmedArticleSet>"))
        assert again == [hit]


def test_a_stored_record_reads_back(db: Database) -> None:
    hits = list(parse_pubmed_xml((PUBMED / "biopython_pubmed4.xml").read_bytes()))
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with db.write() as session:
        ingest_hits(session, hits, topic="t", run_id=None, now=now)
    with db.read() as session:
        stored = {
            row[0]: row[1] for row in session.execute(select(Sighting.source_id, Sighting.raw))
        }
        marks = session.execute(text("SELECT raw FROM sighting")).scalars().all()
    assert stored == {hit.source_id: hit.raw for hit in hits}
    assert all(bytes(mark).startswith(CompressedBytes.MARK_DICT) for mark in marks)


def test_migration_recompresses_older_rows_and_keeps_the_index_searchable(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(migrate.alembic_config(url), "0006_search")
    record = _records()[0]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO work (id, kind, title, authors, abstract, publication_types, mesh, "
                "keywords, relations, title_key, date_is_fallback, metadata_source, "
                "metadata_rank, created_at, updated_at) VALUES (1, 'article', 'Befriending "
                'schemes for older adults\', \'[{"family": "M\\u00fcller"}]\', '
                "'[{\"text\": \"Loneliness fell.\"}]', '[]', '[]', '[]', '[]', '', 0, 'pubmed', "
                "0, '2024-01-01', '2024-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sighting (work_id, source, source_id, origin, raw, first_seen_at, "
                "last_seen_at) VALUES (1, 'pubmed', '1', '', :raw, '2024-01-01', '2024-01-01')"
            ),
            {"raw": CompressedBytes.MARK + zlib.compress(record, 6)},
        )
    migrate.upgrade(url)
    with engine.begin() as conn:
        stored = bytes(conn.execute(text("SELECT raw FROM sighting")).scalar_one())
        found = conn.execute(text("SELECT rowid FROM work_fts WHERE work_fts MATCH 'muller'"))
        assert found.scalars().all() == [1]
        # a contentless index: no second copy of the text
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert "work_fts_content" not in set(tables.scalars())
        conn.execute(text("UPDATE work SET title = 'Walking groups' WHERE id = 1"))
        assert (
            conn.execute(
                text("SELECT count(*) FROM work_fts WHERE work_fts MATCH 'befriending'")
            ).scalar_one()
            == 0
        )
        assert conn.execute(
            text("SELECT rowid FROM work_fts WHERE work_fts MATCH 'walking'")
        ).scalars().all() == [1]
        conn.execute(text("INSERT INTO work_fts (work_fts, rank) VALUES ('integrity-check', 0)"))
    engine.dispose()
    assert stored.startswith(CompressedBytes.MARK_DICT)
    assert decompress_raw(stored) == record
    assert len(stored) < len(CompressedBytes.MARK) + len(zlib.compress(record, 6))
    command.downgrade(migrate.alembic_config(url), "0006_search")
    engine = create_engine(url)
    with engine.begin() as conn:
        stored = bytes(conn.execute(text("SELECT raw FROM sighting")).scalar_one())
        found = conn.execute(text("SELECT rowid FROM work_fts WHERE work_fts MATCH 'walking'"))
        assert found.scalars().all() == [1]
    engine.dispose()
    assert stored.startswith(CompressedBytes.MARK) and decompress_raw(stored) == record
