"""Items a reviewer types in (added by hand, or a card's citation corrected): the citation fields
as typed, checked and turned into plain values. Pure.

Authors are typed one a line as "Family, Given" ("Parkhill, Helen" or "Parkhill, H."); a line
without a comma is a group author ("NHS England"). Links typed by hand lose their tracking
parameters (``utm_*`` ...) as feed links do (:func:`harvester.core.urls.canonical_url`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from harvester.core.errors import QueueError
from harvester.core.models import CITATION_FIELDS, Author, DatePrecision, PubDate, WorkKind
from harvester.core.normalise import normalise_doi, normalise_pmid
from harvester.core.urls import canonical_url, is_http_url

__all__ = [
    "EDITABLE_FIELDS",
    "CitationInput",
    "Identifier",
    "field_words",
    "fill_blanks",
    "parse_authors",
    "parse_identifier",
    "parse_year",
    "pub_date_of",
]

#: The citation fields a reviewer types or corrects: :data:`CITATION_FIELDS` less the
#: identifiers (the DOI, PMID and URL are the item's identity), plus the source and the kind.
EDITABLE_FIELDS = tuple(
    name
    for name in CITATION_FIELDS
    if name not in ("doi", "pmid", "pmcid", "url", "language", "journal_iso")
) + ("source_name", "kind")


#: What a reviewer calls each field (in the history of a card).
FIELD_WORDS = {"pub_date": "date", "source_name": "source"}


def field_words(names: Iterable[str]) -> str:
    """ "authors, journal, date" for the fields named."""
    return ", ".join(FIELD_WORDS.get(name, name) for name in names)


@dataclass(frozen=True, slots=True)
class Identifier:
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None

    def key(self) -> str | None:
        return self.doi or self.pmid or self.url


def parse_identifier(text: str) -> Identifier:
    """A DOI, a PMID or an http(s) URL (tracking parameters removed); blank: none."""
    ident = " ".join(text.split())
    if not ident:
        return Identifier()
    doi = normalise_doi(ident)
    if doi:
        return Identifier(doi=doi)
    pmid = normalise_pmid(ident)
    if pmid:
        return Identifier(pmid=pmid)
    if is_http_url(ident):
        return Identifier(url=canonical_url(ident))
    raise QueueError(f"{ident!r} is not a DOI, a PMID or an http(s) URL")


def parse_authors(lines: str | Iterable[str]) -> tuple[Author, ...]:
    """Authors typed one a line, "Family, Given" (a line without a comma: a group author)."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    authors = []
    for raw in lines:
        line = " ".join(raw.split()).strip(" ;")
        if not line:
            continue
        family, comma, given = line.partition(",")
        if not comma:
            authors.append(Author(collective=line))
            continue
        family, given = family.strip(), given.strip()
        if not family:
            raise QueueError(f"author {line!r}: the family name comes first, before the comma")
        authors.append(Author(family=family, given=given or None))
    return tuple(authors)


def parse_year(text: str | int | None) -> int | None:
    """A four-digit year, or None when blank."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    value = str(text).strip()
    if not re.fullmatch(r"\d{4}", value) or not 1000 <= int(value) <= 2999:
        raise QueueError(f"year {value!r}: give four digits, e.g. 2024")
    return int(value)


def pub_date_of(date: dt.date | None, year: int | None) -> PubDate | None:
    """The publication date: the day when given, else the year alone."""
    if date is not None:
        return PubDate(date.year, date.month, date.day, DatePrecision.DAY)
    if year is not None:
        return PubDate(year, None, None, DatePrecision.YEAR)
    return None


@dataclass(frozen=True, slots=True)
class CitationInput:
    """The citation fields as typed (blank strings and empty tuples: not given)."""

    title: str = ""
    authors: tuple[Author, ...] = ()
    journal: str = ""
    year: int | None = None
    volume: str = ""
    issue: str = ""
    pages: str = ""
    source_name: str = ""
    date: dt.date | None = None
    kind: WorkKind | None = None

    def values(self) -> dict[str, Any]:
        """The work's fields these give (only those typed)."""
        out: dict[str, Any] = {}
        title = " ".join(self.title.split())
        if title:
            out["title"] = title
        if self.authors:
            out["authors"] = self.authors
        for name in ("journal", "volume", "issue", "pages", "source_name"):
            text = " ".join(str(getattr(self, name)).split())
            if text:
                out[name] = text
        pub_date = pub_date_of(self.date, self.year)
        if pub_date is not None:
            out["pub_date"] = pub_date
        if self.kind is not None:
            out["kind"] = self.kind
        return out


def fill_blanks(typed: CitationInput, found: Mapping[str, Any]) -> CitationInput:
    """``typed`` with the fields left blank taken from ``found`` (what a look-up of the item's
    identifier returned, by :class:`CitationInput` field name); what was typed wins."""
    names = {f.name for f in fields(CitationInput)}
    changes = {
        name: value
        for name, value in found.items()
        if name in names and value not in (None, "", ()) and not getattr(typed, name)
    }
    return replace(typed, **changes)
