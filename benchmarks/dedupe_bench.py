"""Dedupe accuracy on labelled systematic-review exports (the BibDedupe benchmark data).

Usage: python benchmarks/dedupe_bench.py [DATA_DIR] [--dataset NAME ...]

DATA_DIR (default /work/shared/fixtures/dedupe) holds one folder per dataset with
``records_pre_merged.csv`` (one row per record) and ``merged_record_ids.csv`` (the true duplicate
groups). Each record becomes a Hit and goes through the real ingest (harvester.store.works) into a
fresh SQLite database; the work id each record ended in is the predicted grouping.

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
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from harvester.models import Author, Hit, PubDate
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


def evaluate(folder: Path, *, show_errors: bool = False) -> tuple[Counts, Counts, int, float]:
    with (folder / "records_pre_merged.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as handle:
        true_groups = [r["merged_ids"].split(";") for r in csv.DictReader(handle)]
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
        len(rows),
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
    total_pairs, total_records, total_n, total_time = Counts(), Counts(), 0, 0.0
    for folder in folders:
        pairs, records, n, elapsed = evaluate(folder, show_errors=args.show_errors)
        total_pairs.add(pairs)
        total_records.add(records)
        total_n += n
        total_time += elapsed
        print(f"{folder.name} (n={n}, {elapsed:.1f} s, {n / elapsed:.0f} records/s)")
        print(f"  pairwise  {pairs.row()}")
        print(f"  record    {records.row()}")
    print(f"overall (n={total_n}, {total_time:.1f} s)")
    print(f"  pairwise  {total_pairs.row()}")
    print(f"  record    {total_records.row()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
