"""Harvest health: what a run says about a topic's searches and feeds, compared with their
history. Pure: the harvest hands in the runs of one topic and source, oldest first and the run
just finished last; :func:`check` returns the problems that hold now, and which kinds of problem
it could judge (a failed run says nothing about counts: problems of kinds it did not judge stay
as they are; the others close when they no longer hold).

The problems, by ``kind``:

- ``no-results``: a search that used to find records found none in its last ``empty_runs`` runs;
- ``count-jump`` / ``count-drop``: a search found more (or fewer) records per day of its window
  than ``change_factor`` times the median of its recent runs (with ``min_count`` records on the
  larger side, so small numbers do not alarm anyone);
- ``service-error``: the service answered with an error of its own (NCBI's in-band ``<ERROR>``);
- ``limit-reached``: a search reached PubMed's 9,999-record limit, so records were missed;
- ``source-failing``: the source's last ``failures`` runs all failed;
- ``feed-failing``: a feed failed ``failures`` fetches in a row;
- ``feed-silent``: a feed that had entries has had none in its last ``empty_runs`` downloads;
- ``feed-churn``: a feed re-issued many entries under new ids (``churn_min`` or more, and at least
  ``churn_ratio`` of what it delivered), entries dedupe then found it already had.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FEED_KINDS",
    "SEARCH_KINDS",
    "Finding",
    "Limits",
    "Problem",
    "RunFacts",
    "check",
    "label",
]

#: The words users see for each source.
LABELS = {"pubmed": "PubMed", "europepmc": "Europe PMC", "feeds": "news feeds"}
SEARCH_KINDS = ("no-results", "count-jump", "count-drop")
FAILURE_KINDS = ("service-error", "limit-reached", "source-failing")
FEED_KINDS = ("feed-failing", "feed-silent", "feed-churn")
_SERVICE_ERROR = re.compile(r"answered with an error|<ERROR>", re.IGNORECASE)
_LIMIT = re.compile(r"record limit|records? (?:were|was) not fetched", re.IGNORECASE)


def label(source: str) -> str:
    return LABELS.get(source, source)


@dataclass(frozen=True, slots=True)
class Limits:
    empty_runs: int = 5
    change_factor: float = 10.0
    min_count: int = 20
    history: int = 10
    failures: int = 3
    churn_ratio: float = 0.5
    churn_min: int = 5


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What one finished run recorded."""

    id: int
    status: str
    fetched: int
    error: str | None = None
    #: Days in the run's date window (window sources), else None.
    days: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    #: What the problem is about within the source: a feed's URL, or "" for the search.
    subject: str
    message: str


def check(source: str, runs: Sequence[RunFacts], limits: Limits) -> tuple[list[Finding], set[str]]:
    """The problems that hold after the last of ``runs``, and the kinds it judged."""
    if not runs:
        return [], set()
    current = runs[-1]
    name = label(source)
    findings: list[Finding] = []
    judged = set(FAILURE_KINDS)
    error = current.error or ""
    if _SERVICE_ERROR.search(error):
        findings.append(Finding("service-error", "", f"{name} answered with an error: {error}"))
    if _LIMIT.search(error):
        findings.append(Finding("limit-reached", "", f"{name}: {error}"))
    failed = [run for run in runs[-limits.failures :] if run.status == "failed"]
    # (a feeds run fails when all its feeds do: each feed is judged on its own below)
    if current.days is not None and len(failed) == limits.failures:
        findings.append(
            Finding(
                "source-failing",
                "",
                f"{name} failed in the last {limits.failures} runs: {error or 'no reason given'}",
            )
        )
    if current.days is not None and current.status == "ok":
        judged.update(SEARCH_KINDS)
        findings += _search(name, [r for r in runs if r.status == "ok"], limits)
    if current.days is None:
        judged.update(FEED_KINDS)
        findings += _feeds(runs, limits)
    return findings, judged


def _search(name: str, runs: list[RunFacts], limits: Limits) -> list[Finding]:
    current = runs[-1]
    found: list[Finding] = []
    last = runs[-limits.empty_runs :]
    earlier = runs[: -limits.empty_runs]
    if (
        len(last) == limits.empty_runs
        and all(r.fetched == 0 for r in last)
        and any(r.fetched > 0 for r in earlier)
    ):
        found.append(
            Finding(
                "no-results",
                "",
                f"the {name} search found nothing in its last {limits.empty_runs} runs, "
                "though it used to find records: check the search",
            )
        )
    baseline = [r for r in runs[-limits.history - 1 : -1] if r.days]
    if len(baseline) < 3 or not current.days:
        return found
    usual = statistics.median(r.fetched / (r.days or 1) for r in baseline)
    usual_count = statistics.median(r.fetched for r in baseline)
    rate = current.fetched / current.days
    if current.fetched >= limits.min_count and rate > limits.change_factor * max(usual, 1e-9):
        found.append(
            Finding(
                "count-jump",
                "",
                f"the {name} search found {current.fetched} records ({rate:.1f} a day), more "
                f"than {limits.change_factor:g} times its usual {usual:.1f} a day: "
                "check the search",
            )
        )
    elif usual_count >= limits.min_count and rate * limits.change_factor < usual:
        found.append(
            Finding(
                "count-drop",
                "",
                f"the {name} search found {current.fetched} records ({rate:.1f} a day), less "
                f"than a {limits.change_factor:g}th of its usual {usual:.1f} a day: "
                "check the search",
            )
        )
    return found


def _feeds(runs: Sequence[RunFacts], limits: Limits) -> list[Finding]:
    current = runs[-1]
    found: list[Finding] = []
    for url, detail in sorted(current.details.items()):
        if not isinstance(detail, Mapping):
            continue
        name = detail.get("name") or url
        failures = int(detail.get("failures_in_a_row") or 0)
        if detail.get("status") == "error" and failures >= limits.failures:
            found.append(
                Finding(
                    "feed-failing",
                    url,
                    f"the feed {name} failed {failures} fetches in a row: "
                    f"{detail.get('error') or 'no reason given'}",
                )
            )
        reissued = int(detail.get("reissued") or 0)
        delivered = int(detail.get("hits") or 0)
        if reissued >= limits.churn_min and reissued >= limits.churn_ratio * max(delivered, 1):
            found.append(
                Finding(
                    "feed-churn",
                    url,
                    f"the feed {name} re-issued {reissued} of its {delivered} entries under "
                    "new ids (entries it had already delivered)",
                )
            )
        downloads = [
            run.details[url]
            for run in runs
            if isinstance(run.details.get(url), Mapping) and run.details[url].get("status") == "ok"
        ]
        last = downloads[-limits.empty_runs :]
        if (
            len(last) == limits.empty_runs
            and all(int(d.get("entries") or 0) == 0 for d in last)
            and any(int(d.get("entries") or 0) > 0 for d in downloads[: -limits.empty_runs])
        ):
            found.append(
                Finding(
                    "feed-silent",
                    url,
                    f"the feed {name} has had no entries in its last {limits.empty_runs} "
                    "downloads, though it used to: check the feed's address",
                )
            )
    return found


@dataclass(frozen=True, slots=True)
class Problem:
    """A stored harvest problem, as pages, the digest and ``harvester health`` show it."""

    id: int
    topic: str
    source: str
    kind: str
    subject: str
    message: str
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    closed_at: dt.datetime | None
    runs: int

    @property
    def source_label(self) -> str:
        return label(self.source)

    def line(self) -> str:
        return f"{self.topic}: {self.message} (since {self.opened_at:%Y-%m-%d}, {self.runs} runs)"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "source": self.source,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "opened_at": self.opened_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "runs": self.runs,
        }
