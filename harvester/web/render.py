"""Templates and the filters that show untrusted text safely.

Every title, abstract, feed summary and note comes from outside: Jinja2 autoescaping is on, feed
HTML is reduced to its text before it is shown, links are only ever http(s), and phrase
highlighting escapes the text before it wraps the matches in ``<mark>``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import nh3
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from harvester.core.models import Author, CandidateView
from harvester.core.text import source_label

TEMPLATES = Path(__file__).parent / "templates"
_JOINER = r"[\s\-\u2010-\u2015_/]+"
_WORDS = re.compile(r"[\s\-\u2010-\u2015_/]+")


def summary_text(summary_html: str | None) -> str:
    """A feed summary as plain text: tags (and the content of script and style) removed."""
    if not summary_html:
        return ""
    cleaned = nh3.clean(summary_html, tags=set(), attributes={}, strip_comments=True)
    return " ".join(html.unescape(cleaned).split())


@lru_cache(maxsize=256)
def _phrase_regex(phrase: str) -> re.Pattern[str] | None:
    words = [w for w in _WORDS.split(phrase.strip().strip("\"'")) if w]
    parts = []
    for word in words:
        pieces = [re.escape(piece) for piece in word.split("*")]
        parts.append(r"\w*".join(pieces))
    if not any(part.replace(r"\w*", "") for part in parts):
        return None
    return re.compile(r"(?<!\w)" + _JOINER.join(parts) + r"(?!\w)", re.IGNORECASE)


def highlight(text: str | None, include: Sequence[str], exclude: Sequence[str]) -> Markup:
    """``text`` escaped, with the topic's include phrases and exclude phrases marked apart."""
    if not text:
        return Markup("")
    spans: list[tuple[int, int, str, str]] = []
    for kind, phrases in (("exc", exclude), ("inc", include)):
        for phrase in phrases:
            pattern = _phrase_regex(phrase)
            if pattern is None:
                continue
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    spans.append((match.start(), match.end(), kind, phrase))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[str] = []
    position = 0
    for start, end, kind, phrase in spans:
        if start < position:
            continue  # overlaps a longer or earlier match
        out.append(str(escape(text[position:start])))
        label = "matches include phrase" if kind == "inc" else "matches exclude phrase"
        out.append(
            f'<mark class="hl-{kind}" title="{escape(label)}: {escape(phrase)}">'
            f"{escape(text[start:end])}</mark>"
        )
        position = end
    out.append(str(escape(text[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


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
        "summary_text": summary_text,
    }
    env.filters.update(filters)
    return templates
