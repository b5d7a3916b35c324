"""Import files: each format to Hits, format detection, errors naming file and record."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from harvester.core.errors import ImportFormatError
from harvester.core.models import CandidateStatus, ImportProblem, WorkKind
from harvester.sources.importers import NO_TITLE, detect_format, read_records, record_id
from harvester.store.db import Database
from harvester.store.tables import Candidate, Work
from harvester.usecases.importing import import_file

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


def test_csljson_in_crossrefs_citeproc_shape() -> None:
    (hit,) = read_records(IMPORT / "handmade_crossref_citeproc.json")
    assert hit.source == "import:csljson" and hit.doi == "10.5555/jchp.2019.0412"
    assert hit.source_id.startswith("sha1:")  # no CSL id: a digest of the whole record
    assert hit.title == "Link Workers and Frequent Attenders in General Practice"
    assert hit.journal == "Journal of Community Health Practice"
    assert hit.volume == "7" and hit.pages == "412-419"
    assert hit.pub_date is not None and (hit.pub_date.year, hit.pub_date.month) == (2019, 8)
    assert [a.family for a in hit.authors] == ["Okafor", "van der Berg"]


def test_ris() -> None:
    hits = list(read_records(IMPORT / "handmade_records.ris"))
    assert len(hits) == 3
    assert hits[0].doi == "10.1186/1471-2105-7-10" and hits[0].source_id.startswith("sha1:")
    assert len({hit.source_id for hit in hits}) == 3
    assert [a.family for a in hits[0].authors] == ["Casbon", "Crooks", "Saqi"]
    assert hits[1].pages == "101-109" and hits[1].pub_date is not None
    assert (hits[1].pub_date.month, hits[1].pub_date.day) == (5, 1)
    assert hits[1].source_id.startswith("sha1:")  # no ID: a digest of the whole record
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
        ("bad.json", b'[{"type": "article"}]', "bad.json: no record could be kept .record 1: no"),
        ("bad.json", b"[1, 2]", "bad.json: no record could be kept .record 1: not a CSL-JSON"),
        ("binary.ris", bytes(range(256)) * 4, "binary.ris: no records found"),
        ("bad.xml", b"<PubmedArticleSet><PubmedArticle>", "bad.xml"),
        ("empty.ris", b"", "empty.ris: no records"),
        ("empty.json", b"[]", "empty.json: no records"),
        ("empty.xml", b"<PubmedArticleSet></PubmedArticleSet>", "empty.xml: no records"),
        ("endnote.xml", b"<xml><records><record/></records></xml>", "endnote.xml: not a Pub"),
    ],
)
def test_bad_files_name_file_and_record(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=message.replace("(", r"\(")):
        list(read_records(path))


def test_ris_record_without_title_is_kept_and_reported() -> None:
    problems: list[ImportProblem] = []
    hits = list(read_records(IMPORT / "handmade_no_title.ris", problems))
    assert [h.title for h in hits] == ["A record with a title", NO_TITLE]
    assert [a.family for a in hits[1].authors] == ["Nobody"]
    assert [p.line() for p in problems] == ["record 2: no title; kept with authors"]


def test_hostile_ris_keeps_what_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "hostile.ris"
    path.write_text(
        "TY  - JOUR\nTI  - Fine\nPY  - 2021/02/30/\nER  - \n\n"
        "TY  - ABST\nAU  - Smith, J\nT2  - BMJ\nPY  - 2020/13/01/\nER  - \n\n"
        "TY  - JOUR\nER  - \n\n"
        f"TY  - JOUR\nTI  - {NO_TITLE}\nDO  - 10.1234/x\nPY  - 2019/02/29/\nER  - \n",
        encoding="utf-8",
    )
    problems: list[ImportProblem] = []
    hits = list(read_records(path, problems))
    assert [(h.title, h.pub_date.iso() if h.pub_date else None) for h in hits] == [
        ("Fine", "2021-02"),
        (NO_TITLE, "2020"),
        (NO_TITLE, "2019-02"),  # a placeholder read back from an export is no title
    ]
    assert all(h.pub_date is None or h.pub_date.as_date() for h in hits)
    assert [p.line() for p in problems] == [
        "record 1: date '2021/02/30/' does not exist; kept 2021-02",
        "record 2: date '2020/13/01/' has no month 13; kept the year 2020",
        "record 2: no title; kept with authors, journal and year",
        "record 3: no title and nothing else to keep (authors, journal, year, identifier); skipped",
        "record 4: date '2019/02/29/' does not exist; kept 2019-02",
        "record 4: no title; kept with year and DOI",
    ]


def test_csljson_wrong_types_are_dropped_not_stored_as_garbage(tmp_path: Path) -> None:
    path = tmp_path / "wrong.json"
    path.write_text(
        """[{"id": "a", "title": 12345, "container-title": ["J Test"], "volume": 5,
             "author": [{"family": ["Doe"], "given": 7}, {"family": "Roe", "given": "R"}],
             "issued": {"date-parts": [[2021, 2, 30]]}},
            {"id": "b", "title": "Good", "author": "Doe, J", "issued": "May 2020",
             "DOI": {"x": 1}},
            42,
            {"id": "d", "title": ["Listed", "title"], "issued": {"date-parts": [["x"]]}}]""",
        encoding="utf-8",
    )
    problems: list[ImportProblem] = []
    hits = list(read_records(path, problems))
    first, second, fourth = hits
    assert (first.title, first.journal, first.volume) == (NO_TITLE, "J Test", "5")
    assert [(a.family, a.given) for a in first.authors] == [("Roe", "R")]
    assert first.pub_date is not None and first.pub_date.iso() == "2021-02"
    assert (second.title, second.authors, second.doi) == ("Good", [], None)
    assert second.pub_date is not None and second.pub_date.iso() == "2020"
    assert (fourth.title, fourth.pub_date) == ("Listed", None)
    assert [p.line() for p in problems] == [
        "record 1: title is not text (12345); dropped",
        "record 1: date [2021, 2, 30] does not exist; kept 2021-02",
        'record 1: author 1: not text, dropped: family ["Doe"], given 7; author dropped',
        "record 1: no title; kept with authors, journal and year",
        'record 2: doi is not text ({"x": 1}); dropped',
        'record 2: author is not a list of names ("Doe, J"); dropped',
        "record 3: not a CSL-JSON object (42); skipped",
        'record 4: issued is not a date ({"date-parts": [["x"]]}); dropped',
    ]
    for hit in hits:
        assert "[" not in "".join(a.display for a in hit.authors)


def test_medline_bad_dates_and_missing_fields_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "bad.nbib"
    path.write_bytes(
        b"PMID- 1\nTI  - A\nDP  - 2021 Feb 30\n\nPMID- 2\nTI  - B\nDP  - 0000\n\n"
        b"PMID- 3\nAB  - only an abstract\nDP  - 2020\n"
    )
    problems: list[ImportProblem] = []
    hits = list(read_records(path, problems))
    assert [(h.pmid, h.title, h.pub_date.iso() if h.pub_date else None) for h in hits] == [
        ("1", "A", "2021-02"),
        ("2", "B", None),
        ("3", NO_TITLE, "2020"),
    ]
    assert [p.line() for p in problems] == [
        "record 1: date '2021 Feb 30' does not exist; kept 2021-02",
        "record 2: date '0000' has no usable year; dropped",
        "record 3: no title; kept with year, PMID, URL and abstract",
    ]


def test_title_less_records_never_merge_by_title(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "letters.ris"
    path.write_text(
        "TY  - JOUR\nAU  - Smith, J\nT2  - BMJ\nPY  - 2020\nVL  - 5\nSP  - 10\nER  - \n\n"
        "TY  - JOUR\nAU  - Smith, J\nT2  - BMJ\nPY  - 2020\nVL  - 5\nSP  - 99\nER  - \n",
        encoding="utf-8",
    )
    summary = import_file(db, path, topic="t", now=NOW)
    assert summary.new_works == 2


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


def test_ris_quirks_of_real_exports() -> None:
    """BOM, CRLF, a header before the first record, tags with one space and ``ER  -`` without
    its space, a lost ER, continuation lines in list tags (N1), T1/JO/JF/Y1/DA, a DOI as a URL."""
    hits = list(read_records(IMPORT / "handmade_quirks.ris"))
    assert [h.title for h in hits] == [
        "Falls prevention on acute wards",
        "Delirium screening in older inpatients",
        "Record that lost its end tag",
        "Trust opens new falls clinic",
    ]
    first, second, third, news = hits
    assert first.doi == "10.1000/nt.2019.22" and first.source_id.startswith("sha1:")
    assert (first.journal, first.pages, first.url) == (
        "Nursing Times",
        "22-25",
        "https://example.org/a",
    )
    assert first.pub_date is not None and first.pub_date.year == 2019
    # a line break after a sentence in an abstract is a paragraph break (the export's own)
    assert first.abstract_text == "Falls are common.\n\nThey can be prevented."
    assert [(a.family, a.given, a.initials) for a in first.authors] == [
        ("Smith", "J.", None),
        ("Patel", None, "AK"),
    ]
    assert second.pmid == "31000002" and second.journal == "Age and Ageing"
    assert second.pub_date is not None and (second.pub_date.month, second.pub_date.day) == (3, 15)
    assert third.pub_date is not None and third.pub_date.year == 2021
    assert news.kind is WorkKind.NEWS and news.pub_date is not None and news.pub_date.month == 7


def test_records_without_ids_are_told_apart_by_content(db: Database, tmp_path: Path) -> None:
    """Two exports saved under the same name (``savedrecs.ris``, ``Exported Items.ris``) whose
    records carry no PMID or DOI, only an export-local ID: different records stay different."""
    for folder, title in (("a", "Hand hygiene audit"), ("b", "Pressure ulcer bundle")):
        (tmp_path / folder).mkdir()
        record = f"TY  - JOUR\nTI  - {title}\nPY  - 2020\nID  - 1\nER  - \n"
        (tmp_path / folder / "savedrecs.ris").write_text(record)
    first = import_file(db, tmp_path / "a" / "savedrecs.ris", topic=None, now=NOW)
    second = import_file(db, tmp_path / "b" / "savedrecs.ris", topic=None, now=NOW)
    again = import_file(db, tmp_path / "b" / "savedrecs.ris", topic=None, now=NOW)
    assert (first.new_works, second.new_works, again.new_sightings) == (1, 1, 0)
    with db.read() as session:
        assert sorted(w.title for w in session.scalars(select(Work))) == [
            "Hand hygiene audit",
            "Pressure ulcer bundle",
        ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (
            "endnote.txt",
            "\ufeffTY  - JOUR\r\nTI  - Caf\u00e9 culture\r\nER  - \r\n".encode("utf-16-le"),
        ),
        ("cp1252.ris", "TY  - JOUR\nTI  - Caf\u00e9 culture\nER  - \n".encode("cp1252")),
        (
            "mixed.ris",
            "TY  - JOUR\nTI  - Caf\u00e9 culture\nN1  - \u2019".encode() + b"\x92\nER  - \n",
        ),
    ],
)
def test_encodings(tmp_path: Path, name: str, data: bytes) -> None:
    """UTF-16 with a BOM (EndNote), Windows-1252, and UTF-8 with a stray Windows-1252 byte."""
    path = tmp_path / name
    path.write_bytes(data)
    (hit,) = read_records(path)
    assert hit.title == "Caf\u00e9 culture"


def test_medline_quirks() -> None:
    """CRLF, a leading blank line, two LID lines, two collective authors, a book (BTI)."""
    trial, book = read_records(IMPORT / "handmade_quirks.nbib")
    assert trial.title.endswith("hip protectors in care homes: a cluster randomised study.")
    assert trial.doi == "10.1371/journal.pone.0210000"
    assert [a.collective for a in trial.authors] == [
        None,
        "Hip Protector Trial Group",
        "UK Care Homes Research Network",
    ]
    assert trial.pub_date is not None and (trial.pub_date.year, trial.pub_date.month) == (2021, 1)
    assert book.title == "Falls in Older People: Risk Factors and Strategies for Prevention"


def test_csljson_quirks(tmp_path: Path) -> None:
    """Zotero's PMID in ``note``, lower-case ``doi``, ``page-first``, ``issued`` as ``raw`` or a
    string, a name particle, a single object instead of a list."""
    items = [
        {
            "type": "article-journal",
            "title": "A",
            "doi": "https://doi.org/10.1000/ABC",
            "note": "PMID: 31000020\nPMCID: PMC7000020",
            "page-first": "e12",
            "issued": {"raw": "May 2020"},
            "author": [{"family": "Gogh", "given": "V.", "non-dropping-particle": "van"}],
        },
        {"type": "article-newspaper", "title": "B", "issued": "2021-06-02"},
    ]
    path = tmp_path / "zotero.json"
    path.write_text(json.dumps(items))
    first, news = read_records(path)
    assert (first.doi, first.pmid, first.pages) == ("10.1000/abc", "31000020", "e12")
    assert first.pub_date is not None and first.pub_date.year == 2020
    assert first.authors[0].family == "van Gogh"
    assert news.kind is WorkKind.NEWS and news.pub_date is not None and news.pub_date.day == 2
    single = tmp_path / "one.json"
    single.write_text(json.dumps(items[1]))
    assert [h.title for h in read_records(single)] == ["B"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.txt", b"\r\nTY - JOUR\r\n", "ris"),
        ("a.txt", b"Provider: EBSCO\nDatabase: CINAHL\n\nTY  - JOUR\n", "ris"),
        ("a.ris", "TY  - JOUR\n".encode("utf-16"), "ris"),
        ("a.txt", b"\nPMID- 1\n", "medline"),
    ],
)
def test_format_sniffing(name: str, content: bytes, expected: str) -> None:
    assert detect_format(Path(name), content) == expected


def test_record_ids_are_the_records_own_and_never_shared(tmp_path: Path) -> None:
    """RIS ``ID`` (else ``AN``) and CSL ``id`` name the record; a digest of its content keeps two
    different records with one id (two exports both numbered from 1) apart."""
    ris = tmp_path / "savedrecs.ris"
    ris.write_text(
        "TY  - JOUR\nID  - 7\nTI  - First\nER  - \n\nTY  - JOUR\nID  - 7\nTI  - Second\nER  - \n\n"
        "TY  - JOUR\nAN  - EMB-123\nTI  - Third\nER  - \n",
        encoding="utf-8",
    )
    first, second, third = read_records(ris)
    assert record_id(first.source_id) == record_id(second.source_id) == "7"
    assert first.source_id != second.source_id
    assert record_id(third.source_id) == "EMB-123"
    assert [h.source_id for h in read_records(ris)] == [h.source_id for h in (first, second, third)]
    csl = tmp_path / "items.json"
    csl.write_text('[{"id": "doe2021", "title": "A"}, {"title": "B"}]', encoding="utf-8")
    a, b = read_records(csl)
    assert record_id(a.source_id) == "doe2021" and record_id(b.source_id) == ""


def test_a_cut_field_is_reported_under_its_record_number(db: Database, tmp_path: Path) -> None:
    """Record 1 holds nothing to keep and is skipped; record 2's over-long language is cut and
    reported as record 2's, not as the first record stored."""
    path = tmp_path / "cut.ris"
    path.write_text(
        f"TY  - JOUR\nER  - \n\nTY  - JOUR\nTI  - Kept\nPY  - 2020\nLA  - {'x' * 40}\nER  - \n",
        encoding="utf-8",
    )
    summary = import_file(db, path, topic="t", now=NOW)
    lines = [p.line() for p in summary.problems]
    assert "record 2: language cut to 16 of its 40 characters" in lines
    assert all(not line.startswith("record 1: language") for line in lines)


def test_ris_records_are_read_a_chunk_at_a_time() -> None:
    """A large export is parsed as it is read, never held whole: the first record comes out
    before the reader has gone past the first chunk (here the lines after it would fail)."""
    from harvester.sources.import_ris import _ris_records

    def lines() -> Iterator[str]:
        for n in range(3):
            yield from ("TY  - JOUR", f"TI  - Record {n}", "ER  - ")
        raise AssertionError("read past the first chunk before giving a record")

    records = _ris_records(lines(), chunk=2)
    assert [next(records)["title"], next(records)["title"]] == ["Record 0", "Record 1"]


def test_cut_fields_keep_their_record_numbers_across_chunks(db: Database, tmp_path: Path) -> None:
    """Records are read 500 at a time; a note still names the record it belongs to, in a full
    chunk and in the last, partial one."""
    long_language = "x" * 40
    records = [
        f"TY  - JOUR\nTI  - Record {n}\nPY  - 2020\n"
        + (f"LA  - {long_language}\n" if n in (501, 1203) else "")
        + "ER  - \n"
        for n in range(1, 1204)
    ]
    path = tmp_path / "many.ris"
    path.write_text("\n".join(records), encoding="utf-8")
    summary = import_file(db, path, topic="t", now=NOW)
    assert summary.records == 1203
    cut = sorted(p.line() for p in summary.problems if "language cut" in p.line())
    assert cut == [
        "record 1203: language cut to 16 of its 40 characters",
        "record 501: language cut to 16 of its 40 characters",
    ]
