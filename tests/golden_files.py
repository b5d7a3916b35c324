"""Golden files that still test when they are being rewritten.

``UPDATE_GOLDEN=1 pytest ...`` (or ``pytest --update-golden``) rewrites a golden file whose
content differs from what the code now gives, and then *fails* that test ("updated: rerun"): a run
with the switch set passes only where every golden file already matched, so a rewrite is always
seen and a second run (without the switch) checks what was written.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

__all__ = ["check_json", "check_text", "updating"]


def updating(option: bool = False) -> bool:
    """Whether golden files are being rewritten (the pytest option, or ``UPDATE_GOLDEN=1``)."""
    return option or os.environ.get("UPDATE_GOLDEN") == "1"


def _rewrite_or_fail(path: Path, text: str, update: bool, why: str) -> None:
    if updating(update):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        pytest.fail(f"{path} updated ({why}): rerun without UPDATE_GOLDEN to check it")
    pytest.fail(f"{path}: {why} (UPDATE_GOLDEN=1 rewrites it)")


def check_text(path: Path, actual: str, *, update: bool = False) -> None:
    """``actual`` is the content of ``path``; a unified diff when it is not."""
    if not path.exists():
        _rewrite_or_fail(path, actual, update, "missing")
    expected = path.read_text(encoding="utf-8")
    if actual == expected:
        return
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "golden", "actual", lineterm=""
        )
    )
    _rewrite_or_fail(path, actual, update, f"differs from the golden file:\n{diff}")


def check_json(path: Path, actual: Any, *, indent: int = 2, update: bool = False) -> None:
    """``actual`` equals the JSON value in ``path`` (compared as values, not as text)."""
    text = json.dumps(actual, indent=indent, ensure_ascii=False) + "\n"
    if not path.exists():
        _rewrite_or_fail(path, text, update, "missing")
    if actual == json.loads(path.read_text(encoding="utf-8")):
        return
    _rewrite_or_fail(path, text, update, "differs from the expected value")
