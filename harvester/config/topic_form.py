"""A topic's settings as the topic page shows them, and a change from that page written back
into the topic's document (TOML, comments and layout kept, through tomlkit).

The document is what is checked and stored: a change made here passes the same rules, and
reads the same way, as the same change made in a topic file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.items import AoT

from harvester.config.schedule import describe
from harvester.config.settings import Topic

__all__ = [
    "TopicFields",
    "add_feeds",
    "fields_of",
    "lines",
    "new_topic_document",
    "remove_feed",
    "with_fields",
]


@dataclass(frozen=True, slots=True)
class TopicFields:
    """The settings the topic page edits, as text a person types."""

    name: str
    pubmed_query: str
    phrases: str  # one per line
    exclude: str  # one per line
    harvest: str  # in words ("every weekday at 06:00") or cron
    digest: str
    recipients: str  # one address per line
    bulletin_title: str
    bulletin_subtitle: str
    footer: str
    contact: str
    style: str


def lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, trimmed (commas also separate addresses)."""
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def fields_of(topic: Topic) -> TopicFields:
    return TopicFields(
        name=topic.name,
        pubmed_query=topic.pubmed.query.strip() if topic.pubmed else "",
        phrases="\n".join(topic.match.phrases),
        exclude="\n".join(topic.match.exclude),
        harvest=describe(topic.schedule.harvest) if topic.schedule.harvest else "",
        digest=describe(topic.schedule.digest) if topic.schedule.digest else "",
        recipients="\n".join(topic.digest.recipients),
        bulletin_title=topic.bulletin.title or "",
        bulletin_subtitle=topic.bulletin.subtitle or "",
        footer=topic.bulletin.footer or "",
        contact=topic.bulletin.contact or "",
        style=topic.bulletin.style,
    )


def _table(doc: Any, key: str) -> Any:
    if key not in doc:
        doc[key] = tomlkit.table()
    return doc[key]


def _set(table: Any, key: str, value: Any) -> None:
    """Set ``key`` (removing it when the value is empty, so the default applies)."""
    if value in ("", None, []):
        if key in table:
            del table[key]
        return
    if isinstance(value, str) and "\n" in value:
        table[key] = tomlkit.string(value if value.endswith("\n") else value + "\n", multiline=True)
    elif isinstance(value, list):
        array = tomlkit.array()
        array.extend(value)
        if len(value) > 2:
            array.multiline(True)
        table[key] = array
    else:
        table[key] = value


def with_fields(document: str, fields: TopicFields, current: TopicFields | None = None) -> str:
    """``document`` with the page's fields written in: only the fields that differ from
    ``current`` (the fields as the page showed them) are touched, so what the page does not
    edit, and how the rest is written, is kept."""
    doc = tomlkit.parse(document)

    def changed(name: str) -> bool:
        return current is None or getattr(current, name) != getattr(fields, name)

    if changed("name"):
        _set(_table(doc, "topic"), "name", fields.name.strip())
    if changed("pubmed_query"):
        query = fields.pubmed_query.strip()
        if query:
            _set(_table(doc, "pubmed"), "query", query)
        elif "pubmed" in doc:
            del doc["pubmed"]
    if changed("phrases"):
        _set(_table(doc, "match"), "phrases", lines(fields.phrases))
    if changed("exclude"):
        exclude = tomlkit.array()
        exclude.extend(lines(fields.exclude))
        _table(doc, "match")["exclude"] = exclude
    if changed("harvest"):
        _table(doc, "schedule")["harvest"] = fields.harvest.strip()
    if changed("digest"):
        _table(doc, "schedule")["digest"] = fields.digest.strip()
    if changed("recipients"):
        recipients = [a.strip() for line in lines(fields.recipients) for a in line.split(",")]
        _set(_table(doc, "digest"), "recipients", [a for a in recipients if a])
    for name, key in (
        ("bulletin_title", "title"),
        ("bulletin_subtitle", "subtitle"),
        ("footer", "footer"),
        ("contact", "contact"),
        ("style", "style"),
    ):
        if changed(name):
            _set(_table(doc, "bulletin"), key, getattr(fields, name).strip())
    return tomlkit.dumps(doc)


def add_feeds(document: str, feeds: Sequence[Mapping[str, Any]]) -> str:
    """``document`` with ``feeds`` (each: url, name, and ``all`` or ``phrases``) added at the
    end; a feed whose address is listed already is left as it is."""
    doc = tomlkit.parse(document)
    existing = doc.get("feeds")
    if not isinstance(existing, AoT):
        existing = tomlkit.aot()
        doc["feeds"] = existing
    listed = {str(feed.get("url")) for feed in existing}
    for feed in feeds:
        if feed["url"] in listed:
            continue
        listed.add(feed["url"])
        table = tomlkit.table()
        for key, value in feed.items():
            if value not in (None, "", False):
                table[key] = value
        existing.append(table)
    return tomlkit.dumps(doc)


def remove_feed(document: str, url: str) -> str:
    doc = tomlkit.parse(document)
    existing = doc.get("feeds")
    if isinstance(existing, AoT):
        kept = [feed for feed in existing if str(feed.get("url")) != url]
        if kept:
            aot = tomlkit.aot()
            for feed in kept:
                table = tomlkit.table()
                for key, value in feed.items():
                    table[key] = value
                aot.append(table)
            doc["feeds"] = aot
        else:
            del doc["feeds"]
    return tomlkit.dumps(doc)


def new_topic_document(slug: str, name: str) -> str:
    """The document of a new topic: its slug and name, and defaults for everything else."""
    doc = tomlkit.document()
    topic = tomlkit.table()
    topic["slug"] = slug
    topic["name"] = name
    doc["topic"] = topic
    match = tomlkit.table()
    match["phrases"] = tomlkit.array()
    match["exclude"] = tomlkit.array()
    doc["match"] = match
    return tomlkit.dumps(doc)
