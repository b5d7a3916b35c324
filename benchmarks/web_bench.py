"""Review queue server time with a large queue (issue 11's benchmark).

Usage: python benchmarks/web_bench.py [--url DB_URL] [--count 100000] [--requests 200]

Fills a database (default: a fresh SQLite file in a temporary folder; give a PostgreSQL URL for
PostgreSQL) with ``count`` generated PubMed-style records through the real ingest
(harvester.store.works.ingest_hits), all candidates of one topic, unless the database already holds
that many. To compare runs, fill once into a database and copy it for each run (SQLite: copy
the file; PostgreSQL: CREATE DATABASE ... TEMPLATE ...), since the decisions change it. Then,
in-process through the ASGI app (server time: routing, session, queries and templates, no
network), times ``requests`` requests each of:

- the first queue page (status new, newest first, 25 cards with their details);
- a filtered page (status all, kind article, source pubmed, a found-date window, sort by score);
- a text search (one word, full-text over title, abstract, authors and journal:
  harvester.store.search);
- a decision (accept, a different candidate each time, answered with the card's HTML).

and prints the median and 95th percentile of each in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from harvester.config.settings import load_settings
from harvester.core.models import AbstractSection, Author, Hit, PubDate
from harvester.store import users
from harvester.store.db import Database
from harvester.store.migrate import upgrade
from harvester.store.tables import Candidate
from harvester.store.works import ingest_hits
from harvester.usecases.topics import adopt_folder
from harvester.web.app import create_app

TOPIC = "bench"
EMAIL, PASSWORD = "bench@example.org", "bench password 1"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "da", "fi", "go", "he"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def make_hit(n: int, rng: random.Random, vocabulary: list[str]) -> Hit:
    title = " ".join(rng.choice(vocabulary) for _ in range(10)) + f" study {n}"
    abstract = " ".join(rng.choice(vocabulary) for _ in range(120))
    return Hit(
        source="pubmed",
        source_id=str(10_000_000 + n),
        origin="query:bench",
        title=title.capitalize(),
        pmid=str(10_000_000 + n),
        doi=f"10.5555/bench.{n}",
        authors=[
            Author(family=rng.choice(vocabulary).capitalize(), given="A", initials="A")
            for _ in range(rng.randint(1, 6))
        ],
        journal=f"Journal of {rng.choice(vocabulary).capitalize()}",
        pub_date=PubDate(2000 + n % 25),
        abstract=[AbstractSection(text=abstract)],
    )


def fill(db: Database, count: int) -> None:
    with db.read() as session:
        have = session.scalar(select(func.count()).select_from(Candidate)) or 0
    if have >= count:
        print(f"database already holds {have} candidates")
        maintain(db)  # after an upgrade that built an index, its statistics
        return
    rng = random.Random(11)
    vocabulary = sorted({_word(rng) for _ in range(4000)})
    started = time.perf_counter()
    batch = 1000
    for first in range(have, count, batch):
        hits = [make_hit(n, rng, vocabulary) for n in range(first, min(first + batch, count))]
        with db.write() as session:
            ingest_hits(
                session,
                hits,
                topic=TOPIC,
                run_id=None,
                now=START + dt.timedelta(minutes=first),
            )
        done = min(first + batch, count)
        if done % 10_000 == 0:
            rate = (done - have) / (time.perf_counter() - started)
            print(f"  ingested {done} ({rate:.0f} records/s)", file=sys.stderr)
    with db.write() as session:
        # scores as a ranking model would leave them, so the score sort has values to order
        for cid in session.scalars(select(Candidate.id).where(Candidate.topic == TOPIC)):
            if cid % 3 == 0:
                session.get_one(Candidate, cid).score = (cid * 7919 % 1000) / 1000
    print(f"ingested {count - have} records in {time.perf_counter() - started:.0f} s")
    maintain(db)


def maintain(db: Database) -> None:
    """What autovacuum does to a database in service, done now on a freshly filled one: the
    planner's statistics (the full-text index's among them) and the visibility map."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def timed(label: str, calls: list[float]) -> None:
    ordered = sorted(calls)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    print(
        f"{label:<18} median {statistics.median(ordered) * 1000:7.1f} ms   "
        f"p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="web-bench-"))
    url = args.url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    (folder / "queries").mkdir()
    (folder / "queries" / f"{TOPIC}.toml").write_text(
        '[match]\nphrases = ["study"]\n', encoding="utf-8"
    )
    (folder / "harvester.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    settings = load_settings(folder / "harvester.toml")
    settings.web.secret_key = "benchmark"  # noqa: S105 - a throwaway in-process app
    db = Database(url)
    fill(db, args.count)
    with db.write() as session:
        if not any(u.email == EMAIL for u in users.list_users(session)):
            users.add_user(session, EMAIL, PASSWORD, admin=False, now=START)
    # the topic file applied to the database, as a first start does: its reviewers see it
    adopt_folder(db, folder / "queries", now=START)
    client = TestClient(create_app(settings, db), base_url="http://127.0.0.1")
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf})
    page = client.get(f"/topics/{TOPIC}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    rng = random.Random(11)
    word = sorted({_word(rng) for _ in range(4000)})[1234]  # one word of the generated titles
    with db.read() as session:
        ids = list(
            session.execute(
                select(Candidate.id, Candidate.version)
                .where(Candidate.topic == TOPIC, Candidate.status == "new")
                .order_by(Candidate.id)
                .limit(args.requests)
            )
        )
    urls = {
        "first page": f"/topics/{TOPIC}",
        "filtered page": f"/topics/{TOPIC}?status=all&kind=article&source=pubmed"
        "&from=2024-01-20&to=2024-03-01&sort=score",
        "text search": f"/topics/{TOPIC}?status=all&q={word}",
    }
    print(f"{args.count} candidates on {db.engine.dialect.name}; {args.requests} requests each")
    for label, path in urls.items():
        calls = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            calls.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        timed(label, calls)
    calls = []
    for cid, version in ids:
        started = time.perf_counter()
        response = client.post(
            f"/candidates/{cid}/decide",
            data={
                "csrf": csrf,
                "action": "accept",
                "version": str(version),
                "back": f"/topics/{TOPIC}",
            },
            headers={"X-Requested-With": "fetch"},
        )
        calls.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:300]
    timed("decision", calls)
    db.dispose()


if __name__ == "__main__":
    main()
