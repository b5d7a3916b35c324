"""The bulletin as one HTML document that survives Outlook and other mail clients: a single body,
inline CSS only, no scripts, no classes or style sheets, tables only for the page layout.
All record text is escaped; links are http(s) only."""

from __future__ import annotations

import html
import re

from harvester.core.bulletin import BulletinDoc, label_text, paragraphs
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


def _contact(contact: str) -> str:
    """The contact address, a mailto link when it is an e-mail address."""
    address = " ".join(contact.split())
    if re.fullmatch(r"[^@\s<>()\[\]\"']+@[^@\s<>()\[\]\"']+\.[A-Za-z]{2,}", address):
        return f'<a href="mailto:{_e(address)}" style="{LINK}">{_e(address)}</a>'
    return _e(address)


def citation_html(citation: Citation) -> str:
    parts = []
    for run in citation.runs:
        # edges kept (runs join), and a no-break space stays one
        text = html.escape(re.sub(r"[ \t\r\n]+", " ", run.text), quote=True)
        if run.href:
            text = _link(run.href, text)
        elif run.italic and run.text.strip():
            text = f"<i>{text}</i>"
        parts.append(text)
    return "".join(parts)


def _p(size: int, margin: str, inner: str) -> str:
    return f'<p style="{FONT} font-size: {size}px; margin: {margin};">{inner}</p>'


def render_html(doc: BulletinDoc) -> str:
    body: list[str] = []
    add = body.append
    if doc.logo is not None:
        add(
            f'<img src="{doc.logo.data_uri()}" alt="{_e(doc.logo.alt)}" '
            'style="display: block; max-width: 240px; max-height: 96px; margin: 0 0 12px 0; '
            'border: 0;">'
        )
    add(f'<h1 style="{FONT} font-size: 26px; margin: 0 0 4px 0;">{_e(doc.title)}</h1>')
    if doc.subtitle:
        add(f'<h2 style="{FONT} font-size: 20px; margin: 0 0 4px 0;">{_e(doc.subtitle)}</h2>')
    if doc.period:
        add(_p(16, "0 0 16px 0", f"<b>{_e(doc.period)}</b>"))
    for section, items in arrange(doc):
        if not items:
            continue
        add(
            f'<h2 style="{FONT} font-size: 18px; margin: 20px 0 8px 0; '
            f'border-bottom: 2px solid #005eb8;">{_e(section.title)}</h2>'
        )
        for item in items:
            citation = cite(item, doc.style, doc.locale)
            add(
                f'<p id="entry-{item.entry_id}" style="{FONT} font-size: 14px; '
                f'margin: 12px 0 4px 0;">{citation_html(citation)}</p>'
            )
            for part in item.summary():
                if part.label:
                    add(_p(13, "0 0 2px 0", f"<b>{_e(label_text(part.label))}</b>"))
                add(_p(13, "0 0 6px 0", _e(part.text)))
            if citation.after_summary:
                add(_p(13, "0 0 6px 0", _e(citation.after_summary)))
    if doc.resources:
        add(
            f'<h2 style="{FONT} font-size: 18px; margin: 20px 0 8px 0;">{_e(doc.resources_heading)}</h2>'
        )
        add('<ul style="margin: 0 0 8px 0; padding: 0 0 0 24px;">')
        for resource in doc.resources:
            add(
                f'<li style="{FONT} font-size: 14px; margin: 0 0 4px 0;"><b>{_e(resource.label)}</b> '
                f"{_link(resource.url, _e(resource.link_text))}</li>"
            )
        add("</ul>")
    if doc.footer or doc.contact:
        add('<hr style="border: 0; border-top: 1px solid #cccccc; margin: 20px 0 8px 0;">')
        for paragraph in paragraphs(doc.footer or ""):
            add(_p(12, "0 0 6px 0", _e(paragraph)))
        if doc.contact:
            add(_p(12, "0", _contact(doc.contact)))
    title = _e(" ".join(p for p in (doc.title, doc.subtitle, doc.period) if p))
    inner = "\n".join(body)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(doc.locale)}">\n<head>\n<meta charset="utf-8">\n'
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
