"""Dedupe accuracy on labelled systematic-review exports (the BibDedupe benchmark data).

Usage: python benchmarks/dedupe_bench.py [DATA_DIR] [--dataset NAME ...] [--show-errors]
       [--no-cli]

DATA_DIR (default /work/shared/fixtures/dedupe) holds one folder per dataset with
``records_pre_merged.csv`` (one row per record) and ``merged_record_ids.csv`` (the true duplicate
groups). Each dataset is measured twice:

- **internal**: each record becomes a Hit and goes through the real ingest
  (harvester.store.works) into a fresh SQLite database; the work id each record ended in is the
  predicted grouping.
- **cli**: the records are written as one RIS file (TY, ID, TI, PY, VL, IS, T2, DO, AB, SP/EP,
  AU), and ``harvester init``, ``harvester import FILE --topic SLUG`` and ``harvester export
  --topic SLUG --format csv`` run as subprocesses in a temporary folder, as a user would run
  them; the CSV export (one row per record: its own RIS ID and the work it was merged into) is
  the predicted grouping. Whether the two groupings are identical is printed.

Two ways of counting are printed:

- **pairwise**: every pair of records is a positive when they are in one true group; a predicted
  positive when they ended in one work. Sensitivity = TP/(TP+FN), specificity = TN/(TN+FP).
- **record** (BibDedupe's ``compare_dedupe_id``, the one behind its published
  ``current_results.md``): each record is a case; in a true group of n, the first record is a
  negative and the other n-1 are positives (duplicates to remove). A predicted cluster keeps its
  first record. These counts sum to the number of records and are the ones to compare with the
  published table.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from harvester.core.models import Author, Hit, PubDate
from harvester.store.db import Database
from harvester.store.migrate import upgrade
from harvester.store.works import ingest_hits

DEFAULT_DIR = Path("/work/shared/fixtures/dedupe")
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn

    def row(self) -> str:
        sens = _div(self.tp, self.tp + self.fn)
        spec = _div(self.tn, self.tn + self.fp)
        prec = _div(self.tp, self.tp + self.fp)
        f1 = _div(2 * prec * sens, prec + sens)
        return (
            f"TP {self.tp:6d}  FP {self.fp:4d}  FN {self.fn:5d}  TN {self.tn:8d}  "
            f"sens {sens:.4f}  spec {spec:.4f}  prec {prec:.4f}  F1 {f1:.4f}"
        )


def _div(a: float, b: float) -> float:
    return a / b if b else 1.0


def parse_authors(text: str) -> list[Author]:
    """BibTeX-style "Family, Given and Family, Given" (a name without comma is a group)."""
    authors = []
    for part in re.split(r"\s+and\s+", text.strip()):
        part = part.strip()
        if not part:
            continue
        if "," in part:
            family, given = (p.strip() for p in part.split(",", 1))
            authors.append(Author(family=family or None, given=given or None))
        else:
            authors.append(Author(collective=part))
    return authors


def row_to_hit(row: dict[str, str], dataset: str) -> Hit:
    year = row.get("year", "").strip()
    journal = row.get("journal") or row.get("booktitle") or None
    return Hit(
        source="import:csv",
        source_id=row["ID"],
        origin=dataset,
        title=row.get("title") or "",
        authors=parse_authors(row.get("author") or ""),
        journal=journal,
        volume=row.get("volume") or None,
        issue=row.get("number") or row.get("issue") or None,
        pages=row.get("pages") or None,
        pub_date=PubDate(int(year)) if year.isdigit() else None,
        doi=row.get("doi") or None,
    )


def read_dataset(folder: Path) -> tuple[list[dict[str, str]], list[list[str]]]:
    with (folder / "records_pre_merged.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as handle:
        true_groups = [r["merged_ids"].split(";") for r in csv.DictReader(handle)]
    return rows, true_groups


def write_ris(rows: list[dict[str, str]], path: Path) -> None:
    """The records as a RIS file, each with its own ``ID``."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(f"TY  - JOUR\nID  - {row['ID']}\n")
            fields = (
                ("TI", row.get("title")),
                ("PY", row.get("year")),
                ("VL", row.get("volume")),
                ("IS", row.get("number") or row.get("issue")),
                ("T2", row.get("journal") or row.get("booktitle")),
                ("DO", row.get("doi")),
                ("AB", row.get("abstract")),
            )
            for tag, value in fields:
                if value and value.strip():
                    out.write(f"{tag}  - {' '.join(value.split())}\n")
            if row.get("pages"):
                start, _, end = row["pages"].partition("-")
                out.write(f"SP  - {start}\n" + (f"EP  - {end}\n" if end else ""))
            for name in re.split(r"\s+and\s+", row.get("author") or ""):
                if name.strip():
                    out.write(f"AU  - {name.strip()}\n")
            out.write("ER  - \n\n")


def run_cli(rows: list[dict[str, str]], name: str) -> tuple[dict[str, int | None], float]:
    """Import the records as a RIS file and export the topic as CSV with the real commands;
    the work each record (by its RIS ID) ended in, and the seconds the import took."""
    harvester = Path(sys.executable).with_name("harvester")
    command = [str(harvester)] if harvester.exists() else [sys.executable, "-m", "harvester"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}

        def run(*args: str) -> None:
            done = subprocess.run(
                [*command, *args], cwd=folder, env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
                raise SystemExit(f"harvester {args[0]} failed on {name}: {' '.join(tail)}")

        run("init")
        topic = sorted((folder / "queries").glob("*.toml"))[0].stem
        write_ris(rows, folder / f"{name}.ris")
        started = time.perf_counter()
        run("import", f"{name}.ris", "--topic", topic)
        elapsed = time.perf_counter() - started
        run("export", "--topic", topic, "--format", "csv", "-o", "out.csv")
        with (folder / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
            exported = list(csv.DictReader(handle))
    work_of: dict[str, int | None] = {}
    for line in exported:
        work_of[line["record_id"]] = int(line["work_id"])
    missing = [row["ID"] for row in rows if row["ID"] not in work_of]
    if missing or len(exported) != len(rows):
        raise SystemExit(
            f"{name}: the CSV export has {len(exported)} rows for {len(rows)} records "
            f"({len(missing)} records missing, e.g. {missing[:3]})"
        )
    return work_of, elapsed


def same_grouping(
    rows: list[dict[str, str]], a: dict[str, int | None], b: dict[str, int | None]
) -> bool:
    """Whether two record -> work maps put the records in the same groups."""
    pairs = {(a[row["ID"]], b[row["ID"]]) for row in rows}
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def evaluate(
    folder: Path,
    rows: list[dict[str, str]],
    true_groups: list[list[str]],
    *,
    show_errors: bool = False,
) -> tuple[Counts, Counts, dict[str, int | None], float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        db = Database(url)
        started = time.perf_counter()
        with db.write() as session:
            result = ingest_hits(
                session,
                (row_to_hit(r, folder.name) for r in rows),
                topic=None,
                run_id=None,
                now=NOW,
            )
        elapsed = time.perf_counter() - started
        db.dispose()
    work_of = {row["ID"]: o.work_id for row, o in zip(rows, result.outcomes, strict=True)}
    if show_errors:
        print_errors(
            rows,
            work_of,
            true_groups,
            {row["ID"]: o.reason for row, o in zip(rows, result.outcomes, strict=True)},
        )
    return (
        pairwise(rows, work_of, true_groups),
        by_record(rows, work_of, true_groups),
        work_of,
        elapsed,
    )


def print_errors(
    rows: list[dict[str, str]],
    work_of: dict[str, int | None],
    true_groups: list[list[str]],
    reasons: dict[str, str],
) -> None:
    """The wrongly merged and the missed pairs, for looking at (never for tuning to one case)."""
    by_id = {row["ID"]: row for row in rows}
    true_pairs = {frozenset(p) for g in true_groups for p in combinations(g, 2)}
    clusters: dict[int | None, list[str]] = defaultdict(list)
    for row in rows:
        clusters[work_of[row["ID"]]].append(row["ID"])
    predicted = {frozenset(p) for ids in clusters.values() for p in combinations(ids, 2)}
    for label, pairs in (
        ("FALSE MERGE", predicted - true_pairs),
        ("MISSED", true_pairs - predicted),
    ):
        for pair in sorted(sorted(p) for p in pairs):
            print(f"--- {label}")
            for record_id in pair:
                r = by_id[record_id]
                print(
                    f"    {record_id} [{reasons[record_id]}] {r.get('year')} | "
                    f"{(r.get('author') or '')[:40]} | {r.get('title')} | "
                    f"{r.get('journal') or r.get('booktitle')} {r.get('volume')} {r.get('pages')}"
                )


def pairwise(
    rows: list[dict[str, str]], work_of: dict[str, int | None], true_groups: list[list[str]]
) -> Counts:
    true_pairs = {frozenset(p) for g in true_groups for p in combinations(g, 2)}
    clusters: dict[int | None, list[str]] = defaultdict(list)
    for row in rows:
        clusters[work_of[row["ID"]]].append(row["ID"])
    predicted = {frozenset(p) for ids in clusters.values() for p in combinations(ids, 2)}
    n = len(rows)
    counts = Counts(tp=len(predicted & true_pairs), fp=len(predicted - true_pairs))
    counts.fn = len(true_pairs - predicted)
    counts.tn = n * (n - 1) // 2 - counts.tp - counts.fp - counts.fn
    return counts


def by_record(
    rows: list[dict[str, str]], work_of: dict[str, int | None], true_groups: list[list[str]]
) -> Counts:
    kept: dict[int | None, str] = {}
    for row in rows:  # a cluster keeps its first record, as a reviewer's tool would
        kept.setdefault(work_of[row["ID"]], row["ID"])
    kept_ids = set(kept.values())
    grouped = {i for g in true_groups for i in g}
    counts = Counts()
    for row in rows:
        if row["ID"] not in grouped:
            if row["ID"] in kept_ids:
                counts.tn += 1
            else:
                counts.fp += 1
    for group in true_groups:
        remaining = sum(1 for i in group if i in kept_ids)
        if remaining == 0:
            counts.fp += 1
            counts.tp += len(group) - 1
        else:
            counts.tn += 1
            counts.fn += remaining - 1
            counts.tp += len(group) - remaining
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    parser.add_argument("--show-errors", action="store_true", help="print wrong and missed pairs")
    parser.add_argument(
        "--no-cli", action="store_true", help="skip the harvester import/export run"
    )
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no benchmark data at {args.data_dir}: nothing to measure (pass DATA_DIR)")
        return 0
    folders = sorted(p for p in args.data_dir.iterdir() if (p / "records_pre_merged.csv").is_file())
    if args.dataset:
        folders = [p for p in folders if p.name in args.dataset]
    if not folders:
        print(f"no datasets (records_pre_merged.csv) under {args.data_dir}")
        return 0
    totals = {"internal": (Counts(), Counts()), "cli": (Counts(), Counts())}
    total_n, identical = 0, True
    for folder in folders:
        rows, true_groups = read_dataset(folder)
        pairs, records, work_of, elapsed = evaluate(
            folder, rows, true_groups, show_errors=args.show_errors
        )
        total_n += len(rows)
        n = len(rows)
        print(f"{folder.name} (n={n})")
        results = [("internal", pairs, records, elapsed)]
        if not args.no_cli:
            cli_work_of, cli_elapsed = run_cli(rows, folder.name)
            results.append(
                (
                    "cli",
                    pairwise(rows, cli_work_of, true_groups),
                    by_record(rows, cli_work_of, true_groups),
                    cli_elapsed,
                )
            )
        for path, path_pairs, path_records, seconds in results:
            totals[path][0].add(path_pairs)
            totals[path][1].add(path_records)
            print(f"  {path:8s} {seconds:5.1f} s ({n / seconds:.0f} records/s)")
            print(f"    pairwise  {path_pairs.row()}")
            print(f"    record    {path_records.row()}")
        if not args.no_cli:
            same = same_grouping(rows, work_of, cli_work_of)
            identical = identical and same
            print(f"  internal and cli groupings identical: {'yes' if same else 'NO'}")
    print(f"overall (n={total_n})")
    for path, (path_pairs, path_records) in totals.items():
        if path == "cli" and args.no_cli:
            continue
        print(f"  {path}")
        print(f"    pairwise  {path_pairs.row()}")
        print(f"    record    {path_records.row()}")
    if not args.no_cli:
        print(
            f"  internal and cli groupings identical on every dataset: {'yes' if identical else 'NO'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
