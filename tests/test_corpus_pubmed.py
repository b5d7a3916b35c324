"""PubMed and import parsing on real recorded data (the corpus folder's ``pubmed/`` and
``crossref/``): every efetch body the suite used to carry against its expectation in
``corpus_expected/pubmed/``, the record invariants, and the hand-checked real cases (GeneReviews
book and chapter, an empty efetch answer, a PMC document, NCBI's esearch bodies, MEDLINE and
Crossref CSL-JSON imports).

``UPDATE_GOLDEN=1 pytest tests/test_corpus_pubmed.py`` rewrites ``corpus_expected/pubmed/``.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from corpus import corpus_file, covered, expectation
from golden_files import check_json
from test_sources_pubmed_xml import assert_invariants, by_pmid, golden, parse_file

from harvester.core.errors import ParseError
from harvester.core.models import WorkKind
from harvester.sources.importers import read_records
from harvester.sources.pubmed import parse_esearch

pytestmark = pytest.mark.corpus

EFETCH = covered("pubmed/efetch")


@pytest.mark.parametrize("relative", EFETCH)
def test_efetch_body_matches_the_expectations(relative: str) -> None:
    path = corpus_file(relative)
    actual = golden(path.name, path.parent)
    check_json(expectation(relative), actual, indent=1)


@pytest.mark.parametrize("relative", EFETCH)
def test_invariants_hold_for_every_real_record(relative: str) -> None:
    path = corpus_file(relative)
    assert_invariants(parse_file(path.name, path.parent))


def test_the_edge_case_index_names_records_that_are_there() -> None:
    index = corpus_file("pubmed/efetch/edge_cases_index.tsv")
    files = {
        "pubmed21n1298.xml.gz": "pubmed21n1298_edge_cases.xml",
        "pubmed20n0014.xml.gz": "pubmed20n0014_edge_cases.xml",
    }
    with index.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert rows
    parsed = {
        name: {hit.source_id for hit in parse_file(name, index.parent)} for name in files.values()
    }
    for row in rows:
        assert row["pmid"] in parsed[files[row["source_file"]]], row


def test_book_chapters_and_whole_books() -> None:
    folder = corpus_file("pubmed/efetch/metapub/sample_article_20301577.xml").parent
    chapter = by_pmid("sample_article_20301577.xml", folder)["20301577"]
    assert chapter.kind is WorkKind.OTHER
    assert chapter.title == "CACNA1C-Related Disorders"
    assert chapter.journal == chapter.source_name == "GeneReviews®"
    assert [a.family for a in chapter.authors] == ["Napolitano", "Priori"]  # not the editors
    assert chapter.pub_date is not None and chapter.pub_date.iso() == "2006-02-15"
    assert chapter.abstract[0].label == "CLINICAL CHARACTERISTICS"
    assert chapter.pmcid is None  # the PMC ids in its ReferenceList are not its own
    path = corpus_file("pubmed/efetch/ncbi_eutilsjson_efetch.pubmedbook.xml")
    book = by_pmid(path.name, path.parent)["20301295"]
    assert (book.kind, book.title, book.journal) == (WorkKind.OTHER, "GeneReviews™", None)
    assert book.authors == []
    assert book.entrez_date == dt.date(2010, 3, 20)


def test_an_empty_result_set_yields_nothing() -> None:
    path = corpus_file("pubmed/efetch/metapub/37909814.xml")
    assert parse_file(path.name, path.parent) == []


def test_a_pmc_document_is_refused_by_name() -> None:
    path = corpus_file("pubmed/efetch/biopython_efetch_pmc.xml")
    with pytest.raises(ParseError, match=r"biopython_efetch_pmc.xml: not a PubmedArticleSet"):
        parse_file(path.name, path.parent)


def test_esearch_bodies_from_ncbi() -> None:
    history = parse_esearch(corpus_file("pubmed/esearch/biopython_esearch2.xml").read_bytes())
    assert (history.count, history.query_key) == (42249, "1")
    assert history.webenv.startswith("MCID_")
    empty = parse_esearch(corpus_file("pubmed/esearch/biopython_esearch8.xml").read_bytes())
    assert empty.count == 0
    assert empty.warnings == ["PhraseNotFound: abcXYZ", "OutputMessage: No items found."]
    bad = corpus_file("pubmed/esearch/ncbi_eutilsjson_esearch.baderror.xml")
    with pytest.raises(ParseError, match="Invalid db name specified: fleegle"):
        parse_esearch(bad.read_bytes())


def test_medline_exports() -> None:
    hits = list(read_records(corpus_file("pubmed/medline/biopython_pubmed_result2.nbib")))
    assert [h.pmid for h in hits] == ["16403221", "16377612", "14871861", "14630660"]
    first = hits[0]
    assert (first.source, first.source_id, first.origin) == (
        "import:medline",
        "16403221",
        "biopython_pubmed_result2.nbib",
    )
    assert first.doi == "10.1186/1471-2105-7-10"
    assert first.authors[0].family == "Casbon" and first.journal == "BMC bioinformatics"
    structured = next(read_records(corpus_file("pubmed/medline/biopython_pubmed_result3.nbib")))
    assert structured.doi == "10.1118/1.4748329"
    assert structured.abstract_text and structured.abstract_text.startswith("PURPOSE:")


def test_csljson_from_crossref() -> None:
    path = corpus_file("crossref/transform_csl-json_10.1126_science.169.3946.635.json")
    (hit,) = read_records(path)
    assert hit.source == "import:csljson" and hit.doi == "10.1126/science.169.3946.635"
    assert hit.source_id.startswith("sha1:")  # no CSL id: a digest of the whole record
    assert hit.title == "The Structure of Ordinary Water"
    assert hit.journal == "Science" and hit.volume == "169" and hit.pages == "635-641"
    assert hit.pub_date is not None and (hit.pub_date.year, hit.pub_date.month) == (1970, 8)
