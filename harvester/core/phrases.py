"""Topic phrase rules: which news entries a topic keeps.

A topic (or one of its feeds) lists *phrases* an entry must contain and *exclusions* it must not.
The rules are evaluated in this order, and :meth:`PhraseRules.match` says which phrase let an
entry in, so reviewers can see why it is in their queue:

1. The texts (title, summary, ...) are folded: markup made plain text
   (:func:`harvester.core.text.plain_text`), diacritics removed, case folded, curly quotes and
   apostrophes made straight, soft hyphens and zero-width joiners dropped, so
   "Sociál <b>Pre&shy;scribing</b>" reads "social prescribing" and "patient’s" reads
   "patient's".
2. If any exclusion matches any text, the entry is out, whatever its phrases.
3. Otherwise the first phrase, in the order configured, that matches any text is the answer.
4. No phrase matching (or no phrase configured) means the entry is out.

A phrase matches whole words only: "care" does not match "careful". A ``*`` inside or at the end
of a word matches any further letters, so "prescri*" matches "prescribing" and "link worker*"
matches "Link workers". The words of a multi-word phrase may be separated by any run of spaces,
hyphens or dashes in the text, so "social prescribing" matches "social-prescribing" and the other
way round. Surrounding quotes (as in a PubMed query, straight or curly) are ignored.

The card highlighter uses the same rules: :meth:`PhraseRules.spans` finds where each phrase and
exclusion matches in a plain text, folded the same way character by character, and gives the
places in the text as written; so a phrase that lets an entry in is always the phrase marked on
its card.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from harvester.core.text import plain_text

__all__ = ["PhraseRules", "Span", "compile_rules", "fold", "fold_with_offsets"]

_WORD_SPLIT = re.compile(r"[\s\-\u2010-\u2015_/]+")
# What may separate the words of a phrase in a text: spaces, hyphens, dashes, slashes.
_JOINER = r"[\s\-\u2010-\u2015_/]+"
# Typographic quotes as the straight ones users type; characters invisible inside a word (soft
# hyphen, zero-width joiners, word joiner, BOM) dropped; a zero-width space is a space.
_CHARACTERS = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
        **dict.fromkeys("\u00ad\u200c\u200d\u2060\ufeff", ""),
        "\u200b": " ",
    }
)


def fold(text: str) -> str:
    """``text`` as the rules see it: plain text (no tags, entities decoded), no diacritics,
    case-folded, straight quotes, no invisible characters."""
    if "<" in text or "&" in text:
        text = plain_text(text)
    return _fold_plain(text)


def _fold_plain(text: str) -> str:
    if text.isascii():
        return text.lower()  # what the steps below give for ASCII, without walking each letter
    text = text.translate(_CHARACTERS)
    # Unicode's compatibility caseless match: a compatibility form may be a capital ("𝕊" is
    # "S"), and case folding may give letters that decompose further, so NFKD on both sides.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return _NON_ASCII.sub(_without_marks, decomposed)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_marks(run: re.Match[str]) -> str:
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return _fold_plain(ch)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` folded as :func:`fold` folds plain text, and for each folded character the
    index of the character of ``text`` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


@dataclass(frozen=True, slots=True)
class Span:
    """Where a phrase (or an exclusion) matches in a text: ``text[start:end]``."""

    start: int
    end: int
    phrase: str
    exclusion: bool


def _phrase_words(phrase: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(fold(phrase).strip().strip("\"'")) if w]


def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = _phrase_words(phrase)
    parts = []
    for word in words:
        pieces = [re.escape(piece) for piece in word.split("*")]
        parts.append(r"\w*".join(pieces))
    if not any(part.replace(r"\w*", "") for part in parts):
        return None  # a phrase of wildcards and punctuation only would match everything
    return re.compile(r"(?<!\w)" + _JOINER.join(parts) + r"(?!\w)")


@dataclass(frozen=True)
class PhraseRules:
    """Compiled phrases and exclusions; see the module docstring for how they apply.

    ``any_phrase`` and ``any_exclusion`` match where any one of the phrases (exclusions) does:
    a text none of them matches is turned away by one search instead of one per phrase.
    """

    phrases: tuple[tuple[str, re.Pattern[str]], ...]
    exclusions: tuple[tuple[str, re.Pattern[str]], ...]
    any_phrase: re.Pattern[str] | None = None
    any_exclusion: re.Pattern[str] | None = None
    #: The letters each phrase begins with, before any wildcard (None when a phrase begins
    #: with one): a text holding none of them is matched by no phrase, which a substring test
    #: tells far sooner than the patterns do.
    openings: tuple[str, ...] | None = None

    def match(self, *texts: str | None) -> str | None:
        """The configured phrase that lets these texts in, or None when none does or an
        exclusion matches."""
        return self.match_folded(*(fold(text) for text in texts if text))

    def match_folded(self, *folded: str) -> str | None:
        """:meth:`match` of texts already folded (:func:`fold`), for a caller that asks
        several rules about the same texts."""
        if not folded:
            return None
        if self.openings is not None and not any(
            opening in text for text in folded for opening in self.openings
        ):
            return None
        if self.any_exclusion is not None and any(
            self.any_exclusion.search(text) for text in folded
        ):
            return None
        if self.any_phrase is None or not any(self.any_phrase.search(t) for t in folded):
            return None
        for phrase, pattern in self.phrases:
            if any(pattern.search(text) for text in folded):
                return phrase
        return None

    def spans(self, text: str) -> list[Span]:
        """Every match of every phrase and exclusion in the plain ``text``, as places in
        ``text`` itself (the card highlighter marks them)."""
        folded, origin = fold_with_offsets(text)
        found = []
        for exclusion, rules in ((True, self.exclusions), (False, self.phrases)):
            for phrase, pattern in rules:
                for match in pattern.finditer(folded):
                    if match.end() > match.start():
                        start, end = origin[match.start()], origin[match.end() - 1] + 1
                        found.append(Span(start, end, phrase, exclusion))
        return found


def compile_rules(phrases: Sequence[str], exclude: Sequence[str] = ()) -> PhraseRules:
    """Compile a topic's (or feed's) phrases and exclusions once, for many entries.

    Blank phrases, and phrases made only of wildcards or punctuation, are ignored: they would
    otherwise match every entry.
    """

    def compiled(items: Sequence[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
        out = []
        for item in items:
            pattern = _phrase_pattern(item)
            if pattern is not None:
                out.append((item.strip(), pattern))
        return tuple(out)

    def either(rules: tuple[tuple[str, re.Pattern[str]], ...]) -> re.Pattern[str] | None:
        if not rules:
            return None
        # Every pattern starts where no letter goes before ((?<!\w)): said once in front of the
        # alternatives, a place inside a word is passed over with one test instead of one per
        # phrase (three times faster on abstracts); what matches is the same.
        alternatives = "|".join(f"(?:{pattern.pattern})" for _, pattern in rules)
        return re.compile(rf"(?<!\w)(?:{alternatives})")

    def openings(rules: tuple[tuple[str, re.Pattern[str]], ...]) -> tuple[str, ...] | None:
        found = [_phrase_words(phrase)[0].split("*")[0] for phrase, _ in rules]
        return None if not all(found) else tuple(dict.fromkeys(found))

    included, excluded = compiled(phrases), compiled(exclude)
    return PhraseRules(
        phrases=included,
        exclusions=excluded,
        any_phrase=either(included),
        any_exclusion=either(excluded),
        openings=openings(included),
    )
