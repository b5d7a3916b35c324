"""`harvester import` and `harvester export` from the command line."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from click.testing import CliRunner, Result

from harvester.cli.main import cli

IMPORT = Path(__file__).parent / "fixtures" / "import"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_import_then_export(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    (workdir / "queries" / "bio.toml").write_text("[pubmed]\nquery = 'biopython'\n")
    assert invoke("topic", "apply", "queries").exit_code == 0
    nbib = invoke("import", str(IMPORT / "biopython_pubmed_result2.nbib"), "--topic", "bio")
    assert nbib.exit_code == 0 and "4 records read, 4 new works" in nbib.stdout
    ris = invoke(
        "import", str(IMPORT / "handmade_records.ris"), "--topic", "bio", "--status", "published"
    )
    assert "1 merged into existing works" in ris.stdout
    exported = invoke("export", "--topic", "bio", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 7 and "exported 7 records" in exported.stderr
    assert invoke("export", "--topic", "bio", "--format", "ris", "-o", "out.ris").exit_code == 0
    assert (workdir / "out.ris").read_text(encoding="utf-8").count("ER  -") == 6
    assert invoke("export", "--topic", "bio", "--format", "csv", "-o", "out.csv").exit_code == 0
    # Excel reads a CSV file as UTF-8 only with a byte order mark.
    assert (workdir / "out.csv").read_bytes().startswith(codecs.BOM_UTF8)


def test_title_less_record_is_imported_not_refused(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    result = invoke("import", str(IMPORT / "handmade_no_title.ris"))
    assert result.exit_code == 0, result.output
    assert "2 records" in result.stdout


def test_unreadable_import_file_is_one_line_error(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    (workdir / "binary.ris").write_bytes(bytes(range(256)) * 4)
    result = invoke("import", "binary.ris")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: binary.ris: no records found")
    assert len(result.stderr.splitlines()) == 1


def _export_rows(topic: str) -> list[dict[str, str]]:
    exported = invoke("export", "--topic", topic, "--format", "csv")
    assert exported.exit_code == 0, exported.output
    return list(csv.DictReader(io.StringIO(exported.stdout)))


def test_file_holding_the_same_record_twice(workdir: Path) -> None:
    """Duplicates inside one export (why people import them) are merged, never a crash."""
    assert invoke("init").exit_code == 0
    (workdir / "queries" / "t.toml").write_text("[pubmed]\nquery = 'x'\n")
    assert invoke("topic", "apply", "queries").exit_code == 0
    records = [
        ("1", "A trial of link workers", "10.1000/one", None),
        ("2", "A trial of link workers.", "10.1000/ONE", None),  # same DOI
        ("3", "Green prescriptions in practice", None, "12345678"),
        ("4", "Green prescriptions in practice", None, "12345678"),  # same PMID
        ("5", "Arts on prescription for older adults: a cohort", None, None),
        ("6", "Arts on prescription for older adults: a cohort", None, None),  # same title/year
    ]
    lines = []
    for rid, title, doi, pmid in records:
        lines += ["TY  - JOUR", f"ID  - {rid}", f"TI  - {title}", "PY  - 2021", "AU  - Doe, Jane"]
        lines += ["T2  - Perspectives in Public Health", "VL  - 141"]
        lines += [f"DO  - {doi}"] if doi else []
        lines += [f"AN  - {pmid}", "DB  - PubMed"] if pmid else []
        lines += ["ER  - ", ""]
    (workdir / "dups.ris").write_text("\n".join(lines), encoding="utf-8")
    result = invoke("import", "dups.ris", "--topic", "t")
    assert result.exit_code == 0, result.output
    assert "6 records read, 3 new works, 3 merged within the file" in result.stdout
    rows = _export_rows("t")
    assert sorted(r["record_id"] for r in rows) == ["1", "2", "3", "4", "5", "6"]
    by_id = {r["record_id"]: r["work_id"] for r in rows}
    assert by_id["1"] == by_id["2"] and by_id["3"] == by_id["4"] and by_id["5"] == by_id["6"]
    assert len(set(by_id.values())) == 3
    again = invoke("import", "dups.ris", "--topic", "t")
    assert "0 new works" in again.stdout and "0 records not seen before" in again.stdout
    assert len(_export_rows("t")) == 6


def test_records_without_ids_are_never_one_sighting(workdir: Path) -> None:
    """Two different records called "Editorial" (2021) without ids, and two different records
    sharing one URL, each keep their own sighting."""
    assert invoke("init").exit_code == 0
    (workdir / "queries" / "t.toml").write_text("[pubmed]\nquery = 'x'\n")
    assert invoke("topic", "apply", "queries").exit_code == 0
    text = (
        "TY  - JOUR\nTI  - Editorial\nPY  - 2021\nT2  - Journal of Public Health\nVL  - 43\n"
        "ER  - \n\n"
        "TY  - JOUR\nTI  - Editorial\nPY  - 2021\nT2  - Perspectives in Public Health\nVL  - 141\n"
        "ER  - \n\n"
        "TY  - JOUR\nTI  - Social prescribing for loneliness\nPY  - 2020\n"
        "UR  - https://example.org/collection\nER  - \n\n"
        "TY  - JOUR\nTI  - Nature-based interventions for stress\nPY  - 2019\n"
        "UR  - https://example.org/collection\nER  - \n"
    )
    (workdir / "noids.ris").write_text(text, encoding="utf-8")
    result = invoke("import", "noids.ris", "--topic", "t")
    assert result.exit_code == 0, result.output
    rows = _export_rows("t")
    assert len(rows) == 4 and len({r["source_id"] for r in rows}) == 4
    assert all(r["record_id"] == "" for r in rows)
    titles = sorted(r["record_title"] for r in rows)
    assert titles.count("Editorial") == 2
