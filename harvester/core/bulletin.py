"""The plain, frozen input of every bulletin renderer: one :class:`BulletinItem` per entry and one
:class:`BulletinDoc` per bulletin (settings, period, items in order).

Both round-trip through JSON (``to_dict`` / ``from_dict``): a published bulletin stores exactly
these values, so it renders the same later even after its works' metadata changed.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from harvester.core.models import AbstractSection, Author, PubDate, WorkKind

__all__ = [
    "STYLES",
    "BulletinDoc",
    "BulletinItem",
    "Logo",
    "Resource",
    "SectionSpec",
    "label_text",
    "paper_size",
    "paragraphs",
    "period_label",
    "publication_span",
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
            return tuple(AbstractSection(text=p) for p in paragraphs(self.edited_summary))
        if self.abstract:
            return self.abstract
        if self.feed_summary and self.feed_summary.strip():
            return tuple(AbstractSection(text=p) for p in paragraphs(self.feed_summary))
        return ()

    def date(self) -> dt.date | None:
        """The publication date (the first of its month or year when no day is known)."""
        if self.pub_date is not None:
            return dt.date(self.pub_date.year, self.pub_date.month or 1, self.pub_date.day or 1)
        if self.published_at is not None:
            return self.published_at.date()
        return None

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON values (what a published bulletin stores)."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "authors":
                value = [a.to_dict() for a in value]
            elif spec.name == "abstract":
                value = [{"text": s.text, "label": s.label} for s in value]
            elif isinstance(value, PubDate):
                value = value.to_dict()
            elif isinstance(value, dt.datetime):
                value = value.isoformat()
            elif isinstance(value, WorkKind):
                value = value.value
            out[spec.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BulletinItem:
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in data:
                continue
            value = data[spec.name]
            if spec.name == "authors":
                value = tuple(Author.from_dict(a) for a in value or [])
            elif spec.name == "abstract":
                value = tuple(AbstractSection(s["text"], s.get("label")) for s in value or [])
            elif spec.name == "pub_date":
                value = PubDate.from_dict(value) if value else None
            elif spec.name == "published_at":
                value = dt.datetime.fromisoformat(value) if value else None
            elif spec.name == "kind":
                value = WorkKind(value or "article")
            elif spec.name in ("entry_id", "candidate_id", "work_id", "position"):
                value = int(value or 0)
            values[spec.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """A section of the bulletin and the kinds of work it takes by default."""

    title: str
    kinds: tuple[WorkKind, ...] = (WorkKind.ARTICLE, WorkKind.NEWS, WorkKind.OTHER)


@dataclass(frozen=True, slots=True)
class Resource:
    """An additional resource: a bold label, then a link with the topic's link text."""

    label: str
    url: str
    link_text: str = "Learn more"


@dataclass(frozen=True, slots=True)
class Logo:
    """An image printed above the title, embedded in the bulletin (never fetched)."""

    data: bytes
    media_type: str  # image/png, image/jpeg, image/gif
    alt: str = ""

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


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
    #: The period as printed ("October–November 2024"); None: the span of the entries' dates.
    period_text: str | None = None
    logo: Logo | None = None
    locale: str = "en-GB"

    @property
    def paper(self) -> str:
        """The paper size of the bulletin's locale: "A4" or "Letter"."""
        return paper_size(self.locale)

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
            "resources": [
                {"label": r.label, "url": r.url, "link_text": r.link_text} for r in self.resources
            ],
            "resources_heading": self.resources_heading,
            "footer": self.footer,
            "contact": self.contact,
            "style": self.style,
            "period_text": self.period,
            "logo": None
            if self.logo is None
            else {
                "data": base64.b64encode(self.logo.data).decode("ascii"),
                "media_type": self.logo.media_type,
                "alt": self.logo.alt,
            },
            "locale": self.locale,
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
            resources=tuple(
                Resource(r["label"], r["url"], r.get("link_text") or "Learn more")
                for r in data.get("resources", [])
            ),
            resources_heading=data.get("resources_heading") or "Additional Resources",
            footer=data.get("footer"),
            contact=data.get("contact"),
            style=data.get("style") or "house",
            items=tuple(items),
            period_text=data.get("period_text"),
            logo=None
            if not data.get("logo")
            else Logo(
                base64.b64decode(data["logo"]["data"]),
                data["logo"]["media_type"],
                data["logo"].get("alt", ""),
            ),
            locale=data.get("locale") or "en-GB",
        )

    @property
    def period(self) -> str:
        """The period as set, else the span of the entries' publication dates, else the
        draft's window."""
        if self.period_text and self.period_text.strip():
            return " ".join(self.period_text.split())
        span = publication_span(self.items)
        if span is not None:
            return period_label(*span)
        years = sorted({d.year for d in (item.date() for item in self.items) if d is not None})
        if years:  # only years known
            return str(years[0]) if len(years) == 1 else f"{years[0]}\u2013{years[-1]}"
        return period_label(self.period_from, self.period_to)


def publication_span(items: Sequence[BulletinItem]) -> tuple[dt.date, dt.date] | None:
    """The first and last publication dates of ``items`` known to the month at least (None when
    there is none)."""
    dates = [
        item.date()
        for item in items
        if item.published_at is not None or (item.pub_date is not None and item.pub_date.month)
    ]
    known = [d for d in dates if d is not None]
    return (min(known), max(known)) if known else None


def paragraphs(text: str) -> list[str]:
    """Paragraphs of a text split at blank lines, white space inside each collapsed."""
    parts = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return [p for p in parts if p]


def label_text(label: str) -> str:
    """A structured abstract's label as printed: "DESIGN AND SETTING" -> "Design and setting";
    a label already in mixed case is kept."""
    clean = " ".join(label.split()).rstrip(":").strip()
    if clean.isupper():
        return clean[:1] + clean[1:].lower()
    return clean


# Territories whose paper is US Letter (CLDR supplemental data, measurementData/paperSize);
# everywhere else A4.
_LETTER = frozenset(
    {"US", "CA", "MX", "BZ", "CL", "CO", "CR", "GT", "NI", "PA", "PH", "PR", "SV", "VE"}
)


def paper_size(locale: str) -> str:
    """ "Letter" for a locale of a US-Letter territory ("en-US", "en_CA"), else "A4"."""
    parts = locale.replace("_", "-").split("-")
    territory = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
    return "Letter" if territory in _LETTER else "A4"


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
    """ "October–November 2024", "November 2024", "December 2024–January 2025" (English month
    names whatever the locale, an en dash between months)."""
    if end is None and start is None:
        return ""
    if start is None or end is None:
        only = end or start
        assert only is not None
        return f"{_MONTHS[only.month - 1]} {only.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{_MONTHS[end.month - 1]} {end.year}"
    if start.year == end.year:
        return f"{_MONTHS[start.month - 1]}\u2013{_MONTHS[end.month - 1]} {end.year}"
    return f"{_MONTHS[start.month - 1]} {start.year}\u2013{_MONTHS[end.month - 1]} {end.year}"
