"""Feeds benchmark: one concurrent fetch of many feeds vs the same fetch done serially, and what a
second, unchanged run downloads.

Serves ``--feeds`` recorded fixture feeds (default 200) from ``--hosts`` loopback servers (default
50: feeds are fetched one at a time per host, so one host would serialise everything), each
request answered after ``--latency`` seconds (default 0.2, a realistic round trip plus server
time). Every feed has an ETag and a Last-Modified, so the second run should be all 304s.

Then a harvest through the store: ``Harvest.run_source("feeds", topic)`` of one topic with ``--store-feeds``
feeds (default 300; 0 skips it) into a fresh SQLite database (or a fresh schema of
``--db-url``), twice. The first run stores every entry (the fixtures repeat, so most entries are
new sightings of works an earlier feed brought); the second finds every feed unchanged. For each
run: the wall time, the part of it spent storing (entries, sightings, feed state: the
harvest's ``_store_feeds``) in wall seconds and in CPU seconds of the storing thread, the CPU
share of the wall time, and entries per CPU second of storing. Storing overlaps the downloads
(feeds keep arriving, and are parsed in the fetching threads, while a group is stored), so its
wall seconds include waits for the other threads; the CPU seconds are its own cost. For
comparison, the same feeds are first fetched and parsed without storing.

    python benchmarks/feeds_bench.py [--feeds 200] [--hosts 50] [--latency 0.2] [--concurrency 8]
                                     [--no-serial] [--store-feeds 300] [--db-url URL]
                                     [--fixtures /work/shared/fixtures/feeds]

Loopback only; every loop is bounded by the number of feeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from feed_server import FeedServer, Route, max_overlap  # noqa: E402

from harvester.config.settings import FeedConfig, FeedsSettings, Settings, Topic, TopicMeta  # noqa: E402
from harvester.sources import Batch  # noqa: E402
from harvester.sources.feeds import FeedRequest, FeedResult, fetch_feeds  # noqa: E402
from harvester.store.db import Database  # noqa: E402
from harvester.store.migrate import upgrade  # noqa: E402
from harvester.usecases.harvest import Harvest  # noqa: E402

#: Recorded feeds (read at run time, never copied into the repository).
DEFAULT_FIXTURES = Path("/work/shared/fixtures/feeds")
GOOD_FIXTURES = [
    "rssparser_guardian.rss",
    "nodefeedparser_wapowellness.xml",
    "feedjira_AtyponRSSFeed_AJPH.xml",
    "feedjira_google_alerts_atom.xml",
    "rssparser_rss-1.rss",
    "rnrssparser_news_gov_scot_leading_newline.xml",
    "nodefeedparser_rss2sample.xml",
    "rssparser_feedburner.atom",
]


def run(requests_: list[FeedRequest], settings: FeedsSettings) -> tuple[float, list[FeedResult]]:
    started = time.perf_counter()
    results = list(fetch_feeds(requests_, settings, now=dt.datetime.now(dt.UTC)))
    return time.perf_counter() - started, results


def describe(label: str, elapsed: float, results: list[FeedResult]) -> None:
    statuses = Counter(r.status for r in results)
    body = sum(r.bytes_received for r in results)
    hits = sum(len(r.hits) for r in results)
    print(f"{label:<34} {elapsed:7.2f} s   {dict(statuses)}   body bytes {body:>10,}   hits {hits}")


def serve_feeds(servers: list[FeedServer], count: int, prefix: str, fixtures: Path) -> list[str]:
    """``count`` fixture feeds (``GOOD_FIXTURES`` in ``fixtures``) spread over ``servers``; their
    URLs."""
    bodies = {}
    for name in GOOD_FIXTURES:
        path = fixtures / name
        if not path.is_file():
            raise SystemExit(f"feeds_bench: fixture feed {path} not found (give --fixtures DIR)")
        bodies[name] = path.read_bytes()
    urls = []
    for n in range(count):
        route = Route(
            body=bodies[GOOD_FIXTURES[n % len(GOOD_FIXTURES)]],
            etag=f'"{prefix}-{n}-v1"',
            last_modified="Mon, 06 May 2024 09:00:00 GMT",
            gzip=n % 2 == 0,
        )
        urls.append(servers[n % len(servers)].add(f"/{prefix}-{n}.xml", route))
    return urls


def store_table(
    servers: list[FeedServer],
    count: int,
    concurrency: int,
    db_url: str | None,
    folder: Path,
    fixtures: Path,
) -> None:
    """Two harvests of ``count`` feeds through the store: wall time and the part spent storing."""
    if db_url is None:
        url = f"sqlite:///{folder / 'feeds.db'}"
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text('DROP SCHEMA IF EXISTS "feeds_bench" CASCADE'))
            conn.execute(text('CREATE SCHEMA "feeds_bench"'))
        engine.dispose()
        url = f"{db_url}{'&' if '?' in db_url else '?'}options=-csearch_path%3Dfeeds_bench"
    upgrade(url)
    urls = serve_feeds(servers, count, "store", fixtures)
    topic = Topic(
        topic=TopicMeta(slug="bench"),
        feeds=[FeedConfig(name=f"Feed {n}", url=u, all=True) for n, u in enumerate(urls)],
    )
    settings = Settings(database={"url": url}, feeds={"concurrency": concurrency, "max_retries": 0})
    db = Database(url)
    requests_ = [FeedRequest(url=u, name=f"Feed {n}", rules=None) for n, u in enumerate(urls)]
    fetch_only, _results = run(requests_, settings.feeds)
    print(f"Harvest of {count} feeds through the store ({'PostgreSQL' if db_url else 'SQLite'})")
    print(f"{'the same feeds fetched, not stored':<34} {fetch_only:7.2f} s")
    print(
        f"{'run':<8} {'wall s':>7} {'storing s':>10} {'CPU s':>6} {'CPU share':>10} "
        f"{'entries':>8} {'entries/CPU s':>14}"
    )
    with Harvest(db, settings) as harvest:
        for run_name in ("first", "second"):
            storing = [0.0, 0.0, 0.0]
            inner: Callable[..., list[str]] = harvest._store_feeds

            def timed(
                topic: Any,
                summary: Any,
                batch: Batch,
                now: Any,
                inner: Any = inner,
                storing: list[float] = storing,
            ) -> list[str]:
                started = time.perf_counter()
                cpu = time.thread_time()
                try:
                    return list(inner(topic, summary, batch, now))
                finally:
                    storing[0] += time.perf_counter() - started
                    storing[1] += time.thread_time() - cpu
                    storing[2] += len(batch.hits)

            harvest._store_feeds = timed  # type: ignore[method-assign]
            started = time.perf_counter()
            summary = harvest.run_source("feeds", topic)
            wall = time.perf_counter() - started
            harvest._store_feeds = inner  # type: ignore[method-assign]
            assert summary is not None
            assert summary.error is None, summary.error
            seconds, cpu, entries = storing
            print(
                f"{run_name:<8} {wall:>7.2f} {seconds:>10.2f} {cpu:>6.2f} {cpu / wall:>10.0%} "
                f"{entries:>8.0f} {entries / cpu if cpu else 0:>14,.0f}"
            )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="recorded feeds")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-serial", action="store_true", help="skip the serial baseline")
    parser.add_argument("--store-feeds", type=int, default=300, help="0: no harvest run")
    parser.add_argument("--db-url", help="a PostgreSQL URL for the store (default: SQLite)")
    args = parser.parse_args()

    servers = [FeedServer(latency=args.latency) for _ in range(args.hosts)]
    try:
        urls = serve_feeds(servers, args.feeds, "feed", args.fixtures)
        requests_ = [FeedRequest(url=u, name=f"Feed {n}", rules=None) for n, u in enumerate(urls)]
        total = sum(
            (args.fixtures / GOOD_FIXTURES[n % len(GOOD_FIXTURES)]).stat().st_size
            for n in range(args.feeds)
        )
        print(
            f"{args.feeds} feeds on {args.hosts} loopback hosts, {args.latency * 1000:.0f} ms per "
            f"request, {total:,} bytes of feeds (half served gzipped)"
        )
        settings = FeedsSettings(concurrency=args.concurrency, max_retries=0)
        elapsed, first = run(requests_, settings)
        describe(f"concurrent (concurrency={args.concurrency})", elapsed, first)
        per_host = max(max_overlap(server.log) for server in servers)
        overall = max_overlap(entry for server in servers for entry in server.log)
        print(f"{'requests at once':<34} at most {per_host} per host, {overall} overall")
        if not args.no_serial:
            serial_elapsed, serial = run(requests_, FeedsSettings(concurrency=1, max_retries=0))
            describe("serial (concurrency=1)", serial_elapsed, serial)
            print(f"{'speed-up':<34} {serial_elapsed / elapsed:7.1f} x")
        second_requests = [
            FeedRequest(
                url=r.request.url,
                name=r.request.name,
                rules=None,
                etag=r.etag,
                last_modified=r.last_modified,
            )
            for r in first
        ]
        elapsed, second = run(second_requests, settings)
        describe("second run, nothing changed", elapsed, second)
        if args.store_feeds:
            print()
            with tempfile.TemporaryDirectory() as folder:
                store_table(
                    servers,
                    args.store_feeds,
                    args.concurrency,
                    args.db_url,
                    Path(folder),
                    args.fixtures,
                )
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    main()
