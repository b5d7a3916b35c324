"""Render the suite's fixture bulletin (``tests/fixture_bulletin.py``) to docs/: Markdown, PDF and
the PDF's first page as PNG (needs ``pdftoppm`` from poppler-utils).

    .venv/bin/python scripts/render_fixture_bulletin.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fixture_bulletin import doc  # noqa: E402

from harvester.render.formats import render  # noqa: E402


def main() -> None:
    docs = ROOT / "docs"
    (docs / "bulletin-fixture.md").write_bytes(render(doc(), "md"))
    pdf = docs / "bulletin-fixture.pdf"
    pdf.write_bytes(render(doc(), "pdf"))
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing: apt-get install poppler-utils")
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(docs / "bulletin-fixture-page1"),
        ],
        check=True,
    )
    pdf.unlink()
    sys.stdout.write(f"{docs / 'bulletin-fixture.md'} {docs / 'bulletin-fixture-page1.png'}\n")


if __name__ == "__main__":
    main()
