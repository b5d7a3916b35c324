"""The house citation style: the exact lines of the real bulletin it comes from, and the rules
behind them (names, title case, journals, pages, links, news)."""

from __future__ import annotations

import datetime as dt

import pytest
from bulletin_items import XSS, items

from harvester.core.bulletin import BulletinItem
from harvester.core.citation import NBSP, expand_pages, initials, link_for
from harvester.core.csl import cite
from harvester.core.models import Author, WorkKind

BY_ID = {item.entry_id: item for item in items()}


def line(entry_id: int) -> str:
    """The entry's house citation in Markdown, its no-break space shown as a space."""
    return cite(BY_ID[entry_id]).markdown().replace(NBSP, " ")


def test_two_authors() -> None:
    assert line(1) == (
        "Vaughan, K., and Lavery, J. (2024) '[Self-Management of Long-Term Conditions: "
        "A District Nursing Perspective of Patient Engagement.](https://doi.org/10.12968/"
        "bjcn.2024.29.10.474)' *British Journal of Community Nursing* 29(10), 474–479."
    )


def test_three_or_more_authors_ahead_of_print() -> None:
    # The record has "Or" (as the publisher's page and a reference manager's export give it):
    # title case never lowers a capital already there.
    assert line(2) == (
        "Bu, F., et al. (2024) '[Equal, Equitable Or Exacerbating Inequalities: Patterns and "
        "Predictors of Social Prescribing Referrals in 160 128 UK Patients.]"
        "(https://doi.org/10.1192/bjp.2024.141)' *British Journal of Psychiatry* , 1–9."
    )


def test_volume_without_issue_and_article_number() -> None:
    assert line(3) == (
        "Dougherty, M., et al. (2024) '[Coproduction in Social Prescribing Initiatives: Protocol "
        "for a Scoping Review.](https://doi.org/10.2196/57062)' *JMIR Research Protocols* 13, "
        "e57062."
    )


def test_one_author_supplement_pages_and_pubmed_link() -> None:
    assert line(4) == (
        "Brown, C. (2024) '[A Drug-Free Prescription for Pain.]"
        "(https://pubmed.ncbi.nlm.nih.gov/39294386/)' *Nature* 633(8031), S37–S39."
    )


def test_news() -> None:
    citation = cite(BY_ID[5])
    assert citation.markdown() == (
        "BBC Guernsey. [Social Prescribing Referrals Triple in Three Years]"
        "(https://www.bbc.co.uk/news/articles/c0jq0x8gn8po) [online]"
    )
    assert citation.after_summary == "[17 Dec 2024]"


def test_news_without_date_or_source() -> None:
    item = BulletinItem(
        entry_id=1,
        candidate_id=1,
        work_id=1,
        title="Link workers hired",
        kind=WorkKind.NEWS,
        url="https://example.org/a",
    )
    citation = cite(item)
    assert citation.text() == "Link Workers Hired [online]"
    assert citation.after_summary is None


def test_particles_accents_and_hyphenated_given_names() -> None:
    assert line(6).startswith("Moya-Galé, G., and O'Sullivan, J.-P. (2024) '")
    assert line(6).endswith("*Journal of Communication Disorders* 110, 106431.")
    assert line(7).startswith("van der Berg, A. M., et al. (2024) '[Social Prescribing in Dutch")


def test_translated_title_loses_its_brackets() -> None:
    assert "'[Social Prescribing in Dutch General Practice.](" in line(7)


def test_collective_author_and_journal_qualifier() -> None:
    assert line(8) == (
        "National Academy for Social Prescribing (2024) '[Social Prescribing: A Consensus "
        "Statement.](https://doi.org/10.1136/bmj.q2150)' *BMJ (Clinical Research Ed.)* 387, q2150."
    )


def test_no_authors_title_leads_and_question_mark_kept() -> None:
    assert line(9) == (
        "'[Does Social Prescribing Work?](https://dtb.bmj.com/content/62/11/162)' (2024) "
        "*Drug and Therapeutics Bulletin* 62(11), 162–163."
    )


def test_unsafe_link_and_markup_are_inert() -> None:
    citation = cite(BY_ID[10])
    assert all(run.href is None for run in citation.runs)  # javascript: is never a link
    text = citation.markdown()
    assert "<script>" not in text and "\\<script\\>" in text
    assert XSS.replace("<", "") not in text


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ("474-9", "474–479"),
        ("1229-31", "1229–1231"),
        ("S37-9", "S37–S39"),
        ("S37-S39", "S37–S39"),
        ("e123-e125", "e123–e125"),
        ("1-9", "1–9"),
        ("106431", "106431"),
        ("12-5, 20-1", "12–15, 20–21"),
        ("NP701-NP705", "NP701–NP705"),
    ],
)
def test_expand_pages(pages: str, expected: str) -> None:
    assert expand_pages(pages) == expected


@pytest.mark.parametrize(
    ("given_initials", "given", "expected"),
    [
        ("K", None, "K."),
        ("JA", None, "J. A."),
        (None, "John Andrew", "J. A."),
        ("JP", "Jean-Pierre", "J.-P."),
        (None, None, ""),
    ],
)
def test_initials(given_initials: str | None, given: str | None, expected: str) -> None:
    assert initials(given_initials, given) == expected


def test_link_order() -> None:
    base = BulletinItem(entry_id=1, candidate_id=1, work_id=1, title="T")
    assert link_for(base) is None
    with_url = BulletinItem(entry_id=1, candidate_id=1, work_id=1, title="T", url="https://x.org/a")
    assert link_for(with_url) == "https://x.org/a"
    with_pmid = BulletinItem(
        entry_id=1, candidate_id=1, work_id=1, title="T", url="https://x.org/a", pmid="123"
    )
    assert link_for(with_pmid) == "https://pubmed.ncbi.nlm.nih.gov/123/"
    with_doi = BulletinItem(
        entry_id=1, candidate_id=1, work_id=1, title="T", pmid="123", doi="10.1/a"
    )
    assert link_for(with_doi) == "https://doi.org/10.1/a"


def test_no_authors_no_year() -> None:
    item = BulletinItem(
        entry_id=1, candidate_id=1, work_id=1, title="Untitled note", journal="Nature"
    )
    assert cite(item).text() == "'Untitled Note.' Nature."


def test_title_only_has_one_full_stop() -> None:
    item = BulletinItem(
        entry_id=1,
        candidate_id=1,
        work_id=1,
        title="Equal, equitable or exacerbating inequalities.",
        authors=(Author(family="Bu", initials="F"),),
        published_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    assert cite(item).text().replace(NBSP, " ") == (
        "Bu, F. (2024) 'Equal, Equitable or Exacerbating Inequalities.'"
    )


def test_first_authors_comma_never_breaks() -> None:
    for entry_id in (1, 2, 3, 4, 6):
        text = cite(BY_ID[entry_id]).text()
        family = BY_ID[entry_id].authors[0].family
        assert text.startswith(f"{family},{NBSP}"), text


def test_single_collective_and_person() -> None:
    item = BulletinItem(
        entry_id=1,
        candidate_id=1,
        work_id=1,
        title="x",
        authors=(Author(collective="NHS England"), Author(family="Smith", initials="J")),
        published_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    assert cite(item).text().replace(NBSP, " ").startswith("NHS England, and Smith, J. (2024) 'X.'")


@pytest.mark.parametrize("style", ["vancouver", "apa", "harvard"])
def test_csl_styles_render_every_item(style: str) -> None:
    for item in items():
        citation = cite(item, style)
        assert citation.text().strip()
        assert "<script>" not in citation.markdown()
    brown = cite(BY_ID[4], style).text()
    assert "Brown" in brown and "S37" in brown


def test_vancouver_has_no_number_and_apa_italic_journal() -> None:
    assert cite(BY_ID[1], "vancouver").text().startswith("Vaughan K, Lavery J.")
    apa = cite(BY_ID[1], "apa")
    assert any(
        run.italic and "British Journal of Community Nursing" in run.text for run in apa.runs
    )


def test_period_label() -> None:
    from harvester.core.bulletin import period_label

    assert period_label(dt.date(2024, 10, 1), dt.date(2024, 11, 30)) == "October–November 2024"
    assert period_label(dt.date(2024, 11, 2), dt.date(2024, 11, 30)) == "November 2024"
    assert period_label(dt.date(2024, 12, 1), dt.date(2025, 1, 31)) == "December 2024–January 2025"
    assert period_label(None, dt.date(2025, 1, 31)) == "January 2025"
    assert period_label(None, None) == ""
