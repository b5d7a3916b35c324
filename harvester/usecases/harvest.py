"""One harvest: for each topic and each registered source, fetch -> store, inside a run record.

The pipeline, for one topic (sources come from the registry, :data:`harvester.sources.SOURCES`)::

    Harvest.run(topics, sources, since, until)
     └─ for each topic, for each source that the topic uses (source.uses(topic)):
         │
         ├─ window source (PubMed)               ├─ conditional source (feeds)
         │   watermark ──► source.window()        │   stored ETag/Last-Modified per URL
         │   start run (window)                   │   start run
         │   source.fetch(topic, start, end)      │   source.fetch(topic, validators, now)
         │     │  the next batch is fetched       │     │  the feeds download concurrently
         │     │  while this one is stored        │     │  while a batch is stored
         │     ▼                                  │     ▼
         │   batch: hits + complete-through date  │   batch: hits + the feeds' results
         │     ▼                                  │     ▼
         ├─ store: ingest_hits (normalise -> dedupe -> works, sightings, candidates)
         │          + the checkpoint, in one short write transaction per batch:
         │          the watermark moves to the    the feeds' validators, errors and
         │          batch's complete date         failure counts are recorded
         │
         └─ finish run: ok | partial | failed, with counts, requests and error
             (always: an error marks it failed/partial, Ctrl-C marks it failed "interrupted")

A failing source marks its own run ``failed`` (nothing stored) or ``partial`` (some batches or
feeds stored), keeps what it stored, and the loop goes on with the next source and topic. Every
run row is finished whatever happens: an unexpected error marks it ``failed`` or ``partial`` with
the reason, and an interrupt (Ctrl-C) marks it ``failed`` ("interrupted") before it propagates.
Each batch of hits is stored in its own short write transaction, so a long harvest never holds
the database's write lock for long and a crash loses at most the batch in hand. While a batch is
stored the next one is already being fetched (window sources) or the other feeds keep
downloading, so a harvest goes at the pace of the network, not of the store. A feed entry the
store refuses is recorded against its feed and skipped; the rest of that feed and every other
feed are stored.

Window sources are incremental: each topic keeps a watermark per query (the date up to which
everything has been fetched); the source says which window the next run asks for (see
:class:`harvester.sources.pubmed.PubMedSource`). ``since`` and ``until`` override the window (a
backfill). The watermark only moves to a date through which every record was actually fetched and
stored, and it moves after every completed date slice (in the transaction that stores the
slice's last batch), so a killed run resumes where its stored records stop, and never past
the source's last complete day (:meth:`~harvester.sources.WindowSource.last_complete_day`).
An explicit window (a backfill) keeps its own checkpoint, keyed by the query and the window:
run again with the same ``since``/``until`` after a kill, it starts after the last completed
slice; the checkpoint is dropped once the window is done, so a finished backfill run again is
fetched again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.orm import Session

from harvester.config.settings import Settings, Topic
from harvester.core.errors import AlreadyRunningError, HarvesterError, SourceError
from harvester.core.models import Hit, RunStatus
from harvester.core.text import source_label
from harvester.sources import (
    Batch,
    ConditionalSource,
    Source,
    WindowSource,
    open_source,
    source_names,
)
from harvester.store import feeds as feed_store
from harvester.store import runs
from harvester.store.db import Database
from harvester.store.works import ingest_hits
from harvester.usecases.health import check_after_run
from harvester.usecases.prefetch import prefetched
from harvester.usecases.ranking import rank_quietly

if TYPE_CHECKING:
    from harvester.sources.feeds import FeedResult

log = logging.getLogger(__name__)

T = TypeVar("T")

Clock = Callable[[], dt.datetime]
Reporter = Callable[[str], None]
"""Receives each run's summary line when the run ends; ``progress`` gets the running summary
after every stored batch, for long runs."""


class WindowError(HarvesterError):
    """The window asked for starts after it ends."""

    def __init__(
        self, *, topic: str, source: str, since: dt.date, until: dt.date, backfill: bool
    ) -> None:
        if backfill:
            message = f"the window starts after it ends: since {since} > until {until}"
        else:
            message = (
                f"the window starts after it ends: {topic}'s next {source} window starts at "
                f"{since}, after until {until}; give since as well for a backfill"
            )
        super().__init__(message)
        self.topic, self.source = topic, source
        self.since, self.until, self.backfill = since, until, backfill


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
    #: Entries a feed re-issued under a new id, by feed URL (harvest health).
    reissued: dict[str, int] = field(default_factory=dict)

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
    """Runs sources for topics against one database; entry points (CLI, scheduler) share it.

    ``sources`` replaces registered sources by name (tests and benchmarks hand in a source with
    its own client); the others are opened from the registry when first used.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        report: Reporter | None = None,
        progress: Callable[[RunSummary], None] | None = None,
        sources: Mapping[str, Source] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.report = report or (lambda _msg: None)
        self.progress = progress or (lambda _summary: None)
        self._sources: dict[str, Source] = dict(sources or {})
        #: Why topics were not harvested (a harvest of the topic was running already).
        self.refused: list[str] = []

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    def __enter__(self) -> Harvest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def source(self, name: str) -> Source:
        """The source registered as ``name`` (opened once per harvest)."""
        if name not in self._sources:
            self._sources[name] = open_source(name, self.settings)
        return self._sources[name]

    # ------------------------------------------------------------------------------ the loop

    def run(
        self,
        topics: Sequence[Topic],
        *,
        sources: Iterable[str] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[RunSummary]:
        wanted = tuple(sources) if sources is not None else source_names()
        summaries: list[RunSummary] = []
        for topic in topics:
            ran = False
            for name in wanted:
                try:
                    summary = self.run_source(name, topic, since=since, until=until)
                except AlreadyRunningError as exc:  # another process is on it: the others go on
                    self.refused.append(exc.message)
                    self.report(f"{topic.slug}: not harvested: {exc.message}")
                    break
                if summary is not None:
                    summaries.append(summary)
                    self.report(summary.line())
                    ran = True
            if ran:  # retrain on the decisions so far and score what arrived
                rank_quietly(self.db, topic, now=self.clock(), trigger="harvest")
        return summaries

    def run_source(
        self,
        name: str,
        topic: Topic,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> RunSummary | None:
        """One run of source ``name`` for ``topic``; None when the topic does not use it."""
        source = self.source(name)
        if not source.uses(topic):
            return None
        if source.state == "window":
            summary = self._run_window(cast(WindowSource, source), topic, since=since, until=until)
        else:
            summary = self._run_conditional(cast(ConditionalSource, source), topic)
        self._check_health(summary)
        return summary

    def _check_health(self, summary: RunSummary) -> None:
        """Compare the run with the topic's history (:mod:`harvester.usecases.health`); a
        failing check is logged and never fails the run."""
        try:
            with self.db.write() as session:
                check_after_run(
                    session,
                    self.settings.health,
                    topic=summary.topic,
                    source=summary.source,
                    run_id=summary.run_id,
                    now=self.clock(),
                )
        except Exception:
            log.exception("health check of %s %s failed", summary.topic, summary.source)

    # ------------------------------------------------------------------------ window sources

    def _run_window(
        self, source: WindowSource, topic: Topic, *, since: dt.date | None, until: dt.date | None
    ) -> RunSummary:
        now = self.clock()
        key = source.state_key(topic)
        with self.db.read() as session:
            mark = runs.get_watermark(session, topic=topic.slug, source=source.name, key=key)
        mindate, maxdate = source.window(mark, since=since, until=until, today=now.date())
        if mindate > maxdate:
            raise WindowError(
                topic=topic.slug,
                source=source.name,
                since=mindate,
                until=maxdate,
                backfill=since is not None,
            )
        summary = self._start(topic, source.name, now, window=(mindate, maxdate))
        requests_before = source.requests_made
        last_day = source.last_complete_day(now)
        # A backfill of an old window must not pull an existing watermark's window apart.
        moves = mark is None or mindate <= mark.date()
        # An explicit window resumes after its last completed slice (a killed backfill).
        window_key = f"{key}@{mindate}..{maxdate}" if since is not None else None
        start = mindate
        if window_key is not None:
            with self.db.read() as session:
                done = runs.get_watermark(
                    session, topic=topic.slug, source=source.name, key=window_key
                )
            if done is not None and done.date() >= mindate:
                start = done.date() + dt.timedelta(days=1)
                self.report(
                    f"{topic.slug} {source.name} {mindate}..{maxdate}: resuming after "
                    f"{done.date()}, where the last run of this window stopped"
                )

        def checkpoint(through: dt.date | None) -> Callable[[Session], None] | None:
            """Moving the watermark, and an explicit window's own checkpoint, to ``through``
            (never past the source's last full day)."""
            if through is None:
                return None
            day = min(through, last_day)
            if day < mindate:  # the window held only the source's unfinished day
                return None

            def move(session: Session) -> None:
                value = _midnight(day)
                if moves:
                    runs.set_watermark(
                        session, topic=topic.slug, source=source.name, key=key, value=value
                    )
                if window_key is not None:
                    runs.set_watermark(
                        session, topic=topic.slug, source=source.name, key=window_key, value=value
                    )

            return move

        def requests() -> int:
            return source.requests_made - requests_before

        with self._finishing(summary, requests):
            marked: dt.date | None = None
            try:
                batches = source.fetch(topic, start, maxdate) if start <= maxdate else iter(())
                for batch in prefetched(batches):
                    through = batch.checkpoint
                    self._store(
                        summary, batch.hits, also=checkpoint(through) if through != marked else None
                    )
                    marked = through
                summary.status = RunStatus.OK
            except SourceError as exc:
                summary.error = str(exc)
                summary.status = RunStatus.PARTIAL if summary.fetched else RunStatus.FAILED
            summary.requests = requests()
            finish_with_mark = checkpoint(maxdate) if summary.status is RunStatus.OK else None
            with self.db.write() as session:
                if finish_with_mark is not None:
                    finish_with_mark(session)
                if window_key is not None and summary.status is RunStatus.OK:
                    runs.drop_watermark(
                        session, topic=topic.slug, source=source.name, key=window_key
                    )
                self._finish(session, summary)
        return summary

    # ------------------------------------------------------------------- conditional sources

    def _run_conditional(self, source: ConditionalSource, topic: Topic) -> RunSummary:
        now = self.clock()
        summary = self._start(topic, source.name, now)
        urls = source.urls(topic)
        validators: dict[str, tuple[str | None, str | None]] = {}
        with self.db.read() as session:
            for url, _name in urls:
                state = feed_store.get_feed_state(session, topic=topic.slug, url=url)
                if state is not None:
                    validators[url] = (state.etag, state.last_modified)
        with self._finishing(summary, lambda: 0):
            failed: list[str] = []
            for batch in source.fetch(topic, validators, now):
                failed += self._store_feeds(topic, summary, batch, now)
            if not failed:
                summary.status = RunStatus.OK
            else:
                all_failed = len(failed) == len(urls)
                summary.status = RunStatus.FAILED if all_failed else RunStatus.PARTIAL
                summary.error = f"{len(failed)} of {len(urls)} feeds failed: " + "; ".join(failed)
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
        self, topic: Topic, summary: RunSummary, batch: Batch, now: dt.datetime
    ) -> list[str]:
        """Store the entries of several fetched feeds together and record each fetch; return the
        errors of the feeds that failed."""
        group: list[FeedResult] = batch.checkpoint
        if not group:
            return []
        skipped = self._store_isolated(summary, batch.hits)
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
                if summary.reissued.get(url):
                    detail["reissued"] = summary.reissued[url]
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
        for hit in hits:
            for note in hit.notes:  # what making the record storable cut, said once
                log.warning(
                    "%s, %s: %r: %s",
                    summary.topic,
                    source_label(hit.source),
                    " ".join(hit.title.split())[:80],
                    note,
                )
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
            for hit, outcome in zip(hits, result.outcomes, strict=False):
                if outcome.reason == "seen before (new id)" and hit.origin:
                    summary.reissued[hit.origin] = summary.reissued.get(hit.origin, 0) + 1
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


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
