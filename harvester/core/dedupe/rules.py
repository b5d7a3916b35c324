"""What a record's title, issue and journal say before two records are compared.

Pure helpers for :mod:`harvester.core.dedupe.match`:

- :func:`title_class`: whether a title is a **notice** (erratum, correction, retraction,
  expression of concern) and of which article, and whether it is a **recurring** title (an
  editorial, a column, a letter or a reply, a book review, a short generic title) that many
  different items carry, issue after issue. Notices are recognised by their structure (a
  notice word standing alone or followed by ``:``, ``to:``, a quoted title or a citation; the
  unambiguous words "erratum" and "corrigendum"), never by a first word alone: "Correction of
  severe scoliosis" and "Retraction of the upper eyelid" are ordinary articles.
- :func:`issue_numbers`: the numbers of an issue ("2-3" is issues 2 and 3) for comparison.
- :func:`journal_forms` and :func:`journals_agree`: a journal's names (full title, ISO/NLM
  abbreviation, the parts of "Ai zheng = Chinese journal of cancer") and whether two journal
  names can be one journal, by matching abbreviated words against full words in order
  ("Chin Med J (Engl)" / "Chinese Medical Journal") or an acronym against initials ("BMJ" /
  "British Medical Journal"). No list of journals is kept.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from harvester.core.normalise import STOPWORDS, compact, normalise_text

__all__ = [
    "JOURNAL_STOPWORDS",
    "TitleClass",
    "authors_agree",
    "is_article_number",
    "is_short_title",
    "issue_numbers",
    "journal_forms",
    "journals_agree",
    "title_class",
    "title_numbers",
]

_NOTICE_TYPES = {
    "published erratum": "erratum-of",
    "erratum": "erratum-of",
    "correction": "erratum-of",
    "retraction of publication": "retraction-of",
    "retraction notice": "retraction-of",
    "expression of concern": "concern-of",
}
_Q = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
# A notice word, then what makes the title a notice: the end of the title, a separator (":",
# ".", a dash) or a linking word with a separator or a quoted title after it.
_NOTICE = re.compile(
    r"^\W*(?P<head>(?:(?P<erratum>errat(?:um|a)|corrigend(?:um|a)|(?:author|publisher)\W?s?\s+correction"
    r"|correction(?:\s+notice)?|notice\s+of\s+correction|publisher\W?s?\s+note)"
    r"|(?P<retraction>retraction(?:\s+(?:notice|note|statement))?|retracted(?:\s+article)?"
    r"|notice\s+of\s+retraction|withdrawn(?:\s+article)?)"
    r"|(?P<concern>(?:editorial\s+)?expression\s+of\s+concern))\b)"
    r"(?P<link>\s*(?:[:.\u2013\u2014-]|\s(?:to|for|of|on|in|regarding)\b\s*[:.]?)\s*)?(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# Words that make a notice whatever follows them (no article title starts with them).
_ALWAYS_NOTICE = re.compile(
    r"^(?:errat|corrigend|expression of concern|editorial expression of concern|notice of "
    r"retraction|retraction notice|retraction note|retracted article)",
)
# "... [Lancet 2010;375:1234]", "(J Clin Oncol. 2019;37(4):123)": a title citing another work.
_CITATION = re.compile(r"(?:19|20)\d\d\s*[;:,]\s*\d+\s*(?:\(\s*[\w-]+\s*\))?\s*:\s*[a-z]?\d+", re.I)
_TRAILING_CITATION = re.compile(
    r"\s*[\[(][^\[\]()]*(?:19|20)\d\d\s*[;:,][^\[\]()]*[\])]\s*\.?\s*$", re.IGNORECASE
)

# Titles that many different items carry (matched against the normalised title): a recurring
# title only merges with the same bibliographic position or a shared identifier.
_RECURRING_WHOLE = re.compile(
    r"^(?:(?:guest |invited |an |the )?editorials?(?: comments?| notes?| board)?"
    r"|(?:from the )?editors?(?: s)?(?: comments?| notes?| choice| introduction| corner| page"
    r"| letter| message| preface| summary)?|from the (?:editors?|editor in chief|president)"
    r"|(?:(?:authors?|the authors?)(?: s)? )?(?:reply|replies|response|responses|rejoinder)"
    r"|in reply|reply to (?:the )?(?:letter|comment|editor|commentary)s?"
    r"|letters?(?: to the editors?)?|correspondence|comments?|commentary|commentaries"
    r"|discussion|invited commentary|editorial comment|erratum|errata|corrections?"
    r"|corrigend(?:um|a)|(?:in )?this issue|in this issue of [a-z ]+|inside this issue"
    r"|(?:book|books|media|software) reviews?|books?|reviews?|news(?: in brief)?|briefs?"
    r"|announcements?|introduction|preface|foreword|prologue|epilogue|obituary|obituaries"
    r"|in memoriam|acknowledge?ments?|(?:thank you to |thanks to )?(?:our )?(?:reviewers?"
    r"|referees?)(?: \d{4})?|reviewer acknowledge?ments?|(?:meeting |conference )?abstracts?"
    r"|highlights|research highlights|(?:table of )?contents|index|masthead|front matter"
    r"|cover|calendar|events|erratum notice|case reports?|images? in [a-z ]+|quiz|answer"
    r"|what s new|summaries|summary|highlights? of this issue|issue information"
    r"|call for papers|current literature|recent literature|literature review|abstract"
    r"|(?:the )?president s (?:message|column|page)|notes? (?:and|&) news|digest)$"
)
_RECURRING_START = re.compile(
    r"^(?:in reply to |reply to |replies to |author s reply to "
    r"|authors reply to |comment on |comments on |commentary on |letter to the editor "
    r"|letters to the editor |editorial comment on |editor s comments? |editors comments? "
    r"|introduction to the (?:special |focus |theme )?(?:issue|section|minitrack|track"
    r"|symposium|forum|supplement)\b|in this issue |book review )"
)
_RESPONSE_RAW = re.compile(r"^\W*(?:re|reply|response|comment|in reply)\s*:", re.IGNORECASE)
# A title of this few significant words can belong to several items ("Intrapleural therapy").
SHORT_TITLE_WORDS = 2

# Words a journal's or proceedings' name can carry or drop ("Amcis 2017 Proceedings").
JOURNAL_STOPWORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "for",
        "in",
        "on",
        "de",
        "des",
        "du",
        "la",
        "le",
        "et",
        "y",
        "fur",
        "und",
        "der",
        "die",
        "das",
        "d",
        "l",
        "a",
        "an",
        "proceedings",
        "proc",
        # articles a journal's name starts with in one database and not in another ("Il
        # Torace", "Den Norske tannlaegeforenings tidende", "El Medico")
        "il",
        "lo",
        "gli",
        "el",
        "los",
        "las",
        "os",
        "den",
        "det",
        "het",
    ]
)
_MEETING = re.compile(r"\b(?:proceedings|proc|conference|symposium|workshop|congress|meeting)\b")
_MEETING_NUMBER = re.compile(r"\b(?:\d+(?:st|nd|rd|th)?|annual|biennial|the)\b")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_ALTERNATIVES = re.compile(r"\s=\s|\s*[:.;]\s+|\s+-\s+")


@dataclass(frozen=True, slots=True)
class TitleClass:
    notice: str | None = None  # "erratum-of", "retraction-of", "concern-of" for a notice
    notice_title: str = ""  # the normalised title of the article the notice is about
    recurring: bool = False  # a title carried by many different items


def title_class(raw: str | None, key: str, publication_types: Sequence[str] = ()) -> TitleClass:
    """What the title ``raw`` (as the record gives it; ``key`` is its normalised form) and the
    record's publication types say about the record."""
    typed = next(filter(None, (_NOTICE_TYPES.get(t.casefold()) for t in publication_types)), None)
    text = html.unescape(raw).strip() if raw else key
    notice, rest = _notice_in_title(text)
    relation = typed or notice
    cited = normalise_text(_TRAILING_CITATION.sub("", rest)) if relation and rest else ""
    recurring = bool(
        relation
        or _RECURRING_WHOLE.match(key)
        or _RECURRING_START.match(key + " ")
        or (raw and _RESPONSE_RAW.match(raw))
    )
    return TitleClass(relation, cited, recurring)


def is_short_title(key: str) -> bool:
    """A title key of at most ``SHORT_TITLE_WORDS`` significant words."""
    return len([w for w in key.split() if w not in STOPWORDS]) <= SHORT_TITLE_WORDS


def _notice_in_title(text: str) -> tuple[str | None, str]:
    """The notice relation a title states by its structure, and the rest of the title."""
    match = _NOTICE.match(text)
    if match is None:
        return None, ""
    link = match.group("link") or ""
    rest = match.group("rest").strip()
    head = normalise_text(match.group("head"))
    structural = (
        not rest  # the notice word alone: "Erratum", "Correction."
        or re.search(r"[:.\u2013\u2014-]", link) is not None  # "Correction: X", "Erratum to: X"
        or rest[:1] in _Q  # 'Correction to "X"'
        or _ALWAYS_NOTICE.match(head) is not None  # "Erratum to X", "Expression of concern X"
        or _CITATION.search(rest) is not None  # "Correction of ... (Lancet 2019;393:12)"
    )
    if not structural:
        return None, ""
    rest = rest.strip(_Q + " ")
    if match.group("erratum"):
        return "erratum-of", rest
    if match.group("retraction"):
        return "retraction-of", rest
    return "concern-of", rest


def issue_numbers(issue: str | None) -> frozenset[str]:
    """An issue's numbers, or its text when it has none ("2-3" -> {"2", "3"}; "Suppl 1" ->
    {"s1"}; "04" -> {"4"}); empty for no issue."""
    if not issue:
        return frozenset()
    text = normalise_text(issue)
    supplement = bool(re.search(r"\bsup(?:p|pl|plement)?\b", text))
    numbers = [n.lstrip("0") or "0" for n in re.findall(r"\d+", text)]
    range_match = re.fullmatch(r"\s*(\d+)\s*[-/]\s*(\d+)\s*", issue)
    if range_match and not supplement:
        low, high = int(range_match.group(1)), int(range_match.group(2))
        if 0 <= high - low <= 12:
            numbers = [str(n) for n in range(low, high + 1)]
    if supplement:
        return frozenset("s" + n for n in numbers) or frozenset(["s"])
    return frozenset(numbers) if numbers else frozenset([text])


@functools.lru_cache(maxsize=4096)  # a few thousand journals carry most records
def journal_forms(*names: str | None) -> tuple[str, ...]:
    """The normalised names a journal goes by in ``names`` (its title, its abbreviation): each
    name whole and, for "Ai zheng = Aizheng = Chinese journal of cancer" or "Jpen: Journal of
    ...", each part; parenthesised notes ("(Engl)", "(1946)", "[Electronic Resource]") dropped."""
    forms: list[str] = []
    for name in names:
        if not name:
            continue
        plain = _BRACKETS.sub(" ", html.unescape(name))
        for part in [plain, *_ALTERNATIVES.split(plain)]:
            form = normalise_text(part)
            if form and any(w not in JOURNAL_STOPWORDS for w in form.split()):
                forms.append(form)
                if _MEETING.search(form):
                    # A meeting's proceedings by the meeting's name, without its number, year
                    # and "annual": "50th Annual Hawaii International Conference ..."
                    forms.append(" ".join(_MEETING_NUMBER.sub(" ", form).split()))
    return tuple(dict.fromkeys(f for f in forms if f))


def journals_agree(a: Iterable[str], b: Iterable[str]) -> bool | None:
    """Whether two journals (their :func:`journal_forms`) can be one journal; None when either
    is unknown."""
    forms_a, forms_b = list(a), list(b)
    if not forms_a or not forms_b:
        return None
    return any(_forms_agree(fa, fb) for fa in forms_a for fb in forms_b)


def _forms_agree(a: str, b: str) -> bool:
    wa = [w for w in a.split() if w not in JOURNAL_STOPWORDS and not w.isdigit()]
    wb = [w for w in b.split() if w not in JOURNAL_STOPWORDS and not w.isdigit()]
    if _words_agree(wa, wb):
        return True
    # A stop word can be an abbreviation's first word ("An Pediatr" / "Anales de pediatria").
    first_a, first_b = a.split()[:1], b.split()[:1]
    if (first_a and first_a[0] in JOURNAL_STOPWORDS) or (
        first_b and first_b[0] in JOURNAL_STOPWORDS
    ):
        return _words_agree(
            [w for w in a.split() if not w.isdigit()], [w for w in b.split() if not w.isdigit()]
        )
    return False


def _words_agree(wa: list[str], wb: list[str]) -> bool:
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    short, long = sorted((wa, wb), key=lambda words: (len(words), words))
    if len(short) == 1 and len(long) >= 3 and _acronym(short[0], long):
        return True  # "bmj" / "british medical journal", "amcis" / "americas conference ..."
    if not _abbreviates(short[0], long[0]):
        return False  # "Stroke" is not "Journal of Stroke and ..."
    position = 0
    for word in short:
        while position < len(long) and not _abbreviates(word, long[position]):
            position += 1
        if position == len(long):
            return False
        position += 1
    return True


def _acronym(word: str, words: list[str]) -> bool:
    """``word`` is made of a start of each of ``words`` in order, at most two letters each ("bmj"
    / "british medical journal", "amcis" / "americas conference information systems")."""
    if len(word) < len(words) or len(word) > 2 * len(words):
        return False
    if not words:
        return not word
    first, rest = words[0], words[1:]
    return any(
        word.startswith(first[:size]) and _acronym(word[size:], rest)
        for size in (1, 2)
        if size <= len(first) and (rest or size == len(word))
    )


def _abbreviates(one: str, other: str) -> bool:
    """One word abbreviates the other: equal, or the shorter has the longer's first letter and
    is a subsequence of it ("j" / "journal", "chin" / "chinese", "pathol" / "pathologie"), also
    with a vowel pair that one spelling writes as one letter ("anaesth" / "anasthesie" for "ä",
    "paediatr" / "pediatrics")."""
    if one == other:
        return True
    return any(_subsequence(fold(one), fold(other)) for fold in (str, _umlaut_fold, _digraph_fold))


def _subsequence(one: str, other: str) -> bool:
    short, long = sorted((one, other), key=len)
    if not short or short[0] != long[0]:
        return False
    letters = iter(long)
    return all(ch in letters for ch in short)


def _umlaut_fold(word: str) -> str:
    return re.sub(r"(?<=\w)([aou])e", r"\1", word)


def _digraph_fold(word: str) -> str:
    return re.sub(r"(?<=\w)[ao]e", "e", word)


_DIGITS = re.compile(r"\d+")
_ROMAN = frozenset(["ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"])


def title_numbers(title: str) -> frozenset[str]:
    """The numbers in a title ("co 2" and "co2" agree; "d2" and "d4", "phase ii" and "phase
    iii" do not)."""
    return frozenset(_DIGITS.findall(compact(title))) | {w for w in title.split() if w in _ROMAN}


def is_article_number(page: str) -> bool:
    """A locator of letters and at least five digits: an article number, not a page."""
    return bool(re.fullmatch(r"[a-z]{1,3}\d{5,}", page))


def authors_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    """First authors agree: equal, one a particle-less form of the other ("von pawel" /
    "pawel"), close in spelling (transliteration, lost diacritics), or listed second in the
    other record (a group or a dropped first author)."""
    fa, fb = a[0], b[0]
    if fa == fb:
        return True
    short, long = sorted((fa, fb), key=len)
    if len(short) >= 3 and (long.endswith(short) or long.startswith(short)):
        return True
    if fuzz.ratio(fa, fb) >= 80:
        return True
    return (len(b) > 1 and fa == b[1]) or (len(a) > 1 and fb == a[1])
