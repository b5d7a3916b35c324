"""Untrusted feed markup made safe: plain text for titles and abstracts, a small allow-list of
HTML for summaries. Pure.

Feed titles and summaries are written by whoever runs the feed (or whoever got a comment into
it), so nothing here trusts them. Summaries keep only paragraph, line-break, emphasis, list,
quote and link markup (:data:`ALLOWED_TAGS`); links keep only an absolute http(s) or mailto
``href`` (relative ones are resolved against the entry's page first) and get
``rel="nofollow noopener"``. Scripts, styles, forms, images, frames, event attributes and
``javascript:`` URLs never survive: the allow-list is applied by nh3 (the Rust ammonia
sanitiser), which parses the markup the way a browser does.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

__all__ = ["ALLOWED_TAGS", "plain_text", "sanitise_html"]

ALLOWED_TAGS = frozenset({"p", "br", "a", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote"})
LINK_REL = "nofollow noopener"
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# Elements whose content is never text a reader should see.
_DROP_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr|/ul|/ol)\b[^>]*>", re.I)
_SPACE = re.compile(r"\s+")
_LEFT_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_REAL_TAG = re.compile(r"<[A-Za-z/!]")
_ESCAPED_TAG = re.compile(r"&lt;/?(?:[A-Za-z][A-Za-z0-9]*|!--)", re.IGNORECASE)


def _unescape_once_if_escaped(markup: str) -> str:
    """Markup escaped twice ("&lt;p&gt;" where "<p>" was meant) as the HTML it stands for.

    Some feeds (reddit's, many CMS exports) escape their HTML once more than the format asks,
    sometimes around a few real tags ("... submitted by <a>"), so a reader would show the tags
    as text. When there are at least half as many escaped tags as real ones, the text is taken
    to be such markup; an article quoting a little HTML among its own paragraphs keeps its
    quotation.
    """
    escaped = len(_ESCAPED_TAG.findall(markup))
    if escaped and escaped * 2 >= len(_REAL_TAG.findall(markup)):
        return html.unescape(markup)
    return markup


def plain_text(markup: str | None) -> str:
    """``markup`` as one line of plain text: tags dropped (with the content of scripts and
    styles), entities decoded, whitespace collapsed.

    Feeds often escape twice ("&amp;amp;"), so entities left after one decoding are decoded once
    more.
    """
    if not markup:
        return ""
    spaced = _BLOCK_END.sub(" ", _unescape_once_if_escaped(markup))
    text = html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags=set(_DROP_CONTENT)))
    if _LEFT_ENTITY.search(text):
        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def sanitise_html(markup: str | None, *, base_url: str | None = None) -> str | None:
    """``markup`` reduced to the allow-list, or None when nothing readable is left.

    Relative link targets are resolved against ``base_url`` (the entry's page) when it is an
    http(s) URL, and dropped otherwise: a relative link means nothing in a bulletin.
    """
    if not markup or not markup.strip():
        return None

    def keep_link(tag: str, attribute: str, value: str) -> str | None:
        if tag != "a" or attribute != "href":
            return value  # the allow-lists already chose these (and the rel nh3 adds)
        target = value.strip()
        if not target:  # an emptied href (feedparser blanks javascript: ones) is no link
            return None
        if base_url:
            target = urljoin(base_url, target)
        try:
            scheme = urlsplit(target).scheme.lower()
        except ValueError:
            return None
        return target if scheme in _LINK_SCHEMES else None

    cleaned = nh3.clean(
        _unescape_once_if_escaped(markup),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_CONTENT),
        attributes={"*": set(), "a": {"href"}},  # "*": no lang/title on every tag either
        attribute_filter=keep_link,
        url_schemes=set(_LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
    return cleaned if plain_text(cleaned) else None


#: How a source's code is shown to a reader (the code itself stays in data and exports).
SOURCE_WORDS = {
    "pubmed": "PubMed",
    "feeds": "news feed",
    "europepmc": "Europe PMC",
    "manual": "added by hand",
    "import": "imported file",
    "import:ris": "RIS file",
    "import:csljson": "CSL-JSON file",
    "import:pubmed-xml": "PubMed XML file",
    "import:medline": "MEDLINE file",
}


def source_label(source: str) -> str:
    """``source`` in a reader's words: "PubMed XML file" for ``import:pubmed-xml``."""
    if source in SOURCE_WORDS:
        return SOURCE_WORDS[source]
    if source.startswith("import:"):
        return f"{source.removeprefix('import:')} file"
    return source
