"""Harvests started from the browser: each runs in a thread of the service, reports its
progress as it goes (records fetched and stored, feeds done of feeds total) and keeps its
result for the page that shows it. A second harvest of a topic while one is running, started
from anywhere (the browser, the scheduler, a command), is refused by the run rule of
:func:`harvester.store.runs.start_run`; here a second click is refused at once as well.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from harvester.config.settings import Settings, Topic
from harvester.core.errors import AlreadyRunningError, HarvesterError
from harvester.sources import source_names
from harvester.store.db import Database
from harvester.store.runs import source_label

__all__ = ["HarvestJob", "HarvestJobs", "SourceProgress"]

log = logging.getLogger(__name__)


@dataclass
class SourceProgress:
    source: str
    label: str
    run_id: int | None = None
    status: str = "waiting"
    fetched: int = 0
    new_works: int = 0
    new_candidates: int = 0
    duplicates: int = 0
    feeds_done: int = 0
    feeds_total: int = 0
    error: str | None = None


@dataclass
class HarvestJob:
    id: int
    topic: str
    topic_name: str
    started_by: str
    started_at: dt.datetime
    sources: list[SourceProgress] = field(default_factory=list)
    state: str = "running"  # running | done | refused | failed
    message: str | None = None
    finished_at: dt.datetime | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


class HarvestJobs:
    """The harvests this process started from the browser (the newest hundred are kept)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._jobs: dict[int, HarvestJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def get(self, job_id: int) -> HarvestJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running_for(self, topic: str) -> HarvestJob | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.topic == topic and j.running), None)

    def start(self, topic: Topic, *, by: str, sources: Sequence[str] | None = None) -> HarvestJob:
        """Start harvesting ``topic`` (all its sources, or ``sources``) in a thread; refuses a
        topic already being harvested by this process."""
        wanted = [name for name in (sources or source_names()) if name in source_names()]
        with self._lock:
            busy = next(
                (j for j in self._jobs.values() if j.topic == topic.slug and j.running), None
            )
            if busy is not None:
                raise AlreadyRunningError(
                    f"a harvest of {topic.slug} is already running (started by {busy.started_by} "
                    f"at {busy.started_at:%H:%M} UTC)"
                )
            job = HarvestJob(
                id=next(self._ids),
                topic=topic.slug,
                topic_name=topic.name,
                started_by=by,
                started_at=dt.datetime.now(dt.UTC),
                sources=[SourceProgress(name, source_label(name)) for name in wanted],
            )
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[:-100]:
                if not self._jobs[old].running:
                    del self._jobs[old]
        thread = threading.Thread(
            target=self._run, args=(job, topic), name=f"harvest-{topic.slug}", daemon=True
        )
        thread.start()
        return job

    def _run(self, job: HarvestJob, topic: Topic) -> None:
        from harvester.usecases.harvest import Harvest, RunSummary

        def progress(summary: RunSummary) -> None:
            with self._lock:
                entry = next(p for p in job.sources if p.source == summary.source)
                _copy(entry, summary)
                if summary.source == "feeds":
                    entry.feeds_done = len(summary.details)

        try:
            with Harvest(self.db, self.settings, progress=progress) as harvest:
                for entry in job.sources:
                    source = harvest.source(entry.source)
                    if not source.uses(topic):
                        with self._lock:
                            entry.status = "not used by this topic"
                        continue
                    with self._lock:
                        entry.status = "running"
                        if entry.source == "feeds":
                            entry.feeds_total = sum(1 for feed in topic.feeds if feed.enabled)
                    summaries = harvest.run([topic], sources=[entry.source])
                    if harvest.refused:
                        with self._lock:
                            job.state, job.message = "refused", harvest.refused[0]
                            entry.status = "not started"
                        return
                    with self._lock:
                        for summary in summaries:
                            _copy(entry, summary)
                            entry.status = summary.status.value
                            if entry.source == "feeds":
                                entry.feeds_done = len(summary.details)
            with self._lock:
                job.state = "done"
        except HarvesterError as exc:
            with self._lock:
                job.state, job.message = "failed", exc.message
        except Exception as exc:  # the page must say it stopped, whatever stopped it
            log.exception("harvest of %s started from the browser failed", topic.slug)
            with self._lock:
                job.state = "failed"
                job.message = f"the harvest stopped unexpectedly ({type(exc).__name__})"
        finally:
            with self._lock:
                job.finished_at = dt.datetime.now(dt.UTC)


def _copy(entry: SourceProgress, summary: object) -> None:
    for name in ("run_id", "fetched", "new_works", "new_candidates", "duplicates", "error"):
        setattr(entry, name, getattr(summary, name))
