"""The golden-file helper fails whenever it rewrites a file, so the update switch cannot hide a
change."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_json, check_text


def test_a_rewrite_fails_and_a_match_passes(tmp_path: Path) -> None:
    path = tmp_path / "golden" / "x.txt"
    with pytest.raises(pytest.fail.Exception, match="missing"):
        check_text(path, "one\n")
    assert not path.exists()
    with pytest.raises(pytest.fail.Exception, match="updated"):
        check_text(path, "one\n", update=True)
    assert path.read_text(encoding="utf-8") == "one\n"
    check_text(path, "one\n", update=True)  # already matching: nothing to rewrite, a pass
    with pytest.raises(pytest.fail.Exception, match=r"(?s)differs.*\+two"):
        check_text(path, "two\n")
    assert path.read_text(encoding="utf-8") == "one\n"


def test_json_compares_values_and_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"b": 1, "a": [1, 2]}\n', encoding="utf-8")
    check_json(path, {"a": [1, 2], "b": 1})  # same value, other key order
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="updated"):
        check_json(path, {"a": [3]})
    check_json(path, {"a": [3]})
