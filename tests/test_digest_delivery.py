"""At most once against a slow mail server (it has the message, its answer comes after the
timeout): recorded as "may have gone out" and never resent automatically; real failures retried
a few times, then left for a person; both shown by `harvester digest status` and the runs page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from digest_support import PASSWORD, USER, add_candidates, smtp_server
from fastapi.testclient import TestClient
from test_digest_send import NOW, TOPIC, _project
from websupport import ADMIN, build, seed

from harvester.cli.main import cli
from harvester.config.settings import Settings
from harvester.core.errors import MailError
from harvester.service.schedule import JobContext, install, run_job
from harvester.store import digests
from harvester.store.db import Database
from harvester.usecases.digest_send import send_digest


def _smtp(port: int, timeout: float) -> str:
    return (
        f'host = "127.0.0.1"\nport = {port}\nstarttls = true\ntimeout = {timeout}\n'
        f'username = "{USER}"\n'
    )


def test_a_timeout_after_the_message_was_handed_over_is_never_resent(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
    with smtp_server() as server:
        server.delay = 2.0
        conf, topic = _project(settings, _smtp(server.port, 0.7))
        outcome = send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        assert outcome.status == "unconfirmed", outcome.line()
        assert "may have gone out" in outcome.line()
        assert len(server.messages) == 1
        # the retry job, and the scheduled job again, leave it alone
        install(
            JobContext(
                settings=conf,
                db=db,
                owner="test",
                clock=lambda: NOW + dt.timedelta(minutes=15),
                ssl_context=server.client_context,
            )
        )
        try:
            for _ in range(3):
                run_job("digest-retry")
            run_job(f"digest:{TOPIC}")
        finally:
            install(None)
        again = send_digest(
            db, conf, topic, now=NOW + dt.timedelta(hours=1), ssl_context=server.client_context
        )
        assert again.status == "already" and "may have gone out" in again.line()
        assert len(server.messages) == 1
    with db.read() as session:
        record = digests.get_digest(session, topic=TOPIC, week="2025-W03")
        assert record is not None and record.status == "unconfirmed"
        assert digests.retryable(session, weeks=["2025-W03"]) == []


def test_a_slow_server_within_the_timeout_is_a_plain_success(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
    with smtp_server() as server:
        server.delay = 0.5
        conf, topic = _project(settings, _smtp(server.port, 5))
        outcome = send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        assert outcome.status == "sent" and len(server.messages) == 1


def test_real_failures_are_retried_a_few_times_then_left_for_a_person(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
    with smtp_server() as server:
        conf, topic = _project(settings, _smtp(server.port, 5))
        server.fail_next.extend(["451 4.3.0 mailbox busy, try later"] * 20)
        errors = []
        for attempt in range(digests.MAX_ATTEMPTS):
            with pytest.raises(MailError) as caught:
                send_digest(
                    db,
                    conf,
                    topic,
                    now=NOW + dt.timedelta(minutes=15 * attempt),
                    ssl_context=server.client_context,
                )
            errors.append(caught.value.hint or "")
        assert "attempt 1 of 5" in errors[0]
        assert "no longer retried automatically" in errors[-1]
        with db.read() as session:
            assert digests.retryable(session, weeks=["2025-W03"]) == []
        install(
            JobContext(
                settings=conf,
                db=db,
                owner="test",
                clock=lambda: NOW + dt.timedelta(hours=3),
                ssl_context=server.client_context,
            )
        )
        try:
            assert run_job("digest-retry") == "ok"
        finally:
            install(None)
        assert len(server.fail_next) == 20 - digests.MAX_ATTEMPTS
        assert server.messages == []
    result = CliRunner().invoke(
        cli, ["--config", str(conf.config_file), "digest", "status", "--topic", TOPIC]
    )
    assert result.exit_code == 0, result.output
    assert "2025-W03" in result.output
    assert "not sent after 5 attempts" in result.output
    assert "no longer retried automatically" in result.output


def test_digest_status_and_the_runs_page_show_both_states(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(db)
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
    with smtp_server() as server:
        server.delay = 2.0
        conf, topic = _project(settings, _smtp(server.port, 0.7))
        send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        server.delay = 0
        server.fail_next.append("451 4.3.0 mailbox busy, try later")
        with pytest.raises(MailError):
            send_digest(
                db, conf, topic, now=NOW + dt.timedelta(days=7), ssl_context=server.client_context
            )
    result = CliRunner().invoke(cli, ["--config", str(conf.config_file), "digest", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("2025-W03" in line and "may have gone out" in line for line in lines), lines
    assert any("2025-W04" in line and "tried again automatically" in line for line in lines)
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1")
    page = client.get("/login")

    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    client.post(
        "/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf": token.group(1), "next": "/"},
    )
    runs = client.get("/runs")
    assert runs.status_code == 200
    assert "may have gone out" in runs.text and "2025-W03" in runs.text
    assert "4 attempts left" in runs.text and "2025-W04" in runs.text
