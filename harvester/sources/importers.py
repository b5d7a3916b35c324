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

A file is never refused for a record that can be kept. Real exports hold records without a title
(conference abstracts, letters), dates that do not exist (``PY  - 2021/02/30/``) and, in CSL-JSON
written by hand or by scripts, values of the wrong type (``"title": 12345``, ``"family":
["Doe"]``). Such a record is kept with what is valid: a title-less record gets the placeholder
:data:`NO_TITLE`, an impossible date keeps the precision that is valid (2021-02 from 2021/02/30), a
value of the wrong type is dropped rather than stored as its Python repr; and each repair is
reported as an :class:`~harvester.models.ImportProblem` with the record's number. A record with
nothing to keep at all (no title, author, journal, year or identifier) is skipped and reported.
"""

from __future__ import annotations

import calendar
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
from harvester.models import (
    NO_TITLE,
    AbstractSection,
    Author,
    DatePrecision,
    Hit,
    ImportProblem,
    PubDate,
    WorkKind,
)
from harvester.normalise import month_number, normalise_doi, normalise_pmcid, normalise_pmid
from harvester.sources.pubmed_xml import parse_pubmed_xml

__all__ = ["FORMATS", "NO_TITLE", "detect_format", "read_records", "record_id"]

#: The title a record without one is stored under (a work's title cannot be empty). It is never
#: read back as a title: a file exported with it imports as title-less again.

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


def read_records(path: str | Path, problems: list[ImportProblem] | None = None) -> Iterator[Hit]:
    """Yield one Hit per record of the import file ``path`` that can be kept.

    Each record kept after a repair, or skipped, appends an :class:`ImportProblem` to
    ``problems`` (when given) as it is read. Only a file that cannot be read at all (or that
    holds no record to keep) raises :class:`ImportFormatError`.
    """
    path = Path(path)
    kept = 0
    first_problem: ImportProblem | None = None
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            fmt = detect_format(path, head)
            handle.seek(0)
            for number, hit, notes in _READERS[fmt](path, handle, _encoding(head)):
                for note in notes:
                    problem = ImportProblem(record=number, message=note)
                    first_problem = first_problem or problem
                    if problems is not None:
                        problems.append(problem)
                if hit is not None:
                    kept += 1
                    yield hit
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    if kept == 0:
        if first_problem is not None:
            raise ImportFormatError(f"{path}: no record could be kept ({first_problem.line()})")
        raise ImportFormatError(f"{path}: no records found", hint=_NO_RECORDS_HINTS[fmt])


#: What a reader yields per record: its 1-based number, the Hit (None: skipped) and the repairs.
_Read = tuple[int, Hit | None, list[str]]


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


def _read_ris(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    with _text(handle, encoding) as text:
        records = rispy.RisParser().parse_lines(_ris_lines(text))
    for number, record in enumerate(records, 1):
        notes: list[str] = []
        yield number, _kept(_ris_hit(path, record, notes), notes), notes


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


def _read_csljson(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    try:
        with _text(handle, encoding) as text:
            document = json.load(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    items = document if isinstance(document, list) else [document]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            yield number, None, [f"not a CSL-JSON object ({_shown(item)}); skipped"]
            continue
        notes: list[str] = []
        folded = {str(key).casefold(): value for key, value in item.items()}
        yield number, _kept(_csl_hit(path, folded, notes), notes), notes


def _csl_hit(path: Path, item: dict[str, Any], notes: list[str]) -> Hit:
    """``item`` has its keys case-folded: exporters write ``DOI`` or ``doi``, ``URL`` or ``url``.

    A value of the wrong type is dropped (and noted), never stored as its Python repr.
    """

    def text(key: str, *, numeric: bool = False) -> str | None:
        return _csl_text(item, key, notes, numeric=numeric)

    title = text("title")
    doi = normalise_doi(text("doi"))
    note = _PMID_NOTE.search(text("note") or "")  # Zotero's "PMID: 123"
    pmid = normalise_pmid(text("pmid", numeric=True) or (note.group(1) if note else None))
    ctype = item.get("type") if isinstance(item.get("type"), str) else ""
    abstract = text("abstract")
    pub_date = _csl_date(item.get("issued"), "issued", notes)
    if pub_date is None:
        pub_date = _csl_date(item.get("published-print"), "published-print", notes)
    return Hit(
        source="import:csljson",
        source_id=_source_id(item.get("id"), item),
        origin=path.name,
        title=_title(title),
        kind=WorkKind.NEWS if ctype in _CSL_NEWS else _article_or_other(ctype in _CSL_ARTICLE),
        authors=_csl_authors(item.get("author"), notes),
        journal=text("container-title"),
        journal_iso=text("container-title-short"),
        volume=text("volume", numeric=True),
        issue=text("issue", numeric=True),
        pages=text("page", numeric=True) or text("page-first", numeric=True),
        pub_date=pub_date,
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(text("pmcid")),
        url=text("url"),
        abstract=[AbstractSection(text=abstract)] if abstract else [],
        language=text("language"),
        source_name=text("publisher"),
    )


def _csl_text(
    item: dict[str, Any], key: str, notes: list[str], *, numeric: bool = False
) -> str | None:
    """A CSL string variable: a string, or (Crossref's dialect) a list of strings, of which the
    first is taken; a number too where CSL allows one (``numeric``: volume, issue, page)."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = next((v for v in value if v.strip()), "")
    if isinstance(value, int | float) and not isinstance(value, bool) and numeric:
        value = str(value)
    if not isinstance(value, str):
        notes.append(f"{key} is not text ({_shown(value)}); dropped")
        return None
    return value.strip() or None


def _csl_authors(value: Any, notes: list[str]) -> list[Author]:
    """CSL name objects: ``family``/``given`` (with particles) or a ``literal`` name."""
    if value is None:
        return []
    if not isinstance(value, list):
        notes.append(f"author is not a list of names ({_shown(value)}); dropped")
        return []
    authors = []
    for position, person in enumerate(value, 1):
        if not isinstance(person, dict):
            notes.append(f"author {position} is not a name object ({_shown(person)}); dropped")
            continue
        parts: dict[str, str] = {}
        wrong = []
        for key in ("non-dropping-particle", "family", "given", "literal", "suffix"):
            part = person.get(key)
            if isinstance(part, str):
                if part.strip():
                    parts[key] = part.strip()
            elif part is not None:
                wrong.append(f"{key} {_shown(part)}")
        family = " ".join(parts[k] for k in ("non-dropping-particle", "family") if k in parts)
        if parts.get("literal") and not family:
            author = Author(collective=parts["literal"])
        elif family or parts.get("given"):
            author = Author(family=family or None, given=parts.get("given"))
        else:
            author = None
        if wrong:
            what = "; author dropped" if author is None else ""
            notes.append(f"author {position}: not text, dropped: {', '.join(wrong)}{what}")
        if author is not None:
            authors.append(author)
    return authors


def _csl_date(value: Any, key: str, notes: list[str]) -> PubDate | None:
    """``{"date-parts": [[2020, 5]]}`` (numbers or strings), else its ``raw`` or ``literal``
    ("2020-05-01", "May 2020"); some exporters write the date as a plain string."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"raw": value}
    if not isinstance(value, dict):
        notes.append(f"{key} is not a date ({_shown(value)}); dropped")
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = [
            int(p) for p in parts[0] if isinstance(p, int | str) and str(p).strip().isdigit()
        ]
        if numbers and len(numbers) == len(parts[0]):
            return _pub_date(*numbers[:3], shown=_shown(parts[0]), notes=notes)
    raw = value.get("raw") or value.get("literal") or ""
    if isinstance(raw, str) and _YEAR_MONTH_DAY.match(raw):
        return _date(raw, notes)
    year = re.search(r"\b(\d{4})\b", raw) if isinstance(raw, str) else None
    if year:
        return _pub_date(int(year.group(1)), shown=repr(raw), notes=notes)
    if raw or parts is not None:
        notes.append(f"{key} is not a date ({_shown(value)}); dropped")
    return None


# --- PubMed XML and MEDLINE -------------------------------------------------------------------


def _read_pubmed_xml(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:  # noqa: ARG001 - XML declares its own
    try:
        for number, hit in enumerate(parse_pubmed_xml(handle, name=str(path)), 1):
            hit.source, hit.origin = "import:pubmed-xml", path.name
            notes: list[str] = []
            if not hit.title.strip():
                hit.title = _title(None)
            yield number, _kept(hit, notes), notes
    except HarvesterError as exc:
        if isinstance(exc, ImportFormatError):
            raise
        raise ImportFormatError(exc.message) from None


def _read_medline(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    number = 0
    try:
        with _text(handle, encoding) as text:
            records: Iterator[dict[str, Any]] = Medline.parse(text)  # type: ignore[no-untyped-call]
            for number, record in enumerate(records, 1):
                notes: list[str] = []
                yield number, _kept(_medline_hit(path, record, notes), notes), notes
    except (ValueError, KeyError) as exc:
        raise ImportFormatError(f"{path}: record {number + 1}: not MEDLINE text: {exc}") from None


_READERS: dict[str, Callable[[Path, BinaryIO, str], Iterator[_Read]]] = {
    "ris": _read_ris,
    "csljson": _read_csljson,
    "pubmed-xml": _read_pubmed_xml,
    "medline": _read_medline,
}


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
        abstract=[AbstractSection(text=abstract)] if abstract else [],
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


def _date(value: Any, notes: list[str]) -> PubDate | None:
    """ "2020", "2020///", "2020/05/01/" (RIS) or "2020-05-01"."""
    text = str(value or "").strip()
    match = _YEAR_MONTH_DAY.match(text)
    if not match:
        if text and not text.strip("/-"):
            return None
        if text:
            notes.append(f"date {text!r} is not a date; dropped")
        return None
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    return _pub_date(int(match.group(1)), month, day, shown=repr(text), notes=notes)


def _pub_date(
    year: int,
    month: int | None = None,
    day: int | None = None,
    *,
    shown: str = "",
    notes: list[str] | None = None,
) -> PubDate | None:
    """The date, cut back to the precision that exists (2021/02/30 keeps 2021-02; a month 13
    keeps the year); each cut is noted in ``notes``."""
    where = f"date {shown}" if shown else "date"
    if not 1000 <= year <= 2999:
        _note(notes, f"{where} has no usable year; dropped")
        return None
    if month is not None and not 1 <= month <= 12:
        _note(notes, f"{where} has no month {month}; kept the year {year}")
        month = day = None
    if month is not None and day is not None:
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            _note(notes, f"{where} does not exist; kept {year:04d}-{month:02d}")
            day = None
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year, month, day if month else None, precision)


def _note(notes: list[str] | None, message: str) -> None:
    if notes is not None:
        notes.append(message)


def _title(title: str | None) -> str:
    """The title, or :data:`NO_TITLE` (a placeholder read back from an export counts as none)."""
    if title and title.strip() and title.strip() != NO_TITLE:
        return title.strip()
    return NO_TITLE


def _kept(hit: Hit, notes: list[str]) -> Hit | None:
    """``hit``, or None when it holds nothing to keep; a title-less record says what it has."""
    if hit.title != NO_TITLE:
        return hit
    has = [
        label
        for label, present in (
            ("authors", hit.authors),
            ("journal", hit.journal),
            ("year", hit.pub_date),
            ("DOI", hit.doi),
            ("PMID", hit.pmid),
            ("URL", hit.url),
            ("abstract", hit.abstract),
        )
        if present
    ]
    if not has:
        notes.append(
            "no title and nothing else to keep (authors, journal, year, identifier); skipped"
        )
        return None
    kept = ", ".join(has[:-1]) + f" and {has[-1]}" if len(has) > 1 else has[0]
    notes.append(f"no title; kept with {kept}")
    return hit


def _shown(value: Any) -> str:
    """A wrong value as a short repr for a problem line."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:39] + "…"
