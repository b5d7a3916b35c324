"""The matching decision, pure: exact ids, conflicts, near-identity, links, symmetry."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.dedupe import match
from harvester.core.dedupe.match import Comparisons, Keys, compare, decide, hit_keys
from harvester.core.models import Author, Hit, PubDate, WorkKind

TITLE = "A high level interface to SCOP and ASTRAL implemented in python"


def article(**changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "pubmed",
        "source_id": "1",
        "title": TITLE,
        "authors": [Author(family="Casbon", given="James A")],
        "journal": "BMC bioinformatics",
        "volume": "7",
        "pages": "10",
        "pub_date": PubDate(2006),
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def news(title: str, day: int, **changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "feeds",
        "source_id": title,
        "title": title,
        "kind": WorkKind.NEWS,
        "published_at": dt.datetime(2024, 2, day, 8, tzinfo=dt.UTC),
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def same(a: Hit, b: Hit) -> bool:
    verdict = compare(hit_keys(a), hit_keys(b))
    return verdict is not None and verdict.same


def test_exact_ids_merge_with_their_reason() -> None:
    a, b = article(pmid="16403221"), article(pmid="16403221", title="Something else entirely")
    verdict = compare(hit_keys(a), hit_keys(b))
    assert verdict is not None and verdict.same and verdict.reason == "pmid"
    doi_a = article(doi="https://doi.org/10.1186/1471-2105-7-10", title="x y z")
    doi_b = article(doi="10.1186/1471-2105-7-10", title="other")
    assert compare(hit_keys(doi_a), hit_keys(doi_b)).reason == "doi"  # type: ignore[union-attr]


def test_conflicting_ids_never_merge_even_with_equal_titles() -> None:
    assert not same(article(pmid="1"), article(pmid="2"))
    assert not same(article(doi="10.1000/a1"), article(doi="10.1000/a2"))
    assert not same(article(pmcid="PMC1"), article(pmcid="PMC2"))
    # a shared DOI does not outweigh conflicting PMIDs
    assert not same(article(pmid="1", doi="10.1000/a"), article(pmid="2", doi="10.1000/a"))


def test_near_identity_across_databases() -> None:
    medline = article(title=TITLE + ".")
    embase = article(
        source="import:ris",
        title="A high-level interface to SCOP and ASTRAL implemented in Python "
        "[published correction appears in BMC Bioinformatics. 2006;7:55]",
        authors=[Author(family="Casbon", given="J.")],
        journal="BMC Bioinformatics",
    )
    verdict = compare(hit_keys(medline), hit_keys(embase))
    assert verdict is not None and verdict.same
    assert verdict.reason.startswith("title+year+author")


def test_near_identity_needs_agreeing_details() -> None:
    assert not same(article(), article(pub_date=PubDate(2009)))  # years far apart
    assert not same(article(), article(authors=[Author(family="Other")]))
    assert not same(article(), article(volume="8"))
    assert not same(article(), article(title=TITLE.replace("python", "python part II")))
    part1 = article(title="Trial design: part 1")
    assert not same(part1, article(title="Trial design: part 2"))
    # a year apart only with corroboration (same volume or page)
    assert same(article(), article(pub_date=PubDate(2007)))
    assert not same(
        article(volume=None, pages=None), article(pub_date=PubDate(2007), volume=None, pages=None)
    )
    # a conference paper and a journal article of the same title stay apart
    assert not same(
        article(journal="Americas Conference on Information Systems"),
        article(journal="Oncology", volume=None),
    )


def test_same_story_from_several_feeds() -> None:
    bbc = news("Social prescribing helps lonely patients", 3, source_name="BBC News")
    google = news("Social prescribing helps lonely patients - BBC News", 4, source="feeds")
    assert same(bbc, google)
    assert not same(bbc, news("Social prescribing helps lonely patients", 25))
    assert not same(bbc, news("Social prescribing helps 3 lonely patients", 3))


def test_preprint_and_published_are_linked_not_merged() -> None:
    preprint = article(doi="10.1101/2020.01.01.123456", journal="medRxiv")
    published = article(doi="10.1186/1471-2105-7-10")
    verdict = compare(hit_keys(preprint), hit_keys(published))
    assert verdict is not None and not verdict.same and verdict.relation == "preprint-of"
    back = compare(hit_keys(published), hit_keys(preprint))
    assert back is not None and back.relation == "published-as"


def test_erratum_is_linked_to_its_article() -> None:
    erratum = article(title="Erratum: " + TITLE, pmid="2", publication_types=["Published Erratum"])
    verdict = compare(hit_keys(erratum), hit_keys(article(pmid="1")))
    assert verdict is not None and not verdict.same and verdict.relation == "erratum-of"
    match = decide(hit_keys(erratum), [(7, hit_keys(article(pmid="1")))])
    assert match.work_id is None and [(k.work_id, k.relation) for k in match.links] == [
        (7, "erratum-of")
    ]


def test_comparisons_compare_each_pair_of_keys_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verdict is given again for the very same two keys; keys equal to them but made
    afresh (a work whose keys a batch rebuilt) are compared again."""
    made: list[tuple[Keys, Keys]] = []

    def counted(a: Keys, b: Keys) -> match.Verdict | None:
        made.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(match, "compare", counted)
    hit, stored = hit_keys(article()), hit_keys(article(pmid=None))
    comparisons = Comparisons()
    first = comparisons.compare(hit, stored)
    assert first is not None and first.same
    assert comparisons.compare(hit, stored) is first
    assert len(made) == 1
    rebuilt = hit_keys(article(pmid=None))
    assert rebuilt == stored and rebuilt is not stored
    assert comparisons.compare(hit, rebuilt) == first
    assert comparisons.compare(stored, hit) == first  # the other way round is another pair
    assert len(made) == 3


def test_decide_prefers_the_strongest_match() -> None:
    hit = hit_keys(article(pmid="5"))
    by_title = hit_keys(article())
    by_pmid = hit_keys(article(pmid="5", title="Other title"))
    match = decide(hit, [(1, by_title), (2, by_pmid)])
    assert (match.work_id, match.reason) == (2, "pmid")
    assert decide(hit, []).work_id is None


words = st.sampled_from(
    ["trial", "social", "prescribing", "care", "2", "ii", "of", "the", "cancer"]
)
keys = st.builds(
    Keys,
    titles=st.lists(
        st.lists(words, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=2
    ).map(tuple),
    doi=st.sampled_from([None, "10.1000/a", "10.1000/b", "10.1101/x"]),
    pmid=st.sampled_from([None, "1", "2"]),
    urls=st.sampled_from([(), ("https://a.org/",)]),
    year=st.sampled_from([None, 2020, 2021, 2023]),
    authors=st.sampled_from([(), ("smith",), ("smyth", "jones"), ("jones",)]),
    volume=st.sampled_from([None, "1", "2"]),
    page=st.sampled_from([None, "10", "200"]),
    kind=st.sampled_from(list(WorkKind)),
    preprint=st.booleans(),
    notice=st.sampled_from([None, "erratum-of"]),
    notice_title=st.sampled_from(["", "social prescribing trial"]),
    issue=st.sampled_from([(), ("3",), ("4",)]),
    journals=st.sampled_from([(), ("bmc bioinformatics",), ("bmc bioinform",), ("oncology",)]),
    recurring=st.booleans(),
    typed=st.booleans(),
)


@given(keys, keys)
def test_compare_is_symmetric(a: Keys, b: Keys) -> None:
    ab, ba = compare(a, b), compare(b, a)
    assert (ab is None) == (ba is None)
    if ab is not None and ba is not None:
        assert (ab.same, ab.reason, ab.strength) == (ba.same, ba.reason, ba.strength)
