"""The weekly digest: compose one topic's e-mail from plain values (pure: no clock, no I/O).

What goes in: :class:`DigestData` (read by ``harvester.store.digests``) and an
:class:`Envelope` (addresses and links from the settings). What comes out: one
:class:`email.message.EmailMessage`, ``multipart/alternative`` with a text/plain part first and an
HTML part with inline CSS (Outlook and most webmail clients drop ``<style>`` blocks). There are no
attachments and no ``message/rfc822`` parts, which some clients show as attachments.

Every title, abstract, source name and error text comes from outside (feeds, PubMed, servers)
and is escaped by the template engine's autoescape; the text part is plain text. The
Message-ID is derived from the topic, the ISO week and the sender's domain, so every attempt at
the same week's digest carries the same id (a receiving server or client can drop a duplicate).
"""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from urllib.parse import quote

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from harvester.core.digest import (
    CARD_PATH,
    QUEUE_PATH,
    DigestData,
    Envelope,
    flat,
    grouped_runs,
    shorten,
    top_items,
)
from harvester.core.text import source_label

TEMPLATES = Path(__file__).resolve().parent / "templates"


def message_id(topic: str, week: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<digest.{topic}.{week}@{domain}>"


#: How the digest names a candidate's status when counting the week's arrivals.
OUTCOME_WORDS = {
    "new": "waiting",
    "deferred": "deferred",
    "accepted": "accepted",
    "rejected": "rejected",
    "published": "published",
}


def subject_of(data: DigestData, envelope: Envelope) -> str:
    base = envelope.subject or f"{data.topic_name} weekly digest"
    news = f"{data.total} new" if data.total else "nothing new"
    waiting = f", {data.waiting} to review" if data.waiting else ""
    return f"{base}, {data.week}: {news}{waiting}"


def arrivals_line(data: DigestData) -> str | None:
    """The week's arrivals by what became of them, e.g. "116 arrived: 80 waiting, 30 rejected"."""
    if not data.total:
        return None
    parts = [f"{n} {OUTCOME_WORDS.get(status, status)}" for status, n in data.outcomes]
    return f"{data.total} arrived this week: {', '.join(parts)}."


def waiting_line(data: DigestData) -> str:
    if not data.waiting:
        return "Nothing waits for review: the queue is clear."
    parts = [f"{n} {'new' if status == 'new' else status}" for status, n in data.waiting_counts]
    noun = "item waits" if data.waiting == 1 else "items wait"
    detail = f" ({', '.join(parts)})" if len(parts) > 1 else ""
    return f"{data.waiting} {noun} for review{detail}."


def compose(data: DigestData, envelope: Envelope, *, now: dt.datetime) -> EmailMessage:
    """The digest e-mail: text/plain and inline-styled HTML alternatives, headers set."""
    if not envelope.recipients:
        raise ValueError(f"topic {data.topic} has no [digest] recipients")
    context = _context(data, envelope)
    text = _env().get_template("digest.txt").render(**context).strip() + "\n"
    page = _env().get_template("digest.html").render(**context, css=_css())
    inlined = css_inline.inline(page)

    message = EmailMessage()
    message["Subject"] = context["subject"]
    message["From"] = _address(envelope.sender)
    message["To"] = ", ".join(envelope.recipients)
    message["Date"] = format_datetime(now.astimezone(dt.UTC))
    message["Message-ID"] = message_id(data.topic, data.week, envelope.sender)
    message["List-Id"] = f"{data.topic_name} digest <{data.topic}.digest.{_domain(envelope)}>"
    unsubscribe = f"<mailto:{envelope.sender}?subject={quote('unsubscribe ' + data.topic)}>"
    message["List-Unsubscribe"] = unsubscribe
    message["Auto-Submitted"] = "auto-generated"
    for name, value in envelope.extra_headers.items():
        message[name] = value
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(inlined, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _context(data: DigestData, envelope: Envelope) -> dict[str, object]:
    base = envelope.base_url.rstrip("/") if envelope.base_url else None
    items = []
    for item in top_items(data.items):
        meta = [item.venue or source_label(item.source), item.kind]
        if item.date is not None:
            meta.insert(1, item.date.isoformat())
        if item.status != "new":
            meta.append(item.status)
        if item.score is not None:
            meta.append(f"score {item.score:.2f}")
        items.append(
            {
                "title": flat(item.title) or "(untitled)",
                "meta": " · ".join(part for part in meta if part),
                "abstract": shorten(item.abstract),
                "link": item.link,
                "card": base + CARD_PATH.format(id=item.candidate_id) if base else None,
            }
        )
    ranked = any(item.score is not None for item in data.items)
    shown = len(items)
    heading = f"Top {shown} by score" if ranked else f"Newest {shown}"
    return {
        "subject": subject_of(data, envelope),
        "topic_name": data.topic_name,
        "week": data.week,
        "since": _when(data.since, envelope.timezone),
        "total": data.total,
        "waiting": data.waiting,
        "waiting_line": waiting_line(data),
        "arrivals_line": arrivals_line(data),
        "items": items,
        "items_heading": f"{heading} waiting" if data.waiting > shown else "Waiting for review",
        "problems": _problems(data, envelope.timezone),
        "notices": [flat(line) for line in data.notices],
        "queue_link": base + QUEUE_PATH.format(topic=data.topic) if base else None,
    }


def _problems(data: DigestData, tz: dt.tzinfo) -> list[str]:
    lines = []
    for feed in data.feed_problems:
        since = f" since {_when(feed.failing_since, tz)}" if feed.failing_since else ""
        reason = f": {shorten(feed.error)}" if feed.error else ""
        lines.append(
            f"Feed {flat(feed.name)} ({feed.url}) failing{since}, "
            f"{feed.failures} run{'s' if feed.failures != 1 else ''} in a row{reason}"
        )
    for first, last, count in grouped_runs(data.run_problems):
        reason = f": {shorten(first.error)}" if first.error else ""
        what = "cut short" if first.status == "partial" else "failed"
        if count == 1:
            when = f"of {_when(first.started_at, tz)}"
            lines.append(f"{source_label(first.source)} harvest {when} {what}{reason}")
        else:
            when = f"{_when(first.started_at, tz)} to {_when(last.started_at, tz)}"
            lines.append(
                f"{source_label(first.source)} harvest {what} {count} times ({when}){reason}"
            )
    for silent in data.silent:
        lines.append(
            f"{source_label(silent.source)} found nothing in {silent.runs} runs since "
            f"{_when(silent.since, tz)}: check the query"
        )
    lines.extend(flat(line) for line in data.health)
    return lines


def _when(value: dt.datetime, tz: dt.tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _address(sender: str) -> str:
    name, _, domain = sender.partition("@")
    return str(Address(username=name, domain=domain)) if domain else sender


def _domain(envelope: Envelope) -> str:
    return envelope.sender.rpartition("@")[2] or "localhost"


@cache
def _env() -> Environment:
    # .html templates escape every value; the .txt one is plain text and escapes nothing.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@cache
def _css() -> str:
    return (TEMPLATES / "digest.css").read_text(encoding="utf-8")
