"""Whether WeasyPrint can print PDFs here: it needs the system's Pango library."""

from __future__ import annotations

import pytest


def _reason() -> str | None:
    try:
        import weasyprint  # noqa: F401 - imported to see whether Pango loads
    except OSError as exc:
        return f"skipped: PDF output needs the Pango library ({exc}); see the README"
    return None


PANGO_MISSING = _reason()
needs_pango = pytest.mark.skipif(PANGO_MISSING is not None, reason=PANGO_MISSING or "")
