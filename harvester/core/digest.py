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
#: A topic's review queue (its waiting items) in the review UI.
QUEUE_PATH = "/topics/{topic}"
#: Statuses of candidates that still wait for a reviewer.
WAITING = ("new", "deferred")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One candidate waiting for review, as the digest shows it."""

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
    #: Where the article is: its DOI, else PubMed, else its own URL (http or https only).
    link: str | None = None
    status: str = "new"


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
    counts: tuple[tuple[str, str, int], ...] = ()  # (source, kind, arrivals of the week)
    #: The items listed: those still waiting for review (the best or newest of them).
    items: tuple[DigestItem, ...] = ()
    #: The week's arrivals by what became of them: (status, count), e.g. ("rejected", 30).
    outcomes: tuple[tuple[str, int], ...] = ()
    #: Everything still waiting in the topic's queue by status: (status, count).
    waiting_counts: tuple[tuple[str, int], ...] = ()
    feed_problems: tuple[FeedProblem, ...] = ()
    run_problems: tuple[RunProblem, ...] = ()
    silent: tuple[SilentSource, ...] = ()
    #: Harvest problems open now or closed this week (``harvester.core.health``), as lines.
    health: tuple[str, ...] = ()
    #: Notices found this week about accepted or published items (retraction watch), as lines.
    notices: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """The week's arrivals."""
        return sum(count for _, _, count in self.counts)

    @property
    def waiting(self) -> int:
        return sum(count for _, count in self.waiting_counts)


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


def article_link(doi: str | None, pmid: str | None, url: str | None) -> str | None:
    """Where an item's title links: the DOI, else PubMed, else its URL when that is http(s)."""
    if doi and doi.strip():
        return "https://doi.org/" + doi.strip()
    if pmid and pmid.strip():
        return f"https://pubmed.ncbi.nlm.nih.gov/{pmid.strip()}/"
    if url and re.match(r"https?://", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def grouped_runs(runs: Sequence[RunProblem]) -> list[tuple[RunProblem, RunProblem, int]]:
    """Run problems with the same source, status and error as one: (first, last, how many),
    in the order they first happened."""
    groups: dict[tuple[str, str, str], list[RunProblem]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        groups.setdefault((run.source, run.status, flat(run.error)), []).append(run)
    return [(group[0], group[-1], len(group)) for group in groups.values()]


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
