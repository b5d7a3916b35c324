"""Import files to Hits: RIS, CSL-JSON, PubMed XML and MEDLINE (``.nbib``).

A librarian loads past bulletins or a manual database export; every record becomes a Hit with
``source`` "import:<format>", ``origin`` the file name and ``source_id`` naming that one input
record, so that no two different records ever share a sighting and importing the same file twice
finds the same sightings and changes nothing:

- MEDLINE and PubMed XML: the PMID (a PubMed record is that record, whatever its revision);
- RIS and CSL-JSON: the record's own id (RIS ``ID``, else ``AN``; CSL ``id``) joined by ``#`` to a
  digest of the record's whole content, else ``sha1:`` and the digest alone. Reference managers
  number records per library or per export (EndNote ``ID  - 1``) and exports are routinely saved
  under the same name (``savedrecs.ris``), so the id alone could name two different records; the
  digest keeps them apart while :func:`record_id` still gives the id the user's file carries.

The format comes from the file's first bytes, else its extension (a PubMed export saved as
``.txt`` is still MEDLINE). Text is UTF-8 (with or without a BOM) or UTF-16 with a BOM (EndNote);
bytes that are not UTF-8 are read as Windows-1252, the other encoding exports come in. A file
that cannot be read, or holds no records, raises :class:`ImportFormatError` naming the file and,
where it applies, the record. PubMed XML is read by :mod:`harvester.sources.pubmed_xml`, the
parser harvests use; RIS, MEDLINE and XML are read as streams.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import rispy
from Bio import Medline

from harvester.errors import HarvesterError, ImportFormatError
from harvester.models import AbstractSection, Author, DatePrecision, Hit, PubDate, WorkKind
from harvester.normalise import month_number, normalise_doi, normalise_pmcid, normalise_pmid
from harvester.sources.pubmed_xml import parse_pubmed_xml

__all__ = ["FORMATS", "detect_format", "read_records", "record_id"]

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
_SNIFF_BYTES = 4096
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*))?$")
_RIS_START = re.compile(r"^TY {1,2}-", re.MULTILINE)
_PMID_NOTE = re.compile(r"\b(?:PMID|PubMed ID):?\s*(?:NLM)?(\d+)", re.IGNORECASE)
_FAMILY_INITIALS = re.compile(r"^(\S.*?)\s+([A-Z]{1,4})$")
_MEDLINE_DOI = re.compile(r"(\S+)\s+\[doi\]")
_INITIALS_FAMILY = re.compile(r"^((?:[A-Z]\.[\s-]*)+)(\S.*)$")
_NO_RECORDS_HINTS = {
    "ris": "each RIS record starts with 'TY  - '",
    "csljson": "CSL-JSON is a list of objects",
    "pubmed-xml": "PubMed XML holds PubmedArticle elements",
    "medline": "each MEDLINE record starts with 'PMID- '",
}


def detect_format(path: Path, head: bytes) -> str:
    """The import format of ``path`` from its first bytes, else from its extension."""
    text = head.decode(_encoding(head), "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "pubmed-xml"
    if text.startswith(("[", "{")):
        return "csljson"
    if _RIS_START.search(text):  # after a header such as EBSCO's "Provider: ..." lines
        return "ris"
    if text.startswith("PMID-"):
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
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            fmt = detect_format(path, head)
            handle.seek(0)
            count = 0
            for count, hit in enumerate(_READERS[fmt](path, handle, _encoding(head)), 1):  # noqa: B007
                yield hit
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    if count == 0:
        raise ImportFormatError(f"{path}: no records found", hint=_NO_RECORDS_HINTS[fmt])


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _windows_1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a byte that is not UTF-8 is read as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", "replace"), error.end


codecs.register_error("harvester-cp1252", _windows_1252)


def _text(handle: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """The file as text with universal newlines (CRLF and CR become LF)."""
    return io.TextIOWrapper(handle, encoding=encoding, errors="harvester-cp1252", newline=None)


def _source_id(own_id: Any, content: Any) -> str:
    """The sighting id of one RIS or CSL-JSON record (see the module docstring)."""
    serial = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha1(serial.encode(), usedforsecurity=False).hexdigest()
    own = str(own_id).strip() if isinstance(own_id, str | int) else ""
    return f"{own}#{digest[:16]}" if own else f"sha1:{digest[:20]}"


def record_id(source_id: str) -> str:
    """The id an imported record carries in its own file ("" when it had none), from its
    sighting's ``source_id``."""
    if source_id.startswith("sha1:"):
        return ""
    own, sep, _digest = source_id.rpartition("#")
    return own if sep else source_id


# --- RIS -----------------------------------------------------------------------------------


def _read_ris(path: Path, handle: BinaryIO, encoding: str) -> Iterator[Hit]:
    with _text(handle, encoding) as text:
        records = rispy.RisParser().parse_lines(_ris_lines(text))
    for number, record in enumerate(records, 1):
        yield _ris_hit(path, number, record)


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
            if pending is not None and line.strip():
                pending = f"{pending} {line.strip()}"
            continue
        if pending is not None:
            yield pending
            pending = None
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "TY":
            if record_open:
                yield "ER  - "
            record_open = True
        if not record_open:
            continue  # a header before the first record
        if tag == "ER":
            yield "ER  - "
            record_open = False
        else:
            pending = f"{tag}  - {value}"
    if pending is not None:
        yield pending
    if record_open:
        yield "ER  - "


def _ris_hit(path: Path, number: int, record: dict[str, Any]) -> Hit:
    other_tags = record.get("unknown_tag") or {}
    title = _first(record, "title", "primary_title", "translated_title", "short_title") or _first(
        other_tags, "CT", "BT"
    )
    if not title:
        raise ImportFormatError(f"{path}: record {number}: no title (TI or T1)")
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
    pub_date = (
        _date(record.get("date"))
        or _date(record.get("publication_year"))
        or _date(record.get("year"))
    )
    return Hit(
        source="import:ris",
        source_id=_source_id(record.get("id") or record.get("accession_number"), record),
        origin=path.name,
        title=title,
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
        abstract=[AbstractSection(text=abstract)] if abstract else [],
        language=record.get("language"),
        keywords=[str(k) for k in record.get("keywords") or []],
        source_name=record.get("publisher"),
    )


def _name(text: str) -> Author:
    """A personal name as exports write it: "Smith, John" (most), "Smith JA" (Ovid, MEDLINE
    style) or "J. A. Smith"; anything else (a corporate author) is kept whole."""
    text = text.strip()
    if "," in text:
        family, given = (part.strip() for part in text.split(",", 1))
        return Author(family=family or None, given=given or None)
    if match := _FAMILY_INITIALS.match(text):
        return Author(family=match.group(1), initials=match.group(2))
    if match := _INITIALS_FAMILY.match(text):
        return Author(family=match.group(2), given=match.group(1).strip())
    return Author(family=text)


# --- CSL-JSON -------------------------------------------------------------------------------


def _read_csljson(path: Path, handle: BinaryIO, encoding: str) -> Iterator[Hit]:
    try:
        with _text(handle, encoding) as text:
            document = json.load(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    items = document if isinstance(document, list) else [document]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ImportFormatError(f"{path}: record {number}: not a CSL-JSON object")
        yield _csl_hit(path, number, {key.casefold(): value for key, value in item.items()})


def _csl_hit(path: Path, number: int, item: dict[str, Any]) -> Hit:
    """``item`` has its keys case-folded: exporters write ``DOI`` or ``doi``, ``URL`` or ``url``."""
    title = _csl_string(item.get("title"))
    if not title:
        raise ImportFormatError(f"{path}: record {number}: no title")
    doi = normalise_doi(_csl_string(item.get("doi")))
    note = _PMID_NOTE.search(_csl_string(item.get("note")) or "")  # Zotero's "PMID: 123"
    pmid = normalise_pmid(_csl_string(item.get("pmid")) or (note.group(1) if note else None))
    ctype = str(item.get("type", ""))
    authors = []
    for person in item.get("author") or []:
        if not isinstance(person, dict):
            raise ImportFormatError(f"{path}: record {number}: an author is not an object")
        family = " ".join(
            str(person[k]) for k in ("non-dropping-particle", "family") if person.get(k)
        )
        if person.get("literal") and not family:
            authors.append(Author(collective=str(person["literal"])))
        else:
            authors.append(Author(family=family or None, given=person.get("given")))
    abstract = _csl_string(item.get("abstract"))
    pub_date = _csl_date(item.get("issued")) or _csl_date(item.get("published-print"))
    return Hit(
        source="import:csljson",
        source_id=_source_id(item.get("id"), item),
        origin=path.name,
        title=title,
        kind=WorkKind.NEWS if ctype in _CSL_NEWS else _article_or_other(ctype in _CSL_ARTICLE),
        authors=authors,
        journal=_csl_string(item.get("container-title")),
        journal_iso=_csl_string(item.get("container-title-short")),
        volume=_csl_string(item.get("volume")),
        issue=_csl_string(item.get("issue")),
        pages=_csl_string(item.get("page")) or _csl_string(item.get("page-first")),
        pub_date=pub_date,
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(_csl_string(item.get("pmcid"))),
        url=_csl_string(item.get("url")),
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
    """``{"date-parts": [[2020, 5]]}`` (numbers or strings), else its ``raw`` or ``literal``
    ("2020-05-01", "May 2020"); some exporters write the date as a plain string."""
    if isinstance(value, str):
        value = {"raw": value}
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = [int(p) for p in parts[0] if isinstance(p, int | str) and str(p).isdigit()]
        if numbers and len(numbers) == len(parts[0]):
            return _pub_date(*numbers[:3])
    raw = str(value.get("raw") or value.get("literal") or "")
    year = re.search(r"\b(\d{4})\b", raw)
    return _date(raw) or (_pub_date(int(year.group(1))) if year else None)


# --- PubMed XML and MEDLINE -------------------------------------------------------------------


def _read_pubmed_xml(path: Path, handle: BinaryIO, encoding: str) -> Iterator[Hit]:  # noqa: ARG001 - XML declares its own
    try:
        for hit in parse_pubmed_xml(handle, name=str(path)):
            hit.source, hit.origin = "import:pubmed-xml", path.name
            yield hit
    except HarvesterError as exc:
        if isinstance(exc, ImportFormatError):
            raise
        raise ImportFormatError(exc.message) from None


def _read_medline(path: Path, handle: BinaryIO, encoding: str) -> Iterator[Hit]:
    number = 0
    try:
        with _text(handle, encoding) as text:
            records: Iterator[dict[str, Any]] = Medline.parse(text)  # type: ignore[no-untyped-call]
            for number, record in enumerate(records, 1):
                yield _medline_hit(path, number, record)
    except (ValueError, KeyError) as exc:
        raise ImportFormatError(f"{path}: record {number + 1}: not MEDLINE text: {exc}") from None


_READERS: dict[str, Callable[[Path, BinaryIO, str], Iterator[Hit]]] = {
    "ris": _read_ris,
    "csljson": _read_csljson,
    "pubmed-xml": _read_pubmed_xml,
    "medline": _read_medline,
}


def _medline_hit(path: Path, number: int, record: dict[str, Any]) -> Hit:
    pmid = normalise_pmid(record.get("PMID"))
    title = _first(record, "TI") or " ".join(record.get("BTI") or [])  # BTI is not joined
    if not pmid or not title:
        raise ImportFormatError(f"{path}: record {number}: no PMID or no title (TI)")
    # LID and AID lines end in "[doi]" or "[pii]"; Bio.Medline joins repeated LID lines.
    tagged = " ".join([record.get("LID", ""), *(record.get("AID") or [])])
    dois = (normalise_doi(found) for found in _MEDLINE_DOI.findall(tagged))
    doi = next(filter(None, dois), None)
    authors = [_name(n) for n in record.get("FAU") or record.get("AU") or []]
    authors += [Author(collective=c) for c in record.get("CN") or []]
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


def _medline_date(value: str | None) -> PubDate | None:
    match = _MEDLINE_DATE.match(value or "")
    if not match:
        return None
    month = month_number(match.group(2))
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
