"""One feed entry, whatever format it came in, and how it becomes a :class:`~harvester.core.models.Hit`.

feedparser (RSS 0.9x/1.0/2.0, Atom) and JSON Feed entries are first read into a neutral
:class:`RawEntry`, so that turning an entry into a hit happens in one place. Pure: no I/O.

Identity. An entry's ``source_id`` is its guid (RSS ``guid``, Atom ``id``, JSON Feed ``id``),
else its canonical link, else a hash of its title and date string: the order feeds promise. A
publisher that re-issues an entry under a new guid but the same link produces a new
``source_id``; the dedupe layer matches works on the canonical URL (``Hit.url``) as well, so the
two sightings still make one work. Identities longer than 512 characters (the column's width)
are replaced by their SHA-256.

Kind. An entry that carries a DOI in its metadata (``prism:doi``, a ``dc:identifier`` such as
``doi:10...``, or a link to doi.org) comes from a journal table of contents and is an
``ARTICLE``, with its journal from ``prism:publicationName`` (or ``dc:source``, or the feed's own
``prism:publicationName``) and volume, issue and pages from PRISM. Everything else is ``NEWS``.

Dates. The entry's published (else updated, else created) date, in UTC. A missing or unreadable
date, or one more than a day ahead of the clock, is replaced by the time the entry was first
seen, with ``date_is_fallback`` set. A date written as a bare year ("2023") or year and month
("2023-11") keeps that precision rather than claiming the first day.

Source name. The publisher named by the entry itself (RSS/Atom ``<source>``, which aggregators
such as Google News fill with the original site) wins over the feed's display name, which wins
over the feed's title: a bulletin should say "BBC News", not "my news search".
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvester.core.models import AbstractSection, Author, DatePrecision, Hit, PubDate, WorkKind
from harvester.core.normalise import normalise_doi
from harvester.core.text import plain_text, sanitise_html
from harvester.core.urls import canonical_url, is_http_url

__all__ = ["RawEntry", "entry_identity", "from_feedparser", "from_json_feed", "to_hit"]

SOURCE = "feeds"
MAX_ID_LENGTH = 512
_FALLBACK_TITLE_LENGTH = 120
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?[\s-]?)+$")
_BYLINE = re.compile(r"^\s*by\s+", re.IGNORECASE)
_PLACE = re.compile(r"\s+in\s+[A-Z][\w.' -]*$")  # "David Smith in Washington"
_JOINED = re.compile(r"\s+(?:and|&)\s+|\s*;\s*")
#: Lower-case words that begin a family name written after the given name ("Peter van der
#: Berg", "Maria de la Cruz"); capitalised they are given names ("Van Morrison").
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "do",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "zu",
        "bin",
        "ibn",
        "al",
        "el",
    ]
)
# ISO 8601 dates that name only a year or a month (feedparser reads them as the first day).
_PRECISION = {
    re.compile(r"\d{4}"): DatePrecision.YEAR,
    re.compile(r"\d{4}-\d{2}"): DatePrecision.MONTH,
}
# A date this far past the clock is a wrong date, not a publisher in an early time zone.
FUTURE_TOLERANCE = dt.timedelta(days=1)


@dataclass
class RawEntry:
    """What harvester needs from one entry, as the feed gave it (markup still untrusted)."""

    guid: str | None = None
    link: str | None = None
    title: str | None = None  # may hold markup
    summary: str | None = None  # HTML
    published: dt.datetime | None = None
    date_text: str | None = None  # the date as written, for an identity without guid or link
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)  # candidates in order of trust
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    source_title: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ feedparser


def from_feedparser(entry: Mapping[str, Any], feed: Mapping[str, Any]) -> RawEntry:
    """Read one feedparser entry (``feed`` is the parse result's ``feed`` part)."""
    # Plain dict lookups: FeedParserDict.get() maps some missing keys to others ("updated" to
    # "published") with a DeprecationWarning; harvester wants exactly what the feed said.
    entry, feed = dict(entry), dict(feed)
    summary = _text(entry.get("summary"))
    if not summary:
        content = entry.get("content") or []
        summary = _text(content[0].get("value")) if content else None
    published, date_text = None, None
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        if parsed and published is None:
            published = _from_struct(parsed)
        if entry.get(key) and date_text is None:
            date_text = _text(entry.get(key))
    if published is None:  # e.g. a localised weekday ("mer, 16 nov 2022 ...") feedparser refuses
        published = parse_date(date_text)
    authors = [_text(a.get("name")) or "" for a in entry.get("authors") or []]
    if not any(authors) and entry.get("author"):
        authors = [_text(entry.get("author")) or ""]
    source = entry.get("source") or {}
    title = _text(entry.get("title"))
    return RawEntry(
        guid=_text(entry.get("id")),
        # FeedBurner replaces links with its click-tracking redirect and keeps the real one here.
        link=_text(entry.get("feedburner_origlink"))
        or _text(entry.get("link"))
        or _first_link(entry.get("links") or []),
        title=title,
        summary=summary,
        published=published,
        date_text=date_text,
        authors=[a for a in authors if a],
        tags=[t for t in (_text(tag.get("term")) for tag in entry.get("tags") or []) if t],
        dois=[
            d
            for d in (
                _text(entry.get("prism_doi")),
                _text(entry.get("dc_identifier")),
                _text(entry.get("link")),
                _text(entry.get("id")),
            )
            if d
        ],
        journal=_journal(entry, feed, title),
        volume=_text(entry.get("prism_volume")),
        issue=_text(entry.get("prism_number")),
        pages=_pages(entry.get("prism_startingpage"), entry.get("prism_endingpage")),
        source_title=_text(source.get("title")) if isinstance(source, Mapping) else None,
        raw=entry,
    )


def _journal(entry: Mapping[str, Any], feed: Mapping[str, Any], title: str | None) -> str | None:
    # Some platforms (Atypon) put the article title in the item's prism:publicationName.
    for value in (
        entry.get("prism_publicationname"),
        entry.get("dc_source"),
        feed.get("prism_publicationname"),
    ):
        text = _text(value)
        if text and text != title and not is_http_url(text):
            return text
    return None


def _pages(first: Any, last: Any) -> str | None:
    start, end = _text(first), _text(last)
    if start and end and end != start:
        return f"{start}-{end}"
    return start


def _first_link(links: Iterable[Mapping[str, Any]]) -> str | None:
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return _text(link.get("href"))
    return None


def _from_struct(value: time.struct_time) -> dt.datetime | None:
    try:  # feedparser gives UTC; a leap second (sec 60) is clamped
        return dt.datetime(*value[:5], min(value[5], 59), tzinfo=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# ------------------------------------------------------------------------------- JSON Feed


def from_json_feed(item: Mapping[str, Any]) -> RawEntry:
    """Read one JSON Feed (https://jsonfeed.org/version/1.1) item."""
    summary = _text(item.get("content_html")) or _text(item.get("summary"))
    if not summary and _text(item.get("content_text")):
        summary = _escape_text(str(item["content_text"]))
    date_text = _text(item.get("date_published")) or _text(item.get("date_modified"))
    people: list[Any] = []
    if isinstance(item.get("authors"), list):
        people = item["authors"]
    elif isinstance(item.get("author"), Mapping):  # JSON Feed 1.0
        people = [item["author"]]
    tags = item["tags"] if isinstance(item.get("tags"), list) else []
    return RawEntry(
        guid=_text(item.get("id")),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")),
        summary=summary,
        published=parse_date(date_text),
        date_text=date_text,
        authors=[n for n in (_text(p.get("name")) for p in people if isinstance(p, Mapping)) if n],
        tags=[t for t in (_text(tag) for tag in tags) if t],
        dois=[d for d in (_text(item.get("url")), _text(item.get("external_url"))) if d],
        raw=item,
    )


def parse_date(text: str | None) -> dt.datetime | None:
    """An RFC 3339 or RFC 822 date as an aware datetime (UTC when no zone is given), or None."""
    if not text:
        return None
    value: dt.datetime | None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = email.utils.parsedate_to_datetime(text.strip())
        except (TypeError, ValueError, IndexError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _escape_text(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    escaped = (
        p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in paragraphs
    )
    return "".join(f"<p>{p}</p>" for p in escaped)


# ------------------------------------------------------------------------------- to a Hit


def entry_identity(entry: RawEntry) -> str:
    """The entry's ``source_id``: guid, else canonical link, else a hash of title and date."""
    identity = entry.guid or (canonical_url(entry.link) if entry.link else None)
    if not identity:
        seed = f"{plain_text(entry.title)}\n{entry.date_text or ''}\n{plain_text(entry.summary)}"
        identity = "sha256:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()
    if len(identity) > MAX_ID_LENGTH:
        identity = "sha256:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()
    return identity


def to_hit(
    entry: RawEntry,
    *,
    feed_url: str,
    feed_name: str | None,
    feed_title: str | None,
    matched_rule: str,
    now: dt.datetime,
) -> Hit:
    """The hit for one entry that passed the topic's rules (``matched_rule`` says which)."""
    url = canonical_url(entry.link) if entry.link and is_http_url(entry.link) else None
    summary_html = sanitise_html(entry.summary, base_url=url)
    abstract = plain_text(summary_html)
    title = plain_text(entry.title) or _fallback_title(abstract, url)
    published = entry.published
    if published is not None and published > now + FUTURE_TOLERANCE:
        published = None
    fallback = published is None
    if published is None:
        published = now
    precision = DatePrecision.DAY
    if not fallback and entry.date_text:
        precision = next(
            (p for regex, p in _PRECISION.items() if regex.fullmatch(entry.date_text.strip())),
            DatePrecision.DAY,
        )
    doi = next((d for d in map(normalise_doi, entry.dois) if d), None)
    return Hit(
        source=SOURCE,
        source_id=entry_identity(entry),
        title=title,
        kind=WorkKind.ARTICLE if doi else WorkKind.NEWS,
        authors=parse_authors(entry.authors),
        journal=entry.journal if doi else None,
        volume=entry.volume if doi else None,
        issue=entry.issue if doi else None,
        pages=entry.pages if doi else None,
        pub_date=PubDate(
            year=published.year,
            month=None if precision is DatePrecision.YEAR else published.month,
            day=published.day if precision is DatePrecision.DAY else None,
            precision=precision,
        ),
        published_at=published,
        date_is_fallback=fallback,
        doi=doi,
        url=url,
        abstract=[AbstractSection(abstract)] if abstract else [],
        summary_html=summary_html,
        source_name=plain_text(entry.source_title) or feed_name or plain_text(feed_title) or None,
        keywords=list(dict.fromkeys(plain_text(t) for t in entry.tags if plain_text(t))),
        origin=feed_url,
        matched_rule=matched_rule,
        raw=json.dumps(entry.raw, default=_json_default, ensure_ascii=False).encode("utf-8"),
    )


def _fallback_title(abstract: str, url: str | None) -> str:
    if abstract:
        if len(abstract) <= _FALLBACK_TITLE_LENGTH:
            return abstract
        return abstract[:_FALLBACK_TITLE_LENGTH].rsplit(" ", 1)[0] + "\u2026"
    return url or "Untitled entry"


def parse_authors(names: Sequence[str]) -> list[Author]:
    """Authors from feed bylines: "Given Family", "Family, Given", a bioRxiv-style list
    "Family, I., Family, I." in one string, or a news byline "By A and B in Place" (the "By",
    the place and the joining words are dropped). Duplicates are kept once.
    """
    people: list[str] = []
    for raw in names:
        byline = _PLACE.sub("", plain_text(_BYLINE.sub("", plain_text(raw))))
        people.extend(p.strip() for p in _JOINED.split(byline) if p.strip())
    authors: list[Author] = []
    for name in people:
        parts = [p.strip() for p in name.split(",") if p.strip()]
        if len(parts) >= 2 and len(parts) % 2 == 0 and all(_INITIALS.match(p) for p in parts[1::2]):
            for family, initials in zip(parts[::2], parts[1::2], strict=True):
                letters = "".join(ch for ch in initials if ch.isalpha() and ch.isupper())
                authors.append(Author(family=family, initials=letters or None))
        elif len(parts) == 2:
            authors.append(Author(family=parts[0], given=parts[1]))
        else:
            words = name.split()
            cut = len(words) - 1
            while cut > 1 and words[cut - 1] in _PARTICLES:
                cut -= 1
            given, family = " ".join(words[:cut]), " ".join(words[cut:])
            authors.append(Author(family=family, given=given or None))
    return list(dict.fromkeys(authors))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _json_default(value: Any) -> Any:
    if isinstance(value, time.struct_time):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
