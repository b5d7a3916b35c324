"""Normalisers for identifiers, titles and names: the keys dedupe compares.

Everything here is pure and idempotent (``n(n(x)) == n(x)``, checked with Hypothesis): a stored
key can be normalised again by a later version without changing, and a key computed from an
already-normalised value is the same key. Identifier normalisers return ``None`` for anything
that is not a plausible identifier, so garbage never becomes a shared identity.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import re
import unicodedata
from urllib.parse import unquote

from harvester.core.models import PubDate, WorkKind, is_placeholder_title
from harvester.core.urls import canonical_url, identifies_record, is_http_url

__all__ = [
    "PLACE_MARK",
    "YEARS_APART",
    "YEAR_MARK",
    "abstract_key",
    "author_key",
    "block_keys",
    "compact",
    "day_key",
    "filed_place",
    "first_page",
    "identity_url",
    "last_page",
    "lookup_finds",
    "lookup_ranges",
    "month_number",
    "normalise_doi",
    "normalise_pmcid",
    "normalise_pmid",
    "normalise_text",
    "normalise_title",
    "normalise_url",
    "place_finds",
    "repair_pages",
    "strip_site_suffix",
    "title_key",
    "title_lookup",
    "title_lookups",
    "translated_title",
]

_DOI_PREFIX = re.compile(
    r"^(?:https?://)?(?:(?:dx\.|www\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE
)
_DOI_VIEW_SUFFIX = re.compile(r"(?:/(?:full|abstract|pdf|epdf|fulltext))+$")
_BIORXIV_VERSION = re.compile(r"(?<=\d)v\d{1,2}$")
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
_PMID_PREFIX = re.compile(r"^(?:pmid|pubmed)\s*[:=]?\s*", re.IGNORECASE)
_PMCID_SHAPE = re.compile(r"^(?:pmc(?:id)?\s*[:=]?\s*)?(?:pmc)?0*(\d{1,9})$", re.IGNORECASE)

_TAG = re.compile(r"<[^>]{0,200}>")
# Notes that databases add to a title: "[published correction appears in ...]", "[Erratum in:
# ...]" (often cut off by a field-length limit, so the closing bracket may be missing), "[Review]
# [57 refs]", "[abstract no: 134]", "(Provisional abstract)", and Embase's "<ORIGINAL> ..." vernacular title. They say
# nothing about which article it is.
_TRAILING_NOTE = re.compile(
    r"\s*(?:\[\s*(?:published|erratum|errata|corrected and republished|retraction|retracted"
    r"|expression of concern|comment|see comment|update in|reprint|\d+ refs|review\]"
    r"|abstract(?: no\.?| number)?\s*:?\s*[\w.-]*\])"
    r"|\(provisional abstract\)|<ORIGINAL>"
    # MEDLINE's mark of a title the authors translated (1970s and 1980s records); another
    # database gives the same title without it
    r"|\(\s*authors?'?s?\s+transl(?:ation|\.)?\s*\))",
    re.IGNORECASE,
)
_INLINE_NOTE = re.compile(r"\[(?:corrected|sic)\]", re.IGNORECASE)
_SITE_SUFFIX = re.compile(
    r"^(?P<head>.*\S)\s+(?:[-|\u2013\u2014:]|::)\s+(?P<site>[^-|\u2013\u2014]{1,60})$"
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_NON_WORD_ASCII = re.compile(r"[^a-z0-9]+")  # the same on lower-case ASCII, and faster
_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "σ": "sigma",
    "τ": "tau",
    "ω": "omega",
}
_GREEK_RE = re.compile("|".join(_GREEK))
# Letters that Unicode does not decompose into a base letter plus a mark.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th"})
# Words too common to tell titles apart in a blocking key.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "within",
        "via",
        "its",
        "their",
        "this",
        "that",
        "these",
        "those",
    ]
)


def normalise_doi(value: str | None) -> str | None:
    """A DOI case-folded, without resolver prefixes or URL encoding, or None if it is not one.

    DOIs are case-insensitive by definition, so folding is safe. Trailing punctuation that
    sticks to a DOI copied out of running text is dropped. Two suffixes that are not part of the
    DOI but come along when it is copied from a landing-page URL are removed, so these DOI forms
    count as the same work: a publisher view suffix (``/full``, ``/abstract``, ``/pdf``,
    ``/epdf``, ``/fulltext``) and bioRxiv/medRxiv's version suffix (``10.1101/...v2``: the
    versions of one preprint share one DOI).
    """
    if not value:
        return None
    doi = value.strip()
    for _ in range(3):  # "https://doi.org/doi%3A10..." and other stacked forms
        before = doi
        doi = unquote(doi).strip()
        doi = _DOI_PREFIX.sub("", doi)
        if doi == before:
            break
    doi = doi.rstrip(".,;)]}>").casefold()
    doi = "".join(doi.split())
    doi = _DOI_VIEW_SUFFIX.sub("", doi)
    if doi.startswith("10.1101/"):
        doi = _BIORXIV_VERSION.sub("", doi)
    return doi if _DOI_SHAPE.match(doi) else None


def normalise_pmid(value: str | int | None) -> str | None:
    """A PMID as its digits without leading zeros, or None."""
    if value is None:
        return None
    text = _PMID_PREFIX.sub("", str(value).strip())
    if not text.isascii() or not text.isdigit():
        return None
    text = text.lstrip("0")
    return text if 0 < len(text) <= 9 else None


def normalise_pmcid(value: str | None) -> str | None:
    """A PMC id as ``PMC`` + digits (the form PubMed and Europe PMC both print), or None."""
    if not value:
        return None
    match = _PMCID_SHAPE.match(value.strip())
    if not match or not value.strip().isascii():
        return None
    return f"PMC{match.group(1)}"


def normalise_url(value: str | None) -> str | None:
    """The canonical form of a URL for identity (see :func:`harvester.core.urls.canonical_url`),
    or None when there is no http(s) URL."""
    if not value or not value.strip():
        return None
    url = canonical_url(value)
    return url if is_http_url(url) else None


def identity_url(value: str | None) -> str | None:
    """The canonical URL as an identity of a record (:func:`normalise_url`), or None when it
    names no one record: a site's or resolver's root, a home page, a search page
    (:func:`harvester.core.urls.identifies_record`)."""
    url = normalise_url(value)
    return url if url is not None and identifies_record(url) else None


def normalise_text(value: str) -> str:
    """Lower-case ASCII-folded words separated by single spaces: HTML, punctuation and
    diacritics removed, ``&`` spelled ``and``, common Greek letters spelled out."""
    text = html.unescape(value)
    text = _TAG.sub("", text)
    text = _GREEK_RE.sub(lambda m: " " + _GREEK[m.group(0)] + " ", text.replace("&", " and "))
    if text.isascii():  # most text: nothing to decompose or fold, and much faster
        return " ".join(_NON_WORD_ASCII.sub(" ", text.lower()).split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().translate(_FOLD)
    text = _GREEK_RE.sub(lambda m: " " + _GREEK[m.group(0)] + " ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalise_title(value: str | None) -> str:
    """A title for matching: :func:`normalise_text` after dropping the notes databases append
    ("[published correction appears in ...]", "[Erratum in ...]"); "" for a placeholder that
    stands for no title (``[no title]``), which must never match another placeholder."""
    if not value or is_placeholder_title(value):
        return ""
    text = _INLINE_NOTE.sub("", html.unescape(value)).strip().strip('"')
    note = _TRAILING_NOTE.search(text, 1)
    if note is not None:  # the notes come last: everything after the first one goes too
        text = text[: note.start()]
    return normalise_text(_LANGUAGE_TAG.sub("", text))


def strip_site_suffix(title: str, site: str | None = None) -> str:
    """The headline without a trailing " - Site Name" / " | Site Name".

    News aggregators and many sites append the publisher to the headline; the same story from
    the publisher's own feed has no suffix. With ``site`` given only that name is removed;
    without it, a suffix of at most five words is (headlines rarely end in such a dash clause).
    """
    match = _SITE_SUFFIX.match(title.strip())
    if not match:
        return title
    suffix = match.group("site").strip()
    if site is not None:
        return match.group("head") if normalise_text(suffix) == normalise_text(site) else title
    return match.group("head") if len(suffix.split()) <= 5 else title


@functools.lru_cache(maxsize=4096)  # a hit's title is keyed again when its work is stored
def title_key(title: str | None, kind: WorkKind = WorkKind.ARTICLE, site: str | None = None) -> str:
    """The title as dedupe compares it, for a hit and a stored work alike: an article's
    :func:`normalise_title`; a news headline's without the " - Site" suffix aggregators add
    (``site``, the outlet's name, when known; else any short suffix)."""
    if kind is WorkKind.NEWS and title:
        stripped = strip_site_suffix(title, site) if site else title
        return normalise_title(strip_site_suffix(stripped))
    return normalise_title(title)


def day_key(published_at: dt.datetime | None, pub_date: PubDate | None) -> dt.date | None:
    """The day a record was published, for a hit and a stored work alike: the UTC day of its
    publication time, else its publication date when that names a day; ``None`` otherwise."""
    if published_at is not None:
        if published_at.tzinfo is not None:
            published_at = published_at.astimezone(dt.UTC)
        return published_at.date()
    if pub_date is not None and pub_date.month and pub_date.day:
        return pub_date.as_date()
    return None


def compact(key: str) -> str:
    """A title key without spaces: "post operative" and "postoperative" agree."""
    return key.replace(" ", "")


def significant(key: str) -> str:
    """A title key without stop words, compacted: the text blocking keys are cut from."""
    return "".join(word for word in key.split() if word not in STOPWORDS)


#: Between the parts of a title's blocking key: "p:<title start>|<volume>|<year>".
PLACE_MARK = "|"
#: Between a title lookup's volume and the year it looks around ("p:<title start>|34@2020").
YEAR_MARK = "@"
#: Most years apart that two records matched by their titles give
#: (:mod:`harvester.core.dedupe.match`; notices, abstracts and article numbers have blocks of
#: their own).
YEARS_APART = 1


def block_keys(
    key: str, author: str | None, year: int | None, *, volume: str | None = None, width: int = 14
) -> list[str]:
    """Blocking keys of a work: works that share none are never compared.

    Several keys per work so that one typo does not hide a duplicate: the start of the title,
    the end of the title (both without stop words and spaces) and first author + year with each
    of the title's two longest words. Each key selects a small block, so the fuzzy comparison
    grows with the number of works, not with its square.

    A title's start and end are common to many works ("Identification of ...", "... a
    systematic review and meta-analysis"), so each is filed with the volume and the year
    ("p:<start>|34|2020", "p:<start>||2020" without a volume, "p:<start>||" without either):
    a record looks only at its own volume, at works without one and at the years around its own
    (:func:`title_lookups`, :func:`lookup_finds`), and a title's block does not grow with the
    volumes and years a store holds. (:meth:`harvester.core.dedupe.keys.Keys.blocks` adds the
    place in the volume, the abstract and the article number.)
    """
    keys: list[str] = []
    sig = significant(key)
    if len(sig) >= 6:
        place = f"{PLACE_MARK}{(volume or '')[:40]}{PLACE_MARK}{year or ''}"
        keys += [f"p:{sig[:width]}{place}", f"s:{sig[-width:]}{place}"]
    if author and year:
        # First author and year, with each of the title's longest words: a title mistyped at
        # both ends (and so without a shared start or end) keeps most of its long words, and a
        # prolific author's year is split into small blocks (one key for the author's whole
        # year grows with the store and would have to be cut).
        words = _long_words(key)
        keys += [f"a:{author[:100]}:{year}:{w}" for w in words] or [f"a:{author[:100]}:{year}"]
    return list(dict.fromkeys(keys))


def title_lookups(blocks: list[str], volume: str | None, year: int | None) -> list[str]:
    """The keys a record filed under ``blocks`` (:func:`block_keys`) looks up.

    Two articles in different volumes, or more than :data:`YEARS_APART` years apart, are never
    one by their titles (an abstract, a notice or an article number excepted: they have keys and
    rules of their own), so a record with a volume looks at its volume's works and those without
    one ("p:<start>|34"), a record without a volume at every volume's ("p:<start>|*"); a record
    with a year only at works of the years around it or of none ("...@2020"). Other keys are
    looked up as they are filed. :func:`lookup_finds` says which filed keys a lookup finds.
    """
    found: list[str] = []
    for key in blocks:
        start, mark, _place = key.partition(PLACE_MARK)
        if mark:
            around = f"{YEAR_MARK}{year}" if year else ""
            found.append(f"{start}{PLACE_MARK}{(volume or '*')[:40]}{around}")
        else:
            found.append(key)
    return list(dict.fromkeys(found))


def title_lookup(key: str) -> tuple[str, str | None, int | None] | None:
    """A title lookup's block (its start or end, "p:<start>"), volume (None: any) and year (None:
    any); None for a lookup of another kind."""
    start, mark, rest = key.partition(PLACE_MARK)
    if not mark or PLACE_MARK in rest:
        return None
    volume, _, year = rest.partition(YEAR_MARK)
    return start, None if volume == "*" else volume, int(year) if year.isdigit() else None


def filed_place(key: str) -> tuple[str, str, int | None] | None:
    """A filed title key's block, volume ("" for none) and year (None for none); None for a key
    of another kind."""
    start, mark, place = key.partition(PLACE_MARK)
    if not mark:
        return None
    volume, _, year = place.partition(PLACE_MARK)
    return start, volume, int(year) if year.isdigit() else None


def place_finds(
    volume: str | None, year: int | None, filed_volume: str, filed_year: int | None
) -> bool:
    """Whether a title lookup of ``volume`` and ``year`` (None: any) finds a work filed under
    ``filed_volume`` ("": none) and ``filed_year`` (None: none)."""
    if volume is not None and filed_volume not in (volume, ""):
        return False
    return year is None or filed_year is None or abs(filed_year - year) <= YEARS_APART


def lookup_finds(lookup: str, key: str) -> bool:
    """Whether a record's ``lookup`` (:func:`title_lookups`) finds a work filed under ``key``
    (:func:`block_keys`): a title's key in the volume looked at or in none, and of a year
    :data:`YEARS_APART` from the one looked around or of none; any other key when they are
    the same."""
    title = title_lookup(lookup)
    if title is None:
        return lookup == key
    filed = filed_place(key)
    return filed is not None and filed[0] == title[0] and place_finds(*title[1:], *filed[1:])


def lookup_ranges(start: str, volume: str | None) -> list[tuple[str, str]]:
    """The ranges of filed keys a title lookup of block ``start`` and ``volume`` (None: any) reads
    (:func:`title_lookup`), ``low <= key < high``: a superset of what it finds
    (:func:`lookup_finds`), its volume's and no volume's, or every volume's. A lookup of any
    other kind is read as it is."""
    after = chr(ord(PLACE_MARK) + 1)
    if volume is None:
        return [(start + PLACE_MARK, start + after)]
    return [
        (f"{start}{PLACE_MARK}{volume}{PLACE_MARK}", f"{start}{PLACE_MARK}{volume}{after}"),
        (f"{start}{PLACE_MARK}{PLACE_MARK}", f"{start}{PLACE_MARK}{after}"),
    ]


# Particles that one database keeps in a family name and another moves to the given names or
# drops ("van der Berg" / "Berg", "Le Quintrec" / "Quintrec", "D'Amico" / "Amico").
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "dei",
        "degli",
        "di",
        "da",
        "das",
        "dos",
        "do",
        "du",
        "le",
        "la",
        "les",
        "l",
        "d",
        "t",
        "ten",
        "ter",
        "op",
        "het",
        "zu",
        "al",
        "el",
    ]
)


#: How many of a title's longest words make an author-and-year blocking key each.
AUTHOR_KEY_WORDS = 2


def _long_words(key: str) -> list[str]:
    """The title's longest significant words (four letters or more; ties in alphabetical
    order)."""
    words = {w for w in key.split() if len(w) >= 4 and w not in STOPWORDS}
    return sorted(words, key=lambda w: (-len(w), w))[:AUTHOR_KEY_WORDS]


@functools.lru_cache(maxsize=16384)  # family names repeat across records
def author_key(family: str | None) -> str | None:
    """The first author's family name folded to lower-case ASCII letters, without the
    particles in front of it ("van der Berg" and "Berg" give "berg"), or None."""
    if not family:
        return None
    words = normalise_text(family).split()
    while len(words) > 1 and words[0] in _PARTICLES:
        words = words[1:]
    key = "".join(words)
    return key[:128] or None


# A translated title's tag: "[Spanish]", "[Article in German]", "(in Russian)", "[Japanese,
# English abstract]".
_LANGUAGES = (
    "afrikaans|arabic|bulgarian|catalan|chinese|croatian|czech|danish|dutch|english|estonian"
    "|finnish|french|german|greek|hebrew|hungarian|icelandic|indonesian|italian|japanese|korean"
    "|latvian|lithuanian|malay|norwegian|persian|polish|portuguese|romanian|russian|serbian"
    "|slovak|slovenian|spanish|swedish|thai|turkish|ukrainian|vietnamese"
)
_LANGUAGE_TAG = re.compile(
    rf"\s*[\[(]\s*(?:(?:article|text|paper)\s+)?(?:in\s+)?(?:{_LANGUAGES})"
    rf"(?:\s*(?:,|and|&|with)\s*(?:(?:{_LANGUAGES})\s*)?(?:summary|abstract)?)*\s*[\])]\s*\.?\s*$",
    re.IGNORECASE,
)


def translated_title(title: str | None) -> bool:
    """Whether a title says it is a translation: MEDLINE's English title of a non-English article
    in square brackets ("[Treatment of ...]."), or a language tag after it ("... [Spanish]",
    "... [Article in German]")."""
    if not title:
        return False
    text = title.strip()
    if text.startswith("[") and text.rstrip(". ").endswith("]") and "]" not in text[1:-2]:
        return True
    return _LANGUAGE_TAG.search(text) is not None


# Section labels of a structured abstract ("BACKGROUND:", "Methods."), and the publisher's
# copyright line that one database keeps and another drops.
# (a label opens the text or follows "." or a space)
_ABSTRACT_LABEL = re.compile(r"(?<![^.\s])[A-Z][A-Z &/-]{2,40}[:.]\s")
_COPYRIGHT = re.compile(r"(?:\u00a9|\(c\)|copyright\b)[^.]*(?:\.|$).*$", re.IGNORECASE | re.DOTALL)
#: The shortest abstract (in letters and digits) that identifies its article: shorter ones
#: ("No abstract available", a one-line summary) are shared by many.
ABSTRACT_MIN_CHARS = 400


@functools.lru_cache(maxsize=4096)  # a hit's abstract is keyed again when its work is stored
def abstract_key(abstract: str | None) -> str | None:
    """A fingerprint of an abstract's words (section labels and the copyright line left out),
    or None for an abstract too short to identify its article."""
    if not abstract:
        return None
    text = _COPYRIGHT.sub("", _ABSTRACT_LABEL.sub(" ", html.unescape(abstract)))
    words = compact(normalise_text(text))
    if len(words) < ABSTRACT_MIN_CHARS:
        return None
    return hashlib.blake2b(words.encode(), digest_size=10).hexdigest()


_MONTH_WORDS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS = {name[:3]: number for number, name in enumerate(_MONTH_WORDS, 1)}

# The first page opens the field (after "p."/"pp."): a field such as "t-20" or "Suppl-6" is a
# garbled range whose first page is lost.
_PAGE = re.compile(
    r"^[\s\"'(\[]*(?:pp?\.?\s*)?([A-Za-z]*\d+[A-Za-z]?|[ivxlc]+)(?![A-Za-z])", re.IGNORECASE
)
_RANGE = re.compile(r"^[\s\"'(\[]*(?:pp?\.?\s*)?(\d+)\s*[-\u2013]+\s*(\d+)\b", re.IGNORECASE)


# A page range a spreadsheet took for a date and wrote back as one: "1-8" became "01-Aug" (day
# and month), "8-15" became "15-Aug" or "Aug-15", "5-45" became "May-45" (month and year). A
# month's name never stands where a page number does, so its number and the other number are
# the range's two ends, lower first.
_SPREADSHEET_DATE = re.compile(
    r"^\s*(?:(?P<day>\d{1,2})[-/ ](?P<month>[A-Za-z]{3,9})\.?"
    r"|(?P<month2>[A-Za-z]{3,9})\.?[-/ ](?P<day2>\d{1,2}))\s*$"
)
_MONTH_NAMES = {
    **{name[:3]: number for number, name in enumerate(_MONTH_WORDS, 1)},
    **{name: number for number, name in enumerate(_MONTH_WORDS, 1)},
    "sept": 9,
}


def repair_pages(pages: str) -> str:
    """A page range with a spreadsheet's date artefact undone ("01-Aug" -> "1-8", "Aug-15" ->
    "8-15"); any other field as it is."""
    match = _SPREADSHEET_DATE.match(pages)
    if match is None:
        return pages
    month = _MONTH_NAMES.get((match.group("month") or match.group("month2")).casefold())
    number = int(match.group("day") or match.group("day2"))
    if month is None or number == 0:
        return pages
    low, high = sorted((month, number))
    return f"{low}-{high}" if low != high else str(low)


def first_page(pages: str | None) -> str | None:
    """The first page of a page range ("e0123-e0130" -> "e0123", "iii-vi" -> "iii"), lower-case,
    or None (also when the field does not open with a page: "t-20", "Suppl-6"). A range a
    spreadsheet turned into a date is read as the range (:func:`repair_pages`)."""
    if not pages:
        return None
    match = _PAGE.match(repair_pages(pages))
    return match.group(1).casefold().lstrip("0") or None if match else None


def last_page(pages: str | None) -> str | None:
    """The last page of a plain numeric range, with abbreviated ends expanded ("2243-5" ->
    "2245"); None for a single page or anything else."""
    match = _RANGE.match(repair_pages(pages or ""))
    if not match:
        return None
    first, last = match.group(1).lstrip("0"), match.group(2).lstrip("0")
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    if not first or not last or int(last) <= int(first):
        return None
    return last


def month_number(text: str | None) -> int | None:
    """A month as bibliographic records write it ("Jan", "January", "01", "1") to 1-12, or None."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text[:3].casefold())
