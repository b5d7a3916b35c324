"""APScheduler 3 wiring: jobs from the topic files, kept in the database, run through one function.

Jobs have explicit ids: ``harvest:<topic>`` and ``digest:<topic>`` from each topic's
``[schedule]`` cron expressions (in the ``timezone`` setting), and ``digest-retry``, which takes
up digests whose sending failed. They live in the same database (``apscheduler_jobs``, through
SQLAlchemyJobStore), so a missed slot is still known after a restart: with coalescing and a long
misfire grace, a service that was down overnight runs each missed job once on start, not once per
missed slot and not never. ``max_instances=1``: a job still running when its next slot comes is
not started twice.

Reconciling compares each wanted job with the stored one by its name (the cron expression and
time zone): an unchanged job keeps its stored next run time (which is how a missed slot survives
a restart), a changed one is rescheduled, a job of a removed topic is removed.

The stored jobs name :func:`run_job` by reference and carry only the job id; what a job needs
(settings, database, a stop flag) comes from the :class:`JobContext` the running service installs.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger

from harvester.config.schedule import cron_trigger
from harvester.config.settings import Settings, Topic, select_topics
from harvester.core.errors import ConfigError, HarvesterError, SourceError
from harvester.core.models import RunStatus
from harvester.store import digests as digest_store
from harvester.store import lease
from harvester.store.db import Database
from harvester.store.topics import DatabaseTopics

log = logging.getLogger(__name__)

RETRY_JOB = "digest-retry"
#: The weekly re-check of accepted and published works (retractions, concerns, corrections).
RETRACTION_JOB = "retraction-watch"
JOB_TABLE = "apscheduler_jobs"


class Stopping(SourceError):
    """Raised inside a harvest when the service stops: the run records what it stored, partial."""


@dataclass
class JobContext:
    """What jobs need, installed by the process that runs them."""

    settings: Settings
    db: Database
    owner: str
    stop: threading.Event = field(default_factory=threading.Event)
    ssl_context: ssl.SSLContext | None = None
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    active: int = 0
    idle: threading.Condition = field(default_factory=threading.Condition)


_context: JobContext | None = None


def install(context: JobContext | None) -> None:
    global _context
    _context = context


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    kind: str  # harvest | digest | retry
    topic: str | None
    expression: str  # cron expression, or "every N s"
    timezone: str

    @property
    def name(self) -> str:
        return f"{self.expression} ({self.timezone})"

    def trigger(self) -> Any:
        if self.kind == "retry":
            seconds = float(self.expression.split()[1])
            return IntervalTrigger(seconds=seconds, timezone=ZoneInfo(self.timezone))
        return cron_trigger(self.expression, self.timezone)


def wanted_jobs(topics: Sequence[Topic], settings: Settings) -> list[JobSpec]:
    """The jobs the topic files ask for, plus the digest retry job."""
    tz = settings.timezone
    specs = []
    for topic in topics:
        if topic.schedule.harvest:
            specs.append(
                JobSpec(f"harvest:{topic.slug}", "harvest", topic.slug, topic.schedule.harvest, tz)
            )
        if topic.schedule.digest and topic.digest.recipients:
            specs.append(
                JobSpec(f"digest:{topic.slug}", "digest", topic.slug, topic.schedule.digest, tz)
            )
    retry = f"every {settings.service.retry_seconds:g} s"
    specs.append(JobSpec(RETRY_JOB, "retry", None, retry, tz))
    if settings.retractions.schedule:
        specs.append(
            JobSpec(RETRACTION_JOB, "retractions", None, settings.retractions.schedule, tz)
        )
    return specs


class Scheduler(BackgroundScheduler):  # type: ignore[misc]  # APScheduler 3 is untyped
    """A BackgroundScheduler that processes jobs only while running.

    APScheduler 3's scheduler thread, woken by ``shutdown()``, processes due jobs once more after
    the executor is closed: the submission fails and the job's next run time still moves on, so a
    slot due at that moment would be lost rather than caught up by the next start.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        result: float | None = super()._process_jobs()
        return result


def build_scheduler(db: Database, settings: Settings) -> Scheduler:
    return Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(settings.service.misfire_grace_hours * 3600),
        },
        timezone=ZoneInfo(settings.timezone),
    )


def reconcile(scheduler: BackgroundScheduler, specs: Sequence[JobSpec]) -> list[str]:
    """Make the stored jobs match ``specs``; returns what changed, one phrase per job."""
    changes = []
    stored = {job.id: job for job in scheduler.get_jobs()}
    for spec in specs:
        job = stored.pop(spec.id, None)
        if job is not None and job.name == spec.name:
            continue
        scheduler.add_job(
            run_job,
            spec.trigger(),
            args=[spec.id],
            id=spec.id,
            name=spec.name,
            replace_existing=True,
        )
        changes.append(f"{'changed' if job is not None else 'added'} {spec.id} {spec.name}")
    for job_id in stored:
        scheduler.remove_job(job_id)
        changes.append(f"removed {job_id}")
    return changes


def stored_jobs(db: Database, settings: Settings) -> dict[str, dt.datetime | None]:
    """Next run time of each job in the database's job store (without starting a scheduler)."""
    scheduler = build_scheduler(db, settings)
    store = scheduler._jobstores["default"]  # noqa: SLF001 - reading the store, no scheduler run
    store.start(scheduler, "default")
    try:
        return {job.id: job.next_run_time for job in store.get_all_jobs()}
    finally:
        store.shutdown()


# ------------------------------------------------------------------------------ running a job


def run_job(job_id: str) -> str:
    """Run one job now in the installed context; returns its status (ok, partial, failed)."""
    context = _context
    if context is None:
        raise HarvesterError(f"job {job_id}: no service context in this process")
    with context.idle:
        context.active += 1
    try:
        with context.db.write() as session:
            record = lease.start_job(
                session, job_id=job_id, owner=context.owner, now=context.clock()
            )
        status, error = RunStatus.FAILED.value, None
        try:
            status, error = _dispatch(context, job_id)
        except HarvesterError as exc:
            error = str(exc)
            log.warning("job %s failed: %s", job_id, exc)
        except Exception as exc:
            error = f"internal error: {type(exc).__name__}: {exc}"
            log.exception("job %s failed", job_id)
        with context.db.write() as session:
            lease.finish_job(session, record, status=status, now=context.clock(), error=error)
        log.info("job %s: %s%s", job_id, status, f" ({error})" if error else "")
        return status
    finally:
        with context.idle:
            context.active -= 1
            context.idle.notify_all()


def _dispatch(context: JobContext, job_id: str) -> tuple[str, str | None]:
    kind, _, slug = job_id.partition(":")
    if job_id == RETRY_JOB:
        return _retry_digests(context)
    if job_id == RETRACTION_JOB:
        return _watch_retractions(context)
    if kind not in ("harvest", "digest") or not slug:
        raise ConfigError(
            f"unknown job {job_id!r} (jobs: harvest:<topic>, digest:<topic>, {RETRY_JOB}, "
            f"{RETRACTION_JOB})"
        )
    topic = select_topics(DatabaseTopics(context.db).all(), slug)[0]
    if kind == "harvest":
        return _harvest(context, topic)
    return _digest(context, topic, week=None)


def _harvest(context: JobContext, topic: Topic) -> tuple[str, str | None]:
    from harvester.sources import source_names
    from harvester.usecases.harvest import Harvest, RunSummary

    def stop_between_batches(summary: RunSummary) -> None:
        # PubMed stores batch after batch: stop after the one in hand. A feeds run is bounded by
        # its download deadline and finishes.
        if context.stop.is_set() and summary.source == "pubmed":
            raise Stopping("the service is stopping; the rest of the window is fetched next run")

    summaries: list[RunSummary] = []
    cut = False
    with Harvest(
        context.db, context.settings, report=log.info, progress=stop_between_batches
    ) as harvest:
        for source in source_names():
            if context.stop.is_set():
                cut = True
                break
            summaries.extend(harvest.run([topic], sources=[source]))
            if harvest.refused:
                break
    problems = [s.line() for s in summaries if s.status is not RunStatus.OK]
    if harvest.refused:  # a harvest started from the browser or a command is on it
        return RunStatus.PARTIAL.value, "; ".join([*problems, *harvest.refused])
    if cut or any(s.status is RunStatus.PARTIAL for s in summaries):
        status = RunStatus.PARTIAL.value
    elif any(s.status is RunStatus.FAILED for s in summaries):
        status = RunStatus.FAILED.value
    else:
        status = RunStatus.OK.value
    if cut:
        problems.append("stopped before every source ran")
    return status, "; ".join(problems) or None


def _digest(context: JobContext, topic: Topic, week: str | None) -> tuple[str, str | None]:
    from harvester.usecases.digest_send import send_digest

    outcome = send_digest(
        context.db,
        context.settings,
        topic,
        now=context.clock(),
        week=week,
        ssl_context=context.ssl_context,
    )
    if outcome.status == "unconfirmed":
        log.warning("%s", outcome.line())
        return RunStatus.PARTIAL.value, outcome.line()
    log.info("%s", outcome.line())
    return RunStatus.OK.value, None


def _retry_digests(context: JobContext) -> tuple[str, str | None]:
    """Send again every digest of this or last week whose sending failed."""
    from harvester.core.digest import iso_week

    today = context.clock().astimezone(ZoneInfo(context.settings.timezone)).date()
    weeks = [iso_week(today), iso_week(today - dt.timedelta(days=7))]
    with context.db.read() as session:
        failed = digest_store.retryable(session, weeks=weeks)
    if not failed:
        return RunStatus.OK.value, None
    topics = {t.slug: t for t in DatabaseTopics(context.db).all()}
    errors = []
    for record in failed:
        topic = topics.get(record.topic)
        if topic is None:
            continue
        try:
            _digest(context, topic, week=record.week)
        except HarvesterError as exc:
            errors.append(str(exc))
    return (RunStatus.FAILED.value, "; ".join(errors)) if errors else (RunStatus.OK.value, None)


def _watch_retractions(context: JobContext) -> tuple[str, str | None]:
    """Re-check accepted and published works against PubMed, Europe PMC and Crossref."""
    from harvester.usecases.retraction import watch

    report = watch(context.db, context.settings, now=context.clock())
    log.info("%s", report.line())
    if report.errors:
        status = RunStatus.PARTIAL if len(report.errors) < 3 else RunStatus.FAILED
        return status.value, "; ".join(report.errors)
    return RunStatus.OK.value, None


def wait_idle(context: JobContext, timeout: float) -> bool:
    """Wait until no job runs (True), or ``timeout`` seconds (False)."""
    with context.idle:
        return context.idle.wait_for(lambda: context.active == 0, timeout=timeout)
