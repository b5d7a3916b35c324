"""PubMed XML and MEDLINE (``.nbib``) records to Hits (see :mod:`harvester.sources.importers`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from Bio import Medline

from harvester.core.errors import HarvesterError, ImportFormatError
from harvester.core.models import (
    Author,
    Hit,
    PubDate,
)
from harvester.core.normalise import month_number, normalise_doi, normalise_pmcid, normalise_pmid
from harvester.sources.import_common import (
    _abstract,
    _first,
    _kept,
    _name,
    _pub_date,
    _Read,
    _source_id,
    _text,
    _title,
    bounded_lines,
    capped_lines,
)
from harvester.sources.pubmed_xml import parse_pubmed_xml

_MEDLINE_DATE = re.compile(r"^\s*(\d{4})(?:\s+([A-Za-z]{3}))?(?:\s+(\d{1,2}))?")


_MEDLINE_DOI = re.compile(r"(\S+)\s+\[doi\]")


def _read_pubmed_xml(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:  # noqa: ARG001 - XML declares its own
    try:
        for number, hit in enumerate(parse_pubmed_xml(handle, name=str(path)), 1):
            hit.source, hit.origin = "import:pubmed-xml", path.name
            notes: list[str] = []
            if hit.deleted:  # a deletion notice: it marks the work it names, it adds none
                yield number, hit, notes
                continue
            if not hit.title.strip():
                hit.title = _title(None)
            yield number, _kept(hit, notes), notes
    except HarvesterError as exc:
        if isinstance(exc, ImportFormatError):
            raise
        raise ImportFormatError(exc.message) from None


_MEDLINE_START = re.compile(r"^PMID-")


def _read_medline(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    number = 0
    cuts: dict[int, list[str]] = {}
    try:
        with _text(handle, encoding) as text:
            lines = capped_lines(bounded_lines(text), cuts, starts=_MEDLINE_START)
            records: Iterator[dict[str, Any]] = Medline.parse(lines)  # type: ignore[no-untyped-call]
            for number, record in enumerate(records, 1):
                notes: list[str] = list(cuts.get(number, ()))
                yield number, _kept(_medline_hit(path, record, notes), notes), notes
    except (ValueError, KeyError) as exc:
        raise ImportFormatError(f"{path}: record {number + 1}: not MEDLINE text: {exc}") from None


def _medline_hit(path: Path, record: dict[str, Any], notes: list[str]) -> Hit:
    pmid = normalise_pmid(record.get("PMID"))
    title = _first(record, "TI") or " ".join(record.get("BTI") or [])  # BTI is not joined
    if not pmid:
        notes.append("no PMID")
    # LID and AID lines end in "[doi]" or "[pii]"; Bio.Medline joins repeated LID lines.
    tagged = " ".join([record.get("LID", ""), *(record.get("AID") or [])])
    dois = (normalise_doi(found) for found in _MEDLINE_DOI.findall(tagged))
    doi = next(filter(None, dois), None)
    authors = [_name(n) for n in record.get("FAU") or record.get("AU") or []]
    authors += [Author(collective=c) for c in record.get("CN") or []]
    abstract = record.get("AB")
    return Hit(
        source="import:medline",
        source_id=pmid or _source_id(None, record),
        origin=path.name,
        title=_title(title),
        authors=authors,
        journal=record.get("JT"),
        journal_iso=record.get("TA"),
        volume=record.get("VI"),
        issue=record.get("IP"),
        pages=record.get("PG"),
        pub_date=_medline_date(record.get("DP"), notes),
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(record.get("PMC")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        abstract=_abstract(abstract),
        publication_types=list(record.get("PT") or []),
        language=(record.get("LA") or [None])[0],
        mesh=[str(m).lstrip("*") for m in record.get("MH") or []],
        keywords=list(record.get("OT") or []),
        raw=_medline_raw(record),
    )


def _medline_date(value: str | None, notes: list[str]) -> PubDate | None:
    match = _MEDLINE_DATE.match(value or "")
    if not match:
        if value and value.strip():
            notes.append(f"date {value.strip()!r} is not a date; dropped")
        return None
    month = month_number(match.group(2))
    day = int(match.group(3)) if match.group(3) and month else None
    date = _pub_date(int(match.group(1)), month, day, shown=repr(value), notes=notes)
    if date and value and match.end() < len(value.rstrip()):  # "1998 Dec-1999 Jan", "2021 Spring"
        return PubDate(date.year, date.month, date.day, date.precision, text=value.strip())
    return date


def _medline_raw(record: dict[str, Any]) -> bytes:
    lines = []
    for key, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<4}- {item}")
    return "\n".join(lines).encode("utf-8")
