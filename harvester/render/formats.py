"""One entry point that renders a bulletin in any of its formats."""

from __future__ import annotations

from harvester.core.bulletin import BulletinDoc

__all__ = ["BINARY_FORMATS", "FORMATS", "render"]

FORMATS = ("html", "md", "docx", "pdf", "ris", "csljson")
BINARY_FORMATS = ("docx", "pdf")


def render(doc: BulletinDoc, fmt: str) -> bytes:
    """The bulletin in ``fmt`` (one of :data:`FORMATS`) as bytes (text formats in UTF-8)."""
    if fmt == "html":
        from harvester.render.html import render_html

        return render_html(doc).encode("utf-8")
    if fmt == "md":
        from harvester.render.markdown import render_md

        return render_md(doc).encode("utf-8")
    if fmt == "docx":
        from harvester.render.docx import render_docx

        return render_docx(doc)
    if fmt == "pdf":
        from harvester.render.pdf import render_pdf

        return render_pdf(doc)
    if fmt in ("ris", "csljson"):
        from harvester.render.references import render_references

        return render_references(doc, fmt).encode("utf-8")
    raise ValueError(f"unknown bulletin format {fmt!r}; expected one of {', '.join(FORMATS)}")
