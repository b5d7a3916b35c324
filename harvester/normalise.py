"""Normalisers for identifiers, titles and names: the keys dedupe compares.

Everything here is pure and idempotent (``n(n(x)) == n(x)``, checked with Hypothesis): a stored
key can be normalised again by a later version without changing, and a key computed from an
already-normalised value is the same key. Identifier normalisers return ``None`` for anything
that is not a plausible identifier, so garbage never becomes a shared identity.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "author_key",
    "block_keys",
    "compact",
    "first_page",
    "normalise_doi",
    "normalise_pmcid",
    "normalise_pmid",
    "normalise_text",
    "normalise_title",
    "normalise_url",
    "strip_site_suffix",
    "title_key",
]

_DOI_PREFIX = re.compile(
    r"^(?:https?://)?(?:(?:dx\.|www\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE
)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
_PMID_PREFIX = re.compile(r"^(?:pmid|pubmed)\s*[:=]?\s*", re.IGNORECASE)
_PMCID_SHAPE = re.compile(r"^(?:pmc(?:id)?\s*[:=]?\s*)?(?:pmc)?0*(\d{1,9})$", re.IGNORECASE)

_TAG = re.compile(r"<[^>]{0,200}>")
# Notes that databases append to a title: "[published correction appears in ...]",
# "[Erratum in: ...]", "[see comments]", "[Retracted]" ... They say nothing about identity.
_TRAILING_NOTE = re.compile(
    r"\s*[\[(](?=[^\])]*\b(?:published|erratum|correct|retract|comment|expression of concern"
    r"|see\b|appears? in|reprint|in press|abstract))[^\])]*[\])]\s*\.?\s*$",
    re.IGNORECASE,
)
_SITE_SUFFIX = re.compile(
    r"^(?P<head>.*\S)\s+(?:[-|\u2013\u2014:]|::)\s+(?P<site>[^-|\u2013\u2014]{1,60})$"
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
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
    sticks to a DOI copied out of running text is dropped.
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
    """The canonical form of a URL for identity (see :func:`harvester.sources.urls.canonical_url`),
    or None when there is no http(s) URL."""
    if not value or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_")]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", parts.netloc.lower(), path, urlencode(sorted(query)), ""))


def normalise_text(value: str) -> str:
    """Lower-case ASCII-folded words separated by single spaces: HTML, punctuation and
    diacritics removed, ``&`` spelled ``and``, common Greek letters spelled out."""
    text = html.unescape(value)
    text = _TAG.sub("", text)
    text = _GREEK_RE.sub(lambda m: " " + _GREEK[m.group(0)] + " ", text.replace("&", " and "))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    text = _GREEK_RE.sub(lambda m: " " + _GREEK[m.group(0)] + " ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalise_title(value: str | None) -> str:
    """A title for matching: :func:`normalise_text` after dropping the notes databases append
    ("[published correction appears in ...]", "[Erratum in ...]")."""
    if not value:
        return ""
    text = html.unescape(value)
    text = _TAG.sub("", text).strip()
    while True:
        stripped = _TRAILING_NOTE.sub("", text)
        if stripped == text or not stripped:
            break
        text = stripped
    return normalise_text(text)


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


def title_key(title: str | None) -> str:
    """The stored title key of a work (see :func:`normalise_title`)."""
    return normalise_title(title)


def compact(key: str) -> str:
    """A title key without spaces: "post operative" and "postoperative" agree."""
    return key.replace(" ", "")


def significant(key: str) -> str:
    """A title key without stop words, compacted: the text blocking keys are cut from."""
    return "".join(word for word in key.split() if word not in STOPWORDS)


def block_keys(key: str, author: str | None, year: int | None, *, width: int = 14) -> list[str]:
    """Blocking keys of a work: works that share none are never compared.

    Three keys per work so that one typo does not hide a duplicate: the start of the title, the
    end of the title (both without stop words and spaces) and first author + year. Each key
    selects a small block, so the fuzzy comparison grows with the number of works, not with its
    square.
    """
    keys: list[str] = []
    sig = significant(key)
    if len(sig) >= 6:
        keys.append("p:" + sig[:width])
        keys.append("s:" + sig[-width:])
    if author and year:
        keys.append(f"a:{author}:{year}")
    return list(dict.fromkeys(keys))


def author_key(family: str | None) -> str | None:
    """The first author's family name folded to lower-case ASCII letters, or None."""
    if not family:
        return None
    key = compact(normalise_text(family))
    return key[:128] or None


_PAGE = re.compile(r"[A-Za-z]*\d+[A-Za-z]?")


def first_page(pages: str | None) -> str | None:
    """The first page of a page range ("e0123-e0130" -> "e0123"), lower-case, or None."""
    if not pages:
        return None
    match = _PAGE.search(pages)
    return match.group(0).casefold().lstrip("0") or None if match else None
