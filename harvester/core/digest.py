"""The weekly digest's plain values: what one topic's week holds, who it goes to, and the
rules for weeks and for which items it lists (pure: no clock, no I/O).

:mod:`harvester.store.digests` reads these values; :mod:`harvester.mail.digest` composes the
e-mail from them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

#: How many items the digest lists.
TOP_ITEMS = 10
#: Characters of abstract shown per item (about two lines).
ABSTRACT_CHARS = 220
#: Where a candidate's card is in the review UI, below ``[web] base_url``.
CARD_PATH = "/candidates/{id}"
QUEUE_PATH = "/queue/{topic}"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One new candidate as the digest shows it."""

    candidate_id: int
    title: str
    kind: str
    source: str
    venue: str | None
    date: dt.date | None
    abstract: str | None
    arrived_at: dt.datetime
    score: float | None = None
    #: still waiting for a decision (new or deferred): only these are listed
    waiting: bool = True


@dataclass(frozen=True, slots=True)
class FeedProblem:
    name: str
    url: str
    failing_since: dt.datetime | None
    failures: int
    error: str | None


@dataclass(frozen=True, slots=True)
class RunProblem:
    source: str
    started_at: dt.datetime
    status: str
    error: str | None


@dataclass(frozen=True, slots=True)
class SilentSource:
    """A source whose runs all succeeded but found nothing for weeks."""

    source: str
    runs: int
    since: dt.datetime


@dataclass(frozen=True, slots=True)
class DigestData:
    """Everything one topic's digest for one ISO week says."""

    topic: str
    topic_name: str
    week: str
    since: dt.datetime
    until: dt.datetime
    counts: tuple[tuple[str, str, int], ...] = ()  # (source, kind, new candidates)
    items: tuple[DigestItem, ...] = ()
    feed_problems: tuple[FeedProblem, ...] = ()
    run_problems: tuple[RunProblem, ...] = ()
    silent: tuple[SilentSource, ...] = ()
    #: Harvest problems open now or closed this week (``harvester.core.health``), as lines.
    health: tuple[str, ...] = ()
    #: Notices found this week about accepted or published items (retraction watch), as lines.
    notices: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(count for _, _, count in self.counts)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who sends, who receives, and where links point."""

    sender: str
    recipients: tuple[str, ...]
    base_url: str | None = None
    subject: str | None = None
    timezone: dt.tzinfo = dt.UTC
    extra_headers: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ weeks


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> str:
    """Check ``YYYY-Www`` and return it normalised; ValueError with the reason otherwise."""
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"week must look like 2025-W07, got {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{text!r}: {year} has no ISO week {week}") from None
    return f"{year}-W{week:02d}"


def week_start(week: str, tz: dt.tzinfo) -> dt.datetime:
    """Monday 00:00 of ``week`` in ``tz``."""
    year, number = (int(part) for part in parse_week(week).split("-W"))
    monday = dt.date.fromisocalendar(year, number, 1)
    return dt.datetime.combine(monday, dt.time(), tzinfo=tz)


def top_items(items: Sequence[DigestItem], limit: int = TOP_ITEMS) -> list[DigestItem]:
    """The items still waiting for a decision: by score when the topic has a ranking (any item
    scored), else newest first."""
    items = [item for item in items if item.waiting]
    if any(item.score is not None for item in items):
        return sorted(
            items,
            key=lambda i: (i.score if i.score is not None else float("-inf"), i.arrived_at),
            reverse=True,
        )[:limit]
    return sorted(items, key=lambda i: (i.arrived_at, i.candidate_id), reverse=True)[:limit]


def flat(text: str | None) -> str:
    return " ".join((text or "").split())


def shorten(text: str | None, limit: int = ABSTRACT_CHARS) -> str | None:
    whole = flat(text)
    if not whole:
        return None
    if len(whole) <= limit:
        return whole
    cut = whole[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
