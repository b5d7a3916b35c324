"""The plain, frozen input of every bulletin renderer: one :class:`BulletinItem` per entry and one
:class:`BulletinDoc` per bulletin (settings, period, items in order).

Both round-trip through JSON (``to_dict`` / ``from_dict``): a published bulletin stores exactly
these values, so it renders the same later even after its works' metadata changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harvester.core.models import AbstractSection, Author, PubDate, WorkKind

__all__ = [
    "STYLES",
    "BulletinDoc",
    "BulletinItem",
    "Resource",
    "SectionSpec",
    "period_label",
]

STYLES = ("house", "vancouver", "apa", "harvard")


@dataclass(frozen=True, slots=True)
class BulletinItem:
    """One entry: the work's citation fields, the summary to show, and where it stands."""

    entry_id: int
    candidate_id: int
    work_id: int
    title: str
    kind: WorkKind = WorkKind.ARTICLE
    authors: tuple[Author, ...] = ()
    journal: str | None = None
    journal_iso: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    elocation: str | None = None
    pub_date: PubDate | None = None
    published_at: dt.datetime | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    source_name: str | None = None
    abstract: tuple[AbstractSection, ...] = ()
    feed_summary: str | None = None  # plain text of the feed's summary
    edited_summary: str | None = None  # the reviewer's, when there is one
    language: str | None = None
    section: str | None = None  # None: the first section that takes the item's kind
    position: int = 0  # 0: not placed by hand, ordered alphabetically after placed ones

    def summary(self) -> tuple[AbstractSection, ...]:
        """The reviewer's summary, else the abstract (labels kept), else the feed summary;
        paragraphs of the edited summary are split on blank lines."""
        if self.edited_summary and self.edited_summary.strip():
            paragraphs = [p.strip() for p in self.edited_summary.split("\n\n")]
            return tuple(AbstractSection(text=" ".join(p.split())) for p in paragraphs if p)
        if self.abstract:
            return self.abstract
        if self.feed_summary and self.feed_summary.strip():
            return (AbstractSection(text=self.feed_summary.strip()),)
        return ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "candidate_id": self.candidate_id,
            "work_id": self.work_id,
            "title": self.title,
            "kind": self.kind.value,
            "authors": [a.to_dict() for a in self.authors],
            "journal": self.journal,
            "journal_iso": self.journal_iso,
            "volume": self.volume,
            "issue": self.issue,
            "pages": self.pages,
            "elocation": self.elocation,
            "pub_date": self.pub_date.to_dict() if self.pub_date else None,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "doi": self.doi,
            "pmid": self.pmid,
            "pmcid": self.pmcid,
            "url": self.url,
            "source_name": self.source_name,
            "abstract": [{"text": s.text, "label": s.label} for s in self.abstract],
            "feed_summary": self.feed_summary,
            "edited_summary": self.edited_summary,
            "language": self.language,
            "section": self.section,
            "position": self.position,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BulletinItem:
        published = data.get("published_at")
        return cls(
            entry_id=int(data["entry_id"]),
            candidate_id=int(data["candidate_id"]),
            work_id=int(data["work_id"]),
            title=data["title"],
            kind=WorkKind(data.get("kind", "article")),
            authors=tuple(Author.from_dict(a) for a in data.get("authors", [])),
            journal=data.get("journal"),
            journal_iso=data.get("journal_iso"),
            volume=data.get("volume"),
            issue=data.get("issue"),
            pages=data.get("pages"),
            elocation=data.get("elocation"),
            pub_date=PubDate.from_dict(data["pub_date"]) if data.get("pub_date") else None,
            published_at=dt.datetime.fromisoformat(published) if published else None,
            doi=data.get("doi"),
            pmid=data.get("pmid"),
            pmcid=data.get("pmcid"),
            url=data.get("url"),
            source_name=data.get("source_name"),
            abstract=tuple(
                AbstractSection(text=s["text"], label=s.get("label"))
                for s in data.get("abstract", [])
            ),
            feed_summary=data.get("feed_summary"),
            edited_summary=data.get("edited_summary"),
            language=data.get("language"),
            section=data.get("section"),
            position=int(data.get("position", 0)),
        )


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """A section of the bulletin and the kinds of work it takes by default."""

    title: str
    kinds: tuple[WorkKind, ...] = (WorkKind.ARTICLE, WorkKind.NEWS, WorkKind.OTHER)


@dataclass(frozen=True, slots=True)
class Resource:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class BulletinDoc:
    """Everything a renderer needs: the topic's bulletin settings, the period and the items."""

    title: str
    subtitle: str = "Evidence Bulletin"
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    sections: tuple[SectionSpec, ...] = (SectionSpec("NEW EVIDENCE"),)
    resources: tuple[Resource, ...] = ()
    resources_heading: str = "Additional Resources"
    footer: str | None = None
    contact: str | None = None
    style: str = "house"
    items: tuple[BulletinItem, ...] = field(default_factory=tuple)

    def settings_dict(self) -> dict[str, Any]:
        """The settings part (no items), as stored with a published bulletin."""
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_to": self.period_to.isoformat() if self.period_to else None,
            "sections": [
                {"title": s.title, "kinds": [k.value for k in s.kinds]} for s in self.sections
            ],
            "resources": [{"label": r.label, "url": r.url} for r in self.resources],
            "resources_heading": self.resources_heading,
            "footer": self.footer,
            "contact": self.contact,
            "style": self.style,
        }

    @classmethod
    def from_settings(cls, data: dict[str, Any], items: Sequence[BulletinItem]) -> BulletinDoc:
        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        return cls(
            title=data["title"],
            subtitle=data.get("subtitle") or "",
            period_from=day(data.get("period_from")),
            period_to=day(data.get("period_to")),
            sections=tuple(
                SectionSpec(s["title"], tuple(WorkKind(k) for k in s["kinds"]))
                for s in data.get("sections", [])
            )
            or (SectionSpec("NEW EVIDENCE"),),
            resources=tuple(Resource(r["label"], r["url"]) for r in data.get("resources", [])),
            resources_heading=data.get("resources_heading") or "Additional Resources",
            footer=data.get("footer"),
            contact=data.get("contact"),
            style=data.get("style") or "house",
            items=tuple(items),
        )

    @property
    def period(self) -> str:
        return period_label(self.period_from, self.period_to)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def period_label(start: dt.date | None, end: dt.date | None) -> str:
    """ "October-November 2024", "November 2024", "December 2024-January 2025" (English month
    names whatever the locale)."""
    if end is None and start is None:
        return ""
    if start is None or end is None:
        only = end or start
        assert only is not None
        return f"{_MONTHS[only.month - 1]} {only.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{_MONTHS[end.month - 1]} {end.year}"
    if start.year == end.year:
        return f"{_MONTHS[start.month - 1]}-{_MONTHS[end.month - 1]} {end.year}"
    return f"{_MONTHS[start.month - 1]} {start.year}-{_MONTHS[end.month - 1]} {end.year}"
