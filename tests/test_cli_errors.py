"""Every failure reaches the user as one line: bad database URLs, environment variables, output
paths, a harvest without network, and anything unexpected (``internal error``, exit 2)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harvester.cli.main import cli


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_error_line(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://user@host/db", "'mysql' is not supported, got 'mysql://user@host/db'"),
        ("not a url", "must be a database URL such as sqlite:///harvester.db"),
        ("postgresql+nodriver://h/db", "must be a URL with a known driver"),
        ("mysql://user:s3cret@host/db", "got 'mysql://user:***@host/db'"),
    ],
)
def test_bad_database_url_in_the_environment_names_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    assert invoke("init").exit_code == 0
    monkeypatch.setenv("HARVESTER_DATABASE__URL", url)
    line = one_error_line(invoke("queue"))
    assert line.startswith("error: environment variable HARVESTER_DATABASE__URL: [database] url")
    assert expected in line
    assert "s3cret" not in line


def test_bad_database_url_in_the_file_names_its_line(workdir: Path) -> None:
    (workdir / "harvester.toml").write_text(
        '[pubmed]\ntool = "x"\n\n[database]\nurl = "mysql://h/db"\n', encoding="utf-8"
    )
    line = one_error_line(invoke("queue"))
    assert line.startswith("error: harvester.toml line 5: [database] url must be a SQLite or")


def test_environment_error_is_not_blamed_on_the_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("init").exit_code == 0  # the starter file sets [pubmed] batch_size
    monkeypatch.setenv("HARVESTER_PUBMED__BATCH_SIZE", "abc")
    assert one_error_line(invoke("queue")) == (
        "error: environment variable HARVESTER_PUBMED__BATCH_SIZE: [pubmed] batch_size must be "
        "an integer, got 'abc'"
    )
    monkeypatch.delenv("HARVESTER_PUBMED__BATCH_SIZE")
    monkeypatch.setenv("harvester_pubmed__apikey", "x")  # a typo, in lower case
    assert one_error_line(invoke("queue")) == (
        "error: environment variable harvester_pubmed__apikey: [pubmed] apikey is not a known key"
    )


def test_environment_section_that_is_not_json(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("init").exit_code == 0
    monkeypatch.setenv("HARVESTER_PUBMED", "not json")
    line = one_error_line(invoke("queue"))
    assert line.startswith(
        "error: environment variable HARVESTER_PUBMED: not valid JSON for the [pubmed] section"
    )


def test_export_into_a_missing_folder(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("export", "--topic", "social-prescribing", "--format", "csv", "-o", "no/x.csv")
    assert one_error_line(result) == "error: cannot write no/x.csv: the folder no does not exist"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_export_onto_a_full_disk(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("export", "--topic", "social-prescribing", "--format", "csv", "-o", "/dev/full")
    assert one_error_line(result) == "error: cannot write /dev/full: no space left on the device"


def test_unexpected_exception_is_one_line_and_exit_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("init").exit_code == 0

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr("harvester.usecases.importing.import_file", broken)
    (workdir / "a.ris").write_text("TY  - JOUR\nTI  - x\nER  - \n", encoding="utf-8")
    line = one_error_line(invoke("import", "a.ris"), code=2)
    assert line == "internal error: KeyError: 'surprise'; run with --debug for the traceback"
    with pytest.raises(KeyError):
        invoke("--debug", "import", "a.ris")


def test_usage_errors_are_still_clicks(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "--topic", "x", "--format", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


def test_harvest_without_network_fails_fast_in_one_error_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DNS query leaves the machine: name resolution is answered here, in-process."""
    assert invoke("init").exit_code == 0
    monkeypatch.setenv("HARVESTER_PUBMED__BASE_URL", "https://eutils.example.invalid/eutils/")
    real = socket.getaddrinfo
    asked: list[str] = []

    def no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("127.0.0.1", "localhost"):
            return real(host, *args, **kwargs)
        asked.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    started = time.monotonic()
    result = invoke("harvest", "--source", "pubmed")
    assert time.monotonic() - started < 5
    assert asked and all(host.endswith(".invalid") for host in asked)
    assert asked.count("eutils.example.invalid") == 1  # not retried
    line = one_error_line(result)
    assert line == "error: 1 of 1 runs failed (see above)"
    # the reason once, on the run's line, with the request in words (no percent-encoding)
    assert result.output.count("host name not found") == 1
    assert "%22" not in result.output and "%5B" not in result.output
