"""What dedupe compares: the :class:`Keys` of a hit or a stored work.

Pure. :func:`hit_keys` makes them from a hit, :func:`make_keys` from already-normalised title
keys and identifiers (a stored work's fields and its sightings' titles); the same normalisers
(:mod:`harvester.core.normalise`: one title key, one day key) serve both, so a hit and the work it
became always agree. :mod:`harvester.core.dedupe.match` decides with them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harvester.core.dedupe.rules import (
    is_article_number,
    issue_numbers,
    journal_forms,
    title_class,
)
from harvester.core.models import Hit, WorkKind
from harvester.core.normalise import (
    abstract_key,
    author_key,
    block_keys,
    day_key,
    first_page,
    identity_url,
    last_page,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    normalise_text,
    title_key,
    title_lookups,
    translated_title,
)

__all__ = [
    "KEYS_VERSION",
    "Keys",
    "author_keys",
    "hit_keys",
    "is_preprint",
    "is_proceedings",
    "make_keys",
    "normalise_volume",
]

PREPRINT_DOI_PREFIXES = ("10.1101/", "10.21203/", "10.20944/", "10.48550/", "10.2139/")
PREPRINT_VENUES = frozenset(
    ["biorxiv", "medrxiv", "arxiv", "research square", "ssrn", "preprints", "psyarxiv", "osf"]
)
#: The version of :meth:`Keys.to_json`'s keys. The store keeps each work's keys so that a lookup
#: does not re-normalise every sighting; bump this whenever a change here or in
#: :mod:`harvester.core.normalise` changes what :func:`make_keys` returns, and stored keys of an older
#: version are rebuilt from their work the next time they are needed.
KEYS_VERSION = 6


@dataclass(frozen=True, slots=True)
class Keys:
    """What dedupe knows about one record or one stored work."""

    titles: tuple[str, ...]
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    urls: tuple[str, ...] = ()
    year: int | None = None
    day: dt.date | None = None
    authors: tuple[str, ...] = ()
    volume: str | None = None
    issue: tuple[str, ...] = ()  # the issue's numbers (harvester.core.dedupe.rules.issue_numbers)
    page: str | None = None
    last_page: str | None = None
    journals: tuple[
        str, ...
    ] = ()  # the journal's names (harvester.core.dedupe.rules.journal_forms)
    kind: WorkKind = WorkKind.ARTICLE
    preprint: bool = False
    notice: str | None = None  # "erratum-of", "retraction-of", ... when the record is a notice
    notice_title: str = ""  # the title of the article a notice is about, when it says
    recurring: bool = False  # a title many items carry (editorials, letters, "Erratum", ...)
    typed: bool = False  # the record states its publication types
    translated: bool = False  # the title says it is a translation ("[...]", "... [Spanish]")
    abstract: str | None = None  # a long abstract's fingerprint (normalise.abstract_key)
    proceedings: bool = False  # the venue is a conference's proceedings, not a journal

    @property
    def author(self) -> str | None:
        return self.authors[0] if self.authors else None

    def identities(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, unique across all works in the store."""
        pairs = [(k, v) for k, v in (("pmid", self.pmid), ("doi", self.doi), ("pmcid", self.pmcid))]
        pairs += [("url", url) for url in self.urls]
        return [(k, v) for k, v in pairs if v]

    def filing(self) -> tuple[list[str], list[str]]:
        """The blocking keys the work is filed under (:func:`block_keys`), and those to look in
        for works this one may be (:func:`title_lookups`: a notice's article may be in any
        volume and year), worked out together."""
        titles = self._title_blocks()
        notices = self._notice_blocks() if self.notice_title else []
        places = self._place_blocks()
        filed = titles + notices + places
        looked = title_lookups(titles, self._filing_volume, self.year) + title_lookups(
            notices, None, None
        )
        return list(dict.fromkeys(filed)), list(dict.fromkeys(looked + places))

    def blocks(self) -> list[str]:
        """The blocking keys the work is filed under (:meth:`filing`)."""
        return self.filing()[0]

    @property
    def _filing_volume(self) -> str | None:
        """The volume a title's blocks are filed under: none for a preprint or a news item,
        which are linked or matched whatever volume the other record gives."""
        if self.preprint or self.kind is WorkKind.NEWS:
            return None
        return self.volume

    def _title_blocks(self) -> list[str]:
        keys: list[str] = []
        for title in self.titles:
            keys += block_keys(title, self.author, self.year, volume=self._filing_volume)
        return keys

    def _notice_blocks(self) -> list[str]:
        return block_keys(self.notice_title, None, None)

    def _place_blocks(self) -> list[str]:
        keys: list[str] = []
        if self.author and self.year and self.page:
            # The first author's year at one first page: a title one database translated shares
            # no title word with the other, but every rule that compares such records asks for
            # the same first page, and few works of one author's year start on it. (The author's
            # year in a volume, a block that grows with the store, added nothing to this.)
            keys.append(f"p:{self.author[:100]}:{self.year}:{self.page}")
        if self.volume and self.page and self.last_page:
            # The place in the volume: a record whose title one database translated or
            # reworded, and whose first author is missing, shares no title or author key.
            keys.append(f"l:{self.volume}:{self.page}-{self.last_page}:{self.year or ''}")
        if self.page and is_article_number(self.page):
            # An article number is the article's whatever year the two records give it.
            keys.append(f"n:{self.page}")
        if self.abstract:
            # The same abstract under a title one database translated, in another printing.
            keys.append(f"b:{self.abstract}")
        return keys

    def to_json(self) -> dict[str, Any]:
        """The keys as JSON-able values (for the store); :meth:`from_json` reads them back."""
        return {
            "titles": list(self.titles),
            "doi": self.doi,
            "pmid": self.pmid,
            "pmcid": self.pmcid,
            "urls": list(self.urls),
            "year": self.year,
            "day": self.day.isoformat() if self.day else None,
            "authors": list(self.authors),
            "volume": self.volume,
            "issue": list(self.issue),
            "page": self.page,
            "last_page": self.last_page,
            "journals": list(self.journals),
            "kind": self.kind.value,
            "preprint": self.preprint,
            "notice": self.notice,
            "notice_title": self.notice_title,
            "recurring": self.recurring,
            "typed": self.typed,
            "translated": self.translated,
            "abstract": self.abstract,
            "proceedings": self.proceedings,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Keys:
        return cls(
            titles=tuple(data["titles"]),
            doi=data["doi"],
            pmid=data["pmid"],
            pmcid=data["pmcid"],
            urls=tuple(data["urls"]),
            year=data["year"],
            day=dt.date.fromisoformat(data["day"]) if data["day"] else None,
            authors=tuple(data["authors"]),
            volume=data["volume"],
            issue=tuple(data["issue"]),
            page=data["page"],
            last_page=data["last_page"],
            journals=tuple(data["journals"]),
            kind=WorkKind(data["kind"]),
            preprint=data["preprint"],
            notice=data["notice"],
            notice_title=data["notice_title"],
            recurring=data["recurring"],
            typed=data["typed"],
            translated=data["translated"],
            abstract=data["abstract"],
            proceedings=data["proceedings"],
        )


def hit_keys(hit: Hit) -> Keys:
    """The keys of one hit."""
    title = title_key(hit.title, hit.kind, hit.source_name)
    day = day_key(hit.published_at, hit.pub_date)
    return make_keys(
        [title],
        doi=normalise_doi(hit.doi) or normalise_doi(hit.url),  # a doi.org link is a DOI
        pmid=normalise_pmid(hit.pmid),
        pmcid=normalise_pmcid(hit.pmcid),
        urls=[u for u in [identity_url(hit.url)] if u],
        year=hit.year,
        day=day,
        authors=[a.family or a.collective for a in hit.authors],
        volume=hit.volume,
        issue=hit.issue,
        pages=hit.pages,
        kind=hit.kind,
        journal=hit.journal,
        journal_iso=hit.journal_iso,
        publication_types=hit.publication_types,
        title=hit.title,
        abstract=" ".join(section.text for section in hit.abstract),
    )


def make_keys(
    titles: Sequence[str],
    *,
    doi: str | None,
    pmid: str | None,
    pmcid: str | None,
    urls: Sequence[str],
    year: int | None,
    day: dt.date | None,
    authors: Iterable[str | None],
    volume: str | None,
    pages: str | None,
    kind: WorkKind,
    journal: str | None,
    publication_types: Sequence[str],
    issue: str | None = None,
    journal_iso: str | None = None,
    title: str | None = None,
    abstract: str | None = None,
) -> Keys:
    """Keys from already-normalised title keys and identifiers (a hit's, or a stored work's).

    ``title`` is the record's title as given (its punctuation tells a notice such as
    "Correction: ..." from an article such as "Correction of ..."); without it the first title
    key is read.
    """
    titles = [t for t in dict.fromkeys(titles) if t]
    classed = title_class(title, titles[0] if titles else "", publication_types)
    return Keys(
        titles=tuple(titles),
        doi=doi,
        pmid=pmid,
        pmcid=pmcid,
        urls=tuple(urls),
        year=year,
        day=day,
        authors=author_keys(authors),
        volume=normalise_volume(volume),
        issue=tuple(sorted(issue_numbers(issue))),
        page=first_page(pages),
        last_page=last_page(pages),
        journals=journal_forms(journal, journal_iso),
        kind=kind,
        preprint=is_preprint(doi, journal, publication_types),
        notice=classed.notice,
        notice_title=classed.notice_title,
        recurring=classed.recurring,
        typed=bool(publication_types),
        translated=translated_title(title),
        abstract=abstract_key(abstract),
        proceedings=is_proceedings(journal),
    )


def author_keys(families: Iterable[str | None]) -> tuple[str, ...]:
    """Folded family names of the first five authors (enough to tell first-author slips).

    Names are folded only until five keys are found: a consortium paper lists hundreds.
    """
    keys: list[str] = []
    for name in families:
        key = author_key(name)
        if key:
            keys.append(key)
            if len(keys) == 5:
                break
    return tuple(keys)


def normalise_volume(volume: str | None) -> str | None:
    """The volume's leading number ("35 ( Pt 1)" -> "35", "29A" -> "29a"), or None."""
    if not volume:
        return None
    match = re.match(r"\s*(\d+[a-z]?)", volume.casefold())
    return match.group(1) if match else None


_PROCEEDINGS = re.compile(
    r"\b(?:proceedings|proc|conference|conf|symposium|workshop|congress|colloquium|summit)\b"
)


def is_proceedings(venue: str | None) -> bool:
    """Whether a venue's name is a conference's proceedings ("Proceedings of the Annual Hawaii
    International Conference on System Sciences", "AMCIS 2017 Proceedings") rather than a
    journal's."""
    return bool(venue) and _PROCEEDINGS.search(normalise_text(venue or "")) is not None


def is_preprint(doi: str | None, venue: str | None, publication_types: Sequence[str]) -> bool:
    if doi and doi.startswith(PREPRINT_DOI_PREFIXES):
        return True
    if any(t.casefold() == "preprint" for t in publication_types):
        return True
    # "bioRxiv : the preprint server for biology": any part of the venue's name
    return any(form in PREPRINT_VENUES for form in journal_forms(venue))
