"""The bulletin as Markdown: headings, citation lines with linked titles, summaries, resources,
footer. Every piece of record text is escaped, so feed or abstract text cannot add markup."""

from __future__ import annotations

import re

from harvester.core.bulletin import BulletinDoc
from harvester.core.csl import cite
from harvester.core.layout import arrange

__all__ = ["render_md"]


def _esc(text: str) -> str:
    flat = " ".join(text.split())
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", flat)


def render_md(doc: BulletinDoc) -> str:
    lines = [f"# {_esc(doc.title)}", ""]
    if doc.subtitle:
        lines += [f"## {_esc(doc.subtitle)}", ""]
    if doc.period:
        lines += [f"**{_esc(doc.period)}**", ""]
    for section, items in arrange(doc):
        if not items:
            continue
        lines += [f"## {_esc(section.title)}", ""]
        for item in items:
            citation = cite(item, doc.style)
            lines += [citation.markdown(), ""]
            for part in item.summary():
                label = f"**{_esc(part.label)}:** " if part.label else ""
                lines += [f"{label}{_esc(part.text)}", ""]
            if citation.after_summary:
                lines += [citation.after_summary, ""]  # the style's own words: a date
    if doc.resources:
        lines += [f"## {_esc(doc.resources_heading)}", ""]
        lines += [f"- [{_esc(r.label)}](<{r.url}>)" for r in doc.resources if _safe(r.url)]
        lines.append("")
    if doc.footer or doc.contact:
        lines += ["---", ""]
        if doc.footer:
            lines += [_esc(doc.footer), ""]
        if doc.contact:
            lines += [f"Contact: {_esc(doc.contact)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _safe(url: str) -> bool:
    return re.match(r"https?://[^\s<>/]+[^\s<>]*$", url, flags=re.IGNORECASE) is not None
