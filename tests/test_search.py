"""Full-text search of the review queue (harvester.store.search), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from harvester.core.models import AbstractSection, Author, CandidateStatus, Hit, PubDate, WorkKind
from harvester.store.candidates import CandidateQuery, candidate_page
from harvester.store.db import Database
from harvester.store.search import (
    PG_DOCUMENT,
    SearchTerm,
    parse_search,
    pg_tsquery,
    sqlite_match,
)
from harvester.store.tables import Candidate, Work
from harvester.store.works import ingest_hits

ALL = [
    "Council funds arts on prescription",
    "Green prescriptions and COVID-19 recovery",
    "Link worker support for older adults",
]
NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
TOPIC = "search"


def _hits() -> list[Hit]:
    return [
        Hit(
            source="pubmed",
            source_id="1",
            pmid="1",
            title="Link worker support for older adults",
            authors=[Author(family="Okonkwo", given="Chidi", initials="C")],
            journal="BMJ Open",
            pub_date=PubDate(2024),
            abstract=[
                AbstractSection(text="Social prescribing reduced loneliness.", label="RESULTS")
            ],
        ),
        Hit(
            source="pubmed",
            source_id="2",
            pmid="2",
            title="Green prescriptions and COVID-19 recovery",
            authors=[Author(family="Müller", given="Anna", initials="A")],
            journal="Public Health",
            pub_date=PubDate(2023),
            abstract=[AbstractSection(text="Link roles were described by workers.")],
        ),
        Hit(
            source="feeds",
            source_id="news-1",
            kind=WorkKind.NEWS,
            url="https://news.example/a",
            title="Council funds arts on prescription",
            summary_html="<p>The <b>museum</b> scheme starts in May.</p>",
            source_name="Evening Gazette",
        ),
    ]


def _titles(db: Database, q: str) -> list[str]:
    with db.read() as session:
        page = candidate_page(
            session, CandidateQuery(topic=TOPIC, statuses=(CandidateStatus.NEW,), text=q)
        )
    return sorted(c.work.title for c in page.items)


@pytest.fixture
def searched(db: Database) -> Database:
    with db.write() as session:
        ingest_hits(session, _hits(), topic=TOPIC, run_id=None, now=NOW)
    return db


def test_parse_ands_words_prefixes_the_last_and_keeps_phrases() -> None:
    assert parse_search('link  "social prescribing" prescri') == [
        SearchTerm(("link",), raw="link"),
        SearchTerm(("social", "prescribing"), raw="social prescribing"),
        SearchTerm(("prescri",), prefix=True, raw="prescri"),
    ]
    assert parse_search('"link worker"') == [SearchTerm(("link", "worker"), raw="link worker")]
    assert parse_search("COVID-19") == [SearchTerm(("covid", "19"), prefix=True, raw="COVID-19")]
    assert parse_search('*** " ( ) "') == []
    assert len(parse_search(" ".join(f"w{n}" for n in range(20)))) == 8


def test_query_syntax_cannot_be_injected() -> None:
    terms = parse_search("a' | b:* OR NEAR(c) \"d")
    assert sqlite_match(terms) == '"a" "b" "or" "near c" "d"'
    expression, values = pg_tsquery(terms)
    assert expression.count("phraseto_tsquery('simple'::regconfig, :fts_") == 5
    assert "'" not in expression.replace("'simple'", "")  # what was typed is only ever bound
    assert values["fts_0"] == "a'" and values["fts_3"] == "NEAR(c)"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (
            "link",
            ["Green prescriptions and COVID-19 recovery", "Link worker support for older adults"],
        ),
        (  # AND, the last word a prefix ("workers")
            "link worker",
            ["Green prescriptions and COVID-19 recovery", "Link worker support for older adults"],
        ),
        ("link worker support", ["Link worker support for older adults"]),
        ("link older work", ["Link worker support for older adults"]),
        ('"link worker"', ["Link worker support for older adults"]),  # a phrase, exact words
        ('"worker link"', []),
        ("okonkwo", ["Link worker support for older adults"]),  # authors
        ("bmj", ["Link worker support for older adults"]),  # journal
        ("loneliness", ["Link worker support for older adults"]),  # abstract
        ("covid-19", ["Green prescriptions and COVID-19 recovery"]),
        ("museum", ["Council funds arts on prescription"]),  # feed summary text
        ("gazette", ["Council funds arts on prescription"]),  # source name
        (
            "prescri",
            ALL,
        ),
        (
            "Prescri",
            ALL,
        ),
        ('"prescri"', []),  # quoted: no prefix
        ("nothing-like-this", []),
        (
            "!!!",
            [  # no word: no text filter
                "Council funds arts on prescription",
                "Green prescriptions and COVID-19 recovery",
                "Link worker support for older adults",
            ],
        ),
    ],
)
def test_search_semantics(searched: Database, q: str, expected: list[str]) -> None:
    assert _titles(searched, q) == expected


def test_the_index_follows_updates_and_deletes(searched: Database) -> None:
    with searched.write() as session:
        work_id = session.scalar(select(Work.id).where(Work.pmid == "1"))
        session.execute(update(Work).where(Work.id == work_id).values(title="Befriending schemes"))
    assert _titles(searched, "befriending") == ["Befriending schemes"]
    assert _titles(searched, '"link worker"') == []
    with searched.write() as session:
        session.execute(delete(Candidate).where(Candidate.work_id == work_id))
        session.execute(delete(Work).where(Work.id == work_id))
    assert _titles(searched, "befriending") == []
    if searched.engine.dialect.name == "sqlite":
        with searched.read() as session:
            rows = session.execute(text("SELECT count(*) FROM work_fts")).scalar()
            works = session.execute(text("SELECT count(*) FROM work")).scalar()
        assert rows == works


def test_sqlite_folds_diacritics(searched: Database) -> None:
    if searched.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's 'simple' configuration keeps diacritics")
    assert _titles(searched, "muller") == ["Green prescriptions and COVID-19 recovery"]


def test_postgresql_uses_the_index(searched: Database) -> None:
    if searched.engine.dialect.name != "postgresql":
        pytest.skip("the GIN index is PostgreSQL's")
    with searched.read() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.execute(
                text(
                    f"EXPLAIN SELECT id FROM work WHERE {PG_DOCUMENT} @@ to_tsquery('simple', 'link')"  # noqa: S608
                )
            ).scalars()
        )
    assert "ix_work_fts" in plan


def test_migration_keeps_its_own_copy_of_the_document_expression() -> None:
    # the migration writes the index expression out; the query must repeat it exactly
    source = (Path(__file__).parents[1] / "db" / "versions" / "0006_search.py").read_text()
    namespace: dict[str, object] = {}
    start = source.index("PG_DOCUMENT = (")
    end = source.index(")\n\n", start) + 1
    exec(source[start:end], namespace)  # noqa: S102 - a constant of our own migration
    assert namespace["PG_DOCUMENT"] == PG_DOCUMENT


def test_triggers_exist_after_every_migration(db: Database) -> None:
    # a later migration that rebuilds `work` on SQLite (batch mode) would drop them: it must
    # create them again
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps the index by triggers")
    with db.read() as session:
        names = set(
            session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
        )
    assert {"work_fts_insert", "work_fts_update", "work_fts_delete"} <= names
