"""Import files: each format to Hits, format detection, errors naming file and record."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from harvester.errors import ImportFormatError
from harvester.importing import import_file
from harvester.models import CandidateStatus, WorkKind
from harvester.sources.importers import detect_format, read_records
from harvester.store.db import Database
from harvester.store.tables import Candidate, Work

IMPORT = Path(__file__).parent / "fixtures" / "import"
NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def test_medline() -> None:
    hits = list(read_records(IMPORT / "biopython_pubmed_result2.nbib"))
    assert [h.pmid for h in hits] == ["16403221", "16377612", "14871861", "14630660"]
    first = hits[0]
    assert (first.source, first.source_id, first.origin) == (
        "import:medline",
        "16403221",
        "biopython_pubmed_result2.nbib",
    )
    assert first.doi == "10.1186/1471-2105-7-10"
    assert first.authors[0].family == "Casbon" and first.journal == "BMC bioinformatics"
    assert first.pub_date is not None and first.pub_date.year == 2006
    structured = next(read_records(IMPORT / "biopython_pubmed_result3.nbib"))
    assert structured.doi == "10.1118/1.4748329"
    assert structured.abstract_text and structured.abstract_text.startswith("PURPOSE:")


def test_pubmed_xml_uses_the_shared_parser() -> None:
    hits = list(read_records(IMPORT / "biopython_pubmed1.xml"))
    assert [h.pmid for h in hits] == ["12091962", "9997"]
    assert {h.source for h in hits} == {"import:pubmed-xml"}
    assert {h.origin for h in hits} == {"biopython_pubmed1.xml"}


def test_csljson_from_crossref() -> None:
    (hit,) = read_records(IMPORT / "transform_csl-json_10.1126_science.169.3946.635.json")
    assert (hit.source, hit.source_id) == ("import:csljson", "10.1126/science.169.3946.635")
    assert hit.title == "The Structure of Ordinary Water"
    assert hit.journal == "Science" and hit.volume == "169" and hit.pages == "635-641"
    assert hit.pub_date is not None and (hit.pub_date.year, hit.pub_date.month) == (1970, 8)


def test_ris() -> None:
    hits = list(read_records(IMPORT / "handmade_records.ris"))
    assert len(hits) == 3
    assert hits[0].doi == "10.1186/1471-2105-7-10" and hits[0].source_id == hits[0].doi
    assert [a.family for a in hits[0].authors] == ["Casbon", "Crooks", "Saqi"]
    assert hits[1].pages == "101-109" and hits[1].pub_date is not None
    assert (hits[1].pub_date.month, hits[1].pub_date.day) == (5, 1)
    assert hits[1].source_id == "handmade_records.ris#2"  # no id in the record
    assert hits[2].kind is WorkKind.NEWS


def test_format_is_sniffed_from_content(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    shutil.copy(IMPORT / "biopython_pubmed_result3.nbib", renamed)
    assert detect_format(renamed, renamed.read_bytes()[:100]) == "medline"
    assert [h.pmid for h in read_records(renamed)] == ["23039619"]
    assert detect_format(Path("a.ris"), b"") == "ris"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", b'[{"title": "x"},', "bad.json: not valid JSON"),
        ("bad.dat", b"hello", "bad.dat: unknown import format"),
        ("bad.json", b'[{"type": "article"}]', "bad.json: record 1: no title"),
        ("bad.nbib", b"PMID- 1\nAB  - no title\n", "bad.nbib: record 1: no PMID or no title"),
        ("bad.xml", b"<PubmedArticleSet><PubmedArticle>", "bad.xml"),
        ("latin1.ris", "TY  - JOUR\nTI  - caf\u00e9\nER  - \n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_files_name_file_and_record(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=message.replace("(", r"\(")):
        list(read_records(path))


def test_ris_record_without_title() -> None:
    with pytest.raises(ImportFormatError, match=r"handmade_no_title.ris: record 2: no title"):
        list(read_records(IMPORT / "handmade_no_title.ris"))


def test_import_dedupes_across_formats_and_is_idempotent(db: Database) -> None:
    medline = import_file(db, IMPORT / "biopython_pubmed_result2.nbib", topic="bio", now=NOW)
    assert (medline.records, medline.new_works) == (4, 4)
    ris = import_file(
        db, IMPORT / "handmade_records.ris", topic="bio", now=NOW, status=CandidateStatus.PUBLISHED
    )
    assert (ris.new_works, ris.merged) == (2, 1)  # record 1 is PMID 16403221 by DOI
    again = import_file(
        db, IMPORT / "handmade_records.ris", topic="bio", now=NOW, status=CandidateStatus.PUBLISHED
    )
    assert (again.new_works, again.new_sightings, again.new_candidates) == (0, 0, 0)
    assert "3 records" in again.line()
    with db.read() as session:
        assert len(session.scalars(select(Work)).all()) == 6
        statuses = sorted(c.status for c in session.scalars(select(Candidate)))
        assert statuses == ["new"] * 3 + ["published"] * 3
