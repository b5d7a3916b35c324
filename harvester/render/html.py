"""The bulletin as one HTML document that survives Outlook and other mail clients: a single body,
inline CSS only, no scripts, no classes or style sheets, tables only for the page layout.
All record text is escaped; links are http(s) only."""

from __future__ import annotations

import html
import re

from harvester.core.bulletin import BulletinDoc
from harvester.core.citation import Citation
from harvester.core.csl import cite
from harvester.core.layout import arrange

__all__ = ["render_html"]

FONT = "font-family: Arial, Helvetica, sans-serif; color: #222222;"
LINK = "color: #005eb8; text-decoration: underline;"


def _e(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def _link(url: str, text: str) -> str:
    if not re.match(r"https?://[^\s/]+", url, flags=re.IGNORECASE):
        return text
    return f'<a href="{html.escape(url, quote=True)}" style="{LINK}">{text}</a>'


def citation_html(citation: Citation) -> str:
    parts = []
    for run in citation.runs:
        text = html.escape(re.sub(r"\s+", " ", run.text), quote=True)  # edges kept: run joins
        if run.href:
            text = _link(run.href, text)
        elif run.italic and run.text.strip():
            text = f"<i>{text}</i>"
        parts.append(text)
    return "".join(parts)


def render_html(doc: BulletinDoc) -> str:
    body: list[str] = []
    add = body.append
    add(f'<h1 style="{FONT} font-size: 26px; margin: 0 0 4px 0;">{_e(doc.title)}</h1>')
    if doc.subtitle:
        add(f'<h2 style="{FONT} font-size: 20px; margin: 0 0 4px 0;">{_e(doc.subtitle)}</h2>')
    if doc.period:
        add(f'<p style="{FONT} font-size: 16px; margin: 0 0 16px 0;"><b>{_e(doc.period)}</b></p>')
    for section, items in arrange(doc):
        if not items:
            continue
        add(
            f'<h2 style="{FONT} font-size: 18px; margin: 20px 0 8px 0; '
            f'border-bottom: 2px solid #005eb8;">{_e(section.title)}</h2>'
        )
        for item in items:
            citation = cite(item, doc.style)
            add(
                f'<p style="{FONT} font-size: 14px; margin: 12px 0 4px 0;">{citation_html(citation)}</p>'
            )
            for part in item.summary():
                label = f"<b>{_e(part.label)}:</b> " if part.label else ""
                add(
                    f'<p style="{FONT} font-size: 13px; margin: 0 0 6px 0;">{label}{_e(part.text)}</p>'
                )
            if citation.after_summary:
                add(
                    f'<p style="{FONT} font-size: 13px; margin: 0 0 6px 0;">{_e(citation.after_summary)}</p>'
                )
    if doc.resources:
        add(
            f'<h2 style="{FONT} font-size: 18px; margin: 20px 0 8px 0;">{_e(doc.resources_heading)}</h2>'
        )
        for resource in doc.resources:
            add(
                f'<p style="{FONT} font-size: 14px; margin: 0 0 4px 0;">{_link(resource.url, _e(resource.label))}</p>'
            )
    if doc.footer or doc.contact:
        add('<hr style="border: 0; border-top: 1px solid #cccccc; margin: 20px 0 8px 0;">')
        if doc.footer:
            add(f'<p style="{FONT} font-size: 12px; margin: 0 0 4px 0;">{_e(doc.footer)}</p>')
        if doc.contact:
            add(f'<p style="{FONT} font-size: 12px; margin: 0;">Contact: {_e(doc.contact)}</p>')
    title = _e(" ".join(p for p in (doc.title, doc.subtitle, doc.period) if p))
    inner = "\n".join(body)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n</head>\n"
        '<body style="margin: 0; padding: 0; background-color: #ffffff;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n'
        '<tr><td align="center" style="padding: 16px;">\n'
        '<table role="presentation" width="680" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width: 680px; width: 100%;">\n'
        '<tr><td style="text-align: left;">\n'
        f"{inner}\n"
        "</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n"
    )
