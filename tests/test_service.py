"""The service: jobs fire by themselves, one scheduler per database, catch-up after a missed slot,
SIGTERM during a harvest, and a process killed with -9 mid-run.

Harvests run against the loopback E-utilities and feed servers; digests go to the outbox.
Intervals are seconds (six-field cron expressions) and the lease is short, so each test is quick.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, Fault, serve
from feed_server import FeedServer
from sqlalchemy import select

from harvester.config.settings import Settings, load_settings
from harvester.service.runner import Service
from harvester.service.schedule import build_scheduler
from harvester.store import lease
from harvester.store.db import Database
from harvester.store.tables import Digest, JobRun, Run
from harvester.store.topics import delete_topic
from harvester.usecases.topics import apply_files

HERE = Path(__file__).parent
TOPIC = "sp"


@pytest.fixture
def eutils() -> Iterator[EutilsServer]:
    today = dt.date.today()
    base = Corpus.from_files(TOPIC_SUBSET)
    corpus = Corpus.synthetic(base, 40, start=today - dt.timedelta(days=20), days=10)
    with serve(corpus) as server:
        server.state.slow_seconds = 0.7
        yield server


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.add_fixture("/gov.xml", "handwritten_gov_news_leading_newline.xml")
        yield server


def write_project(
    settings: Settings,
    eutils: EutilsServer,
    *,
    harvest: str,
    digest: str = "0 8 * * MON",
    feed_url: str | None = None,
) -> Settings:
    assert settings.config_file is not None
    folder = settings.config_file.parent
    db_line = settings.config_file.read_text(encoding="utf-8")
    settings.config_file.write_text(
        'timezone = "Europe/London"\n'
        + db_line
        + f'\n[pubmed]\nbase_url = "{eutils.base_url}"\nbatch_size = 5\nmax_retries = 0\n'
        + "read_timeout = 10\n"
        + "\n[feeds]\nmax_retries = 0\nconnect_timeout = 2\nread_timeout = 2\n"
        + "\n[service]\nlease_seconds = 1.5\nreload_seconds = 1\nstop_timeout = 8\n",
        encoding="utf-8",
    )
    write_topic(folder, harvest=harvest, digest=digest, feed_url=feed_url)
    return load_settings(settings.config_file)


def write_topic(folder: Path, *, harvest: str, digest: str, feed_url: str | None = None) -> None:
    feeds = f'\n[[feeds]]\nname = "Gov"\nurl = "{feed_url}"\nall = true\n' if feed_url else ""
    (folder / "queries" / f"{TOPIC}.toml").write_text(
        f'[topic]\nname = "Social prescribing"\n[pubmed]\nquery = "social prescribing"\n{feeds}'
        f'[schedule]\nharvest = "{harvest}"\ndigest = "{digest}"\n'
        '[digest]\nrecipients = ["team@example.org"]\n',
        encoding="utf-8",
    )


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def runs(db: Database, source: str | None = None) -> list[Run]:
    with db.read() as session:
        query = select(Run).order_by(Run.id)
        if source:
            query = query.where(Run.source == source)
        return list(session.scalars(query))


# ----------------------------------------------------------------------------- in process


@pytest.mark.slow
def test_a_harvest_and_then_a_digest_fire_by_themselves(
    settings: Settings, db: Database, eutils: EutilsServer, feeds: FeedServer
) -> None:
    # the harvest every two seconds; the digest once, at a second about 15 s from now
    second = (dt.datetime.now().second + 15) % 60
    conf = write_project(
        settings,
        eutils,
        harvest="*/2 * * * * *",
        digest=f"{second} * * * * *",
        feed_url=feeds.url("/gov.xml"),
    )
    service = Service(conf, db)
    service.start()
    try:
        assert service.state == "owner"
        wait_for(lambda: [r for r in runs(db) if r.status == "ok"], 30, "a finished harvest")

        def sent() -> Digest | None:
            with db.read() as session:
                return session.scalar(select(Digest).where(Digest.status == "outbox"))

        record = wait_for(sent, 40, "the digest")
        health = service.health()
    finally:
        assert service.stop(timeout=20)
    assert record.item_count > 0  # the harvest came first, and its candidates are in the digest
    files = list(conf.outbox_dir.glob("*.eml"))
    assert [f.name for f in files] == [f"digest-{TOPIC}-{record.iso_week}.eml"]
    assert health["database"] == "ok" and health["scheduler"]["owner"] is True
    assert health["scheduler"]["next_run"]["job"] in (f"harvest:{TOPIC}", f"digest:{TOPIC}")
    with db.read() as session:
        jobs = {j.job_id for j in session.scalars(select(JobRun))}
        assert lease.holder(session) is None  # released on a clean stop
    assert {f"harvest:{TOPIC}", f"digest:{TOPIC}"} <= jobs


@pytest.mark.slow
def test_a_missed_slot_is_caught_up_exactly_once(
    settings: Settings, db: Database, eutils: EutilsServer
) -> None:
    conf = write_project(settings, eutils, harvest="0 3 * * *")
    first = Service(conf, db)
    first.start()
    first.stop(timeout=5)
    assert runs(db) == []
    # The service was down for two days and a half: three 03:00 slots passed.
    scheduler = build_scheduler(db, conf)
    scheduler.start(paused=True)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=60)
    scheduler.modify_job(f"harvest:{TOPIC}", next_run_time=past)
    scheduler.shutdown(wait=False)

    service = Service(conf, db)
    service.start()
    try:
        wait_for(lambda: [r for r in runs(db) if r.finished_at], 30, "the catch-up harvest")
        time.sleep(2)
        job = service.scheduler.get_job(f"harvest:{TOPIC}")
        upcoming = job.next_run_time
    finally:
        service.stop(timeout=10)
    assert len(runs(db, "pubmed")) == 1
    assert upcoming > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1) - dt.timedelta(hours=25)
    assert upcoming.hour == 3 and upcoming.minute == 0


def test_changed_topic_files_are_reconciled(
    settings: Settings, db: Database, eutils: EutilsServer
) -> None:
    conf = write_project(settings, eutils, harvest="0 3 * * *")
    service = Service(conf, db)
    service.start()
    try:
        ids = {job.id for job in service.scheduler.get_jobs()}
        assert ids == {f"harvest:{TOPIC}", f"digest:{TOPIC}", "digest-retry", "retraction-watch"}
        assert conf.config_file is not None
        folder = conf.config_file.parent
        write_topic(folder, harvest="0 5 * * *", digest="")
        applied = apply_files(db, [folder / "queries"], actor="tests", now=dt.datetime.now(dt.UTC))
        assert [r.outcome for r in applied] == ["updated"]

        def changed() -> bool:
            job = service.scheduler.get_job(f"harvest:{TOPIC}")
            return (
                job is not None
                and job.name.startswith("0 5 * * *")
                and service.scheduler.get_job(f"digest:{TOPIC}") is None
            )

        wait_for(changed, 10, "the jobs to follow the topic's change")
        with db.write() as session:
            delete_topic(session, TOPIC, actor="tests", now=dt.datetime.now(dt.UTC))
        wait_for(lambda: service.scheduler.get_job(f"harvest:{TOPIC}") is None, 10, "removal")
    finally:
        service.stop(timeout=5)


# ----------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proc:
    def __init__(self, conf: Settings, log: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
        env |= {"HARVESTER_CONFIG": str(conf.config_file), "NO_PROXY": "127.0.0.1,localhost"}
        self.log = log
        with log.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / "service_main.py"), str(self.port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return dict(json.load(r))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Callable[[Settings], Proc]]:
    started: list[Proc] = []

    def start(conf: Settings) -> Proc:
        proc = Proc(conf, tmp_path / f"service-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.mark.slow
def test_two_services_on_one_database_run_one_scheduler(
    settings: Settings, db: Database, eutils: EutilsServer, procs: Callable[[Settings], Proc]
) -> None:
    conf = write_project(settings, eutils, harvest="0 3 * * *")
    first = procs(conf)
    wait_for(lambda: (first.health() or {}).get("scheduler", {}).get("owner"), 30, "an owner")
    second = procs(conf)
    report = wait_for(second.health, 30, "the second service")
    assert report["scheduler"]["owner"] is False and report["scheduler"]["state"] == "standby"
    assert report["scheduler"]["holder"] == (first.health() or {})["scheduler"]["holder"]
    wait_for(lambda: "serves the web UI only" in second.output(), 10, "the reason in the log")

    first.kill()  # -9: no clean release; the lease must run out
    took_over = wait_for(
        lambda: (second.health() or {}).get("scheduler", {}).get("owner"), 15, "a takeover"
    )
    assert took_over
    with db.read() as session:
        holder = lease.holder(session)
    assert holder is not None and holder.owner.endswith(f":{second.process.pid}")


def _pubmed_running(db: Database) -> Run | None:
    found = [r for r in runs(db, "pubmed") if r.status == "running" and r.fetched > 0]
    return found[0] if found else None


@pytest.mark.slow
def test_sigterm_during_a_harvest_records_a_partial_run_and_exits(
    settings: Settings, db: Database, eutils: EutilsServer, procs: Callable[[Settings], Proc]
) -> None:
    eutils.inject("efetch", *[Fault.SLOW] * 20)
    conf = write_project(settings, eutils, harvest="*/1 * * * * *")
    proc = procs(conf)
    wait_for(lambda: _pubmed_running(db), 40, "a harvest under way")
    started = time.monotonic()
    proc.process.send_signal(signal.SIGTERM)
    code = proc.process.wait(timeout=20)
    assert code == 0, proc.output()
    assert time.monotonic() - started < conf.service.stop_timeout + 3
    pubmed = runs(db, "pubmed")
    assert len(pubmed) == 1, proc.output()
    assert pubmed[0].status == "partial" and "service is stopping" in (pubmed[0].error or "")
    assert 0 < pubmed[0].fetched < 40
    with db.read() as session:
        job = session.scalar(select(JobRun).where(JobRun.job_id == f"harvest:{TOPIC}"))
        assert job is not None and job.status == "partial"
        assert lease.holder(session) is None


@pytest.mark.slow
def test_a_run_cut_by_kill_9_is_failed_and_harvested_again(
    settings: Settings, db: Database, eutils: EutilsServer, procs: Callable[[Settings], Proc]
) -> None:
    eutils.inject("efetch", *[Fault.SLOW] * 6)
    conf = write_project(settings, eutils, harvest="*/1 * * * * *")
    first = procs(conf)
    cut = wait_for(lambda: _pubmed_running(db), 40, "a harvest under way")
    first.kill()
    assert conf.config_file is not None
    write_topic(conf.config_file.parent, harvest="0 3 * * *", digest="0 8 * * MON")
    second = procs(conf)

    def again() -> list[Run]:
        return [r for r in runs(db, "pubmed") if r.id != cut.id and r.status == "ok"]

    rerun = wait_for(again, 40, "the harvest run again")
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=20) == 0
    by_id = {r.id: r for r in runs(db, "pubmed")}
    assert by_id[cut.id].status == "failed" and "interrupted" in (by_id[cut.id].error or "")
    assert rerun[0].window_start == by_id[cut.id].window_start  # the same window, again
    assert rerun[0].fetched == 40
    assert "was cut off; marked failed" in second.output()
