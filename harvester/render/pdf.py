"""The bulletin as PDF, printed from its HTML with WeasyPrint (which needs the Pango library:
Debian packages libpango-1.0-0 and libpangoft2-1.0-0)."""

from __future__ import annotations

import logging

from harvester.core.bulletin import BulletinDoc
from harvester.core.errors import BulletinError
from harvester.render.html import render_html

__all__ = ["render_pdf"]


def render_pdf(doc: BulletinDoc) -> bytes:
    try:
        from weasyprint import HTML, URLFetcher
    except OSError as exc:  # the Pango library is missing
        raise BulletinError(
            f"PDF output needs the Pango library ({exc})",
            hint="install libpango-1.0-0 and libpangoft2-1.0-0 (see the README)",
        ) from None
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # nothing is fetched while printing: no protocol is allowed (the HTML has no images or
    # style sheets, and record text cannot add any: it is escaped)
    page = HTML(
        string=render_html(doc), base_url=None, url_fetcher=URLFetcher(allowed_protocols=())
    )
    pdf = page.write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
