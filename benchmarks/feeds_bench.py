"""Feeds benchmark: one concurrent fetch of many feeds vs the same fetch done serially, and what a
second, unchanged run downloads.

Serves ``--feeds`` recorded fixture feeds (default 200) from ``--hosts`` loopback servers (default
50: feeds are fetched one at a time per host, so one host would serialise everything), each
request answered after ``--latency`` seconds (default 0.2, a realistic round trip plus server
time). Every feed has an ETag and a Last-Modified, so the second run should be all 304s.

    python benchmarks/feeds_bench.py [--feeds 200] [--hosts 50] [--latency 0.2] [--concurrency 8]
                                     [--no-serial]

Loopback only; every loop is bounded by the number of feeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from feed_server import FEEDS, FeedServer, max_overlap  # noqa: E402

from harvester.config import FeedsSettings  # noqa: E402
from harvester.sources.feeds import FeedRequest, FeedResult, fetch_feeds  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-serial", action="store_true", help="skip the serial baseline")
    args = parser.parse_args()

    servers = [FeedServer(latency=args.latency) for _ in range(args.hosts)]
    try:
        requests_ = []
        for n in range(args.feeds):
            name = GOOD_FIXTURES[n % len(GOOD_FIXTURES)]
            url = servers[n % args.hosts].add_fixture(
                f"/feed-{n}.xml",
                name,
                etag=f'"{n}-v1"',
                last_modified="Mon, 06 May 2024 09:00:00 GMT",
                gzip=n % 2 == 0,
            )
            requests_.append(FeedRequest(url=url, name=f"Feed {n}", rules=None))
        total = sum(
            (FEEDS / GOOD_FIXTURES[n % len(GOOD_FIXTURES)]).stat().st_size
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
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    main()
