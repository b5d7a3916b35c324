"""Look-up by DOI on real recorded Crossref answers (the corpus folder's ``crossref/``), served by
the local Crossref server: every single-work answer fills the citation fields, search answers'
items parse, and Crossref's real plain-text 404 is "not found"."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from corpus import CORPUS, corpus_file
from crossref_server import CrossrefServer, bodies, serve

from harvester.config.settings import Settings
from harvester.core.models import WorkKind
from harvester.sources.crossref import parse_work
from harvester.sources.lookup import lookup

pytestmark = pytest.mark.corpus

WORKS = (
    sorted(p.name for p in (CORPUS / "crossref").glob("works_10.*.json")) if CORPUS.is_dir() else []
)


@pytest.fixture(scope="module")
def server() -> Iterator[CrossrefServer]:
    folder = corpus_file("crossref/SOURCES.md").parent
    with serve(bodies(folder.glob("works_10.*.json"))) as running:
        yield running


def _settings(server: CrossrefServer) -> Settings:
    return Settings.model_validate(
        {"crossref": {"base_url": server.base_url, "mailto": "library@example.org"}}
    )


@pytest.mark.parametrize("name", WORKS)
def test_a_real_work_fills_its_citation_fields(name: str, server: CrossrefServer) -> None:
    message = json.loads(corpus_file(f"crossref/{name}").read_bytes())["message"]
    found = lookup(f"doi:{message['DOI']}", _settings(server))
    assert found.found, found.message
    fields = found.fields()
    assert fields["doi"] == message["DOI"].lower()
    assert fields["title"] and "<" not in fields["title"]
    assert fields["authors"] and all(fields["authors"])
    assert fields["journal"] == " ".join(message["container-title"][0].split())
    assert fields["url"] == f"https://doi.org/{message['DOI'].lower()}"
    for key in ("volume", "issue", "page"):
        if key in message:
            assert fields["pages" if key == "page" else key] == message[key]
    # the issue's (print) date first, as a citation gives it; else online, else "issued"
    dated = next(
        (message[k] for k in ("published-print", "published-online", "issued") if k in message),
        message["issued"],
    )
    issued = dated["date-parts"][0]
    if issued and issued[0] is not None:
        assert fields["year"] == issued[0]
    else:
        assert fields["year"] is None  # [[null]]: no date at all, none invented
    if message.get("abstract"):
        assert fields["abstract"] and "jats:" not in fields["abstract"]


def test_crossref_s_plain_text_404_is_not_found(server: CrossrefServer) -> None:
    real_404 = corpus_file("crossref/works_10.1371_notarealdoi_404.txt").read_bytes()
    found = lookup("10.1371/notarealdoi", _settings(server))
    assert not found.found and found.message == "Crossref has no record of DOI 10.1371/notarealdoi"
    assert real_404.strip() == b"Resource not found."  # what the local server answers too


@pytest.mark.parametrize(
    "name", ["works_sample10.json", "works_rows2.json", "works_query_ecology_rows2.json"]
)
def test_every_item_of_real_search_answers_parses(name: str) -> None:
    items = json.loads(corpus_file(f"crossref/{name}").read_bytes())["message"]["items"]
    for item in items:
        hit = parse_work(item)
        assert hit.doi == item["DOI"].lower() and hit.title
        expected = (
            WorkKind.ARTICLE if item["type"] in ("journal-article", "posted-content") else None
        )
        if expected is not None:
            assert hit.kind is expected
        if item["type"] == "posted-content":
            assert "Preprint" in hit.publication_types
