"""Import files into the store and export a topic's candidates: the orchestration behind
``harvester import`` and ``harvester export``.

An import reads the whole file first (so a broken record stops it before anything is written),
then stores every record through the same ingest as a harvest (:func:`ingest_hits`) in one
transaction: a file is imported completely or not at all, and importing it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harvester.bulletin.export import EXPORT_FORMATS, ExportItem, ExportSighting, write_export
from harvester.models import AbstractSection, Author, CandidateStatus, PubDate, WorkKind
from harvester.sources.importers import detect_format, read_records, record_id
from harvester.store.candidates import list_candidates
from harvester.store.db import Database
from harvester.store.tables import Candidate
from harvester.store.works import ingest_hits

__all__ = ["ImportSummary", "export_candidates", "import_file"]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    path: Path
    format: str
    records: int
    new_works: int
    merged: int
    new_candidates: int
    new_sightings: int

    def line(self) -> str:
        return (
            f"{self.path.name} ({self.format}): {self.records} records, {self.new_works} new "
            f"works, {self.merged} matched existing works, {self.new_candidates} new candidates, "
            f"{self.new_sightings} new sightings"
        )


def import_file(
    db: Database,
    path: str | Path,
    *,
    topic: str | None,
    status: CandidateStatus = CandidateStatus.NEW,
    now: dt.datetime,
    actor: str = "import",
) -> ImportSummary:
    """Import the records of ``path`` (RIS, CSL-JSON, PubMed XML or MEDLINE).

    With ``topic``, each work becomes a candidate there with ``status`` (or moves forward to it;
    see :mod:`harvester.store.works` for the rules).
    """
    path = Path(path)
    hits = list(read_records(path))
    with path.open("rb") as handle:
        fmt = detect_format(path, handle.read(4096))
    with db.write() as session:
        result = ingest_hits(
            session, hits, topic=topic, run_id=None, now=now, status=status, actor=actor
        )
    return ImportSummary(
        path=path,
        format=fmt,
        records=len(hits),
        new_works=result.new_works,
        merged=result.merged,
        new_candidates=result.new_candidates,
        new_sightings=result.new_sightings,
    )


def export_candidates(
    db: Database, topic: str, status: CandidateStatus | None, fmt: str, out: TextIO
) -> int:
    """Write the candidates of ``topic`` (only ``status``, when given) to ``out`` as ``fmt``
    ("ris", "csljson" or "csv"); returns the number of records written."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with db.read() as session:
        candidates = list_candidates(session, topic=topic, status=status)
        items = [_item(c) for c in sorted(candidates, key=lambda c: c.work_id)]
    return write_export(items, fmt, out)


def _item(candidate: Candidate) -> ExportItem:
    work = candidate.work
    abstract = [AbstractSection(text=s["text"], label=s.get("label")) for s in work.abstract]
    text = "\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in abstract)
    return ExportItem(
        work_id=work.id,
        title=work.title,
        kind=WorkKind(work.kind),
        topic=candidate.topic,
        status=candidate.status,
        authors=[Author.from_dict(a) for a in work.authors],
        journal=work.journal,
        journal_iso=work.journal_iso,
        volume=work.volume,
        issue=work.issue,
        pages=work.pages,
        pub_date=PubDate.from_dict(work.pub_date) if work.pub_date else None,
        doi=work.doi,
        pmid=work.pmid,
        pmcid=work.pmcid,
        url=work.url,
        abstract=text or None,
        language=work.language,
        keywords=list(work.keywords),
        sightings=[
            ExportSighting(
                source=s.source,
                source_id=s.source_id,
                record_id=record_id(s.source_id) if s.source.startswith("import:") else "",
                origin=s.origin,
                match_reason=s.match_reason,
                title=s.title,
                first_seen_at=s.first_seen_at,
                last_seen_at=s.last_seen_at,
            )
            for s in work.sightings
        ],
    )
