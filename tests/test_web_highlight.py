"""One phrase matcher: every phrase that lets an item into the queue is marked on its card."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from websupport import NOW, REVIEWER, TOPIC, build, seed

from harvester.core.models import Hit, WorkKind
from harvester.core.phrases import compile_rules, fold, fold_with_offsets
from harvester.core.text import plain_text
from harvester.store.db import Database
from harvester.store.works import ingest_hits
from harvester.web.render import highlight

# Letters as feeds write them: accents (composed and combining), capitals, ligatures and
# compatibility forms, soft hyphens, zero-width joiners, curly apostrophes, dashes.
_LETTERS = st.sampled_from(
    list("socialprescribingworkers")
    + ["á", "É", "ï", "ß", "ﬁ", "𝕊", "a\u0301", "\u00ad", "\u200d", "’", "K"]
)
_WORD = st.lists(_LETTERS, min_size=2, max_size=9).map("".join)
_SEPARATOR = st.sampled_from([" ", "  ", "-", "\u2013", "/", " \u00ad", "\n"])
_PHRASE_WORDS = st.lists(
    st.text(alphabet="socialprescribingworkers", min_size=2, max_size=8), min_size=1, max_size=3
)


@st.composite
def _text_and_phrases(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    words = draw(st.lists(_WORD, min_size=1, max_size=8))
    seps = draw(st.lists(_SEPARATOR, min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, seps, strict=True)).strip()
    # phrases: some taken from the text's own words (folded, with a wildcard or not), others not
    phrases = []
    for words in draw(st.lists(_PHRASE_WORDS, min_size=1, max_size=3)):
        phrases.append(" ".join(words))
    picked = draw(st.lists(st.sampled_from(words), max_size=2))
    for word in picked:
        stem = fold(word).replace("'", "")
        if len(stem) >= 2 and stem.isalpha():
            phrases.append(stem[: max(2, len(stem) - 2)] + draw(st.sampled_from(["*", ""])))
    exclude = draw(st.lists(st.sampled_from(["veterinary", "workers"]), max_size=1))
    return text, phrases, exclude


def _marked(markup: str) -> tuple[str, list[tuple[int, int]]]:
    """The text of highlighted markup, and where its marks are in it."""
    text, marks, position = [], [], 0
    for piece in re.split(r"(<mark [^>]*>.*?</mark>)", markup):
        inner = re.fullmatch(r"<mark [^>]*>(.*?)</mark>", piece)
        plain = html.unescape(inner.group(1) if inner else piece)
        if inner:
            marks.append((position, position + len(plain)))
        text.append(plain)
        position += len(plain)
    return "".join(text), marks


@example(("Sociál prescribing in Wales", ["social prescri*"], []))
@example(("Sociál Pre\u00adscribing", ["social prescribing"], []))
@example(("𝕊ocial prescribing", ["social prescribing"], []))
@given(_text_and_phrases())
def test_every_phrase_that_admits_an_item_is_marked_on_its_card(
    case: tuple[str, list[str], list[str]],
) -> None:
    text, phrases, exclude = case
    rules = compile_rules(phrases, exclude)
    admitted = rules.match(text)
    if admitted is None:
        return
    shown, marks = _marked(str(highlight(text, phrases, exclude)))
    assert shown == text  # nothing lost or added around the marks
    where = [s for s in rules.spans(text) if s.phrase == admitted and not s.exclusion]
    assert where, (admitted, text)
    assert any(start < span.end and span.start < end for span in where for start, end in marks), (
        admitted,
        text,
        marks,
    )


@given(st.text(max_size=60))
def test_the_highlighter_folds_as_the_filter_does(text: str) -> None:
    if "<" in text or "&" in text:
        return
    folded, origin = fold_with_offsets(text)
    assert folded == fold(text)
    assert origin == sorted(origin) and all(0 <= i < len(text) for i in origin)


def test_a_card_marks_the_phrase_that_let_its_item_in(tmp_path: Path, db: Database) -> None:
    """Over HTTP: the news item "Sociál Pre­scribing ..." came in by "social prescri*" and the
    queue page marks it."""
    seed(db, count=1)
    rules = compile_rules(["social prescri*", "link worker*"], ["veterinary"])
    title = "Sociál Pre\u00adscribing reaches rural Wales"
    summary = "<p>Link&nbsp;<b>work</b>ers in <i>Powys</i></p>"
    assert rules.match(title, plain_text(summary)) == "social prescri*"
    with db.write() as session:
        ingest_hits(
            session,
            [
                Hit(
                    source="feeds",
                    source_id="accent-1",
                    origin="https://news.example/rss",
                    title=title,
                    kind=WorkKind.NEWS,
                    url="https://news.example/accent-1",
                    summary_html=summary,
                    matched_rule="social prescri*",
                )
            ],
            topic=TOPIC,
            run_id=None,
            now=NOW,
        )
    client = TestClient(build(tmp_path, db), base_url="http://127.0.0.1", follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"email": REVIEWER[0], "password": REVIEWER[1], "csrf": token})
    page = client.get(f"/topics/{TOPIC}?status=all").text
    assert (
        '<mark class="hl-inc" title="matches include phrase: social prescri*">'
        "Sociál Pre\u00adscribing</mark>"
    ) in page
    assert (
        '<mark class="hl-inc" title="matches include phrase: link worker*">Link workers</mark>'
        in page
    )
