"""One harvest: for each topic and source, fetch -> normalise -> dedupe -> store, inside a run record.

A failing source marks its own run ``failed`` (nothing stored) or ``partial`` (some batches or
feeds stored), keeps what it stored, and the loop goes on with the next source and topic.
Each batch of hits is stored in its own short write transaction, so a long harvest never holds
the database's write lock for long and a crash loses at most the batch in hand.

PubMed runs are incremental: each topic keeps a watermark per query (the entrez date up to which
everything has been fetched). The next run asks from the watermark minus ``overlap_days`` (the
overlap is absorbed by dedupe) up to today; a first run goes back ``initial_days``. ``since`` and
``until`` override the window (a backfill). The watermark only moves to a date through which every
record was actually fetched, and never past NCBI's yesterday: entrez dates are US Eastern days, and
a day still running there may yet gain records however late in the UTC day the run is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from harvester.config import PubMedSettings, Settings, Topic
from harvester.errors import HarvesterError, SourceError
from harvester.filters import compile_rules
from harvester.models import Hit, RunStatus
from harvester.sources.feeds import FeedRequest, fetch_feeds
from harvester.sources.pubmed import EutilsClient, harvest_pubmed
from harvester.store import feeds as feed_store
from harvester.store import runs
from harvester.store.db import Database
from harvester.store.works import ingest_hits

log = logging.getLogger(__name__)

SOURCES = ("pubmed", "feeds")
#: Where NCBI's days begin and end: entrez dates are given in its local time.
NCBI_TIME = ZoneInfo("America/New_York")

Clock = Callable[[], dt.datetime]
Reporter = Callable[[str], None]
"""Receives each run's summary line when the run ends; ``progress`` gets the running summary
after every stored batch, for long runs."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RunSummary:
    """What one source did for one topic: the figures the CLI prints and the run row keeps."""

    topic: str
    source: str
    run_id: int
    status: RunStatus = RunStatus.RUNNING
    fetched: int = 0
    new_works: int = 0
    new_candidates: int = 0
    duplicates: int = 0
    requests: int = 0
    error: str | None = None
    window: tuple[dt.date, dt.date] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        window = f" {self.window[0]}..{self.window[1]}" if self.window else ""
        text = (
            f"{self.topic} {self.source}{window}: {self.status.value}, {self.fetched} fetched, "
            f"{self.new_works} new works, {self.new_candidates} new candidates, "
            f"{self.duplicates} duplicates"
        )
        if self.error:
            text += f" ({self.error})"
        flagged = [
            f"{url} has failed {detail['failures_in_a_row']} runs in a row"
            for url, detail in self.details.items()
            if detail.get("flagged")
        ]
        if flagged:
            text += "; check: " + "; ".join(flagged)
        return text


class Harvest:
    """Runs sources for topics against one database; entry points (CLI, scheduler) share it."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        report: Reporter | None = None,
        progress: Callable[[RunSummary], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.report = report or (lambda _msg: None)
        self.progress = progress or (lambda _summary: None)
        self._pubmed: EutilsClient | None = None

    def close(self) -> None:
        if self._pubmed is not None:
            self._pubmed.close()
            self._pubmed = None

    def __enter__(self) -> Harvest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ the loop

    def run(
        self,
        topics: Sequence[Topic],
        *,
        sources: Iterable[str] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[RunSummary]:
        wanted = tuple(sources) if sources is not None else SOURCES
        summaries: list[RunSummary] = []
        for topic in topics:
            for source in wanted:
                summary = self._run_one(topic, source, since=since, until=until)
                if summary is not None:
                    summaries.append(summary)
                    self.report(summary.line())
        return summaries

    def _run_one(
        self, topic: Topic, source: str, *, since: dt.date | None, until: dt.date | None
    ) -> RunSummary | None:
        if source == "pubmed":
            if topic.pubmed is None or not topic.pubmed.enabled:
                return None
            return self.harvest_pubmed(topic, since=since, until=until)
        if source == "feeds":
            if not any(feed.enabled for feed in topic.feeds):
                return None
            return self.harvest_feeds(topic)
        raise HarvesterError(f"unknown source {source!r} (sources: {', '.join(SOURCES)})")

    # ------------------------------------------------------------------------------- pubmed

    def _client(self) -> EutilsClient:
        if self._pubmed is None:
            self._pubmed = EutilsClient(self.settings.pubmed)
        return self._pubmed

    def harvest_pubmed(
        self, topic: Topic, *, since: dt.date | None = None, until: dt.date | None = None
    ) -> RunSummary:
        assert topic.pubmed is not None
        now = self.clock()
        with self.db.read() as session:
            mark = runs.get_watermark(
                session, topic=topic.slug, source="pubmed", key=_query_key(topic)
            )
        mindate, maxdate = pubmed_window(
            self.settings.pubmed, mark, since=since, until=until, today=now.date()
        )
        if mindate > maxdate:
            if since is not None:
                raise HarvesterError(f"--since {mindate} is after --until {maxdate}")
            raise HarvesterError(
                f"--until {maxdate} is before {topic.slug}'s next PubMed window, which starts "
                f"at {mindate}; give --since as well for a backfill"
            )
        summary = self._start(topic, "pubmed", now, window=(mindate, maxdate))
        client = self._client()
        requests_before = client.requests_made
        complete_through: dt.date | None = None
        try:
            for batch in harvest_pubmed(client, topic.pubmed.query, mindate, maxdate):
                self._store(summary, batch.hits)
                if batch.complete_through is not None:
                    complete_through = batch.complete_through
            summary.status = RunStatus.OK
            complete_through = maxdate
        except SourceError as exc:
            summary.error = str(exc)
            summary.status = RunStatus.PARTIAL if summary.fetched else RunStatus.FAILED
        except Exception as exc:  # one broken source never stops the others
            log.exception("pubmed harvest of %s failed", topic.slug)
            summary.error = f"internal error: {type(exc).__name__}: {exc}"
            summary.status = RunStatus.PARTIAL if summary.fetched else RunStatus.FAILED
        summary.requests = client.requests_made - requests_before
        ncbi_yesterday = now.astimezone(NCBI_TIME).date() - dt.timedelta(days=1)
        if complete_through is not None:
            complete_through = min(complete_through, ncbi_yesterday)
            if complete_through < mindate:  # the window held only NCBI's unfinished day
                complete_through = None
        with self.db.write() as session:
            # A backfill of an old window must not pull an existing watermark's window apart.
            moves = mark is None or mindate <= mark.date()
            if complete_through is not None and moves:
                runs.set_watermark(
                    session,
                    topic=topic.slug,
                    source="pubmed",
                    key=_query_key(topic),
                    value=_midnight(complete_through),
                )
            self._finish(session, summary)
        return summary

    # -------------------------------------------------------------------------------- feeds

    def harvest_feeds(self, topic: Topic) -> RunSummary:
        now = self.clock()
        summary = self._start(topic, "feeds", now)
        feeds = [feed for feed in topic.feeds if feed.enabled]
        requests = []
        with self.db.read() as session:
            for feed in feeds:
                state = feed_store.get_feed_state(session, topic=topic.slug, url=feed.url)
                rules = topic.feed_rules(feed)
                requests.append(
                    FeedRequest(
                        url=feed.url,
                        name=feed.name,
                        rules=None if feed.all else compile_rules(rules.phrases, rules.exclude),
                        etag=state.etag if state else None,
                        last_modified=state.last_modified if state else None,
                    )
                )
        failed: list[str] = []
        threshold = self.settings.feeds.failing_after
        for result in fetch_feeds(requests, self.settings.feeds, now=now):
            url = result.request.url
            detail: dict[str, Any] = {
                "name": result.request.name,
                "status": result.status,
                "http_status": result.http_status,
                "entries": result.entries,
                "hits": len(result.hits),
                "bytes": result.bytes_received,
            }
            error = result.error
            if error is None:
                try:
                    self._store(summary, result.hits)
                except HarvesterError as exc:
                    error = f"{url}: cannot store entries: {exc}"
            with self.db.write() as session:
                state = feed_store.record_fetch(
                    session,
                    topic=topic.slug,
                    url=url,
                    name=result.request.name,
                    now=now,
                    http_status=result.http_status,
                    error=error,
                    final_url=result.final_url,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    not_modified=result.status == "not_modified",
                )
                failures = state.error_count
            if error is None:
                if result.bozo:
                    detail["bozo"] = result.bozo
            else:
                failed.append(error)
                detail.update(status="error", error=error, failures_in_a_row=failures)
                if failures >= threshold:
                    detail["flagged"] = True
            summary.details[url] = detail
        if not failed:
            summary.status = RunStatus.OK
        else:
            summary.status = RunStatus.FAILED if len(failed) == len(feeds) else RunStatus.PARTIAL
            summary.error = f"{len(failed)} of {len(feeds)} feeds failed: " + "; ".join(failed)
        with self.db.write() as session:
            self._finish(session, summary)
        return summary

    # ------------------------------------------------------------------------------ helpers

    def _start(
        self,
        topic: Topic,
        source: str,
        now: dt.datetime,
        window: tuple[dt.date, dt.date] | None = None,
    ) -> RunSummary:
        with self.db.write() as session:
            run = runs.start_run(
                session,
                topic=topic.slug,
                source=source,
                now=now,
                window_start=_midnight(window[0]) if window else None,
                window_end=_midnight(window[1]) if window else None,
            )
            return RunSummary(topic=topic.slug, source=source, run_id=run.id, window=window)

    def _store(self, summary: RunSummary, hits: list[Hit]) -> None:
        if not hits:
            return
        with self.db.write() as session:
            result = ingest_hits(
                session, hits, topic=summary.topic, run_id=summary.run_id, now=self.clock()
            )
            runs.add_counts(
                session,
                summary.run_id,
                fetched=len(hits),
                new_works=result.new_works,
                new_candidates=result.new_candidates,
                duplicates=result.merged,
            )
        summary.fetched += len(hits)
        summary.new_works += result.new_works
        summary.new_candidates += result.new_candidates
        summary.duplicates += result.merged
        self.progress(summary)

    def _finish(self, session: Any, summary: RunSummary) -> None:
        runs.finish_run(
            session,
            summary.run_id,
            status=summary.status,
            now=self.clock(),
            error=summary.error,
            requests=summary.requests,
            details=summary.details,
        )


def pubmed_window(
    settings: PubMedSettings,
    mark: dt.datetime | None,
    *,
    since: dt.date | None,
    until: dt.date | None,
    today: dt.date,
) -> tuple[dt.date, dt.date]:
    """The entrez-date window of a PubMed run, given the topic's watermark ``mark``."""
    maxdate = until or today
    if since is not None:
        return since, maxdate
    if mark is None:
        return maxdate - dt.timedelta(days=settings.initial_days), maxdate
    return mark.date() - dt.timedelta(days=settings.overlap_days), maxdate


def _query_key(topic: Topic) -> str:
    """Watermarks belong to a query: a changed query starts its own window."""
    assert topic.pubmed is not None
    return hashlib.sha256(topic.pubmed.query.encode("utf-8")).hexdigest()[:16]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
