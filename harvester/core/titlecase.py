"""Title case as citeproc-js applies it (the CSL processor behind Zotero, Mendeley and RefWorks),
so that a bulletin's titles read as the reference managers of its readers print them.

The rule, from citeproc-js's ``CSL.Output.Formatters.title`` (version 2.4):

- The text is cut into words at white space and at the separators ``- – — / . , ; ? ! : [ ] ( )``
  and quotation marks; an apostrophe inside a word ("men's") stays in the word.
- Only a word written all in lower case is changed, and only its first letter is raised: a
  capital already there is never lowered (UK, COVID-19, VCSE, PloS, mRNA, and "Or" when the
  record has it so).
- A lower-case word is capitalised when it is longer than one letter and not one of the stop words
  (:data:`STOP_WORDS`: articles, conjunctions and prepositions of any length: of, in, for, with,
  from, between, during, ...); when it is the first word; when it is the first word after a
  ``:``, ``?`` or ``!``; and, in the run of words before the first separator, when a hyphen joins
  it to the next word ("E-Health ..." at the start).
- A spaced dash is a separator like any other: a small word after it stays lower case ("Living
  Alone - a Qualitative Study").
- The last word is capitalised even when it is a stop word ("What Is It For").
- Text in a language other than English is left as it is (citeproc-js title-cases English only).
"""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "is_english", "title_case"]

#: citeproc-js's ``CSL.SKIP_WORDS`` (its default for every locale), the one-word entries: a
#: word is compared alone, so its multi-word entries ("according to") never apply.
STOP_WORDS = frozenset(
    [
        "about",
        "above",
        "across",
        "afore",
        "after",
        "against",
        "al",
        "along",
        "alongside",
        "amid",
        "amidst",
        "among",
        "amongst",
        "anenst",
        "apropos",
        "apud",
        "around",
        "as",
        "aside",
        "astride",
        "at",
        "athwart",
        "atop",
        "barring",
        "before",
        "behind",
        "below",
        "beneath",
        "beside",
        "besides",
        "between",
        "beyond",
        "but",
        "by",
        "circa",
        "despite",
        "down",
        "during",
        "et",
        "except",
        "for",
        "forenenst",
        "from",
        "given",
        "in",
        "inside",
        "into",
        "lest",
        "like",
        "modulo",
        "near",
        "next",
        "notwithstanding",
        "of",
        "off",
        "on",
        "onto",
        "out",
        "over",
        "per",
        "plus",
        "pro",
        "qua",
        "sans",
        "since",
        "than",
        "through",
        "thru",
        "throughout",
        "thruout",
        "till",
        "to",
        "toward",
        "towards",
        "under",
        "underneath",
        "until",
        "unto",
        "up",
        "upon",
        "versus",
        "vs.",
        "v.",
        "vs",
        "v",
        "via",
        "vis-à-vis",
        "with",
        "within",
        "without",
        "or",
        "yet",
        "so",
        "and",
        "nor",
        "a",
        "an",
        "the",
        "de",
        "d'",
        "von",
        "van",
        "c",
        "ca",
    ]
)

# separators: white space, the punctuation citeproc-js cuts at, and quotation marks; an
# apostrophe between two letters belongs to its word
_SPACE = " \u00a0\u2000-\u200b\u205f\u3000\t\n"
_SEPS = "\\-\u2013\u2014/.,;?!:\\[\\]()\"\u2018\u201c\u201d'\u2019"
_TOKEN = re.compile(
    rf"(?P<space>[{_SPACE}]+)"
    rf"|(?P<word>[^{_SPACE}{_SEPS}]+(?:['\u2019][^{_SPACE}{_SEPS}]+)*)"
    rf"|(?P<sep>.)"
)


def is_english(language: str | None) -> bool:
    """Whether a record's language (ISO 639 "en"/"eng", a tag "en-GB", or none) is English."""
    if not language or not language.strip():
        return True
    code = language.strip().casefold().replace("_", "-").split("-")[0]
    return code in ("en", "eng", "english")


def _capitalise(word: str) -> str:
    return word[:1].upper() + word[1:]


def title_case(text: str, language: str | None = None) -> str:
    """``text`` in title case by citeproc-js's rule (white space collapsed); unchanged when
    ``language`` is given and is not English."""
    text = " ".join(text.split())
    if not is_english(language):
        return text
    tokens = [(m.lastgroup, m.group(0)) for m in _TOKEN.finditer(text)]
    out = [value for _, value in tokens]
    first = True
    after_punct = False
    in_first_run = True  # no separator seen yet
    last_word = None
    for index, (kind, value) in enumerate(tokens):
        if kind == "sep":
            in_first_run = False
            if value in ":?!":
                after_punct = True
            continue
        if kind != "word":
            continue
        lower = value.lower()
        joined = index + 1 < len(tokens) and tokens[index + 1][1] == "-"
        capitalise = (
            (len(value) > 1 and lower not in STOP_WORDS)
            or (in_first_run and joined)
            or first
            or after_punct
        )
        if capitalise and value == lower:
            out[index] = _capitalise(value)
        first = after_punct = False
        last_word = index
    if last_word is not None:
        word = out[last_word]
        if len(word) > 1 and word.lower() in STOP_WORDS:
            out[last_word] = _capitalise(word)
    return "".join(out)
