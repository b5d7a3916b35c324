"""The rules of a citation line the library publishes unchanged: title case as citeproc-js applies
it, journal titles as the record gives them, article numbers with a page count, news bylines,
and the CSL styles compared with citeproc-js's own output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from csl_records import records
from golden_files import check_json

from harvester.core.bulletin import BulletinItem
from harvester.core.citation import NBSP, expand_pages, journal_title
from harvester.core.csl import cite, csl_json, csl_pages
from harvester.core.models import Author, WorkKind
from harvester.core.titlecase import STOP_WORDS, is_english, title_case

CSL_FIXTURES = Path(__file__).parent / "fixtures" / "csl"


def _item(**fields: object) -> BulletinItem:
    base: dict[str, object] = {"entry_id": 1, "candidate_id": 1, "work_id": 1, "title": "T"}
    base.update(fields)
    return BulletinItem(**base)  # type: ignore[arg-type]


def _text(item: BulletinItem, style: str = "house") -> str:
    return cite(item, style).text().replace(NBSP, " ")


# ------------------------------------------------------------------------ title case (citeproc-js)


@pytest.mark.parametrize(
    ("word"), ["of", "in", "for", "with", "from", "between", "during", "without", "towards", "via"]
)
def test_prepositions_stay_lower_case_mid_title_whatever_their_length(word: str) -> None:
    assert word in STOP_WORDS
    assert title_case(f"support {word} carers") == f"Support {word} Carers"


def test_first_and_last_words_are_capitalised_even_when_stop_words() -> None:
    assert title_case("between the lines") == "Between the Lines"
    assert title_case("what is it for") == "What Is It For"
    assert title_case("from the bottom up") == "From the Bottom Up"


def test_small_word_after_a_spaced_dash_stays_lower_case() -> None:
    assert title_case("living alone - a qualitative study") == "Living Alone - a Qualitative Study"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where to start? a scoping review", "Where to Start? A Scoping Review"),
        ("social care: via e-health", "Social Care: Via e-Health"),
        ("help! an appeal", "Help! An Appeal"),
    ],
)
def test_capitalised_after_a_colon_question_or_exclamation_mark(text: str, expected: str) -> None:
    assert title_case(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("social prescribing in the UK", "Social Prescribing in the UK"),
        ("effects of COVID-19 on VCSE groups", "Effects of COVID-19 on VCSE Groups"),
        ("a study in PloS medicine", "A Study in PloS Medicine"),
        ("an mRNA vaccine", "An mRNA Vaccine"),
        ("SOCIAL PRESCRIBING IN THE UK", "SOCIAL PRESCRIBING IN THE UK"),
        # a stop word the record capitalised stays so: the house example "Equitable Or"
        (
            "Equal, Equitable Or Exacerbating Inequalities",
            "Equal, Equitable Or Exacerbating Inequalities",
        ),
        (
            "Equal, equitable or exacerbating inequalities",
            "Equal, Equitable or Exacerbating Inequalities",
        ),
    ],
)
def test_a_capital_already_there_is_never_lowered(text: str, expected: str) -> None:
    assert title_case(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # each expected value is what citeproc-js 2.4.63 prints for text-case="title"
        ("self-management of long-term conditions", "Self-Management of Long-Term Conditions"),
        (
            "follow-up of patients with type 2 diabetes",
            "Follow-up of Patients with Type 2 Diabetes",
        ),
        ("one-to-one support in e-health", "One-to-One Support in e-Health"),
        ("an e-health service", "An E-Health Service"),
        ("men's sheds and the 'third place'", "Men's Sheds and the 'Third Place'"),
        ("the role of (social) prescribing", "The Role of (Social) Prescribing"),
        ("the effect of x on y", "The Effect of x on y"),
        ("social prescribing: a review. part 1", "Social Prescribing: A Review. Part 1"),
    ],
)
def test_title_case_matches_citeproc_js(text: str, expected: str) -> None:
    assert title_case(text) == expected


def test_title_case_leaves_other_languages_alone() -> None:
    assert is_english(None) and is_english("eng") and is_english("en-GB")
    assert not is_english("dut")
    assert title_case("sociaal voorschrijven in de huisartsenpraktijk", "dut") == (
        "sociaal voorschrijven in de huisartsenpraktijk"
    )


# -------------------------------------------------------------------------------- journal titles


@pytest.mark.parametrize(
    ("journal", "expected"),
    [
        ("Nature (London)", "Nature (London)"),
        ("The Lancet (London, England)", "The Lancet (London, England)"),
        (
            "The British journal of psychiatry : the journal of mental science",
            "The British Journal of Psychiatry : The Journal of Mental Science",
        ),
        ("BMJ (Clinical research ed.)", "BMJ (Clinical Research Ed.)"),
        (
            "Journal of public health (Oxford, England)",
            "Journal of Public Health (Oxford, England)",
        ),
    ],
)
def test_journal_titles_keep_qualifiers_and_subtitles(journal: str, expected: str) -> None:
    assert journal_title(_item(journal=journal)) == expected


def test_full_journal_title_before_the_abbreviation() -> None:
    assert journal_title(_item(journal="Scientific reports", journal_iso="Sci Rep")) == (
        "Scientific Reports"
    )
    assert journal_title(_item(journal_iso="Sci Rep")) == "Sci Rep"


# ------------------------------------------------------------------- article numbers, page counts


@pytest.mark.parametrize(
    ("pages", "numbers", "expected"),
    [
        ("30517-12", frozenset(), "30517–12"),  # would run backwards: article 30517, 12 pages
        ("2140-8", frozenset({"2140"}), "2140–8"),  # the record's article number: 8 pages
        ("2140-8", frozenset(), "2140–2148"),  # otherwise an abbreviated range
        ("474-9", frozenset({"e57062"}), "474–479"),
        ("e57062-10", frozenset({"e57062"}), "e57062–10"),
        ("S37-9", frozenset(), "S37–S39"),
        ("100-20", frozenset(), "100–120"),
        ("30517-30512", frozenset(), "30517–30512"),  # not a range of the same numbering
    ],
)
def test_a_range_is_only_written_out_when_it_is_one(
    pages: str, numbers: frozenset[str], expected: str
) -> None:
    assert expand_pages(pages, numbers) == expected


def test_article_number_from_the_records_elocation_in_a_citation() -> None:
    item = _item(
        authors=(Author(family="Smith", initials="J"),),
        journal="Scientific reports",
        volume="14",
        issue="1",
        pages="2140-8",
        elocation="doi: 10.1038/x; pii: 2140",
        published_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    )
    assert _text(item).endswith("*Scientific Reports* 14(1), 2140–8.".replace("*", ""))
    assert csl_pages("2140-8", "pii: 2140") == {"page": "2140", "number-of-pages": "8"}
    assert csl_pages("474-9", None) == {"page": "474-479"}
    assert csl_pages(None, "doi: 10.1/x; pii: e57062") == {"page": "e57062"}


# ----------------------------------------------------------------------------------- news bylines


def test_news_byline_typed_as_the_source_gets_one_full_stop() -> None:
    item = _item(
        title="Nature and outdoors increasingly prescribed by GPs",
        kind=WorkKind.NEWS,
        source_name="Parkhill, H.",
        url="https://example.org/a",
    )
    assert cite(item).markdown().replace(NBSP, " ") == (
        "Parkhill, H. [Nature and Outdoors Increasingly Prescribed by GPs](https://example.org/a)"
        " [online]"
    )
    assert "H.." not in _text(item)


def test_news_byline_from_the_journalist_and_date_after_the_summary() -> None:
    item = _item(
        title="Nature and outdoors increasingly prescribed by GPs",
        kind=WorkKind.NEWS,
        authors=(Author(family="Parkhill", given="Helen"),),
        source_name="The Guardian",
        published_at=dt.datetime(2024, 11, 12, tzinfo=dt.UTC),
    )
    citation = cite(item)
    assert _text(item) == "Parkhill, H. Nature and Outdoors Increasingly Prescribed by GPs [online]"
    assert citation.after_summary == "[12 Nov 2024]"


# ------------------------------------------------------------------- CSL styles against citeproc-js


def test_the_csl_json_builder_gives_the_compared_records() -> None:
    check_json(CSL_FIXTURES / "records.json", [csl_json(item) for item in records()])


EXPECTED = json.loads((CSL_FIXTURES / "citeproc_js_expected.json").read_text(encoding="utf-8"))
# citeproc-py 0.11 prints a variable that stood in for a missing author a second time (CSL says
# a substituted variable is not repeated): APA's news title, Harvard's news source.
CITEPROC_PY_SUBSTITUTE = {("apa", "work-4"), ("harvard", "work-4")}


@pytest.mark.parametrize("style", ["vancouver", "apa", "harvard"])
@pytest.mark.parametrize("item", records(), ids=lambda item: f"work-{item.work_id}")
def test_each_style_prints_what_citeproc_js_prints(style: str, item: BulletinItem) -> None:
    key = f"work-{item.work_id}"
    if (style, key) in CITEPROC_PY_SUBSTITUTE:
        pytest.xfail("citeproc-py repeats a substituted variable")
    assert " ".join(_text(item, style).split()) == EXPECTED["styles"][style][key]


def test_styles_have_no_stray_link_and_link_the_title() -> None:
    for item in records():
        for style in ("vancouver", "apa", "harvard"):
            citation = cite(item, style)
            assert "Link" not in [run.text for run in citation.runs]
            assert any(run.href for run in citation.runs), (style, item.work_id)


def test_harvard_quotes_and_vancouver_dates_and_abbreviations() -> None:
    article = records()[0]
    harvard = _text(article, "harvard")
    assert (
        "‘Self-management of long-term conditions: a district nursing perspective of patient engagement’,"
        in harvard
    )
    assert "engagement.’" not in harvard and "“" not in harvard
    vancouver = _text(article, "vancouver")
    assert "2024 Oct 2;29(10):474–9" in vancouver and "2024Oct" not in vancouver
    assert "Br J Community Nurs." in vancouver


def test_one_field_list_for_every_record_of_a_work() -> None:
    import dataclasses

    from harvester.core.models import CITATION_FIELDS, WorkView
    from harvester.render.export import ExportItem

    for record in (BulletinItem, ExportItem, WorkView):
        names = {f.name for f in dataclasses.fields(record)}
        assert set(CITATION_FIELDS) <= names, (record.__name__, set(CITATION_FIELDS) - names)
    for item in records():  # a bulletin entry keeps every field through its stored form
        assert BulletinItem.from_dict(item.to_dict()) == item


def test_ahead_of_print_prints_no_publisher_item_id() -> None:
    item = _item(
        authors=(Author(family="Kovaleva", initials="M"),),
        journal="Geriatric nursing (New York, N.Y.)",
        elocation="doi: 10.1016/j.gerinurse.2021.04.001; pii: S0197-4572(21)00163-4",
        published_at=dt.datetime(2021, 5, 1, tzinfo=dt.UTC),
    )
    assert _text(item).endswith("Geriatric Nursing (New York, N.Y.).")
    in_volume = _item(journal="JMIR research protocols", volume="13", elocation="pii: e57062")
    assert _text(in_volume).endswith("JMIR Research Protocols 13, e57062.")
    assert csl_pages(None, "pii: S0197-4572(21)00163-4", None) == {}
