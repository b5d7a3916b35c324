"""Write a topic's candidates as RIS, CSL-JSON or CSV, for reference managers and for checking.

Pure writers over :class:`ExportItem` (plain values, no database): the orchestration
(:mod:`harvester.usecases.importing`) reads the candidates and hands them over. RIS and CSL-JSON carry one
record per work, with its PMID and DOI so that importing the file again finds the same works. CSV
has one row per *sighting* (each record a source or an import delivered) with the id of the work
it was merged into, so dedupe can be scored from outside.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import rispy

from harvester.core.csl import csl_json, csl_pages
from harvester.core.models import Author, PubDate, WorkKind

__all__ = ["CSV_COLUMNS", "EXPORT_FORMATS", "ExportItem", "ExportSighting", "write_export"]

EXPORT_FORMATS = ("ris", "csljson", "csv")
#: The note an exported record carries when PubMed sent a deletion notice for it.
DELETED_NOTE = "PubMed deletion notice received"
CSV_COLUMNS = (
    "work_id",
    "topic",
    "status",
    "score",
    "source",
    "source_id",
    "record_id",
    "origin",
    "match_reason",
    "first_seen_at",
    "last_seen_at",
    "record_title",
    "work_title",
    "year",
    "journal",
    "doi",
    "pmid",
    "url",
    "deleted_in_pubmed",
)
_RIS_TYPES = {WorkKind.ARTICLE: "JOUR", WorkKind.NEWS: "NEWS", WorkKind.OTHER: "GEN"}


@dataclass(frozen=True, slots=True)
class ExportSighting:
    source: str
    source_id: str
    #: The id the record carries in the user's own file, for imports ("" when none).
    record_id: str
    origin: str
    match_reason: str | None
    title: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One candidate's work, as exported."""

    work_id: int
    title: str
    kind: WorkKind = WorkKind.ARTICLE
    topic: str | None = None
    status: str | None = None
    #: the ranking's score of the candidate (0 to 1; None: not scored)
    score: float | None = None
    authors: Sequence[Author] = ()
    journal: str | None = None
    journal_iso: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_date: PubDate | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    abstract: str | None = None
    language: str | None = None
    keywords: Sequence[str] = ()
    sightings: Sequence[ExportSighting] = field(default_factory=tuple)
    elocation: str | None = None
    source_name: str | None = None
    published_at: dt.datetime | None = None
    #: When a PubMed deletion notice named the work (it was withdrawn or merged there).
    deleted_at: dt.datetime | None = None


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]
    """RIS without rispy's "1." counter line before each record, which some reference managers
    read as junk: a record starts with its TY line, as the RIS specification has it."""

    def set_header(self, count: int) -> str:  # noqa: ARG002 - rispy's signature
        return ""


def write_export(items: Iterable[ExportItem], fmt: str, out: TextIO) -> int:
    """Write ``items`` to ``out`` in ``fmt`` ("ris", "csljson", "csv"); returns the records
    written (works for RIS and CSL-JSON, sightings for CSV)."""
    items = list(items)
    if fmt == "ris":
        out.write(rispy.dumps([_ris(item) for item in items], implementation=_RisWriter))
        return len(items)
    if fmt == "csljson":
        json.dump([_csl(item) for item in items], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return len(items)
    if fmt == "csv":
        return _csv(items, out)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")


def _name(author: Author) -> str:
    if author.collective:
        return author.collective
    given = author.given or author.initials
    if author.family and given:
        return f"{author.family}, {given}"
    return author.family or given or ""


def _line(value: str | None) -> str | None:
    """A value on one line: RIS readers take an untagged line for junk or a new field."""
    return " ".join(value.split()) if value else None


def _ris(item: ExportItem) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type_of_reference": _RIS_TYPES[item.kind],
        "title": _line(item.title),
        "authors": [_line(_name(a)) for a in item.authors if _name(a).strip()],
        "secondary_title": _line(item.journal),
        "alternate_title1": _line(item.journal_iso),
        "volume": _line(item.volume),
        "number": _line(item.issue),
        "doi": item.doi,
        "abstract": _line(item.abstract),
        "language": item.language,
        "keywords": [_line(k) for k in item.keywords if k.strip()],
        "urls": [item.url] if item.url else [],
        "id": str(item.work_id),
    }
    page = csl_pages(item.pages, item.elocation, item.volume).get("page") if item.pages else None
    if page:
        start, _, end = page.partition("-")
        record["start_page"], record["end_page"] = start.strip(), end.strip() or None
    if item.pub_date is not None:
        record["year"] = str(item.pub_date.year)
        if item.pub_date.month:
            day = f"{item.pub_date.day:02d}" if item.pub_date.day else ""
            record["date"] = f"{item.pub_date.year}/{item.pub_date.month:02d}/{day}"
    if item.pmid:
        record["accession_number"], record["name_of_database"] = item.pmid, "PubMed"
    if item.deleted_at is not None:
        record["notes"] = [f"{DELETED_NOTE} {item.deleted_at:%Y-%m-%d}"]
    return {k: v for k, v in record.items() if v not in (None, "", [])}


def _csl(item: ExportItem) -> dict[str, Any]:
    record = csl_json(item, abstract=item.abstract)
    if item.deleted_at:
        record["note"] = f"{DELETED_NOTE} {item.deleted_at:%Y-%m-%d}"
    return record


def _csv(items: list[ExportItem], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    for item in items:
        for sighting in item.sightings:
            writer.writerow(
                {
                    key: _cell(value)
                    for key, value in {
                        "work_id": item.work_id,
                        "topic": item.topic or "",
                        "status": item.status or "",
                        "score": f"{item.score:.4f}" if item.score is not None else "",
                        "source": sighting.source,
                        "source_id": sighting.source_id,
                        "record_id": sighting.record_id,
                        "origin": sighting.origin,
                        "match_reason": sighting.match_reason or "",
                        "first_seen_at": sighting.first_seen_at.isoformat(),
                        "last_seen_at": sighting.last_seen_at.isoformat(),
                        "record_title": sighting.title or "",
                        "work_title": item.title,
                        "year": item.pub_date.year if item.pub_date else "",
                        "journal": item.journal or "",
                        "doi": item.doi or "",
                        "pmid": item.pmid or "",
                        "url": item.url or "",
                        "deleted_in_pubmed": f"{item.deleted_at:%Y-%m-%d}"
                        if item.deleted_at
                        else "",
                    }.items()
                }
            )
            rows += 1
    return rows


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (titles are untrusted text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
