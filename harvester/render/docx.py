"""The bulletin as an editable Word document (python-docx): real Heading styles, live hyperlinks
(blue, underlined), italic journal titles; deterministic bytes for the same bulletin."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from harvester.core.bulletin import BulletinDoc
from harvester.core.citation import Citation
from harvester.core.csl import cite
from harvester.core.layout import arrange

__all__ = ["render_docx"]

_FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML


def _t(text: str) -> str:
    return _CONTROL.sub("", " ".join(text.split()))


def render_docx(doc: BulletinDoc) -> bytes:
    document: Any = Document()
    props = document.core_properties
    props.title = _t(" ".join(p for p in (doc.title, doc.subtitle, doc.period) if p))
    props.author = props.last_modified_by = "harvester"
    props.created = props.modified = _FIXED_TIME.replace(tzinfo=None)
    props.revision = 1
    document.add_heading(_t(doc.title), level=0)
    if doc.subtitle:
        document.add_heading(_t(doc.subtitle), level=1)
    if doc.period:
        document.add_paragraph().add_run(_t(doc.period)).bold = True
    for section, items in arrange(doc):
        if not items:
            continue
        document.add_heading(_t(section.title), level=1)
        for item in items:
            citation = cite(item, doc.style)
            _citation(document.add_paragraph(), citation)
            for part in item.summary():
                paragraph = document.add_paragraph()
                if part.label:
                    paragraph.add_run(_t(part.label) + ": ").bold = True
                paragraph.add_run(_t(part.text))
            if citation.after_summary:
                document.add_paragraph(_t(citation.after_summary))
    if doc.resources:
        document.add_heading(_t(doc.resources_heading), level=1)
        for resource in doc.resources:
            _hyperlink(
                document.add_paragraph(style="List Bullet"), _t(resource.label), resource.url
            )
    if doc.footer:
        document.add_paragraph(_t(doc.footer)).runs[0].font.size = Pt(9)
    if doc.contact:
        document.add_paragraph("Contact: " + _t(doc.contact)).runs[0].font.size = Pt(9)
    out = io.BytesIO()
    document.save(out)
    return _fixed_zip_times(out.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same bytes for the same bulletin: the package's zip entries get a fixed time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def _citation(paragraph: Any, citation: Citation) -> None:
    for run in citation.runs:
        if run.href:
            _hyperlink(paragraph, _t(run.text), run.href)
        else:
            text = _CONTROL.sub("", run.text)
            added = paragraph.add_run(text if not text.strip() else _keep_edges(text))
            added.italic = run.italic or None


def _keep_edges(text: str) -> str:
    """Collapse inner white space but keep a leading or trailing space (run boundaries)."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + _t(text) + trail


def _hyperlink(paragraph: Any, text: str, url: str) -> None:
    """A real Word hyperlink (w:hyperlink with an external relationship), styled as a link."""
    if not re.match(r"https?://[^\s/]+", url, flags=re.IGNORECASE):
        paragraph.add_run(text)
        return
    part = paragraph.part
    rel_id = part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), str(RGBColor(0x00, 0x5E, 0xB8)))
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(color)
    props.append(underline)
    run.append(props)
    text_element = OxmlElement("w:t")
    text_element.text = text
    text_element.set(qn("xml:space"), "preserve")
    run.append(text_element)
    link.append(run)
    paragraph._p.append(link)
