"""The Europe PMC source on real recorded answers (the corpus folder's ``europepmc/``): every
record of the real ``core`` and ``lite`` answers parses with its identifiers, and the real core
records served by the local Europe PMC server are harvested page by page into the store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from corpus import corpus_file
from europepmc_server import load_records, serve
from sqlalchemy import func, select

from harvester.config.settings import EuropePMCSettings
from harvester.core.models import Hit
from harvester.sources.europepmc import EuropePMCClient, harvest_europepmc
from harvester.sources.europepmc_record import parse_record, parse_search
from harvester.sources.ratelimit import RateLimiter
from harvester.store.db import Database
from harvester.store.tables import Work, WorkLink
from harvester.store.works import ingest_hits

pytestmark = pytest.mark.corpus

CORE = "europepmc/pyeuropepmc_search_cancer_core.json"
LITE = "europepmc/pyeuropepmc_search_cancer.json"


def _invariants(hit: Hit, record: dict[str, object]) -> None:
    assert hit.source == "europepmc" and hit.source_id == f"{record['source']}:{record['id']}"
    assert hit.title and "<" not in hit.title
    assert hit.pmid == record.get("pmid")
    assert hit.pmcid == record.get("pmcid")
    if record.get("doi"):
        assert hit.doi == str(record["doi"]).lower()
    assert hit.pub_date is not None and 1900 < hit.pub_date.year < 2100
    assert hit.url == f"https://europepmc.org/article/{record['source']}/{record['id']}"


@pytest.mark.parametrize("relative", [CORE, LITE, "europepmc/pyeuropepmc_search_cancer_page2.json"])
def test_every_real_record_parses_with_its_identifiers(relative: str) -> None:
    count, cursor, records = parse_search(corpus_file(relative).read_bytes())
    assert count > 1_000_000 and cursor and records
    for record in records:
        _invariants(parse_record(record), record)


def test_core_records_carry_authors_abstracts_types_and_corrections() -> None:
    records = load_records(corpus_file(CORE))
    hits = [parse_record(r) for r in records]
    with_authors = [h for h, r in zip(hits, records, strict=True) if r.get("authorList")]
    assert all(h.authors for h in with_authors)
    assert any(a.orcid for h in hits for a in h.authors)
    structured = [h for h in hits if len(h.abstract) > 1]
    assert structured and all(s.label for h in structured for s in h.abstract)
    assert not any("<h4>" in s.text for h in hits for s in h.abstract)
    errata = [h for h in hits if "Published Erratum" in h.publication_types]
    assert errata and all(r.type == "ErratumFor" and r.pmid for h in errata for r in h.relations)


def test_an_empty_answer() -> None:
    count, _, records = parse_search(
        corpus_file("europepmc/pyeuropepmc_search_no_results.json").read_bytes()
    )
    assert (count, records) == (0, [])


def test_real_records_are_harvested_page_by_page_into_the_store(db: Database) -> None:
    records = load_records(corpus_file(CORE))
    days = sorted(str(r["firstIndexDate"]) for r in records)
    start, end = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    settings = EuropePMCSettings(page_size=10, backoff_base=0.001)
    with serve(records) as server:
        settings = settings.model_copy(update={"base_url": server.base_url})
        client = EuropePMCClient(settings, limiter=RateLimiter(100, margin=0))
        batches = list(harvest_europepmc(client, "cancer", start, end, origin=None))
        client.close()
        assert len(server.requests) == 3  # 25 records, 10 a page
    assert [len(b.hits) for b in batches] == [10, 10, 5]
    now = dt.datetime(2025, 6, 20, tzinfo=dt.UTC)
    with db.write() as session:
        for batch in batches:
            ingest_hits(session, batch.hits, topic="t", run_id=None, now=now)
    again = [parse_record(r) for r in records]
    with db.write() as session:
        result = ingest_hits(session, again, topic="t", run_id=None, now=now)
    assert result.new_works == 0  # seen again: nothing new
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Work)) == len(records)
        pmids = set(session.scalars(select(Work.pmid)))
        assert {str(r["pmid"]) for r in records} <= pmids
        # the erratum notices stay their own works (their originals are not in the set)
        assert session.scalar(select(func.count()).select_from(WorkLink)) == 0
    assert json.loads(batches[0].hits[0].raw or b"{}")["id"] == records[0]["id"]
