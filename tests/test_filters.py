"""Topic phrase rules: word boundaries, wildcards, flexible joins, exclusions, folding."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harvester.core.phrases import compile_rules, fold

TOPIC = ["social prescri*", "link worker*", "arts on prescription", "green prescri*"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GPs expand social prescribing", "social prescri*"),
        ("Social Prescription schemes", "social prescri*"),
        ("SOCIAL-PRESCRIBING pilot", "social prescri*"),
        ("social\u2013prescribing with an en dash", "social prescri*"),
        ("social\n  prescribing across a line break", "social prescri*"),
        ("Link workers hired in Leeds", "link worker*"),
        ("a link worker says", "link worker*"),
        ("Arts on Prescription in Wales", "arts on prescription"),
        ("green prescriptions", "green prescri*"),
        ("antisocial prescribing", None),  # not at a word start
        ("social prescriber", "social prescri*"),
        ("social media prescribing", None),  # words must be adjacent
        ("hyperlink workers", None),
        ("", None),
    ],
)
def test_topic_phrases(text: str, expected: str | None) -> None:
    assert compile_rules(TOPIC, []).match(text) == expected


def test_whole_words_only_without_wildcard() -> None:
    rules = compile_rules(["care"], [])
    assert rules.match("careful planning") is None
    assert rules.match("daycare") is None
    assert rules.match("primary care.") == "care"
    assert rules.match("(care)") == "care"


def test_phrase_with_hyphen_matches_spaces() -> None:
    rules = compile_rules(["social-prescribing"], [])
    assert rules.match("social prescribing") == "social-prescribing"
    assert rules.match("socialprescribing") is None


def test_diacritics_case_and_markup_are_ignored() -> None:
    rules = compile_rules(["café", "social prescri*"], [])
    assert rules.match("CAFE society") == "café"
    assert rules.match("Sociál <b>Prescribing</b> news") == "social prescri*"
    assert rules.match("social&nbsp;prescribing") == "social prescri*"


def test_first_configured_phrase_wins_and_any_text_counts() -> None:
    rules = compile_rules(["link worker*", "social prescri*"], [])
    assert rules.match("social prescribing link workers") == "link worker*"
    assert rules.match("nothing in the title", "but link workers in the summary") == "link worker*"
    assert rules.match(None, "") is None


def test_exclusions_win_over_phrases() -> None:
    rules = compile_rules(["social prescri*"], ["veterinar*", "job advert"])
    assert rules.match("social prescribing for veterinary nurses") is None
    assert rules.match("social prescribing", "Job advert: link worker") is None
    assert rules.match("social prescribing for vets") == "social prescri*"


def test_quotes_and_blank_or_wildcard_only_phrases_are_ignored() -> None:
    rules = compile_rules(['"social prescribing"', "  ", "*", "-"], [])
    assert [p for p, _ in rules.phrases] == ['"social prescribing"']
    assert rules.match("Social prescribing") == '"social prescribing"'
    assert compile_rules([], []).match("anything") is None


def test_regex_metacharacters_are_literal() -> None:
    rules = compile_rules(["c++ (beta)", "a.b"], [])
    assert rules.match("we use c++ (beta) now") == "c++ (beta)"
    assert rules.match("a.b") == "a.b"
    assert rules.match("axb") is None


_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)


@given(st.lists(_words, min_size=1, max_size=3), _words, _words)
def test_a_phrase_is_found_between_other_words(words: list[str], before: str, after: str) -> None:
    phrase = " ".join(words)
    text = f"{before} {phrase.upper()} {after}"
    assert compile_rules([phrase], []).match(text) == phrase


@given(_words, _words)
def test_a_word_inside_a_longer_word_does_not_match(word: str, glue: str) -> None:
    assert compile_rules([word], []).match(f"{glue}{word}{glue}") is None


@given(_words, st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=6))
def test_wildcard_matches_any_suffix(stem: str, suffix: str) -> None:
    assert compile_rules([stem + "*"], []).match(f"the {stem}{suffix} case") == stem + "*"


@given(st.lists(_words, min_size=1, max_size=3), _words)
def test_an_exclusion_always_wins(words: list[str], other: str) -> None:
    phrase = " ".join(words)
    rules = compile_rules([phrase], [other])
    assert rules.match(f"{phrase} and {other}") is None


@example("𝕊")  # a compatibility form that is a capital letter
@given(st.text(max_size=40))
def test_fold_is_idempotent_on_plain_text(text: str) -> None:
    if "<" in text or "&" in text:
        return
    assert fold(fold(text)) == fold(text)


def test_curly_apostrophes_and_quotes_read_as_straight_ones() -> None:
    rules = compile_rules(["patient's voice", "don’t wait"], [])
    assert rules.match("The patient’s voice matters") == "patient's voice"
    assert rules.match("The patient\u02bcs voice matters") == "patient's voice"
    assert rules.match("Don't wait for a GP") == "don’t wait"
    smart = compile_rules(["\u201csocial prescribing\u201d", "\u2018link worker*\u2019"], [])
    assert smart.match("Social prescribing") == "\u201csocial prescribing\u201d"
    assert smart.match("link workers") == "\u2018link worker*\u2019"


def test_soft_hyphens_and_zero_width_characters_inside_words_are_ignored() -> None:
    rules = compile_rules(["social prescribing"], [])
    assert rules.match("social pre\u00adscribing") == "social prescribing"
    assert rules.match("social pre&shy;scribing") == "social prescribing"
    assert rules.match("social\u200bprescri\u200dbing") == "social prescribing"


_phrase_words = st.text(alphabet="abc*-+ ", min_size=1, max_size=8)


@example(["ab", "b*"], "cab b ab-ba")  # a phrase inside a word, and one after it
@given(st.lists(_phrase_words, min_size=1, max_size=4), st.text(alphabet="abc -+.", max_size=30))
def test_the_combined_search_matches_where_some_phrase_does(phrases: list[str], text: str) -> None:
    """``any_phrase`` (one search for all phrases) finds a text exactly when one phrase does."""
    rules = compile_rules(phrases, phrases)
    folded = fold(text)
    some_phrase = any(pattern.search(folded) for _, pattern in rules.phrases)
    for combined in (rules.any_phrase, rules.any_exclusion):
        found = combined is not None and combined.search(folded) is not None
        assert found == some_phrase


_PHRASE_WORDS = st.sampled_from(
    ["social", "prescrib*", "link", "work*", "*ing", "green", "covid-19", "a", "é", "arts"]
)


@given(
    phrases=st.lists(
        st.lists(_PHRASE_WORDS, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=4
    ),
    exclude=st.lists(_PHRASE_WORDS, max_size=2),
    text=st.lists(
        st.sampled_from(["Social", "prescribing", "link-workers", "green", "COVID 19", "É", "x"]),
        max_size=8,
    ).map(" ".join),
)
@example(phrases=["*ing"], exclude=[], text="prescribing")
def test_the_quick_test_of_openings_never_changes_an_answer(
    phrases: list[str], exclude: list[str], text: str
) -> None:
    """A text without any phrase's opening letters is turned away before the patterns run;
    every answer is the one the patterns alone give."""
    from dataclasses import replace

    rules = compile_rules(phrases, exclude)
    assert rules.match(text, "x") == replace(rules, openings=None).match(text, "x")


def test_a_text_without_any_phrases_opening_is_turned_away() -> None:
    rules = compile_rules(["social prescrib*", "link work*"])
    assert rules.openings == ("social", "link")
    assert rules.match("green care for older adults") is None
    assert rules.match("Link workers in primary care") == "link work*"
    assert compile_rules(["*prescribing"]).openings is None  # no letters to test first
