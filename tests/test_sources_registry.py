"""The source registry: every registered source and import format is real and named alike."""

from __future__ import annotations

import datetime as dt

import pytest

from harvester.config.settings import Settings
from harvester.core.errors import HarvesterError
from harvester.sources import FILE_FORMATS, SOURCES, open_source
from harvester.sources.importers import _READERS, FORMATS
from harvester.usecases.harvest import WindowError


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_registered_source_opens_under_its_name(name: str) -> None:
    source = open_source(name, Settings())
    try:
        assert source.name == name
        assert source.state == ("window" if SOURCES[name].windowed else "conditional")
        assert source.requests_made == 0
    finally:
        source.close()


def test_an_unknown_source_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(HarvesterError, match="unknown source 'europe'.*pubmed, europepmc, feeds"):
        open_source("europe", Settings())


def test_every_import_format_has_a_reader() -> None:
    assert set(_READERS) == set(FILE_FORMATS) == set(FORMATS)


def test_a_reversed_window_is_worded_without_command_line_flags() -> None:
    error = WindowError(
        topic="t",
        source="pubmed",
        since=dt.date(2024, 5, 2),
        until=dt.date(2024, 5, 1),
        backfill=True,
    )
    assert str(error) == "the window starts after it ends: since 2024-05-02 > until 2024-05-01"
    assert "--" not in str(error)
