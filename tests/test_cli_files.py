"""Every command that writes a file says which path and why when it cannot (a missing folder, a
full disk), text and binary formats alike; `bulletin publish` asks on a terminal (a real pseudo
terminal) and needs --yes elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harvester.cli.main import cli

IMPORT = Path(__file__).parent / "fixtures" / "import"
SLUG = "social-prescribing"
FULL = Path("/dev/full")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(workdir: Path) -> Path:
    assert invoke("init").exit_code == 0
    nbib = str(IMPORT / "biopython_pubmed_result2.nbib")
    assert invoke("import", nbib, "--topic", SLUG, "--status", "accepted").exit_code == 0
    return workdir


@pytest.mark.parametrize("fmt", ["html", "md", "docx", "ris"])
def test_bulletin_draft_into_a_missing_folder_or_a_full_disk(project: Path, fmt: str) -> None:
    missing = project / "no" / "such" / f"b.{fmt}"
    result = invoke("bulletin", "draft", "--topic", SLUG, "--format", fmt, "-o", str(missing))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: cannot write {missing}: the folder ")
    assert "does not exist" in result.stderr and "internal error" not in result.stderr
    if FULL.exists():
        full = invoke("bulletin", "draft", "--topic", SLUG, "--format", fmt, "-o", str(FULL))
        assert full.exit_code == 1, full.output
        assert full.stderr == f"error: cannot write {FULL}: no space left on the device\n"


def test_bulletin_render_and_init_report_the_path(project: Path) -> None:
    assert invoke("bulletin", "draft", "--topic", SLUG, "--format", "md").exit_code == 0
    assert invoke("bulletin", "publish", "--topic", SLUG, "--yes").exit_code == 0
    bulletin_id = invoke("bulletin", "list").stdout.split()[0]
    missing = project / "gone" / "b.docx"
    result = invoke(
        "bulletin", "render", "--id", bulletin_id, "--format", "docx", "-o", str(missing)
    )
    assert result.exit_code == 1 and f"error: cannot write {missing}" in result.stderr
    blocker = project / "a-file"
    blocker.write_text("x", encoding="utf-8")
    init = invoke("init", "--directory", str(blocker / "site"))
    assert init.exit_code == 1, init.output
    assert init.stderr.startswith("error: cannot write ") and "internal error" not in init.stderr


def test_publish_needs_yes_when_not_on_a_terminal(project: Path) -> None:
    assert invoke("bulletin", "draft", "--topic", SLUG, "--format", "md").exit_code == 0
    refused = invoke("bulletin", "publish", "--topic", SLUG)
    assert refused.exit_code == 1
    assert "cannot be undone" in refused.stderr and "--yes" in refused.stderr
    assert "draft" in invoke("bulletin", "list").stdout


def _on_a_terminal(answer: str, cwd: Path) -> tuple[int, str]:
    """`harvester bulletin publish` with a pseudo terminal as its standard input."""
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "harvester", "bulletin", "publish", "--topic", SLUG],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
        )
        os.write(leader, answer.encode() + b"\n")
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, out.decode()


def test_publish_asks_on_a_terminal(project: Path) -> None:
    assert invoke("bulletin", "draft", "--topic", SLUG, "--format", "md").exit_code == 0
    code, out = _on_a_terminal("n", project)
    assert code == 1 and "cannot be undone" in out and "[y/N]" in out, out
    assert "published" not in invoke("bulletin", "list").stdout
    code, out = _on_a_terminal("y", project)
    assert code == 0 and "published bulletin" in out, out
    assert "published" in invoke("bulletin", "list").stdout
