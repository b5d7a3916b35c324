"""The command line: init, db, errors as one line, and the installed entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harvester.cli.main import cli
from harvester.store import migrate


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_init_then_db_current_in_an_empty_folder(workdir: Path) -> None:
    result = invoke("init")
    assert result.exit_code == 0, result.output
    assert "wrote harvester.toml" in result.stdout
    assert (workdir / "queries" / "social-prescribing.toml").exists()
    assert (workdir / "harvester.db").exists()
    current = invoke("db", "current")
    assert current.exit_code == 0
    assert current.stdout.strip() == f"{migrate.head()} (head)"
    again = invoke("init")
    assert "kept existing harvester.toml" in again.stdout


def test_init_on_postgres(workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVESTER_DATABASE__URL", db_url)
    assert invoke("init").exit_code == 0
    assert invoke("db", "current").stdout.strip() == f"{migrate.head()} (head)"
    assert invoke("db", "upgrade").exit_code == 0
    result = invoke("queue")
    assert result.exit_code == 0
    assert result.stdout.strip() == "no candidates"


def test_db_current_before_init_says_what_to_do(workdir: Path) -> None:
    result = invoke("db", "current")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no database at")
    assert "harvester init" in lines[0]


def test_malformed_topic_file_is_one_line_with_file_and_line(workdir: Path) -> None:
    invoke("init")
    (workdir / "queries" / "sp.toml").write_text(
        "[topic]\nname = 'SP'\n\n[pubmed]\nquery = 'x'\nenabled = 'abc'\n", encoding="utf-8"
    )
    applied = invoke("topic", "apply", "queries")
    assert applied.exit_code == 1
    assert applied.stderr == (
        "refused queries/sp.toml line 6: [pubmed] enabled must be true or false, got 'abc'\n"
    )
    assert "unchanged topic social-prescribing" in applied.stdout  # the others are applied
    result = invoke("harvest", "--topic", "sp")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unknown topic 'sp' (topics: social-prescribing); queries/sp.toml is not applied; "
        "apply it with `harvester topic apply queries/sp.toml`\n"
    )
    assert "Traceback" not in result.output


def test_malformed_settings_file_is_one_line_with_file_and_line(workdir: Path) -> None:
    (workdir / "harvester.toml").write_text("[smtp]\nport = 'x'\n", encoding="utf-8")
    result = invoke("queue")
    assert result.exit_code == 1
    assert (
        result.stderr == "error: harvester.toml line 2: [smtp] port must be an integer, got 'x'\n"
    )


def test_init_in_another_directory_keeps_the_database_beside_its_settings(workdir: Path) -> None:
    result = invoke("init", "--directory", "team")
    assert result.exit_code == 0, result.output
    assert (workdir / "team" / "harvester.db").exists()
    assert not (workdir / "harvester.db").exists()
    assert (
        invoke("--config", "team/harvester.toml", "db", "current").stdout.strip()
        == f"{migrate.head()} (head)"
    )


def test_unknown_topic(workdir: Path) -> None:
    invoke("init")
    result = invoke("harvest", "--topic", "nope")
    assert result.exit_code == 1
    assert result.stderr == "error: unknown topic 'nope' (topics: social-prescribing)\n"


@pytest.mark.parametrize(
    "command",
    [[], ["init"], ["db"], ["db", "upgrade"], ["db", "current"], ["harvest"], ["queue"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harvester", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("harvester, version ")


@pytest.mark.parametrize(
    "command",
    [
        ["queue", "--topic", "nope"],
        ["export", "--topic", "nope", "--format", "csv"],
        ["import", "README", "--topic", "nope"],
    ],
)
def test_commands_refuse_an_unknown_topic(workdir: Path, command: list[str]) -> None:
    invoke("init")
    (workdir / "README").write_text("TY  - JOUR\nTI  - x\nER  - \n", encoding="utf-8")
    result = invoke(*command)
    assert result.exit_code == 1
    assert result.stderr == "error: unknown topic 'nope' (topics: social-prescribing)\n"
