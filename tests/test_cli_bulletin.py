"""`harvester bulletin draft|publish|list|render` from the command line, as a user runs them:
import records as accepted, draft every format, publish, and the queue no longer lists them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result
from pango import PANGO_MISSING
from pypdf import PdfReader

from harvester.cli.main import cli
from harvester.config.settings import ConfigError, load_topic

IMPORT = Path(__file__).parent / "fixtures" / "import"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_draft_every_format_publish_and_list(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    slug = "social-prescribing"
    nbib = str(IMPORT / "biopython_pubmed_result2.nbib")
    assert invoke("import", nbib, "--topic", slug, "--status", "accepted").exit_code == 0
    formats = ["html", "md", "docx", "ris", "csljson"] + ([] if PANGO_MISSING else ["pdf"])
    for fmt in formats:
        result = invoke("bulletin", "draft", "--topic", slug, "--format", fmt, "-o", f"b.{fmt}")
        assert result.exit_code == 0, result.output
        assert "4 entries" in result.stderr
    markdown = (workdir / "b.md").read_text(encoding="utf-8")
    assert markdown.startswith("# SOCIAL PRESCRIBING\n\n## Evidence Bulletin\n")
    assert "## NEW EVIDENCE" in markdown and "## Additional Resources" in markdown
    assert len(json.loads((workdir / "b.csljson").read_text(encoding="utf-8"))) == 4
    assert (workdir / "b.ris").read_text(encoding="utf-8").count("ER  -") == 4
    document = docx.Document(str(workdir / "b.docx"))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"][1] == "NEW EVIDENCE"
    if not PANGO_MISSING:
        pdf = PdfReader(io.BytesIO((workdir / "b.pdf").read_bytes()))
        assert "SOCIAL PRESCRIBING" in pdf.pages[0].extract_text()
        # PDF is binary: without -o it is refused rather than written to a terminal
        assert invoke("bulletin", "draft", "--topic", slug, "--format", "pdf").exit_code == 2

    published = invoke("bulletin", "publish", "--topic", slug, "--yes")
    assert published.exit_code == 0 and "4 entries" in published.stdout
    assert "no candidates" in invoke("queue", "--status", "accepted").stdout
    assert invoke("queue", "--status", "published").stdout.count(slug) == 4
    again = invoke("bulletin", "publish", "--topic", slug, "--yes")
    assert again.exit_code == 1 and again.stderr.startswith(
        "error: topic 'social-prescribing' has no draft"
    )
    listed = invoke("bulletin", "list").stdout
    assert "published" in listed and "4 entries" in listed
    bulletin_id = listed.split()[0]
    rendered = invoke("bulletin", "render", "--id", bulletin_id, "--format", "md")
    assert rendered.stdout == markdown
    # importing the same records again leaves them published
    assert invoke("import", nbib, "--topic", slug, "--status", "accepted").exit_code == 0
    assert invoke("queue", "--status", "published").stdout.count(slug) == 4
    empty = invoke("bulletin", "draft", "--topic", slug, "--format", "md")
    assert "0 entries" in empty.stderr
    refused = invoke("bulletin", "publish", "--topic", slug, "--yes")
    assert refused.exit_code == 1 and "nothing to publish" in refused.stderr


def test_unknown_bulletin_and_topic(workdir: Path) -> None:
    assert invoke("init").exit_code == 0
    missing = invoke("bulletin", "render", "--id", "7", "--format", "md")
    assert missing.exit_code == 1 and missing.stderr.strip() == "error: no bulletin with id 7"
    unknown = invoke("bulletin", "draft", "--topic", "nope", "--format", "md")
    assert unknown.exit_code == 1 and "unknown topic 'nope'" in unknown.stderr
    assert "no bulletins" in invoke("bulletin", "list").stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[bulletin]\nstyle = "chicago"\n',
            r"line 2.*style.*one of house, vancouver, apa, harvard",
        ),
        ('[bulletin]\nsections = [{title = "A", kinds = ["book"]}]\n', r"line 2.*kinds among"),
        ('[bulletin]\nsections = ["A", "A"]\n', r"section titles must be unique"),
        ("[bulletin]\nsections = []\n", r"line 2.*sections"),
        ('[[bulletin.resources]]\nlabel = "x"\nurl = "ftp://x"\n', r"line 3.*http"),
    ],
)
def test_bulletin_settings_errors_name_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_topic(path)
