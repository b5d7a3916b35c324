"""Sending the digest: a real SMTP server on 127.0.0.1 (STARTTLS + AUTH), the outbox, never twice
(also across a crash between send and commit), failures recorded and retried, empty weeks."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from digest_support import PASSWORD, USER, add_candidates, check_golden, smtp_server

from harvester.config.settings import Settings, load_settings, load_topic
from harvester.core.errors import MailError
from harvester.store import digests
from harvester.store.db import Database
from harvester.usecases.digest_send import send_digest

TOPIC = "social-prescribing"
NOW = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)
TOPIC_TOML = """
[topic]
name = "Social prescribing"
[digest]
recipients = ["reviewers@example.org", "lead@example.org"]
send_empty = {send_empty}
"""


class Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


def _project(
    settings: Settings, smtp: str = "", send_empty: bool = True
) -> tuple[Settings, object]:
    assert settings.config_file is not None
    folder = settings.config_file.parent
    text = 'timezone = "Europe/London"\n' + settings.config_file.read_text(encoding="utf-8")
    text += f'\n[smtp]\nsender = "digest@library.example.org"\n{smtp}\n[web]\nbase_url = "https://h.example.org"\n'
    settings.config_file.write_text(text, encoding="utf-8")
    topic_file = folder / "queries" / f"{TOPIC}.toml"
    topic_file.write_text(TOPIC_TOML.format(send_empty=str(send_empty).lower()), encoding="utf-8")
    return load_settings(settings.config_file), load_topic(topic_file)


def test_digest_over_starttls_and_auth_matches_the_golden_message(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    with smtp_server() as server:
        monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
        smtp = f'host = "127.0.0.1"\nport = {server.port}\nstarttls = true\ntimeout = 5\nusername = "{USER}"\n'
        conf, topic = _project(settings, smtp)
        outcome = send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        assert outcome.status == "sent", outcome.line()
        assert len(server.messages) == 1
        sender, rcpts, raw = server.messages[0]
    assert sender == "digest@library.example.org"
    assert rcpts == ["reviewers@example.org", "lead@example.org"]
    check_golden("digest_smtp.eml", raw)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Message-ID"] == "<digest.social-prescribing.2025-W03@library.example.org>"
    with db.read() as session:
        record = digests.get_digest(session, topic=TOPIC, week="2025-W03")
    assert record is not None and record.status == "sent" and record.attempts == 1
    assert record.message_id == parsed["Message-ID"]


def test_wrong_password_is_one_clear_error_and_recorded(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as server:
        monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", "wrong")
        smtp = f'host = "127.0.0.1"\nport = {server.port}\nstarttls = true\ntimeout = 5\nusername = "{USER}"\n'
        conf, topic = _project(settings, smtp)
        with pytest.raises(MailError, match=r"SMTP 127.0.0.1:\d+: login refused \(535"):
            send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        assert server.messages == []
    with db.read() as session:
        record = digests.get_digest(session, topic=TOPIC, week="2025-W03")
    assert (
        record is not None and record.status == "failed" and "login refused" in (record.error or "")
    )


def test_never_twice_across_a_crash_between_send_and_commit(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))

    def crash() -> None:
        raise Crash

    with smtp_server() as server:
        monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
        smtp = f'host = "127.0.0.1"\nport = {server.port}\nstarttls = true\ntimeout = 5\nusername = "{USER}"\n'
        conf, topic = _project(settings, smtp)
        with pytest.raises(Crash):
            send_digest(
                db, conf, topic, now=NOW, ssl_context=server.client_context, after_send=crash
            )
        assert len(server.messages) == 1
        for hours in (1, 2):
            later = send_digest(
                db,
                conf,
                topic,
                now=NOW + dt.timedelta(hours=hours),
                ssl_context=server.client_context,
            )
            assert later.status == "already"
            assert "may have gone out" in later.line()
        assert len(server.messages) == 1


def test_smtp_failure_is_recorded_and_retried_not_lost(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1))
    with smtp_server() as server:
        monkeypatch.setenv("HARVESTER_SMTP__PASSWORD", PASSWORD)
        smtp = f'host = "127.0.0.1"\nport = {server.port}\nstarttls = true\ntimeout = 5\nusername = "{USER}"\n'
        conf, topic = _project(settings, smtp)
        server.fail_next.append("451 4.3.0 mailbox busy, try later")
        with pytest.raises(MailError, match="451 4.3.0 mailbox busy"):
            send_digest(db, conf, topic, now=NOW, ssl_context=server.client_context)
        with db.read() as session:
            assert [r.week for r in digests.retryable(session, weeks=["2025-W03"])] == ["2025-W03"]
        again = send_digest(
            db, conf, topic, now=NOW + dt.timedelta(minutes=15), ssl_context=server.client_context
        )
        assert again.status == "sent"
        assert len(server.messages) == 1
    with db.read() as session:
        record = digests.get_digest(session, topic=TOPIC, week="2025-W03")
    assert record is not None and record.attempts == 2 and record.error is None


def test_no_smtp_host_writes_the_outbox_once(settings: Settings, db: Database) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=1)
    conf, topic = _project(settings)
    outcome = send_digest(db, conf, topic, now=NOW)
    assert outcome.status == "outbox"
    path = Path(outcome.where or "")
    assert path == conf.outbox_dir / "digest-social-prescribing-2025-W03.eml"
    assert f"written to {path}" in outcome.line()
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert "2 new" in str(parsed["Subject"])
    assert send_digest(db, conf, topic, now=NOW).status == "already"
    assert len(list(conf.outbox_dir.iterdir())) == 1


@pytest.mark.parametrize("send_empty", [True, False])
def test_an_empty_week_sends_nothing_new_or_nothing(
    settings: Settings, db: Database, send_empty: bool
) -> None:
    conf, topic = _project(settings, send_empty=send_empty)
    outcome = send_digest(db, conf, topic, now=NOW)
    files = list(conf.outbox_dir.glob("*.eml")) if conf.outbox_dir.exists() else []
    if send_empty:
        assert outcome.status == "outbox"
        assert "Nothing new arrived" in files[0].read_text(encoding="utf-8")
    else:
        assert outcome.status == "empty" and files == []
    assert send_digest(db, conf, topic, now=NOW).status == "already"


def test_dry_run_records_nothing(settings: Settings, db: Database) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=1)
    conf, topic = _project(settings)
    outcome = send_digest(db, conf, topic, now=NOW, dry_run=True)
    assert outcome.status == "dry-run" and outcome.message is not None
    with db.read() as session:
        assert digests.get_digest(session, topic=TOPIC, week="2025-W03") is None


def test_next_digest_reports_from_the_previous_one(settings: Settings, db: Database) -> None:
    add_candidates(db, TOPIC, NOW - dt.timedelta(days=1), count=2)
    conf, topic = _project(settings)
    assert send_digest(db, conf, topic, now=NOW).items == 3
    following = send_digest(db, conf, topic, now=NOW + dt.timedelta(days=7))
    assert following.items == 0
