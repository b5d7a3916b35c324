"""Import files to Hits: RIS, CSL-JSON, PubMed XML and MEDLINE (``.nbib``).

A librarian loads past bulletins or a manual database export; every record becomes a Hit with
``source`` "import:<format>", ``origin`` the file name and ``source_id`` the record's own id (PMID,
else DOI, else its ID field, else ``<file name>#<record number>``), so importing the same file
twice finds the same sightings and changes nothing.

The format comes from the file's extension and is checked against its first bytes (content
wins when they disagree: a PubMed export saved as ``.txt`` is still MEDLINE). A file that cannot
be read raises :class:`ImportFormatError` naming the file and, where it applies, the record.
PubMed XML is read by :mod:`harvester.sources.pubmed_xml`, the parser harvests use.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rispy
from Bio import Medline

from harvester.errors import HarvesterError, ImportFormatError
from harvester.models import AbstractSection, Author, DatePrecision, Hit, PubDate, WorkKind
from harvester.normalise import normalise_doi, normalise_pmcid, normalise_pmid
from harvester.sources.pubmed_xml import parse_pubmed_xml

__all__ = ["FORMATS", "detect_format", "read_records"]

FORMATS = ("ris", "csljson", "pubmed-xml", "medline")
_EXTENSIONS = {
    ".ris": "ris",
    ".json": "csljson",
    ".xml": "pubmed-xml",
    ".nbib": "medline",
    ".medline": "medline",
}
_RIS_NEWS = frozenset({"NEWS", "MGZN"})
_RIS_ARTICLE = frozenset({"JOUR", "JFULL", "ABST", "INPR", "EJOUR"})
_CSL_NEWS = frozenset({"article-newspaper", "article-magazine"})
_CSL_ARTICLE = frozenset({"article-journal", "article", "review"})
_YEAR_MONTH_DAY = re.compile(r"^\s*(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?")
_MEDLINE_DATE = re.compile(r"^\s*(\d{4})(?:\s+([A-Za-z]{3}))?(?:\s+(\d{1,2}))?")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_SNIFF_BYTES = 4096


def detect_format(path: Path, head: bytes) -> str:
    """The import format of ``path`` from its first bytes, else from its extension."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").decode("utf-8", "replace")
    if text.startswith("<"):
        return "pubmed-xml"
    if text.startswith(("[", "{")):
        return "csljson"
    if re.match(r"TY {2}- ", text):
        return "ris"
    if re.match(r"PMID- ", text):
        return "medline"
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is None:
        raise ImportFormatError(
            f"{path}: unknown import format (expected RIS, CSL-JSON, PubMed XML or MEDLINE)",
            hint="RIS starts with 'TY  - ', MEDLINE with 'PMID- ', CSL-JSON with '[', XML with '<'",
        )
    return by_extension


def read_records(path: str | Path) -> Iterator[Hit]:
    """Yield one Hit per record of the import file ``path``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    fmt = detect_format(path, data[:_SNIFF_BYTES])
    readers: dict[str, Callable[[Path, bytes], Iterator[Hit]]] = {
        "ris": _read_ris,
        "csljson": _read_csljson,
        "pubmed-xml": _read_pubmed_xml,
        "medline": _read_medline,
    }
    yield from readers[fmt](path, data)


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{path}: not UTF-8 text (byte {exc.start}): save the export as UTF-8"
        ) from None


def _source_id(path: Path, number: int, *ids: str | None) -> str:
    for value in ids:
        if value:
            return value
    return f"{path.name}#{number}"


# --- RIS -----------------------------------------------------------------------------------


def _read_ris(path: Path, data: bytes) -> Iterator[Hit]:
    try:
        records = rispy.loads(_text(path, data))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ImportFormatError(f"{path}: not a valid RIS file: {exc}") from None
    if not records:
        raise ImportFormatError(f"{path}: no RIS records (each starts with 'TY  - ')")
    for number, record in enumerate(records, 1):
        yield _ris_hit(path, number, record)


def _ris_hit(path: Path, number: int, record: dict[str, Any]) -> Hit:
    title = _first(record, "title", "primary_title", "translated_title", "short_title")
    if not title:
        raise ImportFormatError(f"{path}: record {number}: no title (TI or T1)")
    names = record.get("authors") or record.get("first_authors") or []
    database = f"{record.get('name_of_database', '')} {record.get('database_provider', '')}"
    pmid = None
    if re.search(r"pubmed|medline", database, re.IGNORECASE):
        pmid = normalise_pmid(record.get("accession_number"))
    for note in record.get("notes") or []:
        match = re.search(r"\bPMID:?\s*(\d+)", str(note))
        pmid = pmid or (normalise_pmid(match.group(1)) if match else None)
    doi = normalise_doi(record.get("doi"))
    start, end = record.get("start_page"), record.get("end_page")
    pages = f"{start}-{end}" if start and end and end != start else start
    urls = record.get("urls") or []
    kind = str(record.get("type_of_reference", "")).upper()
    abstract = record.get("abstract") or record.get("notes_abstract")
    return Hit(
        source="import:ris",
        source_id=_source_id(path, number, pmid, doi, record.get("id")),
        origin=path.name,
        title=title,
        kind=WorkKind.NEWS if kind in _RIS_NEWS else _article_or_other(kind in _RIS_ARTICLE),
        authors=[_name(str(n)) for n in names if str(n).strip()],
        journal=_first(record, "secondary_title", "alternate_title3", "journal_name"),
        journal_iso=_first(record, "alternate_title1", "alternate_title2"),
        volume=record.get("volume"),
        issue=record.get("number"),
        pages=pages,
        pub_date=_date(record.get("date"))
        or _date(record.get("publication_year"))
        or _date(record.get("year")),
        doi=doi,
        pmid=pmid,
        url=urls[0] if urls else None,
        abstract=[AbstractSection(text=abstract)] if abstract else [],
        language=record.get("language"),
        keywords=[str(k) for k in record.get("keywords") or []],
        source_name=record.get("publisher"),
    )


def _name(text: str) -> Author:
    """ "Family, Given" (RIS and CSV exports); a name without a comma is kept whole."""
    if "," in text:
        family, given = (part.strip() for part in text.split(",", 1))
        return Author(family=family or None, given=given or None)
    return Author(family=text.strip())


# --- CSL-JSON -------------------------------------------------------------------------------


def _read_csljson(path: Path, data: bytes) -> Iterator[Hit]:
    try:
        document = json.loads(_text(path, data))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    items = document if isinstance(document, list) else [document]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ImportFormatError(f"{path}: record {number}: not a CSL-JSON object")
        yield _csl_hit(path, number, item)


def _csl_hit(path: Path, number: int, item: dict[str, Any]) -> Hit:
    title = _csl_string(item.get("title"))
    if not title:
        raise ImportFormatError(f"{path}: record {number}: no title")
    doi = normalise_doi(_csl_string(item.get("DOI")))
    pmid = normalise_pmid(_csl_string(item.get("PMID")))
    ctype = str(item.get("type", ""))
    authors = []
    for person in item.get("author") or []:
        if not isinstance(person, dict):
            raise ImportFormatError(f"{path}: record {number}: an author is not an object")
        if person.get("literal") and not person.get("family"):
            authors.append(Author(collective=str(person["literal"])))
        else:
            authors.append(Author(family=person.get("family"), given=person.get("given")))
    abstract = _csl_string(item.get("abstract"))
    return Hit(
        source="import:csljson",
        source_id=_source_id(path, number, pmid, doi, _csl_string(item.get("id"))),
        origin=path.name,
        title=title,
        kind=WorkKind.NEWS if ctype in _CSL_NEWS else _article_or_other(ctype in _CSL_ARTICLE),
        authors=authors,
        journal=_csl_string(item.get("container-title")),
        journal_iso=_csl_string(item.get("container-title-short")),
        volume=_csl_string(item.get("volume")),
        issue=_csl_string(item.get("issue")),
        pages=_csl_string(item.get("page")),
        pub_date=_csl_date(item.get("issued")) or _csl_date(item.get("published-print")),
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(_csl_string(item.get("PMCID"))),
        url=_csl_string(item.get("URL")),
        abstract=[AbstractSection(text=abstract)] if abstract else [],
        language=_csl_string(item.get("language")),
        source_name=_csl_string(item.get("publisher")),
    )


def _csl_string(value: Any) -> str | None:
    """CSL-JSON values are strings, numbers, or (in Crossref's dialect) lists of strings."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, dict):
        return None
    text = str(value).strip()
    return text or None


def _csl_date(value: Any) -> PubDate | None:
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = [int(p) for p in parts[0] if isinstance(p, int | str) and str(p).isdigit()]
        if numbers and len(numbers) == len(parts[0]):
            return _pub_date(*numbers[:3])
    raw = value.get("raw") or value.get("literal")
    return _date(str(raw)) if raw else None


# --- PubMed XML and MEDLINE -------------------------------------------------------------------


def _read_pubmed_xml(path: Path, data: bytes) -> Iterator[Hit]:
    try:
        for hit in parse_pubmed_xml(data, name=str(path)):
            hit.source, hit.origin = "import:pubmed-xml", path.name
            yield hit
    except HarvesterError as exc:
        if isinstance(exc, ImportFormatError):
            raise
        raise ImportFormatError(exc.message) from None


def _read_medline(path: Path, data: bytes) -> Iterator[Hit]:
    handle = io.StringIO(_text(path, data))
    records: Iterator[dict[str, Any]] = Medline.parse(handle)  # type: ignore[no-untyped-call]
    number = 0
    try:
        for number, record in enumerate(records, 1):
            yield _medline_hit(path, number, record)
    except (ValueError, KeyError) as exc:
        raise ImportFormatError(f"{path}: record {number + 1}: not MEDLINE text: {exc}") from None
    if number == 0:
        raise ImportFormatError(f"{path}: no MEDLINE records (each starts with 'PMID- ')")


def _medline_hit(path: Path, number: int, record: dict[str, Any]) -> Hit:
    pmid = normalise_pmid(record.get("PMID"))
    title = record.get("TI") or record.get("BTI")
    if not pmid or not title:
        raise ImportFormatError(f"{path}: record {number}: no PMID or no title (TI)")
    doi = None
    for field in [record.get("LID", ""), *(record.get("AID") or [])]:
        if str(field).endswith("[doi]"):
            doi = normalise_doi(str(field)[: -len("[doi]")])
            break
    full_names = record.get("FAU") or []
    short_names = record.get("AU") or []
    authors = [_name(n) for n in full_names] or [_medline_short(n) for n in short_names]
    authors += [Author(collective=c) for c in ([record["CN"]] if "CN" in record else [])]
    abstract = record.get("AB")
    return Hit(
        source="import:medline",
        source_id=pmid,
        origin=path.name,
        title=title,
        authors=authors,
        journal=record.get("JT"),
        journal_iso=record.get("TA"),
        volume=record.get("VI"),
        issue=record.get("IP"),
        pages=record.get("PG"),
        pub_date=_medline_date(record.get("DP")),
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(record.get("PMC")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        abstract=[AbstractSection(text=abstract)] if abstract else [],
        publication_types=list(record.get("PT") or []),
        language=(record.get("LA") or [None])[0],
        mesh=[str(m).lstrip("*") for m in record.get("MH") or []],
        keywords=list(record.get("OT") or []),
        raw=_medline_raw(record),
    )


def _medline_short(name: str) -> Author:
    """MEDLINE's "AU" form: "Smith JA" (family name, then initials)."""
    family, _, initials = name.rpartition(" ")
    if family and initials.isupper() and initials.isalpha():
        return Author(family=family, initials=initials)
    return Author(family=name)


def _medline_date(value: str | None) -> PubDate | None:
    match = _MEDLINE_DATE.match(value or "")
    if not match:
        return None
    month = _MONTHS.get((match.group(2) or "").casefold())
    day = int(match.group(3)) if match.group(3) and month else None
    date = _pub_date(int(match.group(1)), month, day)
    if date and value and match.end() < len(value.rstrip()):  # "1998 Dec-1999 Jan", "2021 Spring"
        return PubDate(date.year, date.month, date.day, date.precision, text=value.strip())
    return date


def _medline_raw(record: dict[str, Any]) -> bytes:
    lines = []
    for key, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<4}- {item}")
    return "\n".join(lines).encode("utf-8")


# --- shared -----------------------------------------------------------------------------------


def _first(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value and str(value).strip():
            return str(value).strip()
    return None


def _article_or_other(is_article: bool) -> WorkKind:
    return WorkKind.ARTICLE if is_article else WorkKind.OTHER


def _date(value: Any) -> PubDate | None:
    """ "2020", "2020///", "2020/05/01/" (RIS) or "2020-05-01"."""
    match = _YEAR_MONTH_DAY.match(str(value or ""))
    if not match:
        return None
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    return _pub_date(int(match.group(1)), month, day)


def _pub_date(year: int, month: int | None = None, day: int | None = None) -> PubDate | None:
    if not 1000 <= year <= 2999:
        return None
    if month is not None and not 1 <= month <= 12:
        month = day = None
    if day is not None and not 1 <= day <= 31:
        day = None
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year, month, day if month else None, precision)
