"""Import edges: records read counted as read (skipped ones too), PubMed deletion notices
reported as such and marking the stored works they name, a deeply nested CSL-JSON file refused
in one line, a huge RIS field cut with a note under its record (memory stays bounded), a
topic folder named by HARVESTER_QUERIES that is not there refused, and Python's cycle collector
paused while each batch is stored and started again after it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harvester.cli.main import cli
from harvester.core.models import Hit, ImportProblem
from harvester.sources.import_common import FIELD_CHARS
from harvester.sources.importers import read_records
from harvester.store.db import Database
from harvester.store.works import ingest_hits

FIXTURES = Path(__file__).parent / "fixtures"
DELETIONS = FIXTURES / "pubmed" / "pubmed21n1298_edge_cases.xml"
SLUG = "social-prescribing"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(workdir: Path) -> Path:
    assert invoke("init").exit_code == 0
    return workdir


def test_records_read_counts_skipped_records_too(project: Path) -> None:
    path = project / "items.json"
    path.write_text(json.dumps([{"title": "Kept one", "type": "article-journal"}, 5, {}]))
    result = invoke("import", str(path))
    assert result.exit_code == 0, result.output
    assert "(CSL-JSON): 3 records read, 1 new works" in result.stdout
    assert "2 skipped" in result.stdout


def test_deletion_notices_are_reported_and_mark_the_works_they_name(
    project: Path, db_url: str
) -> None:
    settings_file = project / "harvester.toml"
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(text.replace("sqlite:///harvester.db", db_url), encoding="utf-8")
    assert invoke("db", "upgrade").exit_code == 0
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    db = Database(db_url)
    try:
        with db.write() as session:
            hit = Hit(source="pubmed", source_id="31688362", pmid="31688362", title="Kept study")
            ingest_hits(session, [hit], topic=SLUG, run_id=None, now=now)
    finally:
        db.dispose()
    result = invoke("import", str(DELETIONS))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "(PubMed XML): 40 records read" in out
    assert "20 PubMed deletion notices (PMID 31688362, 31764432" in out
    assert "1 stored work marked deleted in PubMed" in out
    assert "kept with PMID" not in out and "import:" not in out
    queue = invoke("queue", "--topic", SLUG).stdout
    assert "Kept study" in queue and "(deleted in PubMed)" in queue
    exported = invoke("export", "--topic", SLUG, "--format", "csv").stdout
    header, row = exported.splitlines()[:2]
    assert header.endswith(",deleted_in_pubmed") and row.split(",")[-1][:4] == str(
        dt.date.today().year
    )
    ris = invoke("export", "--topic", SLUG, "--format", "ris").stdout
    assert "N1  - PubMed deletion notice received" in ris


def test_a_deeply_nested_csl_json_file_is_one_error_line(project: Path) -> None:
    path = project / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = invoke("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: ") and "nested too deeply" in result.stderr
    assert "internal error" not in result.stderr


def test_a_huge_ris_field_is_cut_with_a_note_and_memory_stays_bounded(tmp_path: Path) -> None:
    size = 30 * 1024 * 1024
    path = tmp_path / "huge.ris"
    with path.open("w", encoding="utf-8") as out:
        out.write("TY  - JOUR\nTI  - A normal record\nER  - \n")
        out.write("TY  - JOUR\nTI  - The record with a huge abstract\nAB  - ")
        chunk = "abcdefghij" * 100_000
        for _ in range(size // len(chunk)):
            out.write(chunk)
        written = size // len(chunk) * len(chunk)
        out.write("\nER  - \n")
    problems: list[ImportProblem] = []
    tracemalloc.start()
    try:
        hits = list(read_records(path, problems))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.title for h in hits] == ["A normal record", "The record with a huge abstract"]
    assert len(hits[1].abstract[0].text) == FIELD_CHARS
    assert [p.line() for p in problems] == [
        f"record 2: AB field cut to {FIELD_CHARS:,} of its {written:,} characters"
    ]
    assert peak < 10 * 1024 * 1024, peak  # the field alone is 30 MB


def test_harvester_queries_naming_a_missing_folder_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVESTER_QUERIES", "/nonexistent/topics")
    for args in (["queue"], ["import", str(DELETIONS)], ["harvest"]):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(
            "error: HARVESTER_QUERIES=/nonexistent/topics: the topic folder "
            "/nonexistent/topics does not exist"
        )


def test_a_repair_is_said_once_in_the_readers_words(project: Path) -> None:
    """A field cut to fit is one line of the summary, not also a warning per reading on stderr
    naming the program's source code and a digest id."""
    path = project / "lang.ris"
    path.write_text(f"TY  - JOUR\nTI  - Long language\nLA  - {'x' * 40}\nER  - \n")
    done = _python(project, "-m", "harvester", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("language cut to 16 of its 40 characters") == 1
    assert "import:" not in done.stdout and "sha1:" not in done.stdout


def test_a_ris_import_loads_only_what_ris_and_sqlite_need(project: Path) -> None:
    """Every import and export starts a process: one reading RIS into SQLite does not load the
    other formats' readers (lxml, Biopython) or SQLAlchemy's PostgreSQL dialect. The real
    command runs, and the modules loaded when it exits are listed."""
    path = project / "one.ris"
    path.write_text("TY  - JOUR\nTI  - Start-up of an import\nPY  - 2021\nER  - \n")
    listed = project / "modules.txt"
    probe = (
        "import atexit, runpy, sys\n"
        f"atexit.register(lambda: open({str(listed)!r}, 'w').write('\\n'.join(sys.modules)))\n"
        f"sys.argv = ['harvester', 'import', {str(path)!r}]\n"
        "runpy.run_module('harvester', run_name='__main__')\n"
    )
    done = _python(project, "-c", probe)
    assert done.returncode == 0, done.stderr
    assert "1 new works" in done.stdout
    loaded = set(listed.read_text().split())
    assert "harvester.sources.import_ris" in loaded
    unneeded = ("lxml", "Bio", "sqlalchemy.dialects.postgresql", "harvester.sources.import_medline")
    assert sorted(m for m in loaded if m.startswith(unneeded)) == []


def _python(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python run with ``args`` in ``project``, as a user would, the environment's own harvester
    settings left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ris(count: int) -> str:
    return "".join(
        f"TY  - JOUR\nTI  - Spooled record number {n} on link workers\nAU  - Author{n}, A\n"
        f"PY  - 2021\nDO  - 10.1234/spool.{n}\nER  - \n\n"
        for n in range(count)
    )


@pytest.mark.parametrize("memory", [1, 64 * 1024 * 1024])
def test_an_import_reads_its_file_once_and_stores_what_it_read(
    project: Path, monkeypatch: pytest.MonkeyPatch, memory: int
) -> None:
    # The records read are kept in a spool (memory, or a temporary file past SPOOL_MEMORY)
    # and stored from it: the file is parsed once, and every record reaches the store.
    import harvester.usecases.importing as importing

    readings: list[str] = []
    real = importing.read_records

    def counted(*args: object, **kwargs: object) -> object:
        readings.append(str(args[0]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "read_records", counted)
    monkeypatch.setattr(importing, "SPOOL_MEMORY", memory)
    monkeypatch.setattr(importing, "IMPORT_BATCH", 7)
    path = project / "many.ris"
    path.write_text(_ris(30), encoding="utf-8")
    result = invoke("import", str(path), "--topic", SLUG)
    assert result.exit_code == 0, result.output
    assert "30 records read, 30 new works" in result.stdout
    assert readings == [str(path)]
    again = invoke("import", str(path), "--topic", SLUG)
    assert "30 records read, 0 new works" in again.stdout


@pytest.mark.parametrize("chunk", [1, 3, 500])
def test_a_spooled_record_comes_back_whole(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    # Every field of a record read, its authors, dates, abstract and relations, as stored, in
    # order, whether the records fill the spool's lists exactly, leave the last one part-full,
    # or fit in one.
    import io

    import harvester.usecases.importing as importing

    monkeypatch.setattr(importing, "SPOOL_CHUNK", chunk)
    path = FIXTURES / "pubmed" / "pubmed21n1298_topic_subset.xml"
    hits = [hit for hit in read_records(path) if isinstance(hit, Hit)]
    assert any(hit.authors and hit.abstract and hit.pub_date for hit in hits)
    assert any(hit.relations for hit in hits)
    assert len(hits) % 3 and len(hits) < 500
    spool = io.BytesIO()
    assert importing._spool(iter(hits), spool) == len(hits)
    spool.seek(0)
    assert list(importing._unspool(spool, len(hits))) == hits
    assert spool.read() == b""


def test_the_collector_is_paused_for_each_batch_and_started_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's cycle collector rests while a batch is stored and runs between batches; after
    # the import, and after a batch that failed, it runs as before.
    import gc

    import harvester.usecases.importing as importing

    seen: list[bool] = []
    real = importing.ingest_batch

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "ingest_batch", watched)
    monkeypatch.setattr(importing, "IMPORT_BATCH", 7)
    path = project / "many.ris"
    path.write_text(_ris(30), encoding="utf-8")
    assert gc.isenabled()
    result = invoke("import", str(path), "--topic", SLUG)
    assert "30 records read, 30 new works" in result.stdout
    assert seen == [False] * 5
    assert gc.isenabled()

    def failing(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(importing, "ingest_batch", failing)
    failed = invoke("import", str(path), "--topic", SLUG)
    assert failed.exit_code != 0
    assert gc.isenabled()


def test_the_collector_starts_again_when_the_last_batch_in_any_thread_ends() -> None:
    # Batches in two threads pause the one process-wide collector together; one paused by
    # someone else stays paused.
    import gc
    import threading

    from harvester.usecases.importing import collector_paused

    started, finish = threading.Event(), threading.Event()

    def other_batch() -> None:
        with collector_paused():
            started.set()
            finish.wait(10)

    other = threading.Thread(target=other_batch)
    other.start()
    assert started.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's batch still runs
    finish.set()
    other.join(10)
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_broken_after_its_first_records_stores_none_of_them(project: Path) -> None:
    # A PubMed XML file cut short mid-way: its first records read well, the cut does not.
    path = project / "broken.xml"
    text = (FIXTURES / "pubmed" / "pubmed21n1298_topic_subset.xml").read_text(encoding="utf-8")
    cut = text.index("<PubmedArticle>", len(text) * 2 // 3) + 40
    path.write_text(text[:cut], encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", str(path), "--topic", SLUG])
    assert result.exit_code != 0
    assert "broken.xml" in result.output, result.output
    listed = invoke("export", "--topic", SLUG, "--format", "csv")
    assert listed.stdout.count("\n") <= 1  # the header alone
