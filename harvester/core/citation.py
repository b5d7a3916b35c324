"""Citation lines: the house style of the evidence bulletin (pure), or a CSL style via citeproc-py.

A citation is a sequence of :class:`Run` (plain, italic or linked text) that every renderer turns
into its own markup, so the style is decided once. The house style, from a real bulletin:

- ``Vaughan, K., and Lavery, J. (2024) 'Title.' *Journal* 29(10), 474–479.``
  (one author: ``Brown, C.``; three or more: ``Bu, F., et al.``; no volume: ``*Journal* , 1–9.``;
  no pages: the ELocationID, ``*JMIR Research Protocols* 13, e57062.``);
- news: ``BBC Guernsey. Title [online]`` (or a journalist's byline, ``Parkhill, H. Title
  [online]``), the summary, then ``[17 Dec 2024]`` when dated.

Titles and journal titles are title-cased by citeproc-js's rule (:mod:`harvester.core.titlecase`);
journal titles keep their qualifiers and subtitles as the record gives them. The first author's
name never breaks after its comma (a no-break space). The title is the link: DOI, else PubMed,
else the record's URL (http and https only).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from harvester.core.bulletin import BulletinItem
from harvester.core.models import Author, WorkKind
from harvester.core.titlecase import title_case

__all__ = [
    "EN_DASH",
    "NBSP",
    "Citation",
    "Run",
    "article_numbers",
    "entry_label",
    "expand_pages",
    "page_range",
    "strip_title",
    "house_citation",
    "initials",
    "journal_title",
    "link_for",
    "sort_key",
    "title_case",
]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"
NBSP = "\u00a0"


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of a citation line: plain text, or italic, or a link (never both a link and
    italic in the house style)."""

    text: str
    italic: bool = False
    href: str | None = None
    literal: bool = False  # the style's own words ("[online]"): no Markdown escaping needed


@dataclass(frozen=True, slots=True)
class Citation:
    """A citation line, and for news the date shown after the summary (``[17 Dec 2024]``)."""

    runs: tuple[Run, ...]
    after_summary: str | None = None

    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    def markdown(self) -> str:
        parts = []
        for run in self.runs:
            text = run.text if run.literal else _md_escape(run.text)
            if run.href:
                text = f"[{text}]({_md_url(run.href)})"
            elif run.italic and text.strip():
                text = f"*{text}*"
            parts.append(text)
        return "".join(parts)


# ------------------------------------------------------------------------------- house style


def house_citation(item: BulletinItem) -> Citation:
    link = link_for(item)
    if item.kind is WorkKind.NEWS:
        runs = []
        # the journalist ("Parkhill, H.", from the authors or typed as the source), else the
        # source ("BBC Guernsey"); one full stop after it
        byline = author_list(item.authors) or _clean(item.source_name or "").replace(
            ", ", "," + NBSP, 1
        )
        if byline:
            runs.append(Run(byline if byline.endswith((".", "?", "!")) else byline + "."))
            runs.append(Run(" "))
        runs.append(Run(title_case(strip_title(item.title), item.language), href=link))
        runs.append(Run(" [online]", literal=True))
        return Citation(tuple(runs), after_summary=_news_date(item))
    runs = []
    names = author_list(item.authors)
    year = _year(item)
    title = Run(
        f"{title_case(strip_title(item.title), item.language)}{_stop(item.title)}", href=link
    )
    if names:
        runs.append(Run(f"{names} ({year}) '" if year else f"{names} '"))
    else:  # no authors: the title leads, the year follows it
        runs.append(Run("'"))
    runs.append(title)
    runs.append(Run("'" if names or not year else f"' ({year})"))
    journal = journal_title(item)
    if journal:
        runs.append(Run(" "))
        runs.append(Run(journal, italic=True))
    numbers = _numbers(item)
    if journal or numbers:  # nothing after the title: its own full stop ends the line
        runs.append(Run(numbers + "."))
    return Citation(tuple(runs))


def author_list(authors: tuple[Author, ...] | list[Author]) -> str:
    """ "Brown, C.", "Vaughan, K., and Lavery, J.", "Bu, F., et al." (empty without authors)."""
    names = [n for n in (_author(a) for a in authors) if n]
    if not names:
        return ""
    names[0] = names[0].replace(", ", "," + NBSP, 1)  # the line never breaks after this comma
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]}, and {names[1]}"
    return f"{names[0]}, et al."


def _author(author: Author) -> str:
    if author.collective:
        return _clean(author.collective)
    family = _clean(author.family or "")
    letters = initials(author.initials, author.given)
    if family and letters:
        return f"{family}, {letters}"
    return family or letters


def initials(initials_: str | None, given: str | None) -> str:
    """ "K." from "K"; "J. A." from "JA" or "John Andrew"; "J.-P." from "Jean-Pierre"."""
    if given and "-" in given and given.replace("-", "").isalpha():
        parts = [p for p in given.split("-") if p]
        return "-".join(f"{p[0].upper()}." for p in parts)
    if initials_:
        letters = [ch for ch in initials_ if ch.isalpha()]
        return " ".join(f"{ch.upper()}." for ch in letters)
    if given:
        words = [w for w in re.split(r"[\s.]+", given) if w and w[0].isalpha()]
        return " ".join(f"{w[0].upper()}." for w in words)
    return ""


def journal_title(item: BulletinItem) -> str:
    """The journal as the record gives it (qualifier and subtitle kept: "Nature (London)", "The
    Lancet (London, England)", "... : the journal of ..."), in title case; the full title when the
    record has one, else its abbreviation."""
    journal = _clean(item.journal or item.journal_iso or "").rstrip(" .")
    return title_case(journal, item.language) if journal else ""


def _numbers(item: BulletinItem) -> str:
    """`` 29(10), 474–479``; `` , 1–9`` without a volume; ``13, e57062`` without pages."""
    volume = (item.volume or "").strip()
    issue = (item.issue or "").strip()
    # without pages the e-location is the article number, when the article is in a volume:
    # ahead of print (no volume yet) it is only the publisher's item id, not printed
    where = (
        expand_pages(item.pages, article_numbers(item.elocation))
        if item.pages
        else _elocation(item.elocation)
        if volume
        else ""
    )
    text = f" {volume}" if volume else ""
    if issue and volume:
        text += f"({issue})"
    if where:
        text += f" , {where}" if not volume else f", {where}"
    return text


def _elocation(value: str | None) -> str:
    """The ELocationID to show for an article without pages: not the DOI (that is the link)."""
    if not value:
        return ""
    for part in value.split(";"):
        kind, _, text = part.strip().partition(": ")
        if not text:
            kind, text = "", kind
        if kind.strip().lower() != "doi" and text.strip():
            return text.strip()
    return ""


def article_numbers(elocation: str | None) -> frozenset[str]:
    """The record's article numbers: its ELocationIDs other than the DOI ("pii: 2140")."""
    values = set()
    for part in (elocation or "").split(";"):
        kind, _, text = part.strip().partition(": ")
        if not text:
            kind, text = "", kind
        if kind.strip().lower() != "doi" and text.strip():
            values.add(text.strip().casefold())
    return frozenset(values)


def page_range(
    part: str, article_numbers: frozenset[str] = frozenset()
) -> tuple[str, str | None, bool]:
    """One part of a ``pages`` field as (start, end, is_range): an abbreviated range of the same
    page numbering written out ("474-9" -> ("474", "479", True)), or an article number and its
    page count ("30517-12" -> ("30517", "12", False)), or a single page (end None)."""
    pieces = re.split(r"\s*[-\u2010-\u2015]\s*", part.strip(), maxsplit=1)
    if len(pieces) == 1:
        return pieces[0], None, False
    start, end = pieces
    if start.casefold() in article_numbers:
        return start, end, False
    match_start = re.fullmatch(r"([A-Za-z]*)(\d+)", start)
    match_end = re.fullmatch(r"([A-Za-z]*)(\d+)", end)
    if not (match_start and match_end):
        return start, end, True  # "iii-xii", "e1-e5x": not numbers, kept as a range
    prefix, first = match_start.groups()
    end_prefix, last = match_end.groups()
    if end_prefix and end_prefix != prefix:
        return start, end, True
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    if int(last) <= int(first):
        return start, end, False
    return start, f"{end_prefix or prefix}{last}", True


def expand_pages(pages: str, article_numbers: frozenset[str] = frozenset()) -> str:
    """Page ranges with an en dash, PubMed's abbreviated ranges written out: "474-9" ->
    "474–479", "S37-9" -> "S37–S39", "1229-31" -> "1229–1231".

    A range is only written out when it is an abbreviated range of the same page numbering (the
    end written out comes after the start). Anything else is an article number and its page
    count and keeps its parts: "30517-12" is article 30517 of 12 pages, and so is a pair whose
    start is one of the record's ``article_numbers`` (its e-location: "2140-8" with article 2140
    is 8 pages, not pages 2140 to 2148)."""
    out = []
    for part in pages.split(","):
        start, end, _ = page_range(part, article_numbers)
        out.append(start if end is None else f"{start}{EN_DASH}{end}")
    return ", ".join(out)


def link_for(item: BulletinItem) -> str | None:
    """DOI, else PubMed, else the record's own URL; only http(s) links are ever made."""
    if item.doi:
        return "https://doi.org/" + item.doi.strip()
    if item.pmid and item.pmid.strip().isdigit():
        return f"https://pubmed.ncbi.nlm.nih.gov/{item.pmid.strip()}/"
    if item.url and re.match(r"https?://[^\s/]+", item.url.strip(), flags=re.IGNORECASE):
        return item.url.strip()
    return None


def sort_key(item: BulletinItem) -> tuple[str, str, str]:
    """Alphabetical order: the first author's family name (or group name; for news the
    journalist), for news without a byline the source name, else the title; then the year and
    the title; accents and case ignored ("Moya-Galé" sorts with "Moya-Gale")."""
    return (_fold(_lead(item) or item.title), _year(item), _fold(item.title))


def _lead(item: BulletinItem) -> str:
    if item.authors:
        first = item.authors[0]
        return first.collective or first.family or first.given or ""
    if item.kind is WorkKind.NEWS:
        return item.source_name or ""
    return ""


def entry_label(item: BulletinItem) -> str:
    """An entry as the bulletin page lists it, in the order it sorts by: first author (or
    source), year, title ("Bu, F. (2024) Equal, Equitable ...")."""
    lead = _author(item.authors[0]) if item.authors else _clean(item.source_name or "")
    year = _year(item)
    parts = [lead, f"({year})" if year else "", _clean(item.title)]
    return " ".join(p for p in parts if p)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w\s]", "", plain).casefold().strip()


def _year(item: BulletinItem) -> str:
    if item.pub_date is not None:
        return str(item.pub_date.year)
    if item.published_at is not None:
        return str(item.published_at.year)
    return ""


def _news_date(item: BulletinItem) -> str | None:
    if item.published_at is not None:
        day = item.published_at
        return f"[{day.day} {MONTHS[day.month - 1]} {day.year}]"
    date = item.pub_date
    if date is not None and date.month and date.day:
        return f"[{date.day} {MONTHS[date.month - 1]} {date.year}]"
    return None


def _clean(text: str) -> str:
    return " ".join(text.split())


def strip_title(title: str) -> str:
    """The title without PubMed's brackets around a translated title and without its final
    full stop (the style adds one)."""
    text = _clean(title)
    if text.startswith("[") and text.rstrip(".").endswith("]"):
        text = text.rstrip(".")[1:-1]
    return text.rstrip(" .")


def _stop(title: str) -> str:
    """A full stop, unless the title ends with its own question or exclamation mark."""
    return "" if strip_title(title).endswith(("?", "!")) else "."


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C")
