"""Retraction watch: an already-published work is flagged by a retraction notice served by the
local E-utilities server (PubMed's CommentsCorrections and publication types), and another by
one served by the local Crossref server (``updated-by`` from the Retraction Watch database);
a failing service never stops the others; the weekly job runs it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from crossref_server import FIXTURES as CROSSREF
from crossref_server import CrossrefServer, bodies
from crossref_server import serve as serve_crossref
from europepmc_server import EuropePMCServer
from europepmc_server import serve as serve_europepmc
from eutils_server import FIXTURES as PUBMED
from eutils_server import Corpus, EutilsServer
from eutils_server import serve as serve_eutils

from harvester.config.settings import Settings
from harvester.core.models import CandidateStatus, Hit
from harvester.core.retraction import notices
from harvester.sources.crossref import CrossrefClient, parse_work
from harvester.sources.europepmc import EuropePMCClient
from harvester.sources.pubmed import EutilsClient
from harvester.sources.pubmed_xml import parse_pubmed_xml
from harvester.sources.ratelimit import RateLimiter
from harvester.store.db import Database
from harvester.store.notices import notices_for, notices_since
from harvester.store.works import ingest_hits
from harvester.usecases.retraction import watch

EDGE_CASES = PUBMED / "pubmed21n1298_edge_cases.xml"
RETRACTED_PMID = "27602157"  # PubMed: RetractionIn and "Retracted Publication"
RETRACTED_DOI = "10.9999/hw.retracted.2021.1"  # Crossref: updated-by a Retraction Watch notice
NOW = dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC)


def as_published_before(hit: Hit) -> Hit:
    """The record as it was when the bulletin carried it: no notice yet."""
    types = [t for t in hit.publication_types if t != "Retracted Publication"]
    return dataclasses.replace(hit, relations=[], publication_types=types, raw=None)


@pytest.fixture
def servers() -> Iterator[tuple[EutilsServer, CrossrefServer, EuropePMCServer]]:
    with (
        serve_eutils(Corpus.from_files(EDGE_CASES)) as eutils,
        serve_crossref(bodies(CROSSREF.glob("handwritten_*.json"))) as crossref,
        serve_europepmc([], match=lambda _q, _r: False) as europepmc,
    ):
        yield eutils, crossref, europepmc


@pytest.fixture
def published(db: Database) -> dict[str, int]:
    """Two works published in a bulletin of topic ``t`` and one still new (not watched)."""
    pubmed_hit = next(
        h for h in parse_pubmed_xml(EDGE_CASES.read_bytes()) if h.pmid == RETRACTED_PMID
    )
    saved = json.loads((CROSSREF / "handwritten_retracted_work.json").read_bytes())
    crossref_hit = parse_work(saved["message"])
    other = next(h for h in parse_pubmed_xml(EDGE_CASES.read_bytes()) if h.pmid == "33104149")
    ids = {}
    with db.write() as session:
        for key, hit, status in (
            ("pubmed", as_published_before(pubmed_hit), CandidateStatus.PUBLISHED),
            ("crossref", as_published_before(crossref_hit), CandidateStatus.PUBLISHED),
            ("new", as_published_before(other), CandidateStatus.NEW),
        ):
            result = ingest_hits(session, [hit], topic="t", run_id=None, now=NOW, status=status)
            ids[key] = result.outcomes[0].work_id
    return ids


def clients(
    settings: Settings, eutils: EutilsServer, crossref: CrossrefServer, europepmc: EuropePMCServer
) -> dict[str, object]:
    return {
        "pubmed": EutilsClient(
            settings.pubmed.model_copy(update={"base_url": eutils.base_url}),
            limiter=RateLimiter(100, margin=0),
        ),
        "crossref": CrossrefClient(
            settings.crossref.model_copy(
                update={"base_url": crossref.base_url, "mailto": "library@example.org"}
            )
        ),
        "europepmc": EuropePMCClient(
            settings.europepmc.model_copy(
                update={"base_url": europepmc.base_url, "max_retries": 0, "backoff_base": 0.001}
            ),
            limiter=RateLimiter(100, margin=0),
        ),
    }


def test_notices_served_by_pubmed_and_crossref_flag_published_works(
    db: Database,
    settings: Settings,
    servers: tuple[EutilsServer, CrossrefServer, EuropePMCServer],
    published: dict[str, int],
) -> None:
    eutils, crossref, europepmc = servers
    report = watch(db, settings, now=NOW, **clients(settings, *servers))  # type: ignore[arg-type]
    assert report.errors == [] and report.checked == 2
    assert (report.flagged, report.notices) >= (2, 2)
    with db.read() as session:
        found = notices_for(session, [published["pubmed"], published["crossref"], published["new"]])
    pubmed_notices = found[published["pubmed"]]
    assert {(n.kind, n.service) for n in pubmed_notices} == {("retracted", "PubMed")}
    assert any("Oncol Lett" in n.ref or "PMID" in n.ref for n in pubmed_notices)
    [crossref_notice] = found[published["crossref"]]
    assert (crossref_notice.kind, crossref_notice.service) == ("retracted", "Crossref")
    assert "10.9999/hw.retraction.2024.7" in crossref_notice.ref
    assert "retraction-watch" in crossref_notice.ref
    assert published["new"] not in found  # only accepted and published works are watched
    # what each service was asked
    assert eutils.requests[-1].params["id"] == RETRACTED_PMID
    assert sorted(r.path for r in crossref.requests) == [
        "/works/10.3892/ol.2016.4904",
        f"/works/{RETRACTED_DOI}",
    ]
    assert "EXT_ID:27602157" in europepmc.requests[0].params["query"]

    again = watch(db, settings, now=NOW + dt.timedelta(days=7), **clients(settings, *servers))  # type: ignore[arg-type]
    assert (again.flagged, again.notices) == (0, 0)  # a notice is recorded once
    with db.read() as session:
        week = notices_since(session, topic="t", since=NOW - dt.timedelta(days=1))
    assert {n.line().split(":")[0] for n in week} == {"Retracted"}


def test_a_failing_service_never_stops_the_others(
    db: Database,
    settings: Settings,
    servers: tuple[EutilsServer, CrossrefServer, EuropePMCServer],
    published: dict[str, int],
) -> None:
    eutils, crossref, europepmc = servers
    europepmc.inject("503")
    crossref.inject("503", "503", "503", "503")
    made = clients(settings, *servers)
    made["crossref"] = CrossrefClient(
        settings.crossref.model_copy(
            update={"base_url": crossref.base_url, "max_retries": 1, "backoff_base": 0.001}
        )
    )
    report = watch(db, settings, now=NOW, **made)  # type: ignore[arg-type]
    assert [e.split(":")[0] for e in report.errors] == ["Europe PMC", "Crossref"]
    assert report.flagged == 1  # PubMed's notice still counts
    with db.read() as session:
        assert list(notices_for(session, [published["pubmed"], published["crossref"]])) == [
            published["pubmed"]
        ]


def test_the_rule_reads_relations_and_publication_types() -> None:
    hit = Hit(source="x", source_id="1", title="t", publication_types=["Retracted Publication"])
    assert [(n.kind, n.ref) for n in notices(hit, "PubMed")] == [("retracted", "")]
    assert notices(Hit(source="x", source_id="2", title="t"), "PubMed") == []


def test_the_job_is_scheduled_weekly(settings: Settings, tmp_path: Path) -> None:
    from harvester.service.schedule import RETRACTION_JOB, wanted_jobs

    [job] = [j for j in wanted_jobs([], settings) if j.id == RETRACTION_JOB]
    assert job.expression == settings.retractions.schedule


def test_a_flagged_work_is_marked_on_its_card_the_bulletins_and_in_the_digest(
    db: Database,
    tmp_path: Path,
    servers: tuple[EutilsServer, CrossrefServer, EuropePMCServer],
) -> None:
    from fastapi.testclient import TestClient
    from test_web import login
    from websupport import ADMIN, TOPIC, build, seed

    from harvester.config.settings import load_topic
    from harvester.usecases.bulletin import workflow
    from harvester.usecases.digest_send import gather

    seed(db)
    app = build(tmp_path, db)
    settings = app.state.context.settings
    topic = load_topic(settings.queries_dir / f"{TOPIC}.toml")
    saved = json.loads((CROSSREF / "handwritten_retracted_work.json").read_bytes())
    with db.write() as session:
        ingest_hits(
            session,
            [as_published_before(parse_work(saved["message"]))],
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.ACCEPTED,
        )
    workflow.draft(db, topic, now=NOW)
    workflow.publish(db, topic, now=NOW)  # a published bulletin carries it
    report = watch(db, settings, now=dt.datetime.now(dt.UTC), **clients(settings, *servers))  # type: ignore[arg-type]
    assert report.flagged == 1

    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    login(client, ADMIN)
    card = client.get(f"/topics/{TOPIC}?status=published").text
    assert (
        "<strong>Retracted</strong> (Crossref: Retraction: doi:10.9999/hw.retraction.2024.7" in card
    )
    page = client.get(f"/topics/{TOPIC}/bulletin").text
    assert "Retracted: Link workers and loneliness in older adults" in page

    data = gather(db, settings, topic, "2030-W01", now=dt.datetime.now(dt.UTC))
    assert [line.split(" (")[0] for line in data.notices] == [
        "Retracted: Link workers and loneliness in older adults: a randomised trial"
    ]
    from harvester.core.digest import Envelope
    from harvester.mail.digest import compose

    message = compose(
        data,
        Envelope(sender="h@example.org", recipients=("r@example.org",)),
        now=dt.datetime.now(dt.UTC),
    )
    text = message.get_body(("plain",))
    assert text is not None and "Notices about accepted or published items" in text.get_content()

    # an accepted item in the next draft is marked there too
    pubmed_hit = next(
        h for h in parse_pubmed_xml(EDGE_CASES.read_bytes()) if h.pmid == RETRACTED_PMID
    )
    with db.write() as session:
        ingest_hits(
            session,
            [as_published_before(pubmed_hit)],
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.ACCEPTED,
        )
    workflow.draft(db, topic, now=NOW)
    watch(db, settings, now=dt.datetime.now(dt.UTC), **clients(settings, *servers))  # type: ignore[arg-type]
    draft = client.get(f"/topics/{TOPIC}/bulletin").text
    entry = draft.split('class="entry-list"', 1)[1].split("</ol>", 1)[0]
    assert "<strong>Retracted</strong> (PubMed" in entry


def test_a_notice_served_by_europe_pmc_flags_a_published_work(
    db: Database, settings: Settings, published: dict[str, int]
) -> None:
    record = {
        "id": RETRACTED_PMID,
        "source": "MED",
        "pmid": RETRACTED_PMID,
        "title": "Written for this suite: the retracted article as Europe PMC has it",
        "pubTypeList": {"pubType": ["Journal Article", "Retracted Publication"]},
        "commentCorrectionList": {
            "commentCorrection": [
                {
                    "id": "99000401",
                    "source": "MED",
                    "reference": "Written Journal. 2024;1:1.",
                    "type": "Retraction in",
                    "orderIn": 1,
                }
            ]
        },
        "firstIndexDate": "2016-09-08",
        "pubYear": "2016",
    }
    with (
        serve_europepmc(
            [record], match=lambda q, r: re.search(rf"EXT_ID:{r['pmid']}\b", q) is not None
        ) as europepmc,
        serve_eutils(Corpus.from_files(PUBMED / "handwritten_empty_result.xml")) as eutils,
        serve_crossref({}) as crossref,
    ):
        report = watch(db, settings, now=NOW, **clients(settings, eutils, crossref, europepmc))  # type: ignore[arg-type]
    assert report.errors == [] and report.flagged == 1
    with db.read() as session:
        [notice] = notices_for(session, [published["pubmed"]])[published["pubmed"]]
    assert (notice.kind, notice.service) == ("retracted", "Europe PMC")
    assert notice.ref == "Written Journal. 2024;1:1. (PMID 99000401)"
