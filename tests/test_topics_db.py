"""Topics in the database: applied from topic files (checked, idempotent, one bad file never
stops the others), exported back, every change recorded, and read by one registry."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli.main import cli
from harvester.config.settings import parse_topic
from harvester.config.topics import describe_change
from harvester.core.errors import ConfigError, ConflictError, NotFoundError
from harvester.store import topics as store
from harvester.store.db import Database
from harvester.store.tables import TopicRecord
from harvester.usecases.topics import adopt_folder, apply_files, export_topics

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

ALPHA = """[topic]
slug = "alpha"
name = "Alpha"

[pubmed]
query = '"social prescri*"[tiab]'

[match]
phrases = ["social prescri*"]
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_apply_creates_then_changes_nothing_then_updates_with_a_summary(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "queries"
    _write(folder, "alpha.toml", ALPHA)
    first = apply_files(db, [folder], actor="ann", now=NOW)
    assert [(r.slug, r.outcome) for r in first] == [("alpha", "created")]
    again = apply_files(db, [folder], actor="ann", now=NOW)
    assert [(r.slug, r.outcome) for r in again] == [("alpha", "unchanged")]
    _write(folder, "alpha.toml", ALPHA.replace('["social prescri*"]', '["link worker*"]'))
    dry = apply_files(db, [folder], actor="ann", now=NOW, dry_run=True)
    assert dry[0].outcome == "updated"
    assert "phrases added: link worker*" in dry[0].detail
    with db.read() as session:
        assert store.stored_topic(session, "alpha").version == 1  # type: ignore[union-attr]
    updated = apply_files(db, [folder], actor="bob", now=NOW + dt.timedelta(hours=1))
    assert updated[0].outcome == "updated"
    with db.read() as session:
        row = store.stored_topic(session, "alpha")
        history = store.topic_changes(session, "alpha")
    assert row is not None and row.version == 2 and row.updated_by == "bob"
    assert [c.actor for c in history] == ["bob", "ann"]
    assert history[0].summary == "phrases added: link worker*; phrases removed: social prescri*"
    assert history[1].summary == "topic created: Alpha"
    assert history[0].before == ALPHA


def test_a_file_with_an_error_is_refused_with_its_line_and_the_others_are_applied(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "queries"
    _write(folder, "alpha.toml", ALPHA)
    _write(folder, "bad.toml", '[topic]\nname = "Bad"\n\n[pubmed]\nquery = 42\n')
    _write(folder, "broken.toml", "[topic\n")
    _write(folder, "zeta.toml", ALPHA.replace("alpha", "zeta"))
    results = {r.path.name: r for r in apply_files(db, [folder], actor="ann", now=NOW)}
    assert results["alpha.toml"].outcome == "created"
    assert results["zeta.toml"].outcome == "created"
    assert results["bad.toml"].outcome == "refused"
    assert results["bad.toml"].detail == (
        f"{folder / 'bad.toml'} line 5: [pubmed] query must be a string, got 42"
    )
    assert "broken.toml line 1: not valid TOML" in results["broken.toml"].detail
    with db.read() as session:
        assert [t.slug for t in store.stored_topics(session)] == ["alpha", "zeta"]


def test_two_files_with_one_slug_the_second_is_refused(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "queries"
    _write(folder, "a.toml", ALPHA)
    _write(folder, "b.toml", ALPHA.replace('name = "Alpha"', 'name = "Other"'))
    results = apply_files(db, [folder], actor="ann", now=NOW)
    assert [r.outcome for r in results] == ["created", "refused"]
    assert "topic slug 'alpha' is already used by" in results[1].detail


def test_a_missing_path_is_named(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: no such file or folder"):
        apply_files(db, [tmp_path / "nope.toml"], actor="ann", now=NOW)


def test_export_gives_back_the_document_as_applied(db: Database, tmp_path: Path) -> None:
    _write(tmp_path, "alpha.toml", ALPHA)
    apply_files(db, [tmp_path / "alpha.toml"], actor="ann", now=NOW)
    [one] = export_topics(db, "alpha")
    assert one.document == ALPHA
    with pytest.raises(ConfigError, match=r"unknown topic 'beta' \(topics: alpha\)"):
        export_topics(db, "beta")


def test_a_save_from_an_old_version_is_refused_naming_who_changed_it(db: Database) -> None:
    with db.write() as session:
        store.save_topic(session, ALPHA, actor="ann", now=NOW)
    with db.write() as session:
        store.save_topic(
            session, ALPHA.replace("Alpha", "Alpha 2"), actor="bob", now=NOW, expected_version=1
        )
    with pytest.raises(ConflictError, match="changed by bob since you opened it"), db.write() as s:
        store.save_topic(
            s, ALPHA.replace("Alpha", "Alpha 3"), actor="cat", now=NOW, expected_version=1
        )


def test_the_registry_reads_changes_and_leaves_out_a_stored_topic_that_no_longer_passes(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    registry = store.DatabaseTopics(db)
    assert registry.all() == []
    with db.write() as session:
        store.save_topic(session, ALPHA, actor="ann", now=NOW)
        store.save_topic(session, ALPHA.replace("alpha", "beta"), actor="ann", now=NOW)
    assert registry.slugs() == ["alpha", "beta"]
    assert registry.get("alpha") is registry.get("alpha")  # not parsed again while unchanged
    with db.write() as session:
        # as a document saved by an older release might read after a rule was tightened
        row = session.get(TopicRecord, "beta")
        assert row is not None
        row.document = "[pubmed]\nquery = 42\n"
        row.version += 1
    with caplog.at_level(logging.ERROR):
        assert registry.slugs() == ["alpha"]
    assert "topic beta is left out until it is corrected" in caplog.text
    with pytest.raises(NotFoundError, match=r"unknown topic 'beta' \(topics: alpha\)"):
        registry.get("beta")
    with db.write() as session:
        store.delete_topic(session, "alpha", actor="ann", now=NOW)
    assert registry.slugs() == []


def test_the_folder_is_adopted_once_on_a_database_that_never_had_topics(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "queries"
    _write(folder, "alpha.toml", ALPHA)
    assert [r.outcome for r in adopt_folder(db, folder, now=NOW)] == ["created"]
    with db.write() as session:
        store.delete_topic(session, "alpha", actor="ann", now=NOW)
    assert adopt_folder(db, folder, now=NOW) == []  # removed on purpose: not brought back


def test_describe_change_in_the_words_of_the_settings() -> None:
    before = parse_topic(ALPHA, "a")
    after = parse_topic(
        ALPHA.replace('"social prescri*"[tiab]', '"link worker*"[tiab]')
        + '\n[[feeds]]\nname = "BBC"\nurl = "https://example.org/rss"\n\n'
        + '[schedule]\nharvest = "0 7 * * *"\n',
        "a",
    )
    text = describe_change(before, after)
    assert 'PubMed query changed from “"social prescri*"[tiab]” to “"link worker*"[tiab]”' in (text)
    assert "feeds added: BBC" in text
    assert "harvest schedule: 0 6 * * * → 0 7 * * *" in text or "harvest schedule:" in text
    assert describe_change(before, before) == "no change"
    assert describe_change(None, before) == "topic created: Alpha"
    assert describe_change(before, None) == "topic removed"


def test_topic_commands_through_the_command_line(workdir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "created topic social-prescribing" in result.output
    _write(workdir / "more", "alpha.toml", ALPHA)
    _write(workdir / "more", "bad.toml", "[pubmed]\nquery = 42\n")
    result = runner.invoke(cli, ["topic", "apply", "more", "--dry-run"])
    assert result.exit_code == 1
    assert "would be created topic alpha" in result.output
    assert "refused" in result.output and "bad.toml line 2" in result.output
    result = runner.invoke(cli, ["topic", "apply", "more"])
    assert result.exit_code == 1
    result = runner.invoke(cli, ["topic", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("alpha\tversion 1")
    result = runner.invoke(cli, ["queue", "--topic", "alpha"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["topic", "export", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert (workdir / "out" / "alpha.toml").read_text(encoding="utf-8") == ALPHA
    assert (workdir / "out" / "social-prescribing.toml").exists()
    result = runner.invoke(cli, ["topic", "export", "--topic", "nope"])
    assert result.exit_code == 1
    assert "unknown topic 'nope'" in result.output
