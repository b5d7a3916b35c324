"""The bulletin as an editable Word document (python-docx): real Heading styles, live hyperlinks
(blue, underlined), italic journal titles; deterministic bytes for the same bulletin."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Mm, Pt, RGBColor

from harvester.core.bulletin import BulletinDoc, label_text, paragraphs
from harvester.core.citation import Citation
from harvester.core.csl import cite
from harvester.core.layout import arrange

__all__ = ["render_docx"]

_FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML


def _t(text: str) -> str:
    return _CONTROL.sub("", " ".join(text.split()))


_PAPER = {"A4": (Mm(210), Mm(297)), "Letter": (Inches(8.5), Inches(11))}


def render_docx(doc: BulletinDoc) -> bytes:
    document: Any = Document()
    props = document.core_properties
    props.title = _t(" ".join(p for p in (doc.title, doc.subtitle, doc.period) if p))
    props.author = props.last_modified_by = "harvester"
    props.created = props.modified = _FIXED_TIME.replace(tzinfo=None)
    props.revision = 1
    props.language = doc.locale
    _page(document, doc.paper)
    if doc.logo is not None:
        _logo(document, doc)
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
            citation = cite(item, doc.style, doc.locale)
            _citation(document.add_paragraph(), citation)
            for part in item.summary():
                if part.label:
                    document.add_paragraph().add_run(_t(label_text(part.label))).bold = True
                document.add_paragraph(_t(part.text))
            if citation.after_summary:
                document.add_paragraph(_t(citation.after_summary))
    if doc.resources:
        document.add_heading(_t(doc.resources_heading), level=1)
        for resource in doc.resources:
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.add_run(_t(resource.label)).bold = True
            paragraph.add_run(" ")
            _hyperlink(paragraph, _t(resource.link_text), resource.url)
    for text in paragraphs(doc.footer or ""):
        document.add_paragraph(_t(text)).runs[0].font.size = Pt(9)
    if doc.contact:
        address = _t(doc.contact)
        paragraph = document.add_paragraph()
        if re.fullmatch(r"[^@\s<>()]+@[^@\s<>()]+\.[A-Za-z]{2,}", address):
            _hyperlink(paragraph, address, f"mailto:{address}")
        else:
            paragraph.add_run(address).font.size = Pt(9)
    out = io.BytesIO()
    document.save(out)
    return _fixed_zip_times(out.getvalue())


def _page(document: Any, paper: str) -> None:
    """The paper size of the bulletin's locale, and "Page N of M" centred in the footer."""
    width, height = _PAPER.get(paper, _PAPER["A4"])
    for section in document.sections:
        section.page_width, section.page_height = width, height
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin = section.bottom_margin = Mm(20)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Page ")
        _field(footer, "PAGE")
        footer.add_run(" of ")
        _field(footer, "NUMPAGES")


def _field(paragraph: Any, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the document out."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instruction} ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _logo(document: Any, doc: BulletinDoc) -> None:
    assert doc.logo is not None
    try:
        shape = document.add_picture(io.BytesIO(doc.logo.data), height=Mm(20))
    except Exception:  # noqa: BLE001 - an image Word cannot take is left out, not fatal
        return
    shape._inline.docPr.set("descr", _t(doc.logo.alt))


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
            _hyperlink(paragraph, _keep_edges(run.text), run.href)
        else:
            text = _CONTROL.sub("", run.text)
            added = paragraph.add_run(text if not text.strip() else _keep_edges(text))
            added.italic = run.italic or None


def _keep_edges(text: str) -> str:
    """Collapse inner white space but keep a leading or trailing space (run boundaries) and
    no-break spaces."""
    lead = " " if text[:1] in " \t\r\n" else ""
    trail = " " if text[-1:] in " \t\r\n" else ""
    return lead + _CONTROL.sub("", re.sub(r"[ \t\r\n]+", " ", text).strip(" ")) + trail


def _hyperlink(paragraph: Any, text: str, url: str) -> None:
    """A real Word hyperlink (w:hyperlink with an external relationship), styled as a link."""
    if not re.match(r"(?:https?://[^\s/]+|mailto:[^\s]+@)", url, flags=re.IGNORECASE):
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
