"""Full-text search over works: title, journal, source name, authors, abstract and feed summary.

One entry point, :func:`work_match`, gives the condition "this candidate's work matches the
reviewer's search" on either database:

- SQLite: an FTS5 table ``work_fts`` (rowid = ``work.id``) kept up to date by triggers on
  ``work`` (created by migration 0006_search, made contentless by 0007_raw: it holds the words'
  index, not a second copy of the text, and answers with rowids), so every path that writes a
  work, whatever code it goes through, keeps the index true.
- PostgreSQL: a GIN index ``ix_work_fts`` on the expression :data:`PG_DOCUMENT`
  (``to_tsvector('simple', ...)``, no stemming and no stop words); the query repeats the same
  expression so the planner uses the index.

What a search means (:func:`parse_search`), the same on both: the words are AND-ed; the last word
matches as a prefix (``prescrib`` finds "prescribing") unless it is quoted; ``"link worker"``
matches the words next to each other. Case is ignored, punctuation separates words (``covid-19``
is the phrase "covid 19"; a last word with punctuation in it is not a prefix on PostgreSQL). SQLite also folds diacritics (``societe`` finds "Société"); the
PostgreSQL 'simple' configuration does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select, text

from harvester.store.tables import Candidate, Work

__all__ = [
    "FTS_TABLE",
    "PG_DOCUMENT",
    "PG_INDEX",
    "SearchTerm",
    "parse_search",
    "pg_tsquery",
    "sqlite_match",
    "work_match",
]

FTS_TABLE = "work_fts"
PG_INDEX = "ix_work_fts"
MAX_TERMS = 8

#: The document PostgreSQL indexes and searches: every string in the authors and abstract JSON,
#: the title, journal and source name, and the feed summary with its tags taken out.
PG_DOCUMENT = (
    "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(journal, '') "
    "|| ' ' || coalesce(source_name, '') || ' ' "
    "|| regexp_replace(coalesce(summary_html, ''), '<[^>]*>', ' ', 'g')) "
    "|| json_to_tsvector('simple'::regconfig, coalesce(authors, '[]'::json), '[\"string\"]'::jsonb) "
    "|| json_to_tsvector('simple'::regconfig, coalesce(abstract, '[]'::json), '[\"string\"]'::jsonb))"
)

_PIECE = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """Words that must appear next to each other (one word for a plain word); ``prefix``: the last
    of them may be the start of a longer word."""

    words: tuple[str, ...]
    prefix: bool = False
    raw: str = ""  # as typed (PostgreSQL parses it itself: see pg_tsquery)


def parse_search(query: str) -> list[SearchTerm]:
    """The terms of a reviewer's search (at most :data:`MAX_TERMS`); empty when it has no word."""
    terms: list[SearchTerm] = []
    last_bare = False
    for match in _TOKEN.finditer(query):
        quoted, bare = match.group(1), match.group(2)
        raw = quoted if quoted is not None else bare
        words = tuple(p.lower() for p in _PIECE.findall(raw))
        if not words:
            continue
        terms.append(SearchTerm(words, raw=raw))
        last_bare = bare is not None
    terms = terms[:MAX_TERMS]
    if terms and last_bare:
        terms[-1] = SearchTerm(terms[-1].words, prefix=True, raw=terms[-1].raw)
    return terms


def sqlite_match(terms: list[SearchTerm]) -> str:
    """An FTS5 MATCH expression: one quoted phrase per term (words are letters and digits only,
    so nothing the reviewer types is read as FTS5 syntax)."""
    return " ".join(f'"{" ".join(t.words)}"' + ("*" if t.prefix else "") for t in terms)


def pg_tsquery(terms: list[SearchTerm]) -> tuple[str, dict[str, str]]:
    """A tsquery expression AND-ing one query per term, with its bound values.

    A term is given to ``phraseto_tsquery`` as typed, so that PostgreSQL's parser splits it as it
    split the document (``covid-19`` is 'covid' then '-19' there); a prefix term of one word is
    ``to_tsquery('word:*')`` (letters and digits only, quoted: nothing typed is read as syntax).
    """
    parts, values = [], {}
    for n, term in enumerate(terms):
        name = f"fts_{n}"
        if term.prefix and len(term.words) == 1:
            parts.append(f"to_tsquery('simple'::regconfig, :{name})")
            values[name] = f"'{term.words[0]}':*"
        else:
            parts.append(f"phraseto_tsquery('simple'::regconfig, :{name})")
            values[name] = term.raw or " ".join(term.words)
    return " && ".join(parts), values


def work_match(dialect: str, query: str) -> ColumnElement[bool] | None:
    """The condition "the candidate's work matches ``query``", or None when ``query`` has no
    word to look for."""
    terms = parse_search(query)
    if not terms:
        return None
    matching: Select[Any]
    if dialect == "sqlite":
        matching = (
            select(literal_column("rowid"))
            .select_from(text(FTS_TABLE))
            .where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=sqlite_match(terms)))
        )
    elif dialect == "postgresql":
        tsquery, values = pg_tsquery(terms)
        matching = (
            select(Work.id)
            .where(text(f"{PG_DOCUMENT} @@ ({tsquery})").bindparams(**values))
            .correlate(None)  # its own scan of work (through the index), not the outer query's
        )
    else:
        raise NotImplementedError(f"text search is not available on {dialect}")
    return Candidate.work_id.in_(matching)
