"""The ingest's cache of stored dedupe keys (harvester.store.ingest_load.KeysCache)."""

from __future__ import annotations

import gc
import json

import pytest
from sqlalchemy import insert, select, update

from harvester.core.dedupe.keys import KEYS_VERSION, Keys, hit_keys
from harvester.core.ingest.snapshot import KeysDoc
from harvester.core.models import Hit
from harvester.store.db import Database
from harvester.store.ingest_load import KeysCache
from harvester.store.tables import Work, WorkLink
from harvester.store.works import ingest_hits
from tests.test_store_works import NOW, pubmed


def document(hit: Hit, version: int = KEYS_VERSION) -> str:
    keys = hit_keys(hit).to_json()
    return json.dumps({"version": version, "kind": "article", "seen": [], "urls": [], "keys": keys})


def parsed(cache: KeysCache, work_id: int, text: str) -> Keys | None:
    doc = cache.parse(work_id, text)
    return None if doc is None else doc.keys


def test_parsed_once_and_again_when_the_document_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = KeysCache()
    first = document(pubmed())
    doc = cache.parse(7, first)
    assert doc is not None and doc.keys == hit_keys(pubmed())

    def parsed_again(data: object) -> None:
        raise AssertionError("the same document was parsed again")

    with monkeypatch.context() as patch:
        patch.setattr(KeysDoc, "from_document", parsed_again)
        assert cache.parse(7, first) == doc  # the same document: the same keys, kept
    keys = doc.keys
    changed = document(pubmed(title="Another title altogether", doi="10.1000/other"))
    assert parsed(cache, 7, changed) == hit_keys(
        pubmed(title="Another title altogether", doi="10.1000/other")
    )
    assert parsed(cache, 7, first) == keys  # work 7 of another database: read from its document


def test_no_keys_of_an_older_version_or_none() -> None:
    cache = KeysCache()
    assert cache.parse(1, None) is None
    assert cache.parse(1, "null") is None
    assert cache.parse(1, document(pubmed(), version=KEYS_VERSION - 1)) is None


def test_bounded() -> None:
    cache = KeysCache(size=8)
    text = document(pubmed())
    for work_id in range(100):
        cache.parse(work_id, text)
    assert len(cache._entries) <= 8
    assert parsed(cache, 99, text) == hit_keys(pubmed())


def test_kept_keys_add_nothing_for_the_garbage_collector_to_walk() -> None:
    """Every full collection walks the objects Python's collector watches, about once per
    batch under Python's default thresholds (an import called in process): the cache's entries,
    tens of thousands in a large import, must not be among them, or each batch costs more than
    the one before."""
    cache = KeysCache()
    documents = [
        document(pubmed(pmid=str(n), title=f"Study {n} of link workers")) for n in range(500)
    ]
    for _ in range(3):
        gc.collect()
    watched = len(gc.get_objects())
    for work_id, text in enumerate(documents):
        assert cache.parse(work_id, text) is not None
    for _ in range(3):
        gc.collect()
    assert len(cache._entries) == 500
    assert len(gc.get_objects()) - watched < 50
    assert parsed(cache, 7, documents[7]) == hit_keys(
        pubmed(pmid="7", title="Study 7 of link workers")
    )


def test_keys_rewritten_by_another_writer_are_used(db: Database) -> None:
    """A work's stored keys changed behind the cache (another process, a migration): the next
    batch dedupes against the stored keys, not the cached ones."""

    def copy(n: int) -> Hit:
        return pubmed(
            doi=None,
            pmid=None,
            source=f"import:{n}",
            source_id=str(n),
            origin=f"{n}",
            keywords=[f"k{n}"],  # not identical records: found through their keys
        )

    with db.write() as session:
        ingest_hits(session, [copy(1)], topic="t", run_id=None, now=NOW)
    with db.write() as session:  # a copy joins the work: its keys are now in the cache
        assert ingest_hits(session, [copy(2)], topic="t", run_id=None, now=NOW).new_works == 0
    with db.write() as session:
        work = session.scalars(select(Work)).one()
        stored = json.loads(json.dumps(work.dedupe_keys))
        stored["keys"]["year"] = 1990  # now the stored keys say another year
        session.execute(update(Work).where(Work.id == work.id).values(dedupe_keys=stored))
    with db.write() as session:
        result = ingest_hits(session, [copy(3)], topic="t", run_id=None, now=NOW)
    assert result.new_works == 1, "the cached keys of the work were used, not the stored ones"


def test_a_titles_block_is_read_by_its_volumes_and_years(db: Database) -> None:
    """A title's start and end are stored once per work, under its volume and year; a record
    without a volume or a year still finds every work of that title, in any volume or none,
    through the range of those keys, and nothing from a title that only begins the same way; a
    record with a volume and a year finds those of its volume or none, of the years around its
    own."""
    _whole_title_ranges(db)


def test_whole_title_ranges_hold_where_the_locale_reorders_punctuation() -> None:
    """On a PostgreSQL database whose collation (ICU en-US) sorts "p:linkworkers|12|2024" away
    from "p:linkworkers|", a plain range would find nothing; the pattern operators and their index
    compare bytes, so the blocks are the same as on any other database."""
    import uuid

    from dbsupport import POSTGRES_URL, postgres_skip_reason
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from harvester.store.migrate import upgrade

    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    name = f"harvester_icu_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            try:
                conn.execute(
                    text(
                        f"CREATE DATABASE \"{name}\" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                        "LOCALE 'C.UTF-8' TEMPLATE template0"
                    )
                )
            except DBAPIError as exc:
                pytest.skip(f"this PostgreSQL makes no ICU database: {exc.orig}")
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        database = Database(url)
        try:
            with database.read() as session:
                ordered = session.execute(
                    text("SELECT 'p:linkworkers|12|2024' < 'p:linkworkers|12}'")
                ).scalar_one()
            assert not ordered, "this locale orders keys as bytes: nothing to show"
            _whole_title_ranges(database)
        finally:
            database.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _whole_title_ranges(db: Database) -> None:
    from harvester.core.models import Author, PubDate
    from harvester.store.ingest_load import _blocks
    from harvester.store.tables import WorkKey

    def hit(n: int, title: str, volume: str | None, family: str, year: int) -> Hit:
        return pubmed(
            source_id=str(n),
            pmid=str(n),
            doi=None,
            title=title,
            volume=volume,
            pages=f"{n}-{n + 5}" if volume else None,
            authors=[Author(family=family, given="Ann", initials="A")],
            pub_date=PubDate(year),
        )

    hits = [
        hit(1, "Link workers", "12", "Example", 2024),
        hit(2, "Link workers", "13", "Moreau", 2022),
        hit(3, "Link workers", None, "Okafor", 2019),
        hit(4, "Link workers today", "12", "Example", 2024),
        hit(5, "Link workers", None, "Adeyemi", 2023),
    ]
    with db.write() as session:
        assert ingest_hits(session, hits, topic="t", run_id=None, now=NOW).new_works == 5
    with db.read() as session:
        stored = set(session.scalars(select(WorkKey.key)))
        assert {"p:linkworkers|12|2024", "p:linkworkers|13|2022", "p:linkworkers||2019"} <= stored
        lookups = {
            "p:linkworkers|*",
            "p:linkworkers|*@2023",
            "p:linkworkers|12@2024",
            "p:linkworkers|12",
            "p:linkworkerstod|12@2024",
        }
        blocks = _blocks(session, lookups)
    assert len(blocks["p:linkworkers|*"]) == 4  # volumes 12 and 13 and none; not "... today"
    assert len(blocks["p:linkworkers|*@2023"]) == 3  # 2024, 2022 and 2023; not 2019
    assert len(blocks["p:linkworkers|12@2024"]) == 2  # volume 12 of 2024, none of 2023
    assert len(blocks["p:linkworkers|12"]) == 3  # volume 12 and none, of any year
    assert len(blocks["p:linkworkerstod|12@2024"]) == 1


def test_new_works_go_into_the_full_text_index_many_to_a_statement(sqlite_db: Database) -> None:
    """SQLite's full-text index writes a segment at the end of every statement that adds to it,
    so new works go in a few multi-row statements, of a few shapes whatever the batch's size;
    every work is in the index under its own id."""
    from sqlalchemy import event, text

    from harvester.store import ingest_apply

    inserts: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO WORK "):
            inserts.append(statement)

    def rows(statements: list[str]) -> int:
        return sum(" ".join(s.split()).count("), (") + 1 for s in statements)

    event.listen(sqlite_db.engine, "before_cursor_execute", seen)

    def batch(first: int, count: int) -> list[Hit]:
        return [
            pubmed(
                source_id=str(n),
                pmid=str(40_000_000 + n),
                doi=f"10.1000/fts.{n}",
                title=f"Distinct study zqx{n} of link workers in general practice",
                pages=f"{n}-{n + 5}",
            )
            for n in range(first, first + count)
        ]

    sizes = [300, 1, 77, ingest_apply.ROWS_PER_STATEMENT]
    first = 1
    for size in sizes:
        before = len(inserts)
        with sqlite_db.write() as session:
            result = ingest_hits(session, batch(first, size), topic="t", run_id=None, now=NOW)
        assert result.new_works == size
        assert rows(inserts[before:]) == size, "rows inserted one statement each"
        assert len(inserts) - before == bin(size).count("1"), "one statement per power of two"
        first += size
    assert len(set(inserts)) <= ingest_apply.ROWS_PER_STATEMENT.bit_length()
    with sqlite_db.read() as session:
        for n in (1, 300, 301, 378, first - 1):
            found = (
                session.execute(
                    text(
                        "SELECT w.pmid FROM work_fts JOIN work w ON w.id = work_fts.rowid "
                        "WHERE work_fts MATCH :word"
                    ),
                    {"word": f"zqx{n}"},
                )
                .scalars()
                .all()
            )
            assert found == [str(40_000_000 + n)]


def test_new_works_one_statement_each_where_sqlite_has_no_returning(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SQLite older than 3.35 (no RETURNING) still takes new works, one statement each."""
    monkeypatch.setattr(sqlite_db.engine.dialect, "insert_returning", False)
    hits = [
        pubmed(
            source_id=str(n),
            pmid=str(41_000_000 + n),
            doi=f"10.1000/old.{n}",
            title=f"Older engine study qzv{n} of link workers",
            pages=f"{n}-{n + 3}",
        )
        for n in range(1, 6)
    ]
    with sqlite_db.write() as session:
        assert ingest_hits(session, hits, topic="t", run_id=None, now=NOW).new_works == 5
    with sqlite_db.read() as session:
        assert session.scalars(select(Work.pmid).order_by(Work.id)).all() == [
            str(41_000_000 + n) for n in range(1, 6)
        ]


def test_only_works_a_hit_may_join_have_their_candidates_and_links_read(db: Database) -> None:
    """A work only compared with a hit (it shares a block, dedupe keeps them apart) has its keys
    read and nothing else: a hit changes only a work it joins. The work it joins has its
    candidate read, so the hit moves that candidate instead of adding another."""
    from sqlalchemy import func

    from harvester.core.ingest.planner import batch_facts
    from harvester.core.models import Author, PubDate
    from harvester.store.ingest_load import load_snapshot
    from harvester.store.tables import Candidate

    other = pubmed(  # the same title in the same volume, by another author a year before
        source_id="38000002",
        pmid="38000002",
        doi="10.1000/sp.2023.9",
        authors=[Author(family="Other", given="Olga", initials="O")],
        pub_date=PubDate(2023),
        pages="1-9",
    )
    with db.write() as session:
        ingest_hits(session, [pubmed(), other], topic="t", run_id=None, now=NOW)
        ids = {row.pmid: row.id for row in session.execute(select(Work.pmid, Work.id))}
        article, apart = ids["38000001"], ids["38000002"]
        session.execute(
            insert(WorkLink).values(
                work_id=apart, other_id=article, relation="comment-on", created_at=NOW
            )
        )
    copy = pubmed(source="import:c", source_id="c", origin="c.ris", pmid=None, doi=None)
    with db.read() as session:
        snapshot = load_snapshot(session, [copy], batch_facts([copy]), "t")
    assert {article, apart} <= snapshot.works.keys()
    assert snapshot.works[article].fields is not None
    assert snapshot.works[apart].fields is None and snapshot.works[apart].keys is not None
    assert set(snapshot.candidates) == {article}
    assert not snapshot.links  # the only link is from the work only compared
    with db.write() as session:
        result = ingest_hits(session, [copy], topic="t", run_id=None, now=NOW)
        candidates = session.scalar(select(func.count()).select_from(Candidate))
    assert (result.new_works, result.merged, candidates) == (0, 1, 2)
