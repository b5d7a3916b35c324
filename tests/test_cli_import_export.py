"""`harvester import` and `harvester export` from the command line."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from click.testing import CliRunner, Result

from harvester.cli import cli

IMPORT = Path(__file__).parent / "fixtures" / "import"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_import_then_export(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    (workdir / "queries" / "bio.toml").write_text("[pubmed]\nquery = 'biopython'\n")
    nbib = invoke("import", str(IMPORT / "biopython_pubmed_result2.nbib"), "--topic", "bio")
    assert nbib.exit_code == 0 and "4 records, 4 new works" in nbib.stdout
    ris = invoke(
        "import", str(IMPORT / "handmade_records.ris"), "--topic", "bio", "--status", "published"
    )
    assert "1 matched existing works" in ris.stdout
    exported = invoke("export", "--topic", "bio", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 7 and "exported 7 records" in exported.stderr
    assert invoke("export", "--topic", "bio", "--format", "ris", "-o", "out.ris").exit_code == 0
    assert (workdir / "out.ris").read_text(encoding="utf-8").count("ER  -") == 6
    assert invoke("export", "--topic", "bio", "--format", "csv", "-o", "out.csv").exit_code == 0
    # Excel reads a CSV file as UTF-8 only with a byte order mark.
    assert (workdir / "out.csv").read_bytes().startswith(codecs.BOM_UTF8)


def test_bad_import_file_is_one_line_error(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("import", str(IMPORT / "handmade_no_title.ris"))
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("handmade_no_title.ris: record 2: no title (TI or T1)")
