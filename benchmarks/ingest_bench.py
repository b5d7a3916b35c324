"""Ingest figures: import throughput at two sizes, a PubMed backfill through the store, bytes per work.

Usage: python benchmarks/ingest_bench.py [--import-sizes 10000 100000] [--pubmed 25000]
                                         [--batch 200 500] [--rate 3] [--db-url URL]
                                         [--skip-import] [--skip-pubmed]

1. **Import**: a RIS file of n records written for the benchmark (varied titles, authors, DOIs on
   most, one record in ten a repeat or a near-duplicate of an earlier one) imported into a fresh
   database; records/s at each size and the ratio of the largest to the smallest time (per
   record, linear would be 1x; the target for 10x the records is at most 12x the time). Each size
   runs in its own process, whose peak resident memory is printed.
2. **PubMed backfill**: ``Harvest.run_source("pubmed")`` over a synthetic window served by the local
   E-utilities server (tests/eutils_server.py, real PubMed XML records cloned with new PMIDs) in
   a child process. CPU seconds of this process per 1,000 records (parse + dedupe + store) with
   an unlimited rate, then the wall time at ``--rate`` requests/s against that rate limit's floor
   (requests / rate).
3. **Bytes per work** of the SQLite file after the backfill.

Loopback only. With ``--db-url`` (PostgreSQL) every step uses a fresh schema in that database
instead of a SQLite file, and bytes per work is the database's size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.synchronize
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from eutils_server import FIXTURES, Corpus, serve  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from harvester.config.settings import PubMedQuery, Settings, Topic, TopicMeta  # noqa: E402
from harvester.core.models import CandidateStatus  # noqa: E402
from harvester.sources.pubmed import EutilsClient, PubMedSource  # noqa: E402
from harvester.sources.ratelimit import RateLimiter  # noqa: E402
from harvester.store.db import Database  # noqa: E402
from harvester.store.migrate import upgrade  # noqa: E402
from harvester.store.tables import Work  # noqa: E402
from harvester.usecases.harvest import Harvest  # noqa: E402

START = dt.date(2020, 1, 1)
END = dt.date(2020, 12, 31)
WORDS = [
    "social",
    "prescribing",
    "loneliness",
    "older",
    "adults",
    "community",
    "link",
    "worker",
    "primary",
    "care",
    "wellbeing",
    "mental",
    "health",
    "intervention",
    "randomised",
    "trial",
    "cohort",
    "qualitative",
    "evaluation",
    "outcomes",
    "cost",
    "effectiveness",
    "isolation",
    "depression",
    "anxiety",
    "physical",
    "activity",
    "green",
    "exercise",
    "arts",
    "health",
    "volunteering",
    "referral",
    "pathway",
    "general",
    "practice",
    "patients",
    "service",
    "users",
    "feasibility",
    "pilot",
    "systematic",
    "review",
    "meta",
    "analysis",
    "implementation",
    "barriers",
    "facilitators",
    "rural",
    "urban",
]
FAMILIES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
]


# ------------------------------------------------------------------------------------ import


def write_ris(path: Path, n: int, seed: int = 8) -> None:
    """``n`` RIS records; one in ten repeats or nearly repeats an earlier one."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    with path.open("w", encoding="utf-8") as out:
        for index in range(n):
            if records and rng.random() < 0.1:
                record = dict(records[rng.randrange(len(records))])
                if rng.random() < 0.5:  # a near-duplicate: another database's casing
                    record["title"] = str(record["title"]).upper()
                    record["doi"] = None
            else:
                words = rng.sample(WORDS, 9)
                record = {
                    "title": f"{' '.join(words).capitalize()} {index}",
                    "authors": [
                        f"{rng.choice(FAMILIES)}, {chr(65 + rng.randrange(26))}"
                        for _ in range(rng.randint(1, 6))
                    ],
                    "journal": f"Journal of {rng.choice(WORDS).capitalize()} Studies",
                    "year": rng.randint(2000, 2024),
                    "volume": str(rng.randint(1, 80)),
                    "pages": f"{(p := rng.randint(1, 900))}-{p + rng.randint(1, 20)}",
                    "doi": f"10.{rng.randint(1000, 9999)}/bench.{index}" if index % 5 else None,
                    "abstract": " ".join(rng.choices(WORDS, k=120)),
                }
                records.append(record)
            out.write("TY  - JOUR\n")
            out.write(f"TI  - {record['title']}\n")
            for author in record["authors"]:  # type: ignore[attr-defined]
                out.write(f"AU  - {author}\n")
            out.write(f"T2  - {record['journal']}\nPY  - {record['year']}///\n")
            out.write(f"VL  - {record['volume']}\n")
            first, last = str(record["pages"]).split("-")
            out.write(f"SP  - {first}\nEP  - {last}\n")
            if record["doi"]:
                out.write(f"DO  - {record['doi']}\n")
            out.write(f"AB  - {record['abstract']}\nER  - \n\n")


def fresh_database(db_url: str | None, folder: Path, name: str) -> str:
    if db_url is None:
        url = f"sqlite:///{folder / name}.db"
    else:
        engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
        sep = "&" if "?" in db_url else "?"
        url = f"{db_url}{sep}options=-csearch_path%3D{name}"
    upgrade(url)
    return url


def _import_child(
    url: str, path: str, queue: multiprocessing.Queue[tuple[float, float, str]]
) -> None:
    from harvester.usecases.importing import import_file

    db = Database(url)
    started = time.perf_counter()
    cpu = time.process_time()
    summary = import_file(
        db, path, topic="bench", status=CandidateStatus.NEW, now=dt.datetime.now(dt.UTC)
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    db.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, rss, f"{summary.line()} [cpu {cpu:.1f} s]"))


def import_table(sizes: list[int], db_url: str | None, folder: Path) -> None:
    print("1. Import (RIS, fresh database, one process per size)")
    print(f"{'records':>8} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12}")
    context = multiprocessing.get_context("spawn")
    times: dict[int, float] = {}
    urls: dict[int, str] = {}
    lines = []
    for n in sizes:
        path = folder / f"import-{n}.ris"
        write_ris(path, n)
        url = fresh_database(db_url, folder, f"import_{n}")
        urls[n] = url
        queue: multiprocessing.Queue[tuple[float, float, str]] = context.Queue()
        child = context.Process(target=_import_child, args=(url, str(path), queue))
        child.start()
        elapsed, rss, line = queue.get()
        child.join()
        times[n] = elapsed
        lines.append(line)
        print(f"{n:>8} {elapsed:>8.1f} {n / elapsed:>10,.0f} {rss:>12.0f}")
    for line in lines:
        print(f"   {line}")
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(
            f"time ratio {large}/{small}: {times[large] / times[small]:.1f}x for "
            f"{large / small:.0f}x the records (target: at most {large / small:.0f}x)"
        )
    # the largest file again, under another name, into the same database: nothing new
    n = max(sizes)
    again = folder / f"again-{n}.ris"
    again.write_bytes((folder / f"import-{n}.ris").read_bytes())
    url = urls[n]
    queue2: multiprocessing.Queue[tuple[float, float, str]] = context.Queue()
    child = context.Process(target=_import_child, args=(url, str(again), queue2))
    child.start()
    elapsed, _rss, line = queue2.get()
    child.join()
    print(f"the {n:,} records again under another name: {elapsed:.1f} s")
    print(f"   {line}")
    print()


# ------------------------------------------------------------------------------------ pubmed


def _serve_in_child(
    n: int, port_queue: multiprocessing.Queue[str], stop: multiprocessing.synchronize.Event
) -> None:
    base = Corpus.from_files(
        *(
            p
            for p in sorted(FIXTURES.glob("*.xml"))
            if p.name != "biopython_efetch_pmc.xml" and b"<PubmedArticle>" in p.read_bytes()
        )
    )
    corpus = Corpus.synthetic(base, n, start=START, days=(END - START).days + 1)
    with serve(corpus) as server:
        port_queue.put(server.base_url)
        stop.wait()


def backfill(base_url: str, url: str, batch: int, rate: int) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, records fetched, requests) of one backfill."""
    settings = Settings(
        database={"url": url},
        pubmed={"base_url": base_url, "batch_size": batch, "read_timeout": 60.0},
    )
    topic = Topic(topic=TopicMeta(slug="bench"), pubmed=PubMedQuery(query="q"))
    db = Database(url)
    client = EutilsClient(settings.pubmed, limiter=RateLimiter(rate))
    with Harvest(
        db, settings, sources={"pubmed": PubMedSource(settings, client=client)}
    ) as harvest:
        started = time.perf_counter()
        cpu = time.process_time()
        summary = harvest.run_source("pubmed", topic, since=START, until=END)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - started
    db.dispose()
    assert summary is not None and summary.error is None, summary
    return wall, cpu, summary.fetched, summary.requests


def database_bytes(url: str, db_url: str | None, schema: str) -> tuple[int, int]:
    db = Database(url)
    with db.read() as session:
        works = session.scalar(select(func.count()).select_from(Work)) or 0
    if db_url is None:
        db.dispose()
        path = str(url).removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = os.path.getsize(path)
    else:
        with db.read() as session:
            size = session.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(quote_ident(schemaname) || '.' || "
                    "quote_ident(tablename))) FROM pg_tables WHERE schemaname = :s"
                ),
                {"s": schema},
            )
    db.dispose()
    return int(size or 0), works


def pubmed_table(n: int, batches: list[int], rate: int, db_url: str | None, folder: Path) -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    stop = context.Event()
    child = context.Process(target=_serve_in_child, args=(n, queue, stop), daemon=True)
    child.start()
    try:
        base_url = queue.get(timeout=120)
        print(f"2. PubMed backfill of {n} records through the store (server in a child process)")
        print(
            f"{'batch':>6} {'rate/s':>7} {'records':>8} {'requests':>9} {'wall s':>7} "
            f"{'CPU s':>6} {'CPU s/1k':>9} {'floor s':>8} {'bytes/work':>11}"
        )
        for batch in batches:
            for limit in (100_000, rate):
                schema = f"pubmed_{batch}_{limit}"
                url = fresh_database(db_url, folder, schema)
                wall, cpu, fetched, requests = backfill(base_url, url, batch, limit)
                floor = requests / limit
                size, works = database_bytes(url, db_url, schema)
                rate_label = "none" if limit == 100_000 else str(limit)
                print(
                    f"{batch:>6} {rate_label:>7} {fetched:>8} {requests:>9} {wall:>7.1f} "
                    f"{cpu:>6.1f} {cpu * 1000 / max(fetched, 1):>9.2f} "
                    f"{floor if limit != 100_000 else 0:>8.1f} {size / max(works, 1):>11,.0f}"
                )
    finally:
        stop.set()
        child.join(timeout=10)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--import-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pubmed", type=int, default=25_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--rate", type=int, default=3, help="requests/s for the wall-time run")
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-pubmed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_import:
            import_table(args.import_sizes, args.db_url, Path(folder))
        if not args.skip_pubmed:
            pubmed_table(args.pubmed, args.batch, args.rate, args.db_url, Path(folder))


if __name__ == "__main__":
    main()
