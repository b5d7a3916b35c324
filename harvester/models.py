"""Plain data types shared by every layer.

A source turns whatever it fetched into :class:`Hit` objects; nothing downstream knows where a
hit came from except its ``source`` field. These types carry no I/O and no database state.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class AbstractSection:
    """One part of an abstract; a structured abstract has several, each with a label."""

    text: str
    label: str | None = None


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
    total matching the filters."""

    items: tuple[T, ...]
    next_cursor: str | None
    total: int
