"""Bulletin renderers: golden files of every text format, the Word file read back with
python-docx, the PDF's text extracted, the HTML parsed for links and unsafe markup."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import docx
import pytest
from bulletin_items import doc
from golden_files import check_text
from lxml import html as lxml_html
from pango import needs_pango
from pypdf import PdfReader

from harvester.render.formats import render

GOLDEN = Path(__file__).parent / "golden" / "bulletin"


def check_golden(name: str, actual: str, update: bool) -> None:
    check_text(GOLDEN / name, actual, update=update)


@pytest.mark.parametrize("fmt", ["md", "html", "ris", "csljson"])
def test_golden_house(fmt: str, update_golden: bool) -> None:
    check_golden(f"house.{fmt}", render(doc(), fmt).decode("utf-8"), update_golden)


@pytest.mark.parametrize("style", ["vancouver", "apa", "harvard"])
def test_golden_csl_styles(style: str, update_golden: bool) -> None:
    check_golden(f"{style}.md", render(doc(style), "md").decode("utf-8"), update_golden)


def test_docx_golden_text_and_structure(update_golden: bool) -> None:
    document = docx.Document(io.BytesIO(render(doc(), "docx")))
    lines = [f"{p.style.name}: {p.text}" for p in document.paragraphs]
    check_golden("house.docx.txt", "\n".join(lines) + "\n", update_golden)
    styles = {p.style.name: p.text for p in document.paragraphs if p.style.name != "Normal"}
    assert styles["Title"] == "SOCIAL PRESCRIBING"
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Evidence Bulletin", "NEW EVIDENCE", "Additional Resources"]
    brown = next(p for p in document.paragraphs if p.text.startswith("Brown,\u00a0C."))
    assert [r.text for r in brown.runs if r.italic] == ["Nature"]
    links = brown.hyperlinks
    assert [(h.text, h.address) for h in links] == [
        ("A Drug-Free Prescription for Pain.", "https://pubmed.ncbi.nlm.nih.gov/39294386/")
    ]
    addresses = [h.address for p in document.paragraphs for h in p.hyperlinks]
    assert all(a.startswith(("https://", "mailto:")) for a in addresses)
    # nine linked titles (not the javascript: one), one resource, the contact address
    assert len(addresses) == 11


def test_docx_is_deterministic() -> None:
    assert render(doc(), "docx") == render(doc(), "docx")


@needs_pango
def test_pdf_text() -> None:
    data = render(doc(), "pdf")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert "SOCIAL PRESCRIBING" in flat
    assert "October–November 2024" in flat
    assert "Vaughan, K., and Lavery, J. (2024)" in flat.replace("\u00a0", " ")
    assert re.search(r"29\(10\), 474–\s?479\.", flat)  # a line may break after the dash
    assert "Additional Resources" in flat
    assert "<script>alert" in flat  # shown as text, never run
    uris = [
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]
    assert "https://doi.org/10.2196/57062" in uris
    assert not any(str(u).lower().startswith("javascript") for u in uris)


def test_html_links_and_no_unsafe_markup() -> None:
    text = render(doc(), "html").decode("utf-8")
    tree = lxml_html.document_fromstring(text)
    assert len(tree.findall("body")) == 1
    assert not tree.xpath("//script | //style | //iframe | //img | //link | //object | //form")
    assert not [el for el in tree.iter() if any(a.startswith("on") for a in el.attrib)]
    assert not tree.xpath("//@class")
    hrefs = tree.xpath("//a/@href")
    assert hrefs and all(h.startswith("https://") for h in hrefs[:-1])
    assert hrefs[-1] == "mailto:library@example.org"
    assert "https://doi.org/10.12968/bjcn.2024.29.10.474" in hrefs
    assert "javascript" not in " ".join(hrefs)
    assert "&lt;script&gt;" in text
    # tables only for the layout: no table holds citation text directly
    assert tree.xpath("//table[@role='presentation']")
    assert tree.xpath("//i[text()='British Journal of Community Nursing']")


def test_markdown_keeps_feed_markup_inert() -> None:
    text = render(doc(), "md").decode("utf-8")
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text)  # "\](" is an escaped bracket
    assert not re.search(r"(?<!\\)\[a\]\(", text)


def test_csljson_and_ris_carry_the_summary_shown() -> None:
    records = json.loads(render(doc(), "csljson"))
    brown = next(r for r in records if r.get("PMID") == "39294386")
    assert brown["abstract"].startswith("A reviewer's own summary")
    assert brown["page"] == "S37-S39"
    ris = render(doc(), "ris").decode("utf-8")
    assert "AB  - BACKGROUND: Social prescribing is a key part" in ris


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown bulletin format"):
        render(doc(), "odt")
