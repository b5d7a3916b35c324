"""The metadata merge rule, pure: no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from harvester.core.merge import MERGED_FIELDS, merge_fields, source_rank
from harvester.core.models import NO_TITLE, Author, Hit, PubDate, WorkKind
from harvester.core.normalise import title_key


def empty_work() -> dict[str, Any]:
    work: dict[str, Any] = dict.fromkeys(MERGED_FIELDS)
    work.update(kind="article", metadata_rank=-1, title="", date_is_fallback=False)
    for name in ("authors", "abstract", "publication_types", "mesh", "keywords", "relations"):
        work[name] = []
    return work


def merged(work: dict[str, Any], hit: Hit) -> dict[str, Any]:
    changes = merge_fields(work, hit, doi=hit.doi, pmid=hit.pmid, pmcid=hit.pmcid)
    return {**work, **changes}


def test_ranks() -> None:
    assert source_rank("pubmed") > source_rank("europepmc") > source_rank("import:ris")
    assert source_rank("import:ris") > source_rank("feeds")
    assert source_rank("import:something-new") == source_rank("import:ris")
    assert source_rank("manual") == source_rank("feeds")


def test_a_new_work_takes_everything_and_its_title_key() -> None:
    hit = Hit("feeds", "1", "Waits rise - BBC News", kind=WorkKind.NEWS, source_name="BBC News")
    work = merged(empty_work(), hit)
    assert (work["title"], work["kind"], work["metadata_source"]) == (hit.title, "news", "feeds")
    assert work["title_key"] == title_key(hit.title, WorkKind.NEWS, "BBC News") == "waits rise"


def test_higher_rank_replaces_lower_only_fills() -> None:
    feed = Hit("feeds", "1", "A study", journal="Site", url="https://example.org/a")
    pubmed = Hit(
        "pubmed",
        "2",
        "A study of things",
        journal="J Things",
        pmid="2",
        authors=[Author(family="Smith")],
        pub_date=PubDate(2024),
    )
    work = merged(merged(empty_work(), feed), pubmed)
    assert (work["title"], work["journal"], work["url"]) == (
        "A study of things",
        "J Things",
        feed.url,
    )
    assert (work["metadata_source"], work["pub_year"]) == ("pubmed", 2024)
    lower = Hit("feeds", "3", "Other words", journal="Other", volume="7")
    after = merged(work, lower)
    assert (after["title"], after["journal"], after["volume"]) == (work["title"], "J Things", "7")


def test_seeing_the_same_record_again_changes_nothing() -> None:
    hit = Hit("import:ris", "1", "A study", doi="10.1/x", pub_date=PubDate(2020))
    work = merged(empty_work(), hit)
    assert merge_fields(work, hit, doi=hit.doi, pmid=None, pmcid=None) == {}


def test_a_real_title_replaces_a_placeholder_whatever_the_ranks() -> None:
    untitled = Hit("pubmed", "1", "[No title available]", pmid="1")
    work = merged(empty_work(), untitled)
    assert work["title"] == "[No title available]" and work["title_key"] == ""
    titled = Hit("feeds", "2", "The real title", pmid="1")
    work = merged(work, titled)
    assert (work["title"], work["title_key"]) == ("The real title", "the real title")
    assert work["metadata_source"] == "pubmed"  # the ranks are otherwise untouched
    again = Hit("import:medline", "3", NO_TITLE, journal="J", pmid="1")
    after = merged(work, again)
    assert (after["title"], after["journal"]) == ("The real title", "J")


def test_dates() -> None:
    at = dt.datetime(2024, 5, 1, 22, tzinfo=dt.UTC)
    work = merged(empty_work(), Hit("feeds", "1", "Story", published_at=at, date_is_fallback=True))
    assert (work["published_at"], work["pub_year"], work["date_is_fallback"]) == (at, 2024, True)
