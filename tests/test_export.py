"""Export: RIS and CSL-JSON round-trip through import; CSV has one row per sighting."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from harvester.core.models import Author, CandidateStatus, DatePrecision, PubDate
from harvester.render.export import ExportItem, ExportSighting, write_export
from harvester.sources.importers import read_records
from harvester.store.db import Database
from harvester.store.tables import Sighting, Work
from harvester.usecases.importing import export_candidates, import_file

IMPORT = Path(__file__).parent / "fixtures" / "import"
NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def load(db: Database) -> None:
    import_file(db, IMPORT / "biopython_pubmed_result2.nbib", topic="bio", now=NOW)
    import_file(db, IMPORT / "handmade_records.ris", topic="bio", now=NOW)
    import_file(
        db,
        IMPORT / "handmade_crossref_citeproc.json",
        topic="bio",
        now=NOW,
        status=CandidateStatus.ACCEPTED,
    )


def works(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Work)) or 0


@pytest.mark.parametrize(("fmt", "suffix"), [("ris", ".ris"), ("csljson", ".json")])
def test_round_trip_gives_the_same_works(
    db: Database, tmp_path: Path, fmt: str, suffix: str
) -> None:
    load(db)
    before = works(db)
    path = tmp_path / f"bio{suffix}"
    with path.open("w", encoding="utf-8") as out:
        written = export_candidates(db, "bio", None, fmt, out)
    assert written == before == 7
    summary = import_file(db, path, topic="bio", now=NOW)
    assert (summary.records, summary.new_works, summary.merged) == (7, 0, 7)
    assert works(db) == before


def test_export_filters_by_status(db: Database) -> None:
    load(db)
    out = io.StringIO()
    assert export_candidates(db, "bio", CandidateStatus.ACCEPTED, "csljson", out) == 1
    (item,) = json.loads(out.getvalue())
    assert item["DOI"] == "10.5555/jchp.2019.0412"
    assert item["issued"] == {"date-parts": [[2019, 8, 14]]}


def test_csv_has_one_row_per_sighting_with_its_work(db: Database) -> None:
    load(db)
    out = io.StringIO()
    rows_written = export_candidates(db, "bio", None, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    with db.read() as session:
        sightings = {(s.source, s.source_id): s.work_id for s in session.scalars(select(Sighting))}
    assert rows_written == len(rows) == len(sightings) == 8
    assert {(r["source"], r["source_id"]): int(r["work_id"]) for r in rows} == sightings
    merged = [r for r in rows if r["doi"] == "10.1186/1471-2105-7-10"]
    assert len(merged) == 2 and len({r["work_id"] for r in merged}) == 1
    assert {r["match_reason"] for r in merged} == {"new", "doi"}


def test_csv_cells_are_not_formulas() -> None:
    seen = ExportSighting("feeds", "1", "", "feed", "new", "=HYPERLINK(1)", NOW, NOW)
    item = ExportItem(work_id=1, title="@SUM(A1)", sightings=[seen])
    out = io.StringIO()
    assert write_export([item], "csv", out) == 1
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert (row["record_title"], row["work_title"]) == ("'=HYPERLINK(1)", "'@SUM(A1)")
    with pytest.raises(ValueError, match="unknown export format"):
        write_export([item], "bibtex", out)


def test_ris_records_start_with_their_type_line(db: Database) -> None:
    load(db)
    out = io.StringIO()
    export_candidates(db, "bio", None, "ris", out)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[0].startswith("TY  - ")
    starts = [i for i, line in enumerate(lines) if line.startswith("TY  - ")]
    ends = [i for i, line in enumerate(lines) if line.startswith("ER  -")]
    assert len(starts) == len(ends) == 7
    assert all(end + 1 == start for end, start in zip(ends, starts[1:], strict=False))


def walk(value: object) -> list[object]:
    """Every value nested in a JSON document."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in [item, *walk(item)]]
    if isinstance(value, list):
        return [v for item in value for v in [item, *walk(item)]]
    return []


def test_ris_and_csl_authors_and_multi_line_text(tmp_path: Path) -> None:
    """Every RIS line carries a tag (reference managers drop untagged lines or read them as
    junk), an author known only by a given name or by initials is written whole, and CSL-JSON
    has no nulls or empty names."""
    item = ExportItem(
        work_id=1,
        title="Falls in hospital:\nan audit",
        authors=[
            Author(family="Smith", initials="JA"),
            Author(given="Cher"),
            Author(collective="WHO Group"),
            Author(),
        ],
        abstract="BACKGROUND: falls.\n\nMETHODS: audit.",
        pub_date=PubDate(2020, 5, precision=DatePrecision.MONTH),
    )
    out = io.StringIO()
    write_export([item], "ris", out)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert all(re.match(r"[A-Z][A-Z0-9]  - ", line) for line in lines), lines
    assert "AU  - Cher" in lines and "AU  - Smith, JA" in lines
    path = tmp_path / "one.ris"
    path.write_text(out.getvalue())
    (hit,) = read_records(path)
    # the RIS line is one line; its structured labels come back as the abstract's parts
    assert (hit.title, hit.abstract_text) == (
        "Falls in hospital: an audit",
        "BACKGROUND: falls.\n\nMETHODS: audit.",
    )
    assert [s.label for s in hit.abstract] == ["BACKGROUND", "METHODS"]
    out = io.StringIO()
    write_export([item], "csljson", out)
    (record,) = json.loads(out.getvalue())
    assert record["author"] == [
        {"family": "Smith", "given": "J. A."},
        {"given": "Cher"},
        {"literal": "WHO Group"},
    ]
    assert None not in walk(record) and "" not in walk(record)
    assert record["issued"] == {"date-parts": [[2020, 5]]}
