"""A bulletin of articles and news as a library sends it (``tests/fixture_bulletin.py``), in every
format: the period given, abstracts in their paragraphs with bold labels, resources as bullets
with their link text, a footer of paragraphs with the contact address, the logo embedded; Word and
PDF on the locale's paper with page numbers, the PDF tagged for screen readers."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import docx
import pytest
from fixture_bulletin import EXAMPLE_LINES, PERIOD, doc
from golden_files import check_text
from lxml import html as lxml_html
from pango import needs_pango
from pypdf import PdfReader

from harvester.core.bulletin import BulletinItem, paper_size
from harvester.core.citation import journal_title
from harvester.render.formats import render
from harvester.sources.importers import read_records

GOLDEN = Path(__file__).parent / "golden" / "bulletin"
IMPORT = Path(__file__).parent / "fixtures" / "import"
NBSP = "\u00a0"


@pytest.mark.parametrize("fmt", ["md", "html", "ris", "csljson"])
def test_golden(fmt: str, update_golden: bool) -> None:
    check_text(GOLDEN / f"fixture.{fmt}", render(doc(), fmt).decode("utf-8"), update=update_golden)


def test_the_four_example_lines_of_the_house_style() -> None:
    text = render(doc(), "md").decode("utf-8").replace(NBSP, " ")
    for line in EXAMPLE_LINES:
        assert f"\n{line}\n" in text, line


def test_markdown_period_paragraphs_resources_and_footer() -> None:
    text = render(doc(), "md").decode("utf-8")
    assert f"**{PERIOD}**" in text
    assert (
        "\n**Design and setting**\n\nA qualitative study in two community nursing teams.\n" in text
    )
    assert (
        "Coproduction is widely promoted in social prescribing.\n\nThis protocol sets out" in text
    )
    assert (
        "- **The King's Fund and Social Prescribing** [Learn more](<https://www.kingsfund" in text
    )
    assert "- **NHS England and Social Prescribing** [Read the guidance](<" in text
    assert "library and knowledge team.\n\nFor literature searches" in text
    assert "Contact:" not in text and "[library@example.org](<mailto:library@example.org>)" in text
    # the summary follows [online]; the date comes after it
    assert re.search(r"\[online\]\n\nGPs in England .*\n\n\[12 Oct 2024\]", text)
    assert "Parkhill, H. [Nature and Outdoors" in text.replace(NBSP, " ") and "H.." not in text


def test_html_logo_bullets_footer() -> None:
    text = render(doc(), "html").decode("utf-8")
    tree = lxml_html.document_fromstring(text)
    (img,) = tree.xpath("//img")
    assert img.get("src").startswith("data:image/png;base64,") and img.get("alt")
    items = tree.xpath("//ul/li")
    assert [li.xpath("string(b)") for li in items] == [
        "The King's Fund and Social Prescribing",
        "NHS England and Social Prescribing",
    ]
    assert [li.xpath("string(a)") for li in items] == ["Learn more", "Read the guidance"]
    assert tree.xpath("//p/b[text()='Design and setting']")
    assert "Contact:" not in text
    assert tree.xpath("//a[@href='mailto:library@example.org']")
    assert tree.get("lang") == "en-GB"
    # the first author's comma never breaks the line
    assert f"Vaughan,{NBSP}K." in text


def test_word_on_a4_with_page_numbers_bold_labels_and_bullets() -> None:
    document = docx.Document(io.BytesIO(render(doc(), "docx")))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    footer = section.footer._element.xml
    assert 'w:instr=" PAGE "' in footer and 'w:instr=" NUMPAGES "' in footer
    paragraphs = document.paragraphs
    labels = [p.text for p in paragraphs if p.runs and all(r.bold for r in p.runs)]
    assert "Design and setting" in labels and "Aims" in labels
    bullets = [p for p in paragraphs if p.style.name == "List Bullet"]
    assert [p.runs[0].text for p in bullets] == [
        "The King's Fund and Social Prescribing",
        "NHS England and Social Prescribing",
    ]
    assert [h.text for p in bullets for h in p.hyperlinks] == ["Learn more", "Read the guidance"]
    texts = [p.text for p in paragraphs]
    assert PERIOD in texts
    assert (
        "For literature searches, articles and training, write to the library at the address below."
        in texts
    )
    assert not any(t.startswith("Contact:") for t in texts)
    assert any(t.startswith(f"Vaughan,{NBSP}K., and Lavery, J.") for t in texts)
    assert len(document.inline_shapes) == 1  # the logo


def test_word_and_pdf_on_letter_for_a_letter_locale() -> None:
    assert paper_size("en-US") == "Letter" and paper_size("en_CA") == "Letter"
    assert paper_size("en-GB") == "A4" and paper_size("fr") == "A4"
    section = docx.Document(io.BytesIO(render(doc("en-US"), "docx"))).sections[0]
    assert (section.page_width.inches, section.page_height.inches) == (8.5, 11)


@needs_pango
def test_pdf_a4_page_numbers_tagged_for_screen_readers() -> None:
    reader = PdfReader(io.BytesIO(render(doc(), "pdf")))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    count = len(reader.pages)
    texts = [page.extract_text() for page in reader.pages]
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {count}" in text
    flat = " ".join(" ".join(texts).split())
    assert PERIOD in flat and "Design and setting" in flat and "Learn more" in flat
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert str(root["/Lang"]) == "en-GB"
    metadata = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfuaid:part" in metadata
    letter = PdfReader(io.BytesIO(render(doc("en-US"), "pdf"))).pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_references_carry_article_numbers_and_paragraphs() -> None:
    records = {r["id"]: r for r in json.loads(render(doc(), "csljson"))}
    assert records["work-5"]["page"] == "30517" and records["work-5"]["number-of-pages"] == "12"
    assert records["work-6"]["container-title"] == "The Lancet (London, England)"
    assert "\n\nThis protocol sets out" in records["work-3"]["abstract"]


def test_full_journal_titles_from_medline_and_pubmed_xml() -> None:
    """MEDLINE ``JT`` and PubMed XML ``Journal/Title`` are kept beside the ISO abbreviation,
    and the citation prints the full title with its qualifier."""
    medline = next(read_records(IMPORT / "biopython_pubmed_result2.nbib"))
    assert (medline.journal, medline.journal_iso) == ("BMC bioinformatics", "BMC Bioinformatics")
    pubmed_xml = Path(__file__).parent / "fixtures" / "pubmed" / "biopython_pubmed1.xml"
    pubmed = next(read_records(pubmed_xml))
    assert (pubmed.journal, pubmed.journal_iso) == (
        "Social justice (San Francisco, Calif.)",
        "Soc Justice",
    )
    item = BulletinItem(
        entry_id=1,
        candidate_id=1,
        work_id=1,
        title=pubmed.title,
        journal=pubmed.journal,
        journal_iso=pubmed.journal_iso,
    )
    assert journal_title(item) == "Social Justice (San Francisco, Calif.)"


def test_abstract_paragraphs_survive_import_store_and_render(workdir: Path) -> None:
    """A reference manager's RIS (headings on their own lines) and MEDLINE's run-in labels keep
    their paragraphs and labels from the file to the bulletin."""
    from click.testing import CliRunner

    from harvester.cli.main import cli

    (workdir / "refs.ris").write_text(
        "TY  - JOUR\nTI  - Link workers in general practice\nAU  - Smith, Jane\n"
        "JO  - British Journal of General Practice\nPY  - 2024\nDO  - 10.3399/bjgp.2024.0001\n"
        "AB  - Aim\nTo explore link work.\nDesign and setting\nA survey of 40 practices in\n"
        "England.\nER  - \n"
        "TY  - JOUR\nTI  - Social prescribing outcomes\nAU  - Jones, Amy\nJO  - BMJ Open\n"
        "PY  - 2024\nDO  - 10.1136/bmjopen-2024-0002\n"
        "AB  - BACKGROUND: Referrals grow. METHODS: A cohort. RESULTS: Better wellbeing.\nER  - \n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(
        cli, ["import", "refs.ris", "--topic", "social-prescribing", "--status", "accepted"]
    )
    assert result.exit_code == 0, result.output
    draft = runner.invoke(
        cli, ["bulletin", "draft", "--topic", "social-prescribing", "--format", "md"]
    )
    assert draft.exit_code == 0, draft.output
    text = draft.stdout
    assert "**Aim**\n\nTo explore link work.\n\n**Design and setting**\n\n" in text
    assert "A survey of 40 practices in England.\n" in text
    assert "**Background**\n\nReferrals grow.\n\n**Methods**\n\nA cohort.\n\n**Results**" in text


def test_the_logo_comes_from_the_topic_settings(tmp_path: Path) -> None:
    from fixture_bulletin import logo_png

    from harvester.config.settings import load_topic
    from harvester.core.errors import BulletinError
    from harvester.usecases.bulletin.draft import doc_for_topic

    (tmp_path / "logo.png").write_bytes(logo_png())
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    path = tmp_path / "sp.toml"

    def topic_with(extra: str) -> object:
        path.write_text(
            f'[topic]\nname = "Social prescribing"\n[bulletin]\nlocale = "en-US"\n'
            f'resources_link_text = "More"\n{extra}'
            '[[bulletin.resources]]\nlabel = "NHS England"\nurl = "https://www.england.nhs.uk/"\n',
            encoding="utf-8",
        )
        return load_topic(path)

    made = doc_for_topic(
        topic_with('logo = "logo.png"\nlogo_alt = "Our library"\n'), [], None, None
    )  # type: ignore[arg-type]
    assert made.logo is not None and made.logo.media_type == "image/png"
    assert made.logo.alt == "Our library" and made.paper == "Letter"
    assert made.resources[0].link_text == "More"
    with pytest.raises(
        BulletinError, match=r"sp\.toml: \[bulletin\] logo: .*notes\.txt is not a PNG"
    ):
        doc_for_topic(topic_with('logo = "notes.txt"\n'), [], None, None)  # type: ignore[arg-type]
    with pytest.raises(BulletinError, match="cannot read"):
        doc_for_topic(topic_with('logo = "missing.png"\n'), [], None, None)  # type: ignore[arg-type]
