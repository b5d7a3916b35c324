"""The topic registry, open_database and the shared log set-up."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from harvester.config.settings import Settings
from harvester.config.topics import TopicRegistry
from harvester.core.errors import ConfigError, NotFoundError, NotInitialisedError
from harvester.service.logging import setup_logging
from harvester.store import migrate
from harvester.store.migrate import open_database


def test_registry_loads_once_reloads_on_change_and_names_unknown_topics(tmp_path: Path) -> None:
    folder = tmp_path / "queries"
    folder.mkdir()
    file = folder / "alpha.toml"
    file.write_text('[topic]\nname = "Alpha"\n', encoding="utf-8")
    registry = TopicRegistry(folder)
    assert registry.get("alpha").name == "Alpha"
    assert registry.get("alpha") is registry.get("alpha")  # not re-read while unchanged
    file.write_text('[topic]\nname = "Alpha two"\n', encoding="utf-8")
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert registry.get("alpha").name == "Alpha two"
    (folder / "beta.toml").write_text("", encoding="utf-8")
    assert registry.slugs() == ["alpha", "beta"]
    with pytest.raises(NotFoundError, match=r"unknown topic 'gamma' \(topics: alpha, beta\)"):
        registry.get("gamma")
    (folder / "beta.toml").write_text("[topic\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="beta.toml"):
        registry.all()


def test_open_database_refuses_a_missing_one_and_migrates(tmp_path: Path) -> None:
    settings = Settings()
    settings.database.url = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(NotInitialisedError):
        open_database(settings)
    migrate.upgrade(settings.database.url, "0001")
    db = open_database(settings)
    try:
        assert migrate.current(settings.database.url) == migrate.head()
    finally:
        db.dispose()


def test_setup_logging_levels() -> None:
    root = logging.getLogger()
    before = root.level
    try:
        setup_logging(0)
        assert root.level == logging.WARNING
        setup_logging(1)
        assert root.level == logging.INFO
        setup_logging(5)
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(before)
