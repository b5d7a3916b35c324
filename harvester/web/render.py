"""Templates and the filters that show untrusted text safely.

Every title, abstract, feed summary and note comes from outside: Jinja2 autoescaping is on, feed
HTML is reduced to its text (:func:`harvester.core.text.plain_text`) before it is shown, links are only ever http(s), and phrase
highlighting escapes the text before it wraps the matches in ``<mark>``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from harvester.core.models import Author, CandidateView
from harvester.core.phrases import PhraseRules, compile_rules
from harvester.core.text import plain_text, source_label

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=64)
def _rules(include: tuple[str, ...], exclude: tuple[str, ...]) -> PhraseRules:
    return compile_rules(include, exclude)


def highlight(text: str | None, include: Sequence[str], exclude: Sequence[str]) -> Markup:
    """``text`` escaped, with the topic's include phrases and exclude phrases marked apart.

    The matches are the queue filter's own (:meth:`harvester.core.phrases.PhraseRules.spans`),
    so the phrase that let an item in is the one marked on its card."""
    if not text:
        return Markup("")
    spans = _rules(tuple(include), tuple(exclude)).spans(text)
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[str] = []
    position = 0
    for span in spans:
        if span.start < position:
            continue  # overlaps a longer or earlier match
        kind = "exc" if span.exclusion else "inc"
        out.append(str(escape(text[position : span.start])))
        label = "matches exclude phrase" if span.exclusion else "matches include phrase"
        out.append(
            f'<mark class="hl-{kind}" title="{escape(label)}: {escape(span.phrase)}">'
            f"{escape(text[span.start : span.end])}</mark>"
        )
        position = span.end
    out.append(str(escape(text[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


#: What the reader calls each source (the stored names are the program's).
SOURCE_NAMES = {
    "pubmed": "PubMed",
    "feeds": "News feed",
    "europepmc": "Europe PMC",
    "manual": "Added by hand",
    "import": "Imported file",
}
IMPORT_FORMATS = {
    "ris": "RIS",
    "csljson": "CSL-JSON",
    "pubmed-xml": "PubMed XML",
    "medline": "MEDLINE",
}


def source_name(source: str | None) -> str:
    """``pubmed`` as "PubMed", ``import:ris`` as "Imported RIS file"; an unknown one as it is."""
    source = source or ""
    if source.startswith("import:"):
        fmt = source.split(":", 1)[1]
        return f"Imported {IMPORT_FORMATS.get(fmt, fmt)} file"
    return SOURCE_NAMES.get(source, source)


def found_where(source: str | None, origin: str | None) -> str:
    """Where a record was found, in the reader's words: "PubMed search “social prescribing”",
    "News feed https://...", "Imported RIS file library.ris"."""
    name = source_name(source)
    origin = (origin or "").strip()
    if origin.startswith("query:"):
        return f"{name} search “{origin[6:].strip()}”"
    return f"{name} {origin}" if origin and source != "manual" else name


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL; anything else (javascript:, data:) is not a link."""
    if not url:
        return None
    url = url.strip()
    return url if re.match(r"https?://", url, re.IGNORECASE) else None


def authors_line(authors: Sequence[Author], limit: int = 6) -> str:
    names = [a.display for a in authors if a.display]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", … ({len(names)} authors)"
    return ", ".join(names)


def journal_line(candidate: CandidateView) -> str:
    work = candidate.work
    parts = [work.journal_iso or work.journal or work.source_name or ""]
    date = work.date_text
    if date:
        parts.append(date)
    vol = work.volume or ""
    if work.issue:
        vol += f"({work.issue})"
    if work.pages:
        vol += f":{work.pages}" if vol else work.pages
    if vol:
        parts.append(vol)
    return ". ".join(p for p in parts if p)


def when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).date().isoformat()


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.autoescape = True
    filters: dict[str, Any] = {
        "highlight": highlight,
        "safe_href": safe_href,
        "source_label": source_label,
        "authors_line": authors_line,
        "journal_line": journal_line,
        "when": when,
        "day": day,
        "summary_text": plain_text,
        "source_name": source_name,
        "found_where": found_where,
    }
    env.filters.update(filters)
    return templates
