"""Every file under tests/fixtures/ has a SOURCES.md row: a published package (registry, version,
path, licence) or "written for this suite". Test data the repository may not carry fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PACKAGE = re.compile(r"^(PyPI|npm|Debian) `[^`]+` \d[\w.\-]*")


def _rows(sources: Path) -> dict[str, list[str]]:
    rows = {}
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


FILES = sorted(
    str(path.relative_to(FIXTURES))
    for path in FIXTURES.rglob("*")
    if path.is_file() and path.name != "SOURCES.md"
)


@pytest.mark.parametrize("relative", FILES)
def test_every_fixture_file_has_a_provenance_row(relative: str) -> None:
    top, _, inside = relative.partition("/")
    sources = FIXTURES / top / "SOURCES.md"
    assert sources.is_file(), f"{sources}: missing"
    row = _rows(sources).get(inside)
    assert row is not None, f"{sources}: no row for `{inside}`"
    _, origin, path, licence, what = row
    assert what, f"{sources}: `{inside}`: say what the file tests"
    if origin.startswith("written for this suite"):
        return
    assert PACKAGE.match(origin), f"{sources}: `{inside}`: origin is not a published package"
    assert path.strip("—") and licence.strip("—"), f"{sources}: `{inside}`: path and licence"


def test_every_row_names_a_file_that_exists() -> None:
    for sources in FIXTURES.glob("*/SOURCES.md"):
        for inside in _rows(sources):
            assert (sources.parent / inside).is_file(), f"{sources}: `{inside}` does not exist"
