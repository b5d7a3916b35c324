"""Where the corpus of real recorded data is, for the tests marked ``corpus``.

The folder is ``HARVESTER_TEST_CORPUS`` when set, else ``../shared/fixtures`` beside the
repository when it exists. It is read once, when the test modules are imported, so the
environment-cleaning fixture in conftest.py (which removes every ``HARVESTER_*`` variable from
each test) does not hide it. Without the folder each corpus test is skipped, saying why.

Expectations for corpus files live beside the tests, in ``tests/corpus_expected/``, under the
file's path relative to the corpus folder plus ``.json``; nothing is written into the corpus.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_VARIABLE = "HARVESTER_TEST_CORPUS"
REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPOSITORY.parent / "shared" / "fixtures"
EXPECTED = Path(__file__).resolve().parent / "corpus_expected"

_SETTING = os.environ.get(CORPUS_VARIABLE, "")
CORPUS = Path(_SETTING) if _SETTING else DEFAULT_CORPUS


def covered(folder: str, pattern: str = "*") -> list[str]:
    """Corpus-relative paths under ``folder`` that have an expectation file."""
    base = EXPECTED / folder
    return sorted(
        str(path.relative_to(EXPECTED))[: -len(".json")] for path in base.rglob(f"{pattern}.json")
    )


def corpus_file(relative: str) -> Path:
    """The corpus file at ``relative``; skips the test when there is no corpus folder."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} not found; set {CORPUS_VARIABLE}")
    path = CORPUS / relative
    if not path.is_file():
        pytest.fail(
            f"{path}: not in the corpus folder {CORPUS} (expected by tests/corpus_expected)"
        )
    return path


def expectation(relative: str) -> Path:
    return EXPECTED / f"{relative}.json"
