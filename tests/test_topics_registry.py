"""open_database and the shared log set-up (the topic registry: tests/test_topics_db.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from harvester.config.settings import Settings
from harvester.core.errors import NotInitialisedError
from harvester.service.logging import setup_logging
from harvester.store import migrate
from harvester.store.migrate import open_database


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
