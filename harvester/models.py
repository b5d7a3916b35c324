"""Plain data types shared by every layer.

A source turns whatever it fetched into :class:`Hit` objects; nothing downstream knows where a
hit came from except its ``source`` field. These types carry no I/O and no database state.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

#: The title an imported record without one is stored under (work.title may not be empty).
NO_TITLE = "[no title]"
#: Titles that stand for "no title" (ours, and PubMed's own): never compared as titles.
PLACEHOLDER_TITLES = frozenset({NO_TITLE, "[no title available]"})


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


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A record of an import file that was kept but had to be repaired, and how."""

    record: int
    message: str

    def line(self) -> str:
        return f"record {self.record}: {self.message}"
