"""Plain data types shared by every layer.

A source turns whatever it fetched into :class:`Hit` objects; nothing downstream knows where a
hit came from except its ``source`` field. These types carry no I/O and no database state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import logging
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The title an imported record without one is stored under (work.title may not be empty).
NO_TITLE = "[no title]"
#: Titles that stand for "no title" (ours, and PubMed's own): never compared as titles.
PLACEHOLDER_TITLES = frozenset({NO_TITLE, "[no title available]"})


def is_placeholder_title(title: str | None) -> bool:
    """Whether ``title`` stands for "no title" (``[no title]``, PubMed's ``[No title available]``)."""
    return title is not None and title.strip().casefold() in PLACEHOLDER_TITLES


log = logging.getLogger(__name__)

#: The longest value each length-limited text field of a hit may have: the width of the column
#: that stores it (``harvester.store.tables`` reads these). Every other text field is stored in
#: an unlimited column and kept whole.
FIELD_LIMITS = {
    "source_id": 512,  # sighting.source_id
    "origin": 1024,  # sighting.origin
    "matched_rule": 255,  # sighting.matched_rule
    "doi": 1024,  # work.doi
    "pmcid": 32,  # work.pmcid
    "language": 16,  # work.language
}
#: Fields that identify a record: an over-long one keeps its start and a digest of the whole
#: value, so that two long ids that share a start stay two ids and the same id maps the same way
#: every time. Other over-long fields are cut, with a note.
_ID_FIELDS = frozenset({"source_id", "origin"})
#: What neither database can keep in text: C0 controls other than tab, line feed and carriage
#: return (PostgreSQL refuses NUL outright), DEL, and lone UTF-16 surrogates (not UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class WorkKind(enum.StrEnum):
    ARTICLE = "article"
    NEWS = "news"
    OTHER = "other"


class DatePrecision(enum.StrEnum):
    YEAR = "year"
    SEASON = "season"
    MONTH = "month"
    DAY = "day"


class CandidateStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    PUBLISHED = "published"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A record an importer kept but had to repair (its position in the file, from 1)."""

    record: int
    message: str

    def line(self) -> str:
        return f"record {self.record}: {self.message}"


_Record = TypeVar("_Record")


def _pickled_by_fields(cls: type[_Record]) -> type[_Record]:
    """Pickle a frozen record as its class and its field values in order, as its constructor
    takes them: the dataclass way (a state dict built from ``dataclasses.fields`` per object)
    took half the time an import spent keeping the records it read."""
    values = operator.attrgetter(*cls.__slots__)  # type: ignore[attr-defined]

    def reduce(self: _Record) -> tuple[type[_Record], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Author:
    """One author in citation order. A group author has ``collective`` set and no family name."""

    family: str | None = None
    given: str | None = None
    initials: str | None = None
    suffix: str | None = None
    collective: str | None = None
    orcid: str | None = None

    @property
    def display(self) -> str:
        if self.collective:
            return self.collective
        parts = [self.family or "", self.initials or self.given or ""]
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in _slots_items(self) if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Author:
        return cls(**{k: data.get(k) for k in cls.__slots__})


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class PubDate:
    """A publication date with its precision: PubMed often knows only a year, a season or a month.

    ``text`` keeps the source's own wording when it could not be split (MedlineDate such as
    "1998 Dec-1999 Jan", or "2021 Spring").
    """

    year: int
    month: int | None = None
    day: int | None = None
    precision: DatePrecision = DatePrecision.YEAR
    text: str | None = None

    def as_date(self) -> dt.date:
        """The earliest calendar day the date can mean, for sorting and windows."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    def iso(self) -> str:
        if self.precision is DatePrecision.DAY and self.month and self.day:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.precision in (DatePrecision.MONTH, DatePrecision.DAY) and self.month:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "month": self.month,
            "day": self.day,
            "precision": self.precision.value,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PubDate:
        return cls(
            year=int(data["year"]),
            month=data.get("month"),
            day=data.get("day"),
            precision=DatePrecision(data.get("precision", "year")),
            text=data.get("text"),
        )


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One part of an abstract; a structured abstract has several, each with a label."""

    text: str
    label: str | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Relation:
    """A link to another record: "RetractionOf", "ErratumIn", "PreprintOf", ... with its reference."""

    type: str
    ref: str
    pmid: str | None = None
    doi: str | None = None


@dataclass(slots=True)
class Hit:
    """One record as one source saw it, normalised.

    ``source`` names the source ("pubmed", "feeds", "europepmc", "import:ris", ...);
    ``source_id`` is the record's id within that source (PMID, feed entry identity, file record).
    ``origin`` says which query or feed found it and ``matched_rule`` which topic phrase let it in.
    ``raw`` keeps the source's own bytes for re-parsing later.
    """

    source: str
    source_id: str
    title: str
    kind: WorkKind = WorkKind.ARTICLE
    authors: list[Author] = field(default_factory=list)
    journal: str | None = None
    journal_iso: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    elocation: str | None = None
    pub_date: PubDate | None = None
    published_at: dt.datetime | None = None
    date_is_fallback: bool = False
    entrez_date: dt.date | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    abstract: list[AbstractSection] = field(default_factory=list)
    summary_html: str | None = None
    source_name: str | None = None
    publication_types: list[str] = field(default_factory=list)
    language: str | None = None
    mesh: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    origin: str | None = None
    matched_rule: str | None = None
    raw: bytes | None = None
    deleted: bool = False
    #: What :func:`make_safe` had to change to make the hit storable ("volume cut to ...").
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        make_safe(self)

    @property
    def abstract_text(self) -> str | None:
        """The abstract as plain text, labels in capitals before each part."""
        if not self.abstract:
            return None
        parts = []
        for section in self.abstract:
            parts.append(f"{section.label}: {section.text}" if section.label else section.text)
        return "\n\n".join(parts)

    @property
    def year(self) -> int | None:
        if self.pub_date is not None:
            return self.pub_date.year
        if self.published_at is not None:
            return self.published_at.year
        return None


def safe_text(value: str) -> str:
    """``value`` without the characters no database can store in text (see ``_UNSAFE``)."""
    return _UNSAFE.sub("", value) if _UNSAFE.search(value) else value


def safe_id(value: str, limit: int) -> str:
    """An identifier that fits ``limit`` characters: itself, or its start and a digest of all of
    it (the same value always gives the same result; different ones stay different)."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[: limit - len(digest) - 8]}#sha256:{digest}"


_TEXT_FIELDS = (
    "source_id",
    "title",
    "journal",
    "journal_iso",
    "volume",
    "issue",
    "pages",
    "elocation",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "summary_html",
    "source_name",
    "language",
    "origin",
    "matched_rule",
)


def make_safe(hit: Hit) -> Hit:
    """Make ``hit`` storable as it is on SQLite and PostgreSQL alike, in place.

    Control characters are removed from every text (nested ones too: authors, abstract,
    keywords, ...); a field longer than its column (``FIELD_LIMITS``) is shortened, an id to its
    start plus a digest, any other to its limit with a note in ``hit.notes``. Running it again
    changes nothing.
    """
    for name in _TEXT_FIELDS:
        value = getattr(hit, name)
        if value is None:
            continue
        clean = safe_text(value)
        limit = FIELD_LIMITS.get(name)
        if limit is not None and len(clean) > limit:
            if name in _ID_FIELDS:
                clean = safe_id(clean, limit)
            else:
                hit.notes.append(f"{name} cut to {limit} of its {len(clean)} characters")
                # the caller reports the notes (import summary, harvest log) in its own words
                log.debug("%s %s: %s", hit.source, hit.source_id, hit.notes[-1])
                clean = clean[:limit]
        if clean is not value:
            setattr(hit, name, clean)
    if hit.authors:
        hit.authors = _safe_records(hit.authors)
    if hit.abstract:
        hit.abstract = _safe_records(hit.abstract)
    if hit.relations:
        hit.relations = _safe_records(hit.relations)
    for name in ("publication_types", "mesh", "keywords"):
        values = getattr(hit, name)
        if values and any(_UNSAFE.search(v) for v in values):
            setattr(hit, name, [safe_text(v) for v in values])
    return hit


def _safe_records(records: list[Any]) -> list[Any]:
    """``records`` (frozen Authors, AbstractSections or Relations) with safe text; the same list
    when they all are (the usual case, found in one search over all their texts)."""
    texts = [value for record in records for value in _values(record) if isinstance(value, str)]
    if not _UNSAFE.search("".join(texts)):
        return records
    return [_safe_record(record) for record in records]


def _values(record: Any) -> tuple[Any, ...]:
    getter = _GETTERS.get(type(record))
    if getter is None:
        names = type(record).__slots__
        getter = _GETTERS[type(record)] = (
            operator.attrgetter(*names) if len(names) > 1 else lambda r: (getattr(r, names[0]),)
        )
    return getter(record)


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _safe_record(record: Any) -> Any:
    """A frozen Author, AbstractSection or Relation with safe text (itself when already safe)."""
    texts = [value for _name, value in _slots_items(record) if isinstance(value, str)]
    if not _UNSAFE.search("".join(texts)):  # the usual case, in one search
        return record
    changes = {
        name: safe_text(value)
        for name, value in _slots_items(record)
        if isinstance(value, str) and _UNSAFE.search(value)
    }
    return dataclasses.replace(record, **changes) if changes else record


def _slots_items(obj: Any) -> list[tuple[str, Any]]:
    return [(name, getattr(obj, name)) for name in obj.__slots__]


# ------------------------------------------------------------------------------ read models
# Plain frozen views built by one store function each; no ORM object leaves the store.


@dataclass(frozen=True, slots=True)
class SightingView:
    """Where a work was found: source, query or feed, when, and the rule that let it in."""

    source: str
    origin: str
    topic: str | None
    matched_rule: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    url: str | None
    source_id: str = ""
    match_reason: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class LinkView:
    """A related work kept apart (erratum, preprint, retraction)."""

    relation: str
    work_id: int
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class DecisionView:
    """One row of a candidate's audit trail."""

    id: int
    actor: str
    at: dt.datetime
    from_status: str | None
    to_status: str
    note: str | None


@dataclass(frozen=True, slots=True)
class ElsewhereView:
    """The same work as a candidate in a topic (this one or another) and what happened to it."""

    topic: str
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    bulletin: str | None = None


@dataclass(frozen=True, slots=True)
class WorkView:
    """One work's bibliographic record."""

    id: int
    kind: str
    title: str
    authors: tuple[Author, ...]
    journal: str | None
    journal_iso: str | None
    volume: str | None
    issue: str | None
    pages: str | None
    pub_date: PubDate | None
    published_at: dt.datetime | None
    doi: str | None
    pmid: str | None
    pmcid: str | None
    url: str | None
    abstract: tuple[AbstractSection, ...]
    summary_html: str | None
    source_name: str | None
    publication_types: tuple[str, ...]
    elocation: str | None = None
    language: str | None = None
    keywords: tuple[str, ...] = ()
    year: int | None = None
    #: When PubMed sent a deletion notice for this record (it was withdrawn or merged there).
    deleted_at: dt.datetime | None = None

    @property
    def link(self) -> str | None:
        """Where the title links: the DOI, else PubMed, else the article's URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return self.url

    @property
    def date_text(self) -> str | None:
        if self.pub_date is not None:
            return self.pub_date.text or self.pub_date.iso()
        if self.published_at is not None:
            return self.published_at.date().isoformat()
        return None


#: The bibliographic fields of a work that a citation is made of: the one list every record of
#: a work carries under these names (``WorkView``, a bulletin entry, an export record, the
#: CSL-JSON builder's input) and that is copied from one to the other.
CITATION_FIELDS = (
    "title",
    "authors",
    "journal",
    "journal_iso",
    "volume",
    "issue",
    "pages",
    "elocation",
    "pub_date",
    "published_at",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "source_name",
    "language",
)


def citation_fields(work: WorkView) -> dict[str, Any]:
    """The work's :data:`CITATION_FIELDS` and its kind, as keyword arguments of an item."""
    fields = {name: getattr(work, name) for name in CITATION_FIELDS}
    fields["kind"] = WorkKind(work.kind)
    return fields


@dataclass(frozen=True, slots=True)
class CandidateView:
    """A work in one topic's queue. ``version`` is what a decision must name (see queue.py).

    The detail fields (sightings, decisions, elsewhere, links) are filled by
    ``store.candidates.get_candidate`` and by a page's card loader; a bare list leaves them empty.
    """

    id: int
    topic: str
    status: str
    version: int
    section: str | None
    note: str | None
    summary: str | None
    reason: str | None
    score: float | None
    decided_by: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    work: WorkView
    sightings: tuple[SightingView, ...] = ()
    decisions: tuple[DecisionView, ...] = ()
    elsewhere: tuple[ElsewhereView, ...] = ()
    links: tuple[LinkView, ...] = ()
    #: what moved the score most: (term or feature, weight; positive: up)
    score_reasons: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class RunView:
    """One harvest run of one source for one topic."""

    id: int
    topic: str
    source: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    fetched: int
    new_works: int
    new_candidates: int
    duplicates: int
    error: str | None


@dataclass(frozen=True, slots=True)
class FeedView:
    """A feed's health: failures in a row and the last error."""

    topic: str
    url: str
    name: str | None
    last_status: int | None
    last_fetched_at: dt.datetime | None
    last_success_at: dt.datetime | None
    error_count: int
    last_error: str | None
    failing_since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items, the cursor of the next page (None at the end), and the
    total matching the filters (``total_exact`` False: at least that many)."""

    items: tuple[T, ...]
    next_cursor: str | None
    total: int
    total_exact: bool = True
