"""Citation lines: the house style of the evidence bulletin (pure), or a CSL style via citeproc-py.

A citation is a sequence of :class:`Run` (plain, italic or linked text) that every renderer turns
into its own markup, so the style is decided once. The house style, from a real bulletin:

- ``Vaughan, K., and Lavery, J. (2024) 'Title.' *Journal* 29(10), 474–479.``
  (one author: ``Brown, C.``; three or more: ``Bu, F., et al.``; no volume: ``*Journal* , 1–9.``;
  no pages: the ELocationID, ``*JMIR Research Protocols* 13, e57062.``);
- news: ``BBC Guernsey. Title [online]``, the summary, then ``[17 Dec 2024]`` when dated.

The title is the link: DOI, else PubMed, else the record's URL (http and https only).
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lxml import html as lxml_html
from titlecase import titlecase

from harvester.core.bulletin import BulletinItem
from harvester.core.models import Author, WorkKind

__all__ = [
    "Citation",
    "Run",
    "cite",
    "csl_record",
    "expand_pages",
    "house_citation",
    "initials",
    "link_for",
    "sort_key",
    "title_case",
]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"
_CSL_FILES = {
    "vancouver": "vancouver.csl",
    "apa": "apa.csl",
    "harvard": "harvard-cite-them-right.csl",
}
_CSL_TYPES = {
    WorkKind.ARTICLE: "article-journal",
    WorkKind.NEWS: "article-newspaper",
    WorkKind.OTHER: "document",
}


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


def cite(item: BulletinItem, style: str = "house") -> Citation:
    """The item's citation in ``style`` ("house", "vancouver", "apa" or "harvard")."""
    if style == "house":
        return house_citation(item)
    if style in _CSL_FILES:
        return _csl_citation(item, style)
    raise ValueError(f"unknown citation style {style!r}")


# ------------------------------------------------------------------------------- house style


def house_citation(item: BulletinItem) -> Citation:
    link = link_for(item)
    if item.kind is WorkKind.NEWS:
        runs = []
        if item.source_name:
            runs.append(Run(f"{_clean(item.source_name)}. "))
        runs.append(Run(title_case(_strip_title(item.title)), href=link))
        runs.append(Run(" [online]", literal=True))
        return Citation(tuple(runs), after_summary=_news_date(item))
    runs = []
    names = author_list(item.authors)
    year = _year(item)
    title = Run(f"{title_case(_strip_title(item.title))}{_stop(item.title)}", href=link)
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
    runs.append(Run(_numbers(item)))
    return Citation(tuple(runs))


def author_list(authors: tuple[Author, ...] | list[Author]) -> str:
    """ "Brown, C.", "Vaughan, K., and Lavery, J.", "Bu, F., et al." (empty without authors)."""
    names = [n for n in (_author(a) for a in authors) if n]
    if not names:
        return ""
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


def title_case(text: str) -> str:
    """Title case with the titlecase library: small words lower case except first and after a
    colon; acronyms (UK, NHS, COVID-19, VCSE) and mixed-case words (mRNA, iPhone) kept."""
    return str(titlecase(" ".join(text.split())))


def journal_title(item: BulletinItem) -> str:
    """The full journal title without PubMed's subtitle (" : the journal of ..."), qualifier
    ("(Clinical research ed.)") or leading "The", in title case."""
    journal = item.journal or item.journal_iso or ""
    journal = journal.split(" : ")[0].split(" = ")[0]
    journal = re.sub(r"\s*\([^)]*\)\s*$", "", journal)
    journal = re.sub(r"^the\s+", "", journal.strip(), flags=re.IGNORECASE)
    journal = journal.strip(" .")
    return title_case(journal) if journal else ""


def _numbers(item: BulletinItem) -> str:
    """`` 29(10), 474–479.``; `` , 1–9.`` without a volume; ``13, e57062.`` without pages."""
    volume = (item.volume or "").strip()
    issue = (item.issue or "").strip()
    where = expand_pages(item.pages) if item.pages else _elocation(item.elocation)
    text = f" {volume}" if volume else ""
    if issue and volume:
        text += f"({issue})"
    if where:
        text += f" , {where}" if not volume else f", {where}"
    return text + "."


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


def expand_pages(pages: str) -> str:
    """PubMed's abbreviated ranges written out with an en dash: "474-9" -> "474–479",
    "S37-9" -> "S37–S39", "1229-31" -> "1229–1231"; other ranges keep their parts."""
    out = []
    for part in pages.split(","):
        pieces = re.split(r"\s*[-\u2010-\u2015]\s*", part.strip(), maxsplit=1)
        if len(pieces) == 1:
            out.append(pieces[0])
            continue
        start, end = pieces
        match_start = re.fullmatch(r"([A-Za-z]*)(\d+)", start)
        match_end = re.fullmatch(r"([A-Za-z]*)(\d+)", end)
        if match_start and match_end:
            prefix, first = match_start.groups()
            end_prefix, last = match_end.groups()
            if len(last) < len(first):
                last = first[: len(first) - len(last)] + last
            end = f"{end_prefix or prefix}{last}"
        out.append(f"{start}{EN_DASH}{end}")
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


def sort_key(item: BulletinItem) -> tuple[str, str]:
    """Alphabetical order: the first author's family name (or group name), for news the source
    name, else the title; accents and case ignored ("Moya-Galé" sorts with "Moya-Gale")."""
    lead = ""
    if item.kind is WorkKind.NEWS:
        lead = item.source_name or ""
    elif item.authors:
        first = item.authors[0]
        lead = first.collective or first.family or first.given or ""
    return (_fold(lead or item.title), _fold(item.title))


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


def _strip_title(title: str) -> str:
    """The title without PubMed's brackets around a translated title and without its final
    full stop (the style adds one)."""
    text = _clean(title)
    if text.startswith("[") and text.rstrip(".").endswith("]"):
        text = text.rstrip(".")[1:-1]
    return text.rstrip(" .")


def _stop(title: str) -> str:
    """A full stop, unless the title ends with its own question or exclamation mark."""
    return "" if _strip_title(title).endswith(("?", "!")) else "."


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C")


# --------------------------------------------------------------------------------- CSL styles


def csl_record(item: BulletinItem) -> dict[str, Any]:
    """The item as a CSL-JSON record (for citeproc-py)."""
    record: dict[str, Any] = {
        "id": f"work-{item.work_id}",
        "type": _CSL_TYPES[item.kind],
        "title": _strip_title(item.title) + _stop(item.title),
        "author": [
            {"literal": a.collective}
            if a.collective
            else {"family": a.family or "", "given": initials(a.initials, a.given)}
            for a in item.authors
        ],
        "container-title": journal_title(item) or item.source_name,
        "volume": item.volume,
        "issue": item.issue,
        "page": expand_pages(item.pages) if item.pages else _elocation(item.elocation) or None,
        "DOI": item.doi,
        "URL": link_for(item) if not item.doi else None,
    }
    if item.pub_date is not None:
        parts = [item.pub_date.year, item.pub_date.month, item.pub_date.day]
        record["issued"] = {"date-parts": [[p for p in parts if p]]}
    elif item.published_at is not None:
        at = item.published_at
        record["issued"] = {"date-parts": [[at.year, at.month, at.day]]}
    return {k: v for k, v in record.items() if v not in (None, "", [])}


@functools.cache
def _style(name: str) -> Any:
    from citeproc import CitationStylesStyle

    path = resources.files("harvester.core") / "csl_styles" / _CSL_FILES[name]
    with resources.as_file(path) as file, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CitationStylesStyle(str(file), validate=False)


def _csl_citation(item: BulletinItem, style: str) -> Citation:
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    record = csl_record(item)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bibliography = CitationStylesBibliography(
            _style(style), CiteProcJSON([record]), formatter.html
        )
        bibliography.register(CslCitation([CitationItem(record["id"])]))
        markup = str(bibliography.bibliography()[0])
    runs = _runs_from_html(markup)
    if style == "vancouver" and runs:  # a bulletin is no numbered reference list
        first = runs[0]
        runs[0] = Run(re.sub(r"^\s*\d+\.\s*", "", first.text), first.italic, first.href)
    link = link_for(item)
    if link and not any(run.href for run in runs):
        runs.append(Run(" "))
        runs.append(Run("Link", href=link))
    return Citation(tuple(r for r in runs if r.text), after_summary=None)


def _runs_from_html(markup: str) -> list[Run]:
    """citeproc-py's HTML (``<i>``, ``<b>``, ``<span>``, escaped text) as runs; URLs become
    links."""
    root = lxml_html.fragment_fromstring(markup, create_parent="div")
    runs: list[Run] = []

    def walk(element: Any, italic: bool) -> None:
        if element.text:
            runs.extend(_with_links(element.text, italic))
        for child in element:
            walk(child, italic or child.tag in ("i", "em"))
            if child.tail:
                runs.extend(_with_links(child.tail, italic))

    walk(root, False)
    return runs


def _with_links(text: str, italic: bool) -> list[Run]:
    out = []
    position = 0
    for match in re.finditer(r"https?://[^\s<>\"]+[^\s<>\".,;)]", text):
        if match.start() > position:
            out.append(Run(text[position : match.start()], italic=italic))
        out.append(Run(match.group(0), href=match.group(0)))
        position = match.end()
    if position < len(text):
        out.append(Run(text[position:], italic=italic))
    return out
