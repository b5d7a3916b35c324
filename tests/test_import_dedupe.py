"""Dedupe through the real `harvester import`, on SQLite and PostgreSQL: records that share only
a URL naming no one article stay apart, and an export imported again under another file name adds
no work (corpus: a real systematic-review export)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from corpus import corpus_file

from harvester.cli.main import cli
from harvester.config.settings import Settings

TOPIC = "reviews"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(settings: Settings) -> Path:
    assert settings.config_file is not None
    folder = settings.config_file.parent
    (folder / "queries" / f"{TOPIC}.toml").write_text(
        f'[topic]\nslug = "{TOPIC}"\nname = "Reviews"\n', encoding="utf-8"
    )
    return folder


def new_works(result: Result) -> int:
    assert result.exit_code == 0, result.output
    found = re.search(r"(\d+) new works", result.stdout)
    assert found is not None, result.stdout
    return int(found.group(1))


def test_articles_sharing_only_a_resolver_root_stay_apart(project: Path) -> None:
    (project / "two.ris").write_text(
        "TY  - JOUR\nID  - 1\nTI  - Link workers in primary care: a qualitative study\n"
        "AU  - Example, Ann\nPY  - 2021\nUR  - https://doi.org/\nER  - \n\n"
        "TY  - JOUR\nID  - 2\nTI  - Green prescriptions and blood pressure in older adults\n"
        "AU  - Other, Bob\nPY  - 2022\nUR  - https://doi.org/\nER  - \n\n"
        "TY  - JOUR\nID  - 3\nTI  - Museums on prescription: a feasibility trial\n"
        "AU  - Third, Cy\nPY  - 2020\nUR  - https://www.ncbi.nlm.nih.gov/pubmed/\nER  - \n",
        encoding="utf-8",
    )
    assert new_works(invoke("import", "two.ris", "--topic", TOPIC)) == 3


@pytest.mark.corpus
def test_an_export_imported_again_under_another_name_adds_no_work(project: Path) -> None:
    """The respiratory export (1,988 records, duplicates and all) written as RIS as a reference
    manager would, imported, then imported again as another file."""
    source = corpus_file("dedupe/respiratory/records_pre_merged.csv")
    lines = []
    with source.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lines += ["TY  - JOUR", f"ID  - {row['ID']}"]
            for tag, name in (("TI", "title"), ("PY", "year"), ("VL", "volume")):
                if row.get(name):
                    lines.append(f"{tag}  - {row[name]}")
            for tag, name in (("IS", "number"), ("T2", "journal"), ("DO", "doi")):
                if row.get(name):
                    lines.append(f"{tag}  - {row[name]}")
            if row.get("pages"):
                first, _, last = row["pages"].partition("-")
                lines.append(f"SP  - {first}")
                if last:
                    lines.append(f"EP  - {last}")
            lines += [f"AU  - {a.strip()}" for a in (row.get("author") or "").split(" and ")]
            lines += ["ER  - ", ""]
    text = "\n".join(line for line in lines if line != "AU  - ")
    (project / "respiratory.ris").write_text(text, encoding="utf-8")
    (project / "respiratory-again.ris").write_text(text, encoding="utf-8")
    first = new_works(invoke("import", "respiratory.ris", "--topic", TOPIC))
    assert first > 1000
    again = invoke("import", "respiratory-again.ris", "--topic", TOPIC)
    assert new_works(again) == 0
    assert "1988 records read" in again.stdout


def test_a_bridging_record_merges_two_works_and_the_merge_is_undone(project: Path) -> None:
    title = "Social prescribing for people with long-term conditions: a cohort study"
    common = f"TI  - {title}\nPY  - 2024\n"
    (project / "first.ris").write_text(
        f"TY  - JOUR\nID  - a\n{common}T2  - Journal of Test Records\nVL  - 12\nSP  - 101\n"
        "EP  - 109\nDO  - 10.1000/sp.1\nER  - \n\n"
        f"TY  - JOUR\nID  - b\n{common}AU  - Example, Ann\nT2  - J Test Rec\nER  - \n",
        encoding="utf-8",
    )
    (project / "second.ris").write_text(
        f"TY  - JOUR\nID  - c\n{common}AU  - Example, Ann\nT2  - Journal of Test Records\n"
        "VL  - 12\nSP  - 101\nEP  - 109\nER  - \n",
        encoding="utf-8",
    )
    assert new_works(invoke("import", "first.ris", "--topic", TOPIC)) == 2
    assert new_works(invoke("import", "second.ris", "--topic", TOPIC)) == 0
    listed = invoke("merges", "list")
    assert listed.exit_code == 0 and "work 2 joined work 1" in listed.stdout
    exported = invoke("export", "--topic", TOPIC, "--format", "csv")
    assert exported.exit_code == 0 and "exported 3 records" in exported.stderr
    undone = invoke("merges", "undo", "1")
    assert undone.exit_code == 0 and "merge 1 undone" in undone.stdout
    assert "undone" in invoke("merges", "list", "--work", "2").stdout
    again = invoke("merges", "undo", "1")
    assert again.exit_code == 1 and "undone already" in again.stderr
