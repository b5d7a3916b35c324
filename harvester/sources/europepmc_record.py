"""Europe PMC ``resultType=core`` JSON records as :class:`~harvester.core.models.Hit` s.

A record carries the identifiers Europe PMC knows (PMID, PMCID, DOI), so dedupe joins it with
the same article found in PubMed or anywhere else. Its ``source`` says which Europe PMC
collection it comes from: ``MED`` (PubMed), ``PMC``, ``PPR`` (preprints: medRxiv, bioRxiv,
Research Square, ...), ``AGR``, ``CBA``, ``CTX``, ``ETH``, ``HIR``, ``PAT``. A preprint is
marked with the publication type ``Preprint`` and its server as the venue, and its
``commentCorrectionList`` entry "Preprint of" (the published article, by PMID) becomes a
relation that links the two works when both are stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from harvester.core.errors import ParseError
from harvester.core.models import (
    AbstractSection,
    Author,
    DatePrecision,
    Hit,
    PubDate,
    Relation,
)
from harvester.core.normalise import month_number, normalise_doi
from harvester.core.text import plain_text

__all__ = ["PREPRINT_SOURCE", "parse_record", "parse_search", "record_url"]

#: Europe PMC's collection of preprints.
PREPRINT_SOURCE = "PPR"
#: Abstract headings: Europe PMC writes structured abstracts as ``<h4>Label</h4>text``.
_HEADING = re.compile(r"<h4>(.*?)</h4>", re.IGNORECASE | re.DOTALL)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")


def parse_search(body: bytes) -> tuple[int, str | None, list[dict[str, Any]]]:
    """A ``/search`` JSON answer: (hitCount, nextCursorMark, result records).

    An answer that is not the search's JSON (an HTML error page with HTTP 200, a cut-off body)
    is a :class:`ParseError`.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"Europe PMC search response is not JSON: {exc}") from None
    if not isinstance(data, dict) or "hitCount" not in data:
        detail = data.get("errMsg") if isinstance(data, dict) else None
        raise ParseError(
            "Europe PMC search response has no hitCount"
            + (f": {' '.join(str(detail).split())}" if detail else "")
        )
    try:
        count = int(data["hitCount"])
    except (TypeError, ValueError):
        raise ParseError(f"Europe PMC hitCount is not a number: {data['hitCount']!r}") from None
    results = (data.get("resultList") or {}).get("result") or []
    if not isinstance(results, list):
        raise ParseError("Europe PMC resultList.result is not a list")
    cursor = data.get("nextCursorMark")
    return count, cursor if isinstance(cursor, str) and cursor else None, results


def record_url(source: str, ident: str) -> str:
    return f"https://europepmc.org/article/{source}/{ident}"


def parse_record(record: Mapping[str, Any], *, origin: str | None = None) -> Hit:
    """One core record as a hit (source ``europepmc``, source id ``<collection>:<id>``)."""
    source = _str(record.get("source")) or "?"
    ident = _str(record.get("id"))
    if not ident:
        raise ParseError("Europe PMC record without an id")
    journal_info = _dict(record.get("journalInfo"))
    journal = _dict(journal_info.get("journal"))
    preprint = source == PREPRINT_SOURCE
    types = [
        t for t in (_str(x) for x in _list(_dict(record.get("pubTypeList")).get("pubType"))) if t
    ]
    if preprint and not any(t.casefold() in {"preprint", "preprints"} for t in types):
        types.insert(0, "Preprint")
    book = _dict(record.get("bookOrReportDetails"))
    venue = _str(journal.get("title"))
    server = _str(book.get("publisher"))
    if preprint and not venue:
        venue = server
    return Hit(
        source="europepmc",
        source_id=f"{source}:{ident}",
        title=plain_text(_str(record.get("title"))) or "[no title]",
        authors=_authors(record),
        journal=venue or _str(record.get("journalTitle")),
        journal_iso=_str(journal.get("isoabbreviation"))
        or _str(journal.get("medlineAbbreviation")),
        volume=_str(journal_info.get("volume")) or _str(record.get("journalVolume")),
        issue=_str(journal_info.get("issue")) or _str(record.get("issue")),
        pages=_str(record.get("pageInfo")),
        pub_date=_pub_date(record, journal_info),
        doi=normalise_doi(_str(record.get("doi"))),
        pmid=_str(record.get("pmid")),
        pmcid=_str(record.get("pmcid")),
        url=record_url(source, ident),
        abstract=_abstract(_str(record.get("abstractText"))),
        source_name=server if preprint else None,
        publication_types=types,
        language=_str(record.get("language")),
        mesh=[
            name
            for name in (
                _str(_dict(h).get("descriptorName"))
                for h in _list(_dict(record.get("meshHeadingList")).get("meshHeading"))
            )
            if name
        ],
        keywords=[
            k
            for k in (_str(x) for x in _list(_dict(record.get("keywordList")).get("keyword")))
            if k
        ],
        relations=list(_relations(record)),
        origin=origin,
        raw=json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"),
    )


def _authors(record: Mapping[str, Any]) -> list[Author]:
    authors = []
    for item in _list(_dict(record.get("authorList")).get("author")):
        author = _dict(item)
        collective = _str(author.get("collectiveName"))
        orcid = None
        for ident in _list(author.get("authorId")):
            entry = _dict(ident)
            if (_str(entry.get("type")) or "").upper() == "ORCID":
                match = _ORCID.search(_str(entry.get("value")) or "")
                orcid = match.group(1) if match else None
        if collective:
            authors.append(Author(collective=collective))
            continue
        family = _str(author.get("lastName"))
        given = _str(author.get("firstName"))
        initials = _str(author.get("initials"))
        if not family:
            full = _str(author.get("fullName"))
            if not full:
                continue
            family = full
        authors.append(Author(family=family, given=given, initials=initials, orcid=orcid))
    return authors


def _pub_date(record: Mapping[str, Any], journal_info: Mapping[str, Any]) -> PubDate | None:
    """The issue's date when Europe PMC gives one (``dateOfPublication`` "2025 Dec 12", or the
    year and month), else the first publication date (preprints: the posting day), else the
    year."""
    year = journal_info.get("yearOfPublication")
    text = _str(journal_info.get("dateOfPublication"))
    if isinstance(year, int | str) and str(year).isdigit():
        parts = (text or "").split()
        month = journal_info.get("monthOfPublication")
        month_n = int(month) if isinstance(month, int) and 1 <= month <= 12 else None
        if month_n is None and len(parts) > 1:
            month_n = month_number(parts[1])
        day = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        if month_n and day and 1 <= day <= 31:
            return PubDate(int(year), month_n, day, DatePrecision.DAY)
        if month_n:
            return PubDate(int(year), month_n, None, DatePrecision.MONTH)
        return PubDate(int(year), None, None, DatePrecision.YEAR, text=text)
    for key in ("firstPublicationDate", "electronicPublicationDate"):
        match = _DATE.match(_str(record.get(key)) or "")
        if match:
            y, m, d = (int(g) if g else None for g in match.groups())
            assert y is not None
            if m and d:
                return PubDate(y, m, d, DatePrecision.DAY)
            if m:
                return PubDate(y, m, None, DatePrecision.MONTH)
            return PubDate(y)
    pub_year = _str(record.get("pubYear"))
    return PubDate(int(pub_year)) if pub_year and pub_year.isdigit() else None


def _abstract(text: str | None) -> list[AbstractSection]:
    if not text:
        return []
    pieces = _HEADING.split(text)
    sections = []
    lead = plain_text(pieces[0])
    if lead:
        sections.append(AbstractSection(lead))
    for label, body in zip(pieces[1::2], pieces[2::2], strict=False):
        body_text = plain_text(body)
        if body_text:
            sections.append(AbstractSection(body_text, plain_text(label).rstrip(":") or None))
    return sections


def _relations(record: Mapping[str, Any]) -> Iterator[Relation]:
    """CommentsCorrections as PubMed names them ("Erratum for" -> "ErratumFor"; "Preprint of")."""
    for item in _list(_dict(record.get("commentCorrectionList")).get("commentCorrection")):
        entry = _dict(item)
        kind = "".join(
            word[:1].upper() + word[1:] for word in (_str(entry.get("type")) or "").split()
        )
        if not kind:
            continue
        ident = _str(entry.get("id"))
        ref = _str(entry.get("reference")) or (f"{entry.get('source')}:{ident}" if ident else "")
        match = re.search(r"doi:\s*(10\.\S+?)\.?(?:\s|$)", ref or "")
        yield Relation(
            type=kind,
            ref=ref or kind,
            pmid=ident if _str(entry.get("source")) == "MED" else None,
            doi=normalise_doi(match.group(1)) if match else None,
        )


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
