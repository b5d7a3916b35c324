"""The bulletin as Markdown: headings, citation lines with linked titles, summaries in their
paragraphs (structured labels in bold), resources as bullets, the footer. Every piece of record
text is escaped, so feed or abstract text cannot add markup. A logo is not carried (Markdown has
no embedded images that mail clients show)."""

from __future__ import annotations

import re

from harvester.core.bulletin import BulletinDoc, label_text, paragraphs
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
            citation = cite(item, doc.style, doc.locale)
            lines += [citation.markdown(), ""]
            for part in item.summary():
                if part.label:
                    lines += [f"**{_esc(label_text(part.label))}**", ""]
                lines += [_esc(part.text), ""]
            if citation.after_summary:
                lines += [citation.after_summary, ""]  # the style's own words: a date
    if doc.resources:
        lines += [f"## {_esc(doc.resources_heading)}", ""]
        lines += [
            f"- **{_esc(r.label)}** [{_esc(r.link_text)}](<{r.url}>)"
            for r in doc.resources
            if _safe(r.url)
        ]
        lines.append("")
    if doc.footer or doc.contact:
        lines += ["---", ""]
        for paragraph in paragraphs(doc.footer or ""):
            lines += [_esc(paragraph), ""]
        if doc.contact:
            lines += [_contact(doc.contact), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _contact(contact: str) -> str:
    address = " ".join(contact.split())
    if re.fullmatch(r"[^@\s<>()\[\]]+@[^@\s<>()\[\]]+\.[A-Za-z]{2,}", address):
        return f"[{_esc(address)}](<mailto:{address}>)"
    return _esc(address)


def _safe(url: str) -> bool:
    return re.match(r"https?://[^\s<>/]+[^\s<>]*$", url, flags=re.IGNORECASE) is not None
