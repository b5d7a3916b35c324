"""Interrupted runs: a run a killed process left ``running`` is marked failed at the next start,
and only then: a run another live process owns is left alone."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from harvester.cli.main import cli
from harvester.config.settings import load_settings
from harvester.core.errors import AlreadyRunningError
from harvester.core.models import RunStatus
from harvester.store.db import Database
from harvester.store.runs import process_identity, start_run, sweep_interrupted_runs
from harvester.store.tables import Run

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def running_run(db: Database, *, owner: dict[str, object] | None, started: dt.datetime) -> int:
    """A run row left ``running`` (written as it stands, without the start rule)."""
    with db.write() as session:
        run = Run(
            topic="t",
            source="pubmed",
            started_at=started,
            status=RunStatus.RUNNING.value,
            details={} if owner is None else {"owner": owner},
        )
        session.add(run)
        session.flush()
        return run.id


def test_a_second_run_of_a_topic_is_refused_while_one_is_running(db: Database) -> None:
    with db.write() as session:
        first = start_run(session, topic="t", source="pubmed", now=NOW)
    refused = pytest.raises(
        AlreadyRunningError, match=r"a harvest of t is already running \(PubMed"
    )
    with refused, db.write() as session:
        start_run(session, topic="t", source="feeds", now=NOW)
    with db.write() as session:  # another topic is not held up
        start_run(session, topic="u", source="feeds", now=NOW)
    with db.write() as session:  # the first run's process is gone: the next run may start
        row = session.get(Run, first.id)
        assert row is not None
        row.details = {"owner": {**process_identity(), "pid": dead_pid()}}
    with db.write() as session:
        start_run(session, topic="t", source="feeds", now=NOW)


def test_a_run_records_the_process_that_runs_it(db: Database) -> None:
    with db.write() as session:
        run = start_run(session, topic="t", source="pubmed", now=NOW)
    owner = run.details["owner"]
    assert (owner["host"], owner["pid"]) == (socket.gethostname(), os.getpid())


def test_only_runs_of_stopped_processes_are_swept(db: Database) -> None:
    mine = running_run(db, owner=process_identity(), started=NOW)
    killed = running_run(db, owner={**process_identity(), "pid": dead_pid()}, started=NOW)
    reused = running_run(  # the same pid now names another, later process
        db, owner={**process_identity(), "proc_start": "1"}, started=NOW
    )
    unknown = running_run(db, owner=None, started=NOW)
    elsewhere = {"host": "other.invalid", "pid": 1, "proc_start": None, "boot": None}
    busy_elsewhere = running_run(db, owner=elsewhere, started=NOW - dt.timedelta(minutes=5))
    stale_elsewhere = running_run(db, owner=elsewhere, started=NOW - dt.timedelta(days=2))
    with db.write() as session:
        finished = Run(topic="t2", source="feeds", started_at=NOW, status=RunStatus.OK.value)
        session.add(finished)
        session.flush()
    with db.write() as session:
        swept = sweep_interrupted_runs(session, now=NOW)
    expected = [killed, unknown, stale_elsewhere]
    if process_identity()["proc_start"] is not None:
        expected.insert(1, reused)
    assert swept == expected
    with db.read() as session:
        rows = {r.id: r for r in session.scalars(select(Run))}
    for run_id in swept:
        assert rows[run_id].status == "failed"
        assert rows[run_id].finished_at is not None
        assert rows[run_id].error is not None and rows[run_id].error.startswith("interrupted")
    assert rows[mine].status == rows[busy_elsewhere].status == "running"
    assert rows[finished.id].status == "ok"
    with db.write() as session:  # a second sweep finds nothing more
        assert sweep_interrupted_runs(session, now=NOW) == []


def test_a_run_of_an_owner_whose_lease_ran_out_is_swept_on_any_host(db: Database) -> None:
    """The service's takeover tells the sweep which owners are gone: the same rule, with proof
    that a process on another host stopped long before ``stale_after``."""
    dead = {"host": "other.invalid", "pid": 7, "proc_start": None, "boot": None}
    alive = {"host": "other.invalid", "pid": 8, "proc_start": None, "boot": None}
    cut = running_run(db, owner=dead, started=NOW - dt.timedelta(minutes=5))
    busy = running_run(db, owner=alive, started=NOW - dt.timedelta(minutes=5))
    mine = running_run(db, owner=process_identity(), started=NOW)
    with db.write() as session:
        assert sweep_interrupted_runs(session, now=NOW, gone={"other.invalid:7"}) == [cut]
    with db.read() as session:
        rows = {r.id: r for r in session.scalars(select(Run))}
    assert rows[cut].status == "failed" and "scheduler lease ran out" in (rows[cut].error or "")
    assert rows[busy].status == rows[mine].status == "running"


def test_harvest_command_sweeps_interrupted_runs_first(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    settings = load_settings(workdir / "harvester.toml")
    database = Database(settings.database.url)
    killed = running_run(database, owner={**process_identity(), "pid": dead_pid()}, started=NOW)
    monkeypatch.setenv("HARVESTER_PUBMED__BASE_URL", "https://eutils.example.invalid/")

    def no_dns(host: object, *_args: object, **_kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no query leaves the machine
    result = CliRunner().invoke(cli, ["harvest", "--source", "pubmed"])
    assert f"marked failed (interrupted): run {killed}" in result.stdout
    with database.read() as session:
        statuses = {r.id: r.status for r in session.scalars(select(Run))}
    database.dispose()
    assert statuses[killed] == "failed"
    assert "running" not in statuses.values()
