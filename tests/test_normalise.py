"""Normalisers: identifiers, titles and keys (pure; idempotence checked with Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.normalise import (
    author_key,
    block_keys,
    first_page,
    last_page,
    lookup_finds,
    lookup_ranges,
    month_number,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    normalise_title,
    normalise_url,
    strip_site_suffix,
    title_key,
    title_lookup,
    title_lookups,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1186/1471-2105-7-10", "10.1186/1471-2105-7-10"),
        ("https://doi.org/10.1186/1471-2105-7-10", "10.1186/1471-2105-7-10"),
        ("http://dx.doi.org/10.1093/BIOINFORMATICS/btk021", "10.1093/bioinformatics/btk021"),
        ("doi:10.1093/bioinformatics/btk021.", "10.1093/bioinformatics/btk021"),
        ("DOI: 10.1093/bioinformatics/btk021", "10.1093/bioinformatics/btk021"),
        ("https://doi.org/10.1002%2F14651858.CD001234", "10.1002/14651858.cd001234"),
        ("10.3389/fpubh.2020.00001/full", "10.3389/fpubh.2020.00001"),
        ("10.1101/2020.03.01.123456v2", "10.1101/2020.03.01.123456"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_doi(raw: str | None, expected: str | None) -> None:
    assert normalise_doi(raw) == expected


def test_identifiers() -> None:
    assert normalise_pmid("PMID: 0012345") == "12345"
    assert normalise_pmid(16403221) == "16403221"
    assert normalise_pmid("12a") is None
    assert normalise_pmid("0") is None
    assert normalise_pmcid("pmc1234") == "PMC1234"
    assert normalise_pmcid("PMCID: PMC0042") == "PMC42"
    assert normalise_pmcid("PMC") is None


def test_normalise_url_uses_canonical_form() -> None:
    assert normalise_url("https://News.Example.org/a?utm_source=rss#top") == (
        "https://news.example.org/a"
    )
    assert normalise_url("mailto:x@example.org") is None
    assert normalise_url("  ") is None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("The <i>β</i>-blocker &amp; heart", "the beta blocker and heart"),
        ("Élan vital: café", "elan vital cafe"),
        (
            "U.K. trial of streptokinase.[Erratum appears in N Engl J Med. 2005;352(20):2146]",
            "u k trial of streptokinase",
        ),
        ("Foo bar [published correction appears in BMJ. 2020;1:2].", "foo bar"),
        ("Management of lesions. [Review] [97 refs]", "management of lesions"),
        (
            "Economic analysis in Sweden.[Erratum appears in Acta Obstet Gyneco",
            "economic analysis in sweden",
        ),
        ("HPV testing: review (Provisional abstract)", "hpv testing review"),
        ("A randomized study. <ORIGINAL> ETUDE CONTROLEE", "a randomized study"),
        ("cisplatin or carboplatin [corrected], with", "cisplatin or carboplatin with"),
        ("[A translated title].", "a translated title"),
        (
            "[Prophylaxis of Rh-sensitisation by intravenous IgG anti-D (author's transl)].",
            "prophylaxis of rh sensitisation by intravenous igg anti d",
        ),
        ('"Super stuff" as bolus (Authors\' transl) [German]', "super stuff as bolus"),
        ("Erratum: A title", "erratum a title"),
    ],
)
def test_normalise_title(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_strip_site_suffix() -> None:
    assert strip_site_suffix("NHS waiting lists rise - BBC News") == "NHS waiting lists rise"
    assert strip_site_suffix("Waits rise | The Guardian", "The Guardian") == "Waits rise"
    assert strip_site_suffix("Waits rise | The Guardian", "BBC") == "Waits rise | The Guardian"
    long = "Trust in providers - Effects of photos and comments on demand at Airbnb"
    assert strip_site_suffix(long) == long


@pytest.mark.parametrize(
    ("lookup", "key", "finds"),
    [
        # a record with volume 12 of 2020: its volume and none, the years around 2020 and none
        ("p:linkworkers|12@2020", "p:linkworkers|12|2020", True),
        ("p:linkworkers|12@2020", "p:linkworkers|12|2021", True),
        ("p:linkworkers|12@2020", "p:linkworkers||2019", True),
        ("p:linkworkers|12@2020", "p:linkworkers|12|", True),
        ("p:linkworkers|12@2020", "p:linkworkers||", True),
        ("p:linkworkers|12@2020", "p:linkworkers|12|2022", False),
        ("p:linkworkers|12@2020", "p:linkworkers||2018", False),
        ("p:linkworkers|12@2020", "p:linkworkers|13|2020", False),
        ("p:linkworkers|12@2020", "p:linkworkers|1|2020", False),
        ("p:linkworkers|12@2020", "p:linkworkerstod|12|2020", False),
        # without a volume: every volume; without a year: every year
        ("p:linkworkers|*@2020", "p:linkworkers|13|2021", True),
        ("p:linkworkers|*@2020", "p:linkworkers|13|1999", False),
        ("p:linkworkers|*", "p:linkworkers|13|1999", True),
        ("p:linkworkers|12", "p:linkworkers||1999", True),
        ("p:linkworkers|12", "p:linkworkers|13|1999", False),
        # other keys find themselves
        ("a:ziegler:1996:hepatectomy", "a:ziegler:1996:hepatectomy", True),
        ("p:ziegler:1996:12", "p:ziegler:1996:12", True),
        ("p:ziegler:1996:12", "p:ziegler:1996:13", False),
    ],
)
def test_a_title_lookup_finds_its_volumes_and_years(lookup: str, key: str, finds: bool) -> None:
    assert lookup_finds(lookup, key) is finds
    title = title_lookup(lookup)
    if title is None:
        assert not lookup_finds(lookup, key + "x")
    elif finds:  # what a lookup finds lies in the ranges it reads
        assert any(low <= key < high for low, high in lookup_ranges(*title[:2]))


def test_keys() -> None:
    key = title_key("Perioperative nutritional support in patients undergoing hepatectomy")
    blocks = block_keys(key, "ziegler", 1996, volume="12")
    assert blocks == [
        "p:perioperativen|12|1996",
        "s:inghepatectomy|12|1996",
        "a:ziegler:1996:perioperative",
        "a:ziegler:1996:hepatectomy",
    ]
    # a record with a volume looks in its volume and among the works without one; a record
    # without a volume in every volume; a record with a year around its year
    assert title_lookups(blocks, "12", 1996) == [
        "p:perioperativen|12@1996",
        "s:inghepatectomy|12@1996",
        *blocks[2:],
    ]
    unplaced = block_keys(key, "ziegler", 1996)
    assert unplaced[:2] == ["p:perioperativen||1996", "s:inghepatectomy||1996"]
    assert title_lookups(unplaced, None, 1996)[:2] == [
        "p:perioperativen|*@1996",
        "s:inghepatectomy|*@1996",
    ]
    assert title_lookups(unplaced, None, None)[:2] == ["p:perioperativen|*", "s:inghepatectomy|*"]
    assert block_keys(key, None, None)[:2] == ["p:perioperativen||", "s:inghepatectomy||"]
    assert block_keys("a b", None, None) == []
    assert block_keys("a b", "ziegler", 1996) == ["a:ziegler:1996"]
    assert author_key("Sørensen") == "sorensen"
    assert author_key("Van Schil") == author_key("Schil") == "schil"  # particles left out
    assert first_page("e0123-e0130") == "e0123"
    assert first_page("0091-92") == "91"
    assert first_page("iii-vi") == "iii"
    assert first_page("pp. 12-15") == "12"
    assert first_page("t-20") is None  # a garbled range: its first page is lost
    assert first_page("Suppl-6") is None
    assert last_page('"230-5, 246-51"') == "235"
    assert last_page("2243-5; author reply") == "2245"
    assert last_page("63") is None


text = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z"]), max_size=80
)


@given(text)
def test_title_normalisation_is_idempotent(value: str) -> None:
    once = normalise_title(value)
    assert normalise_title(once) == once


@given(st.one_of(text, st.from_regex(r"(https://doi\.org/)?10\.\d{4,6}/[A-Za-z0-9./%-]{1,30}")))
def test_doi_normalisation_is_idempotent(value: str) -> None:
    once = normalise_doi(value)
    if once is not None:
        assert normalise_doi(once) == once


@given(st.one_of(text, st.from_regex(r"https?://[a-z]{1,10}\.org/[a-z?=&_]{0,20}")))
def test_url_normalisation_is_idempotent(value: str) -> None:
    once = normalise_url(value)
    if once is not None:
        assert normalise_url(once) == once


@given(text)
def test_author_key_idempotent(value: str) -> None:
    key = author_key(value)
    if key is not None:
        assert author_key(key) == key


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("Jan", 1),
        ("january", 1),
        ("Dec", 12),
        ("09", 9),
        ("9", 9),
        ("13", None),
        ("Spring", None),
        ("", None),
        (None, None),
    ],
)
def test_month_number(text: str | None, month: int | None) -> None:
    assert month_number(text) == month


def test_one_title_key_and_one_day_key() -> None:
    import datetime as dt

    from harvester.core.models import DatePrecision, PubDate, WorkKind
    from harvester.core.normalise import day_key

    assert title_key("Waits rise - BBC News", WorkKind.NEWS) == "waits rise"
    assert title_key("Waits rise | The Guardian", WorkKind.NEWS, "The Guardian") == "waits rise"
    assert title_key("Waits rise - BBC News") == "waits rise bbc news"  # an article keeps it
    assert title_key("[No title available]", WorkKind.NEWS) == ""
    late = dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert day_key(late, None) == dt.date(2024, 5, 2)  # the UTC day
    assert day_key(None, PubDate(2024, 5, 3, DatePrecision.DAY)) == dt.date(2024, 5, 3)
    assert day_key(None, PubDate(2024, 5, precision=DatePrecision.MONTH)) is None
    assert day_key(None, None) is None
