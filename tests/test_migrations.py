"""Migrations: upgrade an empty database on each backend; the models and migrations agree."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from dbsupport import POSTGRES_URL, postgres_skip_reason
from sqlalchemy import Connection, create_engine, inspect

from harvester.core.errors import NotInitialisedError
from harvester.store import migrate
from harvester.store.tables import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"harvester_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_url: str) -> None:
    assert migrate.current(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": migrate.include_object}
            )
            with warnings.catch_warnings():
                # SQLite's reflection skips the expression indexes of 0006_search, saying so;
                # include_object passes them over anyway
                warnings.filterwarnings(
                    "ignore", message="Skipped unsupported reflection of expression-based index"
                )
                diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_upgrade_is_idempotent(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()


def test_check_current_on_missing_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(NotInitialisedError, match="no database at"):
        migrate.check_current(f"sqlite:///{tmp_path / 'none.db'}")


def test_migrations_are_found() -> None:
    assert (migrate.migrations_dir() / "env.py").exists()


def test_the_code_names_the_newest_migration_as_its_schema() -> None:
    # A database stamped with HEAD_REVISION is opened without migrating: a new migration file
    # must move it, or databases would stay behind the code.
    assert migrate.head() == migrate.HEAD_REVISION


def test_a_database_at_the_schema_opens_without_loading_the_migrations(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate.upgrade(url)
    script = (
        "import sys\n"
        "from harvester.config.settings import Settings\n"
        "from harvester.store.migrate import open_database\n"
        f"db = open_database(Settings(database={{'url': {url!r}}}))\n"
        "db.dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_database_behind_the_code_is_migrated_when_opened(tmp_path: Path) -> None:
    from harvester.config.settings import Settings

    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate.upgrade(url, "0015_block_volume")
    database = migrate.open_database(Settings(database={"url": url}))  # type: ignore[arg-type]
    database.dispose()
    assert migrate.current(url) == migrate.HEAD_REVISION


def test_an_empty_database_is_refused_when_opened(tmp_path: Path) -> None:
    import sqlite3

    from harvester.config.settings import Settings

    sqlite3.connect(tmp_path / "empty.db").close()
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'empty.db'}"})  # type: ignore[arg-type]
    with pytest.raises(NotInitialisedError, match="has no harvester schema"):
        migrate.open_database(settings)


RELEASE_DUMPS = Path(__file__).parent / "fixtures" / "release"


def _load_dump(path: Path, target: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(target)
    connection.executescript(path.read_text(encoding="utf-8"))
    connection.close()


def test_a_database_of_release_0_1_0_upgrades_and_keeps_its_rows(tmp_path: Path) -> None:
    """Release 0.1.0 named its migrations out of order (0001, 0004, 0005, 0002, 0003, 0008); a
    database it made is recognised under the new names, upgraded to head and keeps every row."""
    db_file = tmp_path / "old.db"
    _load_dump(RELEASE_DUMPS / "release-0.1.0.sql", db_file)
    url = f"sqlite:///{db_file}"
    engine = create_engine(url)
    with engine.connect() as conn:
        from sqlalchemy import text

        before = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in ("work", "candidate", "sighting", "user_account", "bulletin")
        }
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0008_search"
        )
    assert before["work"] == 10
    assert migrate.current(url) == migrate.RENAMED_REVISIONS["0008_search"]
    migrate.check_current(url)
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    with engine.connect() as conn:
        from sqlalchemy import text

        after = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in before
        }
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            migrate.head()
        )
    engine.dispose()
    assert after == before


def test_migration_files_are_named_in_the_order_they_run() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    files = sorted(p.stem for p in (Path(__file__).parents[1] / "db" / "versions").glob("0*.py"))
    assert [name.split("_")[0] for name in files] == [f"{i:04d}" for i in range(1, len(files) + 1)]
    assert [rev.split("_")[0] for rev in chain] == [name.split("_")[0] for name in files]


def _insert_work(
    conn: Connection, work_id: int, kind: str, volume: str | None, dedupe_keys: str
) -> None:
    """A work row as an older schema holds it, with these stored dedupe keys."""
    from sqlalchemy import text

    conn.execute(
        text(
            "INSERT INTO work (id, kind, title, authors, volume, abstract, "
            "publication_types, mesh, keywords, relations, title_key, dedupe_keys, "
            "metadata_source, metadata_rank, created_at, updated_at, date_is_fallback) "
            "VALUES (:id, :kind, 't', '[]', :volume, '[]', '[]', '[]', '[]', '[]', 't', "
            ":keys, 'import', 0, :now, :now, false)"
        ),
        {
            "id": work_id,
            "kind": kind,
            "volume": volume,
            "keys": dedupe_keys,
            "now": "2024-01-01 00:00:00",
        },
    )


def test_title_blocks_of_stored_works_are_filed_under_their_volume(empty_url: str) -> None:
    """0015: a work stored before it keeps its whole-title keys and gains the volume-filed
    ones its volume (none for a preprint; a notice both) and its article number give."""
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0014_work_merge")
    engine = create_engine(empty_url)
    works = [
        (1, "article", "34 (Pt 2)", '{"page": "e051857"}'),
        (2, "article", None, '{"preprint": true}'),
        (3, "article", "7", '{"notice": "erratum-of"}'),
    ]
    with engine.begin() as conn:
        for work_id, kind, volume, keys in works:
            _insert_work(conn, work_id, kind, volume, keys)
            for key in ("p:socialprescri", "s:tematicreview", "a:example:2024:social"):
                conn.execute(
                    text("INSERT INTO work_key (work_id, key) VALUES (:w, :k)"),
                    {"w": work_id, "k": key},
                )
    migrate.upgrade(empty_url, "0017_drop_author_volume_key")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT work_id, key FROM work_key")).all()
        index_names = {i["name"] for i in inspect(conn).get_indexes("work_key")}
    engine.dispose()
    filed: dict[int, set[str]] = {}
    for work_id, key in rows:
        filed.setdefault(work_id, set()).add(key)
    common = {"p:socialprescri", "s:tematicreview", "a:example:2024:social"}
    assert filed[1] == common | {"p:socialprescri|34", "s:tematicreview|34", "n:e051857"}
    assert filed[2] == common | {"p:socialprescri|", "s:tematicreview|"}
    assert filed[3] == common | {
        "p:socialprescri|7",
        "s:tematicreview|7",
        "p:socialprescri|",
        "s:tematicreview|",
    }
    assert "ix_work_key_work_id" not in index_names


def test_the_author_volume_blocks_of_stored_works_are_dropped(empty_url: str) -> None:
    """0017: the "v:" keys go, every other key stays; a downgrade files them again from the
    works' stored dedupe keys."""
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0016_ranking_state")
    engine = create_engine(empty_url)
    doc = '{"version": 6, "keys": {"authors": ["moreau", "li"], "year": 2019, "volume": "12"}}'
    kept = {"p:socialprescri", "p:socialprescri|12", "p:moreau:2019:34", "l:12:34-40:2019", "u:x"}
    with engine.begin() as conn:
        _insert_work(conn, 1, "article", "12", doc)
        for key in (*sorted(kept), "v:moreau:2019:12"):
            conn.execute(text("INSERT INTO work_key (work_id, key) VALUES (1, :k)"), {"k": key})

    def filed() -> set[str]:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT key FROM work_key"))}

    migrate.upgrade(empty_url, "0017_drop_author_volume_key")
    assert filed() == kept
    from alembic import command

    command.downgrade(migrate.alembic_config(empty_url), "0016_ranking_state")
    assert filed() == kept | {"v:moreau:2019:12"}
    engine.dispose()


def test_whole_title_blocks_are_read_as_ranges_of_their_volumes(empty_url: str) -> None:
    """0018: a title's start and end keys without a volume go (their volumes' keys stand for
    them), every other key stays, the first author's place key ("p:<author>:...") too; a
    downgrade files the whole titles' keys again. On PostgreSQL the index on key compares bytes
    (``text_pattern_ops``), whatever the locale."""
    from alembic import command
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0017_drop_author_volume_key")
    engine = create_engine(empty_url)
    kept = {
        "p:socialprescri|12",
        "s:tematicreview|12",
        "p:linkworkers|",
        "p:moreau:2019:34",
        "a:moreau:2019:social",
        "l:12:34-40:2019",
        "b:0a1b2c",
    }
    whole = {"p:socialprescri", "s:tematicreview", "p:linkworkers"}
    with engine.begin() as conn:
        _insert_work(conn, 1, "article", "12", "{}")
        for key in sorted(kept | whole):
            conn.execute(text("INSERT INTO work_key (work_id, key) VALUES (1, :k)"), {"k": key})

    def filed() -> set[str]:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT key FROM work_key"))}

    migrate.upgrade(empty_url, "0018_whole_title_ranges")
    assert filed() == kept
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            definition = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_work_key_key'")
            ).scalar_one()
        assert "text_pattern_ops" in definition
    command.downgrade(migrate.alembic_config(empty_url), "0017_drop_author_volume_key")
    assert filed() == kept | whole
    engine.dispose()


def test_the_unread_indexes_on_a_works_doi_and_pmid_are_dropped(empty_url: str) -> None:
    """0019: the two indexes go and the works stay; a downgrade builds them again."""
    from alembic import command
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0018_whole_title_ranges")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        _insert_work(conn, 1, "article", "12", "{}")

    def work_indexes() -> set[str]:
        with engine.connect() as conn:
            return {str(i["name"]) for i in inspect(conn).get_indexes("work")}

    assert {"ix_work_doi", "ix_work_pmid"} <= work_indexes()
    migrate.upgrade(empty_url, "0019_drop_unread_work_indexes")
    assert not {"ix_work_doi", "ix_work_pmid"} & work_indexes()
    assert "ix_work_pub_year" in work_indexes()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM work")).scalars().all() == [1]
    command.downgrade(migrate.alembic_config(empty_url), "0018_whole_title_ranges")
    assert {"ix_work_doi", "ix_work_pmid"} <= work_indexes()
    engine.dispose()


def test_title_blocks_of_stored_works_are_filed_under_their_year(empty_url: str) -> None:
    """0020: a work's title keys gain its year ("p:<start>|12" becomes "p:<start>|12|2019",
    "|" without a year), a notice's keys without a volume are filed without a year too, every
    other key stays; a downgrade files them under the volume alone again."""
    from alembic import command
    from sqlalchemy import text

    migrate.upgrade(empty_url, "0019_drop_unread_work_indexes")
    engine = create_engine(empty_url)
    other = {"p:moreau:2019:34", "a:moreau:2019:social", "l:12:34-40:2019", "b:0a1b2c"}
    notice = '{"version": 6, "keys": {"notice": "erratum-of", "year": 2021}}'
    filed_then = {
        1: ("12", 2019, "{}", {"p:socialprescri|12", "s:tematicreview|12", *other}),
        2: (None, 2021, notice, {"p:linkworkers|", "s:linkworkers|", "p:erratumlinkw|7"}),
        3: (None, None, "{}", {"p:linkworkers|"}),
    }
    with engine.begin() as conn:
        for work_id, (volume, _year, keys, filed) in filed_then.items():
            _insert_work(conn, work_id, "article", volume, keys)
            conn.execute(
                text("UPDATE work SET pub_year = :y WHERE id = :w"), {"y": _year, "w": work_id}
            )
            for key in sorted(filed):
                conn.execute(
                    text("INSERT INTO work_key (work_id, key) VALUES (:w, :k)"),
                    {"w": work_id, "k": key},
                )

    def filed() -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        with engine.connect() as conn:
            for work_id, key in conn.execute(text("SELECT work_id, key FROM work_key")):
                found.setdefault(work_id, set()).add(key)
        return found

    migrate.upgrade(empty_url, "0020_title_block_years")
    assert filed() == {
        1: {"p:socialprescri|12|2019", "s:tematicreview|12|2019", *other},
        2: {
            "p:linkworkers||2021",
            "s:linkworkers||2021",
            "p:linkworkers||",
            "s:linkworkers||",
            "p:erratumlinkw|7|2021",
        },
        3: {"p:linkworkers||"},
    }
    command.downgrade(migrate.alembic_config(empty_url), "0019_drop_unread_work_indexes")
    assert filed() == {work_id: then[3] for work_id, then in filed_then.items()}
    engine.dispose()


def test_the_full_text_index_merges_sixteen_segments_at_a_time(tmp_path: Path) -> None:
    """0021: SQLite's full-text index merges a level's segments 16 at a time (FTS5's default is
    4, which made the index deeper, and each new work dearer, the larger the store); a works
    search still finds what it did; a downgrade gives the default back."""
    from alembic import command
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'fts.db'}"
    migrate.upgrade(url, "0020_title_block_years")
    engine = create_engine(url)

    def width() -> int:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT v FROM work_fts_config WHERE k = 'automerge'"))
            return int(found.scalar_one_or_none() or 4)

    assert width() == 4
    with engine.begin() as conn:
        _insert_work(conn, 1, "article", "12", "{}")
        conn.execute(text("UPDATE work SET title = 'Link workers in primary care' WHERE id = 1"))
    migrate.upgrade(url, "0021_fts_merge_width")
    assert width() == 16
    with engine.connect() as conn:
        found = conn.execute(text("SELECT rowid FROM work_fts WHERE work_fts MATCH 'link'"))
        assert found.scalars().all() == [1]
    command.downgrade(migrate.alembic_config(url), "0020_title_block_years")
    assert width() == 4
    engine.dispose()
