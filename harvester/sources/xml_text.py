"""Text out of XML elements (lxml), as the record parsers read it: an element's own text, all
the text inside it with inline markup and MathML flattened, and the first child of each tag."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

Element = etree._Element

_MATHML = "{http://www.w3.org/1998/Math/MathML}"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])")


def first_children(element: Element) -> dict[str, Element]:
    """The first child of each tag of ``element`` (what ``element.find(tag)`` would give)."""
    first: dict[str, Element] = {}
    for child in element:
        tag = child.tag
        if tag not in first and isinstance(tag, str):
            first[tag] = child
    return first


def text(element: Element | None) -> str | None:
    """The element's own text, stripped; None when absent or blank."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def texts(elements: Iterable[Element]) -> list[str]:
    return [value for value in (flat(e) for e in elements) if value]


def flat(element: Element | None) -> str:
    """All text inside ``element`` (inline markup and MathML flattened), whitespace collapsed."""
    if element is None:
        return ""
    if len(element) == 0:
        return " ".join((element.text or "").split())
    parts: list[str] = []
    has_math = _collect(element, parts, in_math=False)
    joined = " ".join("".join(parts).split())
    if has_math:
        # MathML sits between spaces in the source ("T1 , T2"); close them up before punctuation.
        joined = _SPACE_BEFORE_PUNCT.sub(r"\1", joined)
    return joined


def _collect(element: Element, parts: list[str], *, in_math: bool) -> bool:
    """Append the text of ``element`` and its children; True when MathML was met."""
    inside = in_math or (isinstance(element.tag, str) and element.tag.startswith(_MATHML))
    met = inside
    if element.text and not (inside and element.text.isspace()):
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):
            met = _collect(child, parts, in_math=inside) or met
        if child.tail and not (inside and child.tail.isspace()):
            parts.append(child.tail)
    return met
