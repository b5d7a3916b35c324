"""`harvester digest send` and `harvester schedule list|run` through the real command line."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from digest_support import add_candidates

from harvester.cli.main import cli
from harvester.config.settings import Settings
from harvester.store.db import Database

TOPIC = "sp"


def _topic(settings: Settings, *, recipients: str = '["team@example.org"]') -> None:
    assert settings.config_file is not None
    (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(
        f'[topic]\nname = "SP"\n[schedule]\nharvest = "0 6 * * *"\ndigest = "0 8 * * MON"\n'
        f"[digest]\nrecipients = {recipients}\n",
        encoding="utf-8",
    )


def test_digest_send_writes_the_outbox_once_and_says_where(
    settings: Settings, db: Database
) -> None:
    _topic(settings)
    add_candidates(db, TOPIC, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), count=1)
    runner = CliRunner()
    first = runner.invoke(cli, ["digest", "send", "--topic", TOPIC])
    assert first.exit_code == 0, first.output
    assert "no SMTP host set, written to" in first.output and ".eml" in first.output
    again = runner.invoke(cli, ["digest", "send", "--topic", TOPIC])
    assert (
        again.exit_code == 0
        and "already written to the outbox folder; not sent again" in again.output
    )


def test_digest_send_dry_run_and_bad_week(settings: Settings, db: Database) -> None:
    _topic(settings)
    runner = CliRunner()
    dry = runner.invoke(
        cli, ["digest", "send", "--topic", TOPIC, "--dry-run", "--week", "2025-W02"]
    )
    assert dry.exit_code == 0, dry.output
    assert "Subject: SP weekly digest, 2025-W02: nothing new" in dry.output
    bad = runner.invoke(cli, ["digest", "send", "--topic", TOPIC, "--week", "2025-13"])
    assert bad.exit_code == 2 and "week must look like 2025-W07" in bad.output


def test_digest_send_without_recipients_is_one_line_error(settings: Settings, db: Database) -> None:
    _topic(settings, recipients="[]")
    result = CliRunner().invoke(cli, ["digest", "send", "--topic", TOPIC])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: ") and "recipients is empty" in result.output


def test_schedule_list_and_run(settings: Settings, db: Database) -> None:
    _topic(settings)
    runner = CliRunner()
    listed = runner.invoke(cli, ["schedule", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"harvest:{TOPIC}" in listed.output and f"digest:{TOPIC}" in listed.output
    assert "(once the service runs)" in listed.output
    assert "scheduler: no service owns it now" in listed.output
    ran = runner.invoke(cli, ["schedule", "run", f"digest:{TOPIC}"])
    assert ran.exit_code == 0, ran.output
    assert f"digest:{TOPIC}: ok" in ran.output
    unknown = runner.invoke(cli, ["schedule", "run", "harvest:nope"])
    assert unknown.exit_code == 1 and "unknown job 'harvest:nope'" in unknown.output
