"""The bulletin as PDF, printed from its HTML with WeasyPrint (which needs the Pango library:
Debian packages libpango-1.0-0 and libpangoft2-1.0-0).

The PDF is tagged (PDF/UA-1: a structure tree, the document's language and title) so that screen
readers read it in order, on the paper size of the bulletin's locale (A4, or US Letter), with
"Page N of M" in the footer of every page."""

from __future__ import annotations

import logging

from harvester.core.bulletin import BulletinDoc
from harvester.core.errors import BulletinError
from harvester.render.html import render_html

__all__ = ["PDF_VARIANT", "render_pdf"]

PDF_VARIANT = "pdf/ua-1"
_PAGE_CSS = """
@page {
  size: %(paper)s;
  margin: 18mm 16mm 20mm 16mm;
  @bottom-center {
    content: "Page " counter(page) " of " counter(pages);
    font-family: Arial, Helvetica, sans-serif;
    font-size: 9pt;
    color: #555555;
  }
}
"""


def render_pdf(doc: BulletinDoc) -> bytes:
    try:
        from weasyprint import CSS, HTML, URLFetcher
    except OSError as exc:  # the Pango library is missing
        raise BulletinError(
            f"PDF output needs the Pango library ({exc})",
            hint="install libpango-1.0-0 and libpangoft2-1.0-0 (see the README)",
        ) from None
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # nothing is fetched while printing: only data: URLs (the embedded logo) are read, and
    # record text cannot add any (it is escaped)
    page = HTML(
        string=render_html(doc),
        base_url=None,
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    )
    css = CSS(string=_PAGE_CSS % {"paper": doc.paper})
    pdf = page.write_pdf(stylesheets=[css], pdf_variant=PDF_VARIANT)
    assert isinstance(pdf, bytes)
    return pdf
