"""One harvest: for each topic and source, fetch -> normalise -> dedupe -> store, inside a run record.

A failing source marks its own run ``failed`` (nothing stored) or ``partial`` (some batches or
feeds stored), keeps what it stored, and the loop goes on with the next source and topic. Every
run row is finished whatever happens: an unexpected error marks it ``failed`` or ``partial`` with
the reason, and an interrupt (Ctrl-C) marks it ``failed`` ("interrupted") before it propagates.
Each batch of hits is stored in its own short write transaction, so a long harvest never holds
the database's write lock for long and a crash loses at most the batch in hand. While a batch is
stored the next one is already being fetched (PubMed) or the other feeds keep downloading, so a
harvest goes at the pace of the network, not of the store. A feed entry the store refuses is
recorded against its feed and skipped; the rest of that feed and every other feed are stored.

PubMed runs are incremental: each topic keeps a watermark per query (the entrez date up to which
everything has been fetched). The next run asks from the watermark minus ``overlap_days`` (the
overlap is absorbed by dedupe) up to today; a first run goes back ``initial_days``. ``since`` and
``until`` override the window (a backfill). The watermark only moves to a date through which every
record was actually fetched and stored, and it moves after every completed date slice (in the
transaction that stores the slice's last batch), so a killed backfill resumes where its stored
records stop, and never past NCBI's yesterday: entrez dates are US Eastern days, and
a day still running there may yet gain records however late in the UTC day the run is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from harvester.config import PubMedSettings, Settings, Topic
from harvester.errors import HarvesterError, SourceError
from harvester.filters import compile_rules
from harvester.models import Hit, RunStatus
from harvester.sources.feeds import FeedRequest, FeedResult, fetch_feeds
from harvester.sources.pubmed import EutilsClient, harvest_pubmed
from harvester.store import feeds as feed_store
from harvester.store import runs
from harvester.store.db import Database
from harvester.store.works import ingest_hits

log = logging.getLogger(__name__)

SOURCES = ("pubmed", "feeds")
#: Feed entries stored together in one transaction (several small feeds, or one large one).
FEED_STORE_BATCH = 500
T = TypeVar("T")
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
        ncbi_yesterday = now.astimezone(NCBI_TIME).date() - dt.timedelta(days=1)
        # A backfill of an old window must not pull an existing watermark's window apart.
        moves = mark is None or mindate <= mark.date()
        key = _query_key(topic)

        def checkpoint(through: dt.date | None) -> Callable[[Session], None] | None:
            """Moving the watermark to ``through`` (never past NCBI's unfinished day)."""
            if through is None or not moves:
                return None
            day = min(through, ncbi_yesterday)
            if day < mindate:  # the window held only NCBI's unfinished day
                return None
            return lambda session: runs.set_watermark(
                session, topic=topic.slug, source="pubmed", key=key, value=_midnight(day)
            )

        with self._finishing(summary, lambda: client.requests_made - requests_before):
            marked: dt.date | None = None
            try:
                batches = harvest_pubmed(client, topic.pubmed.query, mindate, maxdate)
                for batch in _prefetched(batches):
                    through = batch.complete_through
                    self._store(
                        summary, batch.hits, also=checkpoint(through) if through != marked else None
                    )
                    marked = through
                summary.status = RunStatus.OK
            except SourceError as exc:
                summary.error = str(exc)
                summary.status = RunStatus.PARTIAL if summary.fetched else RunStatus.FAILED
            summary.requests = client.requests_made - requests_before
            finish_with_mark = checkpoint(maxdate) if summary.status is RunStatus.OK else None
            with self.db.write() as session:
                if finish_with_mark is not None:
                    finish_with_mark(session)
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
        with self._finishing(summary, lambda: 0):
            failed: list[str] = []
            group: list[FeedResult] = []
            results = fetch_feeds(requests, self.settings.feeds, now=now)
            for result in results:
                group.append(result)
                if sum(len(r.hits) for r in group) >= FEED_STORE_BATCH:
                    failed += self._store_feeds(topic, summary, group, now)
                    group = []
            failed += self._store_feeds(topic, summary, group, now)
            if not failed:
                summary.status = RunStatus.OK
            else:
                all_failed = len(failed) == len(feeds)
                summary.status = RunStatus.FAILED if all_failed else RunStatus.PARTIAL
                summary.error = f"{len(failed)} of {len(feeds)} feeds failed: " + "; ".join(failed)
            skipped = [
                f"{url}: {entry}"
                for url, detail in summary.details.items()
                for entry in detail.get("skipped", [])
            ]
            if skipped:
                if summary.status is RunStatus.OK:
                    summary.status = RunStatus.PARTIAL
                note = f"{len(skipped)} entries skipped: " + "; ".join(skipped)
                summary.error = f"{summary.error}; {note}" if summary.error else note
            with self.db.write() as session:
                self._finish(session, summary)
        return summary

    def _store_feeds(
        self, topic: Topic, summary: RunSummary, group: list[FeedResult], now: dt.datetime
    ) -> list[str]:
        """Store the entries of several fetched feeds together and record each fetch; return the
        errors of the feeds that failed."""
        if not group:
            return []
        good = [r for r in group if r.error is None]
        skipped = self._store_isolated(summary, [hit for r in good for hit in r.hits])
        failed: list[str] = []
        threshold = self.settings.feeds.failing_after
        with self.db.write() as session, session.no_autoflush:  # one flush for all the feeds
            for result in group:
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
                if error is None:
                    if result.bozo:
                        detail["bozo"] = result.bozo
                    mine = [skipped[id(hit)] for hit in result.hits if id(hit) in skipped]
                    if mine:
                        detail["skipped"] = mine
                else:
                    failed.append(error)
                    failures = state.error_count
                    detail.update(status="error", error=error, failures_in_a_row=failures)
                    if failures >= threshold:
                        detail["flagged"] = True
                summary.details[url] = detail
        return failed

    def _store_isolated(self, summary: RunSummary, hits: list[Hit]) -> dict[int, str]:
        """Store ``hits`` in one transaction; if the store refuses them, store them one at a
        time and skip the ones it refuses. Returns why each skipped hit was refused, by
        ``id(hit)``."""
        try:
            self._store(summary, hits)
            return {}
        except Exception:  # noqa: BLE001 - found out hit by hit below
            log.warning("storing %d entries together failed; storing them one by one", len(hits))
        skipped: dict[int, str] = {}
        for hit in hits:
            try:
                self._store(summary, [hit])
            except Exception as exc:  # one bad entry never stops the others
                log.warning("entry %s of %s skipped: %s", hit.source_id, hit.origin, exc)
                reason = str(exc).splitlines()[0][:300]
                skipped[id(hit)] = (
                    f"entry {hit.source_id[:200]} not stored ({type(exc).__name__}: {reason})"
                )
        return skipped

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

    def _store(
        self,
        summary: RunSummary,
        hits: list[Hit],
        *,
        also: Callable[[Session], None] | None = None,
    ) -> None:
        """Store ``hits`` in one transaction (with ``also``, e.g. a watermark checkpoint)."""
        if not hits:
            if also is not None:
                with self.db.write() as session:
                    also(session)
            return
        with self.db.write() as session:
            result = ingest_hits(
                session, hits, topic=summary.topic, run_id=summary.run_id, now=self.clock()
            )
            if also is not None:
                also(session)
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

    @contextmanager
    def _finishing(self, summary: RunSummary, requests: Callable[[], int]) -> Iterator[None]:
        """Finish the run row of ``summary`` whatever ends the block: an error marks it failed
        (or partial, when something was stored) with the reason, an interrupt marks it failed
        ("interrupted") and goes on."""
        try:
            yield
        except KeyboardInterrupt:
            summary.status, summary.error = RunStatus.FAILED, "interrupted"
            self._finish_after_error(summary, requests)
            raise
        except Exception as exc:  # one broken source never stops the others
            log.exception("%s harvest of %s failed", summary.source, summary.topic)
            summary.error = f"internal error: {type(exc).__name__}: {exc}"
            summary.status = RunStatus.PARTIAL if summary.fetched else RunStatus.FAILED
            self._finish_after_error(summary, requests)

    def _finish_after_error(self, summary: RunSummary, requests: Callable[[], int]) -> None:
        summary.requests = summary.requests or requests()
        try:
            with self.db.write() as session:
                self._finish(session, summary)
        except Exception:  # the store itself is failing: the orphaned-run sweep finishes it
            log.exception("cannot finish run %d", summary.run_id)

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


def _prefetched(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items``, the next one produced in a thread while the caller works on
    this one (so fetching and storing overlap; at most two items are in hand). An error of
    ``items`` is raised here, in order."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there  # noqa: BLE001
            put("error", exc)
            return
        put("done", None)

    worker = threading.Thread(target=produce, name="harvest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=1.0)


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
