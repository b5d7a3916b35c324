"""The one CSL-JSON builder, and citations in a CSL style through citeproc-py.

:func:`csl_json` turns any record with the citation fields (a bulletin entry, an export item)
into a CSL-JSON record: the bulletin's CSL styles, its CSL-JSON and RIS downloads and
``harvester export`` all read records made here. It passes every variable a shipped style asks
for: the full journal title and its abbreviation (``container-title-short``, which Vancouver
prints), the page range written out or the article number and its page count, the issue date.

Styles are rendered with the en-GB locale (single quotes, day-month-year dates) and the title is
the link, as in the house style.
"""

from __future__ import annotations

import functools
import re
import warnings
from importlib import resources
from typing import Any, Protocol

from lxml import html as lxml_html

from harvester.core.bulletin import BulletinItem
from harvester.core.citation import (
    Citation,
    Run,
    article_numbers,
    house_citation,
    initials,
    link_for,
    page_range,
    strip_title,
)
from harvester.core.models import Author, PubDate, WorkKind

__all__ = [
    "CSL_LOCALE",
    "CSL_STYLES",
    "CitationRecord",
    "cite",
    "csl_citation",
    "csl_json",
    "csl_pages",
]

#: The shipped styles and their files (``harvester/core/csl_styles/``).
CSL_STYLES = {
    "vancouver": "vancouver.csl",
    "apa": "apa.csl",
    "harvard": "harvard-cite-them-right.csl",
}
CSL_LOCALE = "en-GB"
_CSL_TYPES = {
    WorkKind.ARTICLE: "article-journal",
    WorkKind.NEWS: "article-newspaper",
    WorkKind.OTHER: "document",
}


def cite(item: BulletinItem, style: str = "house", locale: str = CSL_LOCALE) -> Citation:
    """The item's citation in ``style`` ("house", "vancouver", "apa" or "harvard"); a CSL style
    speaks ``locale`` (quotation marks, month names)."""
    if style == "house":
        return house_citation(item)
    if style in CSL_STYLES:
        return csl_citation(item, style, locale)
    raise ValueError(f"unknown citation style {style!r}")


class CitationRecord(Protocol):
    """What :func:`csl_json` reads: the citation fields (``CITATION_FIELDS``) and the kind."""

    @property
    def work_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> WorkKind: ...
    @property
    def journal(self) -> str | None: ...
    @property
    def journal_iso(self) -> str | None: ...
    @property
    def volume(self) -> str | None: ...
    @property
    def issue(self) -> str | None: ...
    @property
    def pages(self) -> str | None: ...
    @property
    def pub_date(self) -> PubDate | None: ...
    @property
    def doi(self) -> str | None: ...
    @property
    def pmid(self) -> str | None: ...
    @property
    def pmcid(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


def _person(author: Author) -> dict[str, str]:
    if author.collective:
        return {"literal": author.collective}
    given = author.given or initials(author.initials, None)
    return {k: v for k, v in (("family", author.family or ""), ("given", given or "")) if v}


def csl_pages(
    pages: str | None, elocation: str | None, volume: str | None = "in a volume"
) -> dict[str, str]:
    """``page`` (a range written out, hyphenated as CSL-JSON has it), or the article number as
    ``page`` and its page count as ``number-of-pages``; the e-location when there are no pages
    and the article is in a volume (ahead of print it is the publisher's item id)."""
    if not pages or not pages.strip():
        found = _first_elocation(elocation) if volume else None
        return {"page": found} if found else {}
    numbers = article_numbers(elocation)
    parts = [page_range(part, numbers) for part in pages.split(",")]
    if len(parts) == 1 and parts[0][1] is not None and not parts[0][2]:
        start, count, _ = parts[0]
        return {"page": start, "number-of-pages": str(count)}
    return {"page": ", ".join(s if e is None else f"{s}-{e}" for s, e, _ in parts)}


def _first_elocation(value: str | None) -> str | None:
    for part in (value or "").split(";"):
        kind, _, text = part.strip().partition(": ")
        if not text:
            kind, text = "", kind
        if kind.strip().lower() != "doi" and text.strip():
            return text.strip()
    return None


def csl_json(item: CitationRecord, *, abstract: str | None = None) -> dict[str, Any]:
    """The record as CSL-JSON (empty values left out)."""
    source_name: str | None = getattr(item, "source_name", None)
    elocation: str | None = getattr(item, "elocation", None)
    record: dict[str, Any] = {
        "id": f"work-{item.work_id}",
        "type": _CSL_TYPES[item.kind],
        "title": strip_title(item.title),
        "author": [p for p in (_person(a) for a in getattr(item, "authors", ())) if p],
        "container-title": item.journal or source_name,
        "container-title-short": item.journal_iso if item.journal else None,
        "volume": item.volume,
        "issue": item.issue,
        **csl_pages(item.pages, elocation, item.volume),
        "DOI": item.doi,
        "PMID": item.pmid,
        "PMCID": item.pmcid,
        "URL": item.url,
        "abstract": abstract,
        "language": item.language,
    }
    date = item.pub_date
    published = getattr(item, "published_at", None)
    if date is not None:
        parts = [date.year, date.month, date.day]
        record["issued"] = {"date-parts": [[p for p in parts if p]]}
    elif published is not None:
        record["issued"] = {"date-parts": [[published.year, published.month, published.day]]}
    return {k: v for k, v in record.items() if v not in (None, "", [])}


# ---------------------------------------------------------------------------- citeproc-py


@functools.cache
def _style(name: str, locale: str) -> Any:
    from citeproc import CitationStylesStyle

    path = resources.files("harvester.core") / "csl_styles" / CSL_STYLES[name]
    with resources.as_file(path) as file, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            style = CitationStylesStyle(str(file), locale=locale, validate=False)
        except ValueError:  # a locale citeproc-py does not ship
            style = CitationStylesStyle(str(file), locale=CSL_LOCALE, validate=False)
    _locale_date_delimiters(style)
    return style


def _locale_date_delimiters(style: Any) -> None:
    """A localized date is joined with the locale's delimiter (CSL 1.0.2, "Localized Date
    Formats"); citeproc-py 0.11 joins it with the calling ``cs:date``'s, which styles leave
    unset (Vancouver came out "2024Oct"). Give each calling date the locale's delimiter."""
    namespace = {"cs": "http://purl.org/net/xbiblio/csl"}
    for element in style.root.iterfind(".//cs:date[@form]", namespace):
        if element.get("delimiter") is not None or element.is_locale_date():
            continue
        localized = element.get_date(element.get("form"))
        if localized is not None and localized.get("delimiter") is not None:
            element.set("delimiter", localized.get("delimiter"))


def csl_citation(item: BulletinItem, style: str, locale: str = CSL_LOCALE) -> Citation:
    """``item`` (a bulletin entry) in a shipped CSL style, its title linked."""
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    record = csl_json(item)
    record.pop("abstract", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bibliography = CitationStylesBibliography(
            _style(style, locale.replace("_", "-")), CiteProcJSON([record]), formatter.html
        )
        bibliography.register(CslCitation([CitationItem(record["id"])]))
        markup = str(bibliography.bibliography()[0])
    # an apostrophe between letters is typeset (O'Sullivan -> O’Sullivan), as citeproc-js does
    runs = [
        Run(re.sub(r"(?<=\w)'(?=\w)", "\u2019", r.text), r.italic, r.href)
        for r in _runs_from_html(markup)
    ]
    if style == "vancouver" and runs:  # a bulletin is no numbered reference list
        first = runs[0]
        runs[0] = Run(re.sub(r"^\s*\d+\.\s*", "", first.text), first.italic, first.href)
    return Citation(tuple(r for r in _link_title(runs, record["title"], link_for(item)) if r.text))


def _link_title(runs: list[Run], title: str, link: str | None) -> list[Run]:
    """The title's text made the link (the first run that holds it, split around it)."""
    if not link or any(run.href == link for run in runs):
        return runs
    core = title.rstrip(".?!")
    out: list[Run] = []
    done = False
    for run in runs:
        at = -1 if done or run.href else run.text.find(core)
        if at < 0:
            out.append(run)
            continue
        end = at + len(core)
        while end < len(run.text) and run.text[end] in ".?!":
            end += 1
        out.append(Run(run.text[:at], run.italic))
        out.append(Run(run.text[at:end], run.italic, href=link))
        out.append(Run(run.text[end:], run.italic))
        done = True
    return out


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
