"""The service process: one ASGI app served by uvicorn, and the scheduler when this process owns it.

:func:`run_service` is what ``harvester serve`` runs. A :class:`Service` keeps a small thread
that every ``lease_seconds / 3`` (or ``reload_seconds``, if shorter) renews (or tries to take) the scheduler lease and, while it owns
the scheduler, notices changed topic files and reconciles the jobs. A second process on the same
database serves the app only and says so in its log; it takes the scheduler over when the owner's
lease runs out (the owner died) or is released (the owner stopped).

On SIGTERM or SIGINT the web server stops, the scheduler takes no new job, a running harvest
stops after the request in hand (its run is recorded ``partial``), and the process waits at most
``stop_timeout`` seconds for running jobs before it exits. Runs that a killed process left
``running`` are marked failed by the next owner, which harvests those topics again at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from sqlalchemy import text

from harvester.config.settings import Settings
from harvester.core.errors import HarvesterError
from harvester.service.schedule import (
    JobContext,
    build_scheduler,
    install,
    reconcile,
    wait_idle,
    wanted_jobs,
)
from harvester.store import lease, runs
from harvester.store.db import Database
from harvester.store.topics import DatabaseTopics
from harvester.usecases.topics import adopt_folder

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Service:
    """Scheduler ownership, job reconciliation and health, for one process."""

    def __init__(self, settings: Settings, db: Database, *, owner: str | None = None) -> None:
        self.settings = settings
        self.db = db
        self.owner = owner or runs.owner_label()
        self.context = JobContext(settings=settings, db=db, owner=self.owner)
        self.scheduler: Any = None
        self.state = "starting"  # starting | owner | standby | stopped
        self._holder: str | None = None
        self.topics = DatabaseTopics(db)
        self._topics_seen: tuple[str, ...] | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ life

    def start(self) -> None:
        install(self.context)
        try:  # a first start, or an installation that kept its topics in files
            adopt_folder(self.db, self.settings.queries_dir, now=utc_now())
        except HarvesterError as exc:
            log.error("topic files not applied: %s", exc)
        self._sweep(gone=())
        self._tick()
        self._thread = threading.Thread(target=self._loop, name="harvester-lease", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Take no new jobs and tell running harvests to stop after their current request."""
        if not self.context.stop.is_set():
            log.info("stopping: no new jobs; running jobs finish their current step")
        self.context.stop.set()
        self._wake.set()
        with self._lock:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.pause()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop within ``timeout`` seconds; True when no job was left running."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        limit = self.settings.service.stop_timeout if timeout is None else timeout
        idle = wait_idle(self.context, limit)
        with self._lock:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
            if self.state == "owner":
                try:
                    with self.db.write() as session:
                        lease.release(session, owner=self.owner)
                except HarvesterError as exc:
                    log.warning("could not release the scheduler lease: %s", exc)
            self.state = "stopped"
        if not idle:
            log.warning(
                "%d job(s) still running after %g s; the next start marks their runs failed",
                self.context.active,
                limit,
            )
        install(None)
        return idle

    def _loop(self) -> None:
        service = self.settings.service
        interval = min(service.lease_seconds / 3, service.reload_seconds)
        while not self._wake.wait(interval):
            self._tick()

    def _tick(self) -> None:
        if self.context.stop.is_set():
            return
        try:
            with self.db.write() as session:
                owns = lease.acquire(
                    session,
                    owner=self.owner,
                    now=utc_now(),
                    ttl=self.settings.service.lease_seconds,
                )
                holder = lease.holder(session)
        except HarvesterError as exc:
            log.error("scheduler lease: %s", exc)
            return
        with self._lock:
            if self.context.stop.is_set():
                return
            if owns and self.state != "owner":
                self._take_over()
            elif not owns and self.state == "owner":
                log.error("scheduler lease lost to %s; this process stops scheduling", holder)
                self._stand_down()
            elif not owns and (self.state == "starting" or self._holder != _owner(holder)):
                log.warning(
                    "scheduler: %s owns this database's scheduler (lease until %s); this process "
                    "serves the web UI only and takes over if that process stops",
                    _owner(holder),
                    holder.expires_at.isoformat(timespec="seconds") if holder else "?",
                )
                self.state = "standby"
            self._holder = _owner(holder)
            if self.state == "owner":
                self._reload_topics()

    def _sweep(self, *, gone: Collection[str]) -> None:
        """Runs left running by stopped processes (``gone``: owners whose lease ran out) are
        marked failed, by the one rule for interrupted runs."""
        try:
            with self.db.write() as session:
                swept = runs.sweep_interrupted_runs(session, now=utc_now(), gone=gone)
        except HarvesterError as exc:
            log.error("interrupted runs not swept: %s", exc)
            return
        if swept:
            log.warning(
                "marked failed (interrupted): run %s, left running by a stopped process",
                ", ".join(map(str, swept)),
            )

    def _take_over(self) -> None:
        with self.db.write() as session:
            orphans = lease.close_orphans(session, owner=self.owner, now=utc_now())
        self._sweep(gone={job.owner for job in orphans})
        for job in orphans:
            log.warning(
                "job %s of %s (started %s) was cut off; marked failed",
                job.job_id,
                job.owner,
                job.started_at.isoformat(timespec="seconds"),
            )
        self.scheduler = build_scheduler(self.db, self.settings)
        self.scheduler.start(paused=True)
        self._topics_seen = None
        self._reload_topics()
        now = dt.datetime.now(self.scheduler.timezone)
        for job in orphans:
            if job.job_id.startswith("harvest:") and self.scheduler.get_job(job.job_id):
                self.scheduler.modify_job(job.job_id, next_run_time=now)
        self.scheduler.resume()
        self.state = "owner"
        log.info("scheduled jobs run in this process (%s)", self.owner)

    def _stand_down(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.state = "standby"

    def _reload_topics(self) -> None:
        try:
            topics = self.topics.all()
        except HarvesterError as exc:
            log.error("topics not reloaded, jobs kept as they were: %s", exc)
            return
        seen = tuple(sorted(t.model_dump_json() for t in topics))
        if seen == self._topics_seen:
            return
        for change in reconcile(self.scheduler, wanted_jobs(topics, self.settings)):
            log.info("schedule: %s", change)
        self._topics_seen = seen

    # ---------------------------------------------------------------------------- health

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"status": "ok", "database": "ok"}
        scheduler: dict[str, Any] = {"state": self.state, "owner": self.state == "owner"}
        try:
            with self.db.read() as session:
                session.execute(text("SELECT 1"))
                holder = lease.holder(session)
                failure = lease.last_failure(session)
            scheduler["holder"] = _owner(holder)
            if failure is not None:
                scheduler["last_failure"] = {
                    "job": failure.job_id,
                    "at": failure.started_at.isoformat(timespec="seconds"),
                    "status": failure.status,
                    "error": failure.error,
                }
        except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
            report["status"] = "error"
            report["database"] = f"unreachable: {type(exc).__name__}: {exc}"
        with self._lock:
            if self.scheduler is not None and self.state == "owner":
                jobs = [job for job in self.scheduler.get_jobs() if job.next_run_time]
                if jobs:
                    first = min(jobs, key=lambda job: job.next_run_time)
                    scheduler["next_run"] = {
                        "job": first.id,
                        "at": first.next_run_time.isoformat(timespec="seconds"),
                    }
        report["scheduler"] = scheduler
        return report


def _owner(holder: lease.Holder | None) -> str | None:
    return holder.owner if holder is not None else None


# ------------------------------------------------------------------------------------- ASGI


def health_app(service: Service) -> ASGIApp:
    """A minimal ASGI app: ``/healthz`` only, with the whole report, for process tests and
    embedding. ``harvester serve`` serves the web app instead, whose ``/healthz`` keeps the
    details (host, process, jobs) for signed-in administrators."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await _json(send, 404, {"error": "not found"})

    return with_healthz(app, service)


def with_healthz(app: ASGIApp, service: Service) -> ASGIApp:
    """``app`` with ``GET /healthz`` answered from :meth:`Service.health` (200, or 503 when the
    database is unreachable)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz":
            report = await asyncio.to_thread(service.health)
            await _json(send, 200 if report["status"] == "ok" else 503, report)
            return
        await app(scope, receive, send)

    return wrapped


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


# -------------------------------------------------------------------------------- the process


def run_service(
    settings: Settings,
    db: Database,
    *,
    host: str,
    port: int,
    app_factory: Callable[[Service], ASGIApp] = health_app,
) -> int:
    """Serve ``app_factory(service)`` on host:port with the scheduler (when this process wins the
    lease) until SIGTERM or SIGINT; returns the exit status."""
    import uvicorn

    service = Service(settings, db)
    service.start()
    config = uvicorn.Config(
        app_factory(service),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # X-Forwarded-* believed from [web] trusted_proxies only (uvicorn trusts 127.0.0.1 by
        # default, so anyone on the host could pose as any address)
        proxy_headers=bool(settings.web.trusted_proxies),
        forwarded_allow_ips=",".join(settings.web.trusted_proxies),
        timeout_graceful_shutdown=max(1, int(settings.service.stop_timeout / 2)),
    )
    server = uvicorn.Server(config)

    def on_signal(signum: int, _frame: object) -> None:
        # uvicorn handles the signal first while it serves and then raises it again here.
        log.info("signal %s received", signal.Signals(signum).name)
        service.request_stop()
        server.should_exit = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.debug("uvicorn starting on http://%s:%d", host, port)  # the command says it once
    try:
        server.run()
    finally:
        clean = service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not clean:
        # A job thread still blocked on the network would hold the interpreter open; the bound
        # on the stop matters more, and the next start marks what it was doing failed.
        logging.shutdown()
        os._exit(0)
    return 0 if server.started else 1
