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

__all__ = ["ALLOWED_TAGS", "abstract_sections", "plain_paragraphs", "plain_text", "sanitise_html"]

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


def plain_paragraphs(markup: str | None) -> list[str]:
    """``markup`` as plain text paragraphs: a new one at each paragraph, line break or list item
    (each as :func:`plain_text`, empty ones left out)."""
    if not markup:
        return []
    marked = _BLOCK_END.sub("\n\n", _unescape_once_if_escaped(markup))
    parts = [plain_text(part) for part in re.split(r"\n\s*\n", marked)]
    return [part for part in parts if part]


# A structured abstract's label: a few words before a colon at the start of a paragraph
# ("Aim:", "Design and setting:"), or in capitals after a sentence ("... METHODS: We ...", as
# MEDLINE runs a structured abstract into one paragraph).
_LABEL_START = re.compile(r"^(?P<label>[A-Z][A-Za-z]*(?:[ /&-]+[A-Za-z]+){0,3}):\s+(?=\S)")
_LABEL_CAPS = re.compile(r"(?:^|(?<=[.?!]\s))(?P<label>[A-Z]{2,}(?:[ /&-]+[A-Z]{2,}){0,4}):\s+")
_SENTENCE_END = re.compile(r"[.?!:;)\]\"'\u201d\u2019]$")


def abstract_sections(text: str | None) -> list[tuple[str | None, str]]:
    """An abstract typed or exported as plain text, as (label, paragraph) pairs.

    A line break after a sentence (or after a short heading line) starts a paragraph; one in the
    middle of a sentence is a wrapped line. A heading line of a few words without a full stop
    ("Aim", "Design and setting") labels the paragraph after it, as does a label before a colon
    at the start of a paragraph ("Purpose: To explore ...") or in capitals after a sentence
    ("... METHODS: We ...")."""
    if not text or not text.strip():
        return []
    paragraphs: list[str] = []
    broken = True  # the next line starts a paragraph
    for line in (" ".join(raw.split()) for raw in text.replace("\r", "\n").split("\n")):
        if not line:
            broken = True
            continue
        previous = paragraphs[-1] if paragraphs else ""
        wrapped = (
            not broken
            and not _SENTENCE_END.search(previous)
            and not (_heading(previous) and line[:1].isupper())
        )
        if wrapped:
            paragraphs[-1] = f"{previous} {line}"
        else:
            paragraphs.append(line)
        broken = False
    paragraphs = [p for p in paragraphs if p]
    sections: list[tuple[str | None, str]] = []
    label: str | None = None
    for index, paragraph in enumerate(paragraphs):
        if _heading(paragraph) and index + 1 < len(paragraphs) and label is None:
            label = paragraph
            continue
        for part_label, part in _inline_labels(paragraph):
            sections.append((label or part_label, part))
            label = None
    if label is not None:
        sections.append((None, label))
    return sections


def _heading(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 4
        and line[:1].isupper()
        and not _SENTENCE_END.search(line)
        and all(w.isalpha() or w in ("&", "/", "-") for w in words)
    )


def _inline_labels(paragraph: str) -> list[tuple[str | None, str]]:
    found = list(_LABEL_CAPS.finditer(paragraph))
    if not found:
        match = _LABEL_START.match(paragraph)
        if match is None:
            return [(None, paragraph)]
        return [(match.group("label"), paragraph[match.end() :].strip())]
    parts: list[tuple[str | None, str]] = []
    if found[0].start() > 0:
        parts.append((None, paragraph[: found[0].start()].strip()))
    for number, match in enumerate(found):
        end = found[number + 1].start() if number + 1 < len(found) else len(paragraph)
        text = paragraph[match.end() : end].strip()
        if text:
            parts.append((match.group("label"), text))
    return parts


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
