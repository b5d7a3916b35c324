"""Look-up by identifier: a PMID against the local E-utilities server, a DOI against the local
Crossref server (the suite's written works), a web address against a local web server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from crossref_server import FIXTURES as CROSSREF
from crossref_server import CrossrefServer, bodies
from crossref_server import serve as serve_crossref
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer
from eutils_server import serve as serve_eutils
from feed_server import FeedServer, Route

from harvester.config.settings import Settings
from harvester.core.models import DatePrecision, WorkKind
from harvester.sources.lookup import UnknownIdentifier, classify, lookup

PAGE = b"""<!doctype html><html><head>
<title>Ignored when og:title is given | Example News</title>
<meta property="og:title" content="Social prescribing referrals triple in three years">
<meta name="description" content="Link workers now see &lt;b&gt;three times&lt;/b&gt; as many people.">
<meta property="og:site_name" content="Example Evening News">
<meta property="article:published_time" content="2024-12-17T08:30:00Z">
<script>alert(1)</script></head><body><p>Text</p></body></html>"""


@pytest.fixture(scope="module")
def eutils() -> Iterator[EutilsServer]:
    with serve_eutils(Corpus.from_files(TOPIC_SUBSET)) as server:
        yield server


@pytest.fixture
def crossref() -> Iterator[CrossrefServer]:
    with serve_crossref(bodies(CROSSREF.glob("handwritten_*.json"))) as server:
        yield server


@pytest.fixture
def settings(eutils: EutilsServer, crossref: CrossrefServer) -> Settings:
    return Settings.model_validate(
        {
            "pubmed": {"base_url": eutils.base_url, "email": "library@example.org"},
            "crossref": {
                "base_url": crossref.base_url,
                "mailto": "library@example.org",
                "backoff_base": 0.001,
            },
            "feeds": {"max_retries": 0, "connect_timeout": 1, "read_timeout": 1},
        }
    )


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("33274697", "pmid", "33274697"),
        ("PMID: 33274697", "pmid", "33274697"),
        ("https://pubmed.ncbi.nlm.nih.gov/33274697/", "pmid", "33274697"),
        ("10.1080/07347332.2020.1853653", "doi", "10.1080/07347332.2020.1853653"),
        ("doi:10.1136/BMJ.N71", "doi", "10.1136/bmj.n71"),
        ("https://doi.org/10.1136/bmj.n71", "doi", "10.1136/bmj.n71"),
        ("https://www.bbc.co.uk/news/health-1", "url", "https://www.bbc.co.uk/news/health-1"),
    ],
)
def test_what_was_typed_is_recognised(typed: str, kind: str, value: str) -> None:
    assert classify(typed) == (kind, value)


@pytest.mark.parametrize("typed", ["", "social prescribing", "10.", "ftp://example.org/x"])
def test_anything_else_is_refused_saying_what_is_expected(typed: str) -> None:
    with pytest.raises(UnknownIdentifier, match="is not a PMID, a DOI or a web address"):
        classify(typed)


def test_a_pmid_fills_every_citation_field_from_pubmed(
    settings: Settings, eutils: EutilsServer
) -> None:
    found = lookup("PMID 33274697", settings)
    assert found.found and found.kind == "pmid" and found.hit.source == "pubmed"
    fields = found.fields()
    assert fields["title"] == "Loneliness and depression in patients with cancer during COVID-19."
    assert fields["authors"][:3] == ["Gallagher S", "Bennett KM", "Roper L"]
    assert fields["journal"] and fields["volume"] and fields["pages"] and fields["year"]
    assert fields["doi"] == "10.1080/07347332.2020.1853653" and fields["pmid"] == "33274697"
    assert fields["abstract"] and fields["kind"] == "article"
    request = eutils.requests[-1]
    assert request.endpoint == "efetch" and request.params["id"] == "33274697"
    assert request.params["email"] == "library@example.org" and request.params["tool"]


def test_a_pmid_pubmed_does_not_have(settings: Settings) -> None:
    found = lookup("99999999", settings)
    assert not found.found and found.message == "PubMed has no record 99999999"
    assert found.fields()["pmid"] == "99999999" and found.fields()["title"] == ""


def test_a_doi_fills_every_citation_field_from_crossref(
    settings: Settings, crossref: CrossrefServer
) -> None:
    crossref.inject("429")
    found = lookup("https://doi.org/10.9999/HW.RETRACTED.2021.1", settings)
    assert found.found and found.hit.source == "crossref"
    hit = found.hit
    assert hit.title == "Link workers and loneliness in older adults: a randomised trial"
    assert [(a.family, a.given, a.initials) for a in hit.authors] == [
        ("Raman", "Priya", "P"),
        ("Ellis", "Tom", "T"),
    ]
    assert hit.authors[0].orcid == "0000-0002-1825-0097"
    assert (hit.journal, hit.journal_iso) == ("Written Journal of Primary Care", "Writ J Prim Care")
    assert (hit.volume, hit.issue, hit.pages) == ("12", "4", "201-210")
    assert hit.pub_date is not None and hit.pub_date.precision is DatePrecision.MONTH
    assert [(s.label, s.text) for s in hit.abstract] == [
        ("Background", "Written for this suite."),
        ("Results", "No effect."),
    ]
    assert hit.publication_types == ["Journal Article"]
    [relation] = hit.relations
    assert relation.type == "RetractionIn" and relation.doi == "10.9999/hw.retraction.2024.7"
    assert len(crossref.requests) == 2  # the 429 was retried
    request = crossref.requests[-1]
    assert request.path == "/works/10.9999/hw.retracted.2021.1"
    assert request.params == {"mailto": "library@example.org"}
    assert "mailto:library@example.org" in request.headers["User-Agent"]


def test_a_doi_crossref_does_not_have(settings: Settings) -> None:
    found = lookup("10.9999/nothing.here", settings)
    assert not found.found and found.message == "Crossref has no record of DOI 10.9999/nothing.here"
    assert found.fields()["doi"] == "10.9999/nothing.here"


def test_a_web_address_becomes_a_news_item_with_the_page_metadata(settings: Settings) -> None:
    with FeedServer() as web:
        url = web.add("/story", Route(body=PAGE, content_type="text/html; charset=utf-8"))
        found = lookup(url, settings, allow_private_hosts=True)
    assert found.found and found.hit.kind is WorkKind.NEWS
    fields = found.fields()
    assert fields["title"] == "Social prescribing referrals triple in three years"
    assert fields["summary"] == "Link workers now see three times as many people."
    assert fields["source_name"] == "Example Evening News"
    assert fields["published_at"] == "2024-12-17T08:30:00+00:00"
    assert fields["url"] == url
    assert "<" not in (found.hit.summary_html or "")  # markup in the description is dropped


def test_a_page_without_og_tags_gives_its_title(settings: Settings) -> None:
    page = b"<html><head><title> Plain  page </title></head><body></body></html>"
    with FeedServer() as web:
        url = web.add("/plain", Route(body=page, content_type="text/html"))
        found = lookup(url, settings, allow_private_hosts=True)
    assert found.fields()["title"] == "Plain page"
    assert found.fields()["source_name"] == "127.0.0.1"


def test_an_unreachable_page_is_kept_as_a_news_item_with_its_address(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/gone"
    found = lookup(url, settings, allow_private_hosts=True)
    assert not found.found and found.hit.url == url and found.hit.kind is WorkKind.NEWS
    assert found.message is not None and "connection refused" in found.message


def test_the_server_s_own_network_is_not_fetched_unless_allowed(settings: Settings) -> None:
    with FeedServer() as web:
        url = web.add("/story", Route(body=PAGE, content_type="text/html"))
        found = lookup(url, settings)
        assert web.requests_for("/story") == []
    assert not found.found and found.message == "127.0.0.1 is not a public address"
    assert found.hit.url == url
