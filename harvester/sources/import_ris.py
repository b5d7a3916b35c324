"""RIS records to Hits (see :mod:`harvester.sources.importers`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import rispy

from harvester.core.models import (
    Hit,
    WorkKind,
)
from harvester.core.normalise import normalise_doi, normalise_pmid
from harvester.sources.import_common import (
    _PMID_NOTE,
    FIELD_CHARS,
    _abstract,
    _article_or_other,
    _date,
    _first,
    _kept,
    _name,
    _Read,
    _source_id,
    _text,
    _title,
    bounded_lines,
    capped_lines,
)

_RIS_NEWS = frozenset({"NEWS", "MGZN"})


_RIS_ARTICLE = frozenset({"JOUR", "JFULL", "ABST", "INPR", "EJOUR"})


# Tags whose wrapped lines are paragraphs (abstracts), not one line cut to a width
_PARAGRAPH_TAGS = frozenset({"AB", "N2"})
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*))?$")


_RIS_START = re.compile(r"^TY {1,2}-")
_END_LINE = "ER  - "  # how _ris_lines closes every record


def _read_ris(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    cuts: dict[int, list[str]] = {}
    with _text(handle, encoding) as text:
        lines = capped_lines(bounded_lines(text), cuts, starts=_RIS_START)
        for number, record in enumerate(_ris_records(_ris_lines(lines)), 1):
            notes: list[str] = list(cuts.pop(number, ()))
            yield number, _kept(_ris_hit(path, record, notes), notes), notes


def _ris_records(lines: Iterable[str], chunk: int = 500) -> Iterator[dict[str, Any]]:
    """rispy's record for each record of ``lines`` (as :func:`_ris_lines` gives them, each
    closed by ``ER``), read ``chunk`` records at a time: a large export is never held in memory
    whole."""
    parser = rispy.RisParser()
    held: list[str] = []
    records = 0
    for line in lines:
        held.append(line)
        if line == _END_LINE:
            records += 1
            if records == chunk:
                yield from parser.parse_lines(iter(held))
                held, records = [], 0
    yield from parser.parse_lines(iter(held))


def _ris_lines(lines: Iterable[str]) -> Iterator[str]:
    """RIS lines in the one shape rispy reads: ``XX  - value``, each record closed by ``ER``.

    Exports differ: tags with one space before the dash, ``ER  -`` with no space after it, a
    header before the first record (EBSCO), values wrapped onto untagged lines (which rispy
    cannot append to list tags such as N1), a missing ``ER`` (rispy would drop the last record
    or run two records into one).
    """
    record_open = False
    pending: str | None = None  # the last tag line, which wrapped lines still extend
    for line in lines:
        match = _RIS_LINE.match(line.rstrip())
        if match is None:
            if (
                pending is not None
                and pending[:2] in _PARAGRAPH_TAGS
                and len(pending) < FIELD_CHARS
            ):
                pending = f"{pending}\n{line.strip()}"  # an abstract keeps its line breaks
            elif pending is not None and line.strip() and len(pending) < FIELD_CHARS:
                pending = f"{pending} {line.strip()}"  # the record's own cap cuts the excess
            continue
        if pending is not None:
            yield pending
            pending = None
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "TY":
            if record_open:
                yield _END_LINE
            record_open = True
        if not record_open:
            continue  # a header before the first record
        if tag == "ER":
            yield _END_LINE
            record_open = False
        else:
            pending = f"{tag}  - {value}"
    if pending is not None:
        yield pending
    if record_open:
        yield _END_LINE


def _ris_hit(path: Path, record: dict[str, Any], notes: list[str]) -> Hit:
    other_tags = record.get("unknown_tag") or {}
    title = _first(record, "title", "primary_title", "translated_title", "short_title") or _first(
        other_tags, "CT", "BT"
    )
    names = record.get("authors") or record.get("first_authors") or []
    database = f"{record.get('name_of_database', '')} {record.get('database_provider', '')}"
    pmid = None
    if re.search(r"pubmed|medline|\bNLM\b", database, re.IGNORECASE):
        pmid = normalise_pmid(record.get("accession_number"))
    for note in record.get("notes") or []:
        match = _PMID_NOTE.search(str(note))
        pmid = pmid or (normalise_pmid(match.group(1)) if match else None)
    urls = [str(u) for u in record.get("urls") or []]
    doi = normalise_doi(record.get("doi")) or next(filter(None, map(normalise_doi, urls)), None)
    start, end = record.get("start_page"), record.get("end_page")
    pages = f"{start}-{end}" if start and end and end != start else start
    kind = str(record.get("type_of_reference", "")).upper()
    abstract = record.get("abstract") or record.get("notes_abstract")
    pub_date = None
    for key in ("date", "publication_year", "year"):
        pub_date = pub_date or _date(record.get(key), notes)
    return Hit(
        source="import:ris",
        source_id=_source_id(record.get("id") or record.get("accession_number"), record),
        origin=path.name,
        title=_title(title),
        kind=WorkKind.NEWS if kind in _RIS_NEWS else _article_or_other(kind in _RIS_ARTICLE),
        authors=[_name(str(n)) for n in names if str(n).strip()],
        journal=_first(record, "secondary_title", "alternate_title3", "journal_name"),
        journal_iso=_first(record, "alternate_title1", "alternate_title2"),
        volume=record.get("volume"),
        issue=record.get("number"),
        pages=pages,
        pub_date=pub_date,
        doi=doi,
        pmid=pmid,
        url=urls[0] if urls else None,
        abstract=_abstract(abstract),
        language=record.get("language"),
        keywords=[str(k) for k in record.get("keywords") or []],
        source_name=record.get("publisher"),
    )
