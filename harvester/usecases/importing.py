"""Import files into the store and export a topic's candidates: the orchestration behind
``harvester import`` and ``harvester export``.

An import reads the whole file first (so a broken record stops it before anything is written),
keeping the records it read in a spool (memory up to ``SPOOL_MEMORY``, then a temporary file),
then stores them from the spool through the same ingest as a harvest in batches of
``IMPORT_BATCH``, each batch its own short transaction, planned on a read snapshot before the
write lock is taken (:func:`~harvester.store.works.ingest_batch`): other writers (a harvest, the
web UI) wait for a batch's writing only, and memory stays bounded by a batch and the spool's
limit.
Importing the file again changes nothing, so an import stopped half-way is completed by running
it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from harvester.core.models import (
    CandidateStatus,
    CandidateView,
    Hit,
    ImportProblem,
    citation_fields,
)
from harvester.sources import FILE_FORMATS
from harvester.sources.importers import ReadTally, detect_format, read_records, record_id
from harvester.store.candidates import candidate_views
from harvester.store.db import Database
from harvester.store.works import ingest_batch

if TYPE_CHECKING:
    from harvester.render.export import ExportItem, ExportSighting

__all__ = ["ImportSummary", "collector_paused", "export_candidates", "import_file"]


#: Records stored per transaction. Each commit writes every page its batch changed, and a batch's
#: new keys land at random places in the blocking-key and identity indexes, so the larger the
#: store, the more pages a batch of a given size changes; 2,500 records to a batch share those
#: pages among more records (in a 100,000-record import, committing in batches of 3,000 took
#: less than half the time it took in batches of 1,000), while other writers wait for about a
#: second of writing.
IMPORT_BATCH = 2500
#: Bytes of read records an import keeps in memory before its spool moves to a temporary file.
SPOOL_MEMORY = 64 * 1024 * 1024
#: Records the spool keeps as one pickled list. Read back one by one from a temporary file (past
#: ``SPOOL_MEMORY``), records took each a few small reads through the file's Python layers, so a
#: large file's records cost more to read back than a small file's, kept in memory; a list of
#: this many is read in one go at either size.
SPOOL_CHUNK = 500
#: Problems listed by name in the summary; the rest are counted.
SHOWN_PROBLEMS = 20

Progress = Callable[[int, int], None]
"""Told (records stored so far, records in the file) after every stored batch."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did. ``merged_within`` counts records that joined a work an earlier
    record of the same file created; ``merged_existing`` those that joined a work stored before
    (on a second import of a file: all of them)."""

    path: Path
    format: str
    records: int
    new_works: int
    merged_within: int
    merged_existing: int
    new_candidates: int
    new_sightings: int
    problems: list[ImportProblem] = field(default_factory=list)
    #: Records read but not stored (nothing in them to keep).
    skipped: int = 0
    #: PMIDs of PubMed deletion notices in the file, and how many stored works they named.
    deletions: list[str] = field(default_factory=list)
    marked_deleted: int = 0

    @property
    def merged(self) -> int:
        return self.merged_within + self.merged_existing

    def line(self) -> str:
        label = FILE_FORMATS[self.format].label if self.format in FILE_FORMATS else self.format
        text = (
            f"{self.path.name} ({label}): {self.records} records read, {self.new_works} new "
            f"works, {self.merged_within} merged within the file, {self.merged_existing} merged "
            f"into existing works, {self.new_candidates} new candidates, {self.new_sightings} "
            f"records not seen before"
        )
        if self.skipped:
            text += f", {self.skipped} skipped"
        if self.deletions:
            pmids = ", ".join(self.deletions[:SHOWN_PROBLEMS])
            more = (
                f" and {len(self.deletions) - SHOWN_PROBLEMS} more"
                if len(self.deletions) > SHOWN_PROBLEMS
                else ""
            )
            notices = "notice" if len(self.deletions) == 1 else "notices"
            marked = (
                f"{self.marked_deleted} stored work{'s' if self.marked_deleted != 1 else ''} "
                "marked deleted in PubMed"
                if self.marked_deleted
                else "none names a stored work"
            )
            text += (
                f"; {len(self.deletions)} PubMed deletion {notices} (PMID {pmids}{more}): {marked}"
            )
        records = sorted({p.record for p in self.problems})
        if not records:
            return text
        text += f"; {len(records)} records with problems:"
        shown = self.problems[:SHOWN_PROBLEMS]
        text += "".join(f"\n  {p.line()}" for p in shown)
        if len(self.problems) > len(shown):
            text += f"\n  ... and {len(self.problems) - len(shown)} more"
        return text


def import_file(
    db: Database,
    path: str | Path,
    *,
    topic: str | None,
    status: CandidateStatus = CandidateStatus.NEW,
    now: dt.datetime,
    actor: str = "import",
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the records of ``path`` (RIS, CSL-JSON, PubMed XML or MEDLINE).

    With ``topic``, each work becomes a candidate there with ``status`` (or moves forward to it;
    see :mod:`harvester.core.ingest.planner` for the rules). ``progress`` (by default a line on a
    terminal's stderr) hears after every stored batch.
    """
    path = Path(path)
    with path.open("rb") as handle:
        fmt = detect_format(path, handle.read(4096))
    problems: list[ImportProblem] = []
    # The reading counts the records and collects their problems; a file that cannot be read is
    # refused here, before anything is stored.
    tally = ReadTally()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        total = _spool(read_records(path, problems, tally), spool)
        spool.seek(0)
        counts = _store_spooled(
            db,
            _unspool(spool, total),
            total,
            path,
            topic=topic,
            status=status,
            now=now,
            actor=actor,
            progress=progress,
        )
    return ImportSummary(
        path=path,
        format=fmt,
        records=tally.records - len(tally.deletions),
        new_works=counts["new_works"],
        merged_within=counts["within"],
        merged_existing=counts["existing"],
        new_candidates=counts["new_candidates"],
        new_sightings=counts["sightings"],
        problems=problems,
        skipped=tally.records - total,  # deletion notices are among both
        deletions=tally.deletions,
        marked_deleted=counts["marked"],
    )


def _spool(hits: Iterable[Hit], spool: IO[bytes]) -> int:
    """Write ``hits`` to ``spool`` in order, :data:`SPOOL_CHUNK` to a pickled list; how many
    there were."""
    count = 0
    records = iter(hits)
    while chunk := list(itertools.islice(records, SPOOL_CHUNK)):
        spool.write(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        count += len(chunk)
    return count


def _unspool(spool: IO[bytes], count: int) -> Iterator[Hit]:
    """The ``count`` hits :func:`_spool` wrote, in order."""
    done = 0
    while done < count:
        # The spool is this import's own unnamed temporary file, written just above.
        chunk: list[Hit] = pickle.load(spool)  # noqa: S301
        done += len(chunk)
        yield from chunk


def _store_spooled(
    db: Database,
    hits: Iterable[Hit],
    total: int,
    path: Path,
    *,
    topic: str | None,
    status: CandidateStatus,
    now: dt.datetime,
    actor: str,
    progress: Progress | None,
) -> dict[str, int]:
    """Store ``hits`` (``total`` of them, read from ``path``) in batches; what they did."""
    terminal = progress is None and sys.stderr.isatty()
    if terminal:
        progress = _terminal_progress(path.name)
    created: set[int] = set()
    counts = {
        "new_works": 0,
        "within": 0,
        "existing": 0,
        "new_candidates": 0,
        "sightings": 0,
        "marked": 0,
    }
    done = 0
    batch: list[Hit] = []

    def store() -> None:
        nonlocal done
        with collector_paused():
            result = ingest_batch(
                db, batch, topic=topic, run_id=None, now=now, status=status, actor=actor
            )
        for outcome in result.outcomes:
            if outcome.work_id is None:
                continue
            if outcome.reason == "deleted":
                counts["marked"] += 1
                continue
            if outcome.created:
                created.add(outcome.work_id)
            elif outcome.work_id in created:
                counts["within"] += 1
            else:
                counts["existing"] += 1
        counts["new_works"] += result.new_works
        counts["new_candidates"] += result.new_candidates
        counts["sightings"] += result.new_sightings
        done += len(batch)
        batch.clear()
        if progress is not None:
            progress(done, total)

    try:
        for hit in hits:
            batch.append(hit)
            if len(batch) >= IMPORT_BATCH:
                store()
        if batch:
            store()
    finally:
        if terminal:
            sys.stderr.write("\r\033[K")  # clear the progress line
            sys.stderr.flush()
    return counts


class _Pause:
    """The batches storing with the collector paused, in every thread, and whether the first of
    them paused a running collector (and so the last must start it again)."""

    lock = threading.Lock()
    batches = 0
    resume = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while one batch is stored, then a young collection.

    Nearly everything a batch makes is freed by reference counting when the batch ends; while it
    runs, most of it is alive, so each young collection during a batch walked tens of thousands
    of live objects and freed little (4 to 5 of every 100 seconds of an import). Collected
    between batches instead, the young generation holds only what outlived its batch, and any
    cycles a batch made are freed then. The collector is process-wide: several batches in
    several threads pause it together, the last to end starts it again, and a collector already
    paused by someone else is left paused.
    """
    with _Pause.lock:
        if _Pause.batches == 0:
            _Pause.resume = gc.isenabled()
            gc.disable()
        _Pause.batches += 1
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.batches -= 1
            resume = _Pause.batches == 0 and _Pause.resume
            if resume:
                gc.enable()
        if resume:
            gc.collect(0)


def _terminal_progress(name: str) -> Progress:
    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{name}: {done} of {total} records stored…")
        sys.stderr.flush()

    return show


def export_candidates(
    db: Database, topic: str, status: CandidateStatus | None, fmt: str, out: TextIO
) -> int:
    """Write the candidates of ``topic`` (only ``status``, when given) to ``out`` as ``fmt``
    ("ris", "csljson" or "csv"); returns the number of records written."""
    from harvester.render.export import EXPORT_FORMATS, ExportItem, ExportSighting, write_export

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with db.read() as session:
        page = candidate_views(session, topic=topic, status=status, by_work=True)
    return write_export([_item(c, ExportItem, ExportSighting) for c in page.items], fmt, out)


def _item(
    candidate: CandidateView, item: type[ExportItem], sighting: type[ExportSighting]
) -> ExportItem:
    """``candidate`` as an export row (the export module's classes are given by the caller,
    which loads that module once, for the export command alone)."""
    work = candidate.work
    text = "\n\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in work.abstract)
    return item(
        work_id=work.id,
        **citation_fields(work),
        topic=candidate.topic,
        status=candidate.status,
        score=candidate.score,
        abstract=text or None,
        keywords=work.keywords,
        deleted_at=work.deleted_at,
        sightings=[
            sighting(
                source=s.source,
                source_id=s.source_id,
                record_id=record_id(s.source_id) if s.source.startswith("import:") else "",
                origin=s.origin,
                match_reason=s.match_reason,
                title=s.title,
                first_seen_at=s.first_seen_at,
                last_seen_at=s.last_seen_at,
            )
            for s in candidate.sightings
        ],
    )
