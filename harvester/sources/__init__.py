"""Sources: where records come from, behind one protocol and one registry.

A network source fetches for one topic and yields :class:`Batch` es of
:class:`~harvester.core.models.Hit` s, each with what the harvest may record once the batch is stored
(its *checkpoint*). Sources keep one of two kinds of state between runs, and the harvest
(:mod:`harvester.usecases.harvest`) runs each kind the same way whatever the source:

- ``"window"``: a date window and a watermark per query (PubMed, Europe PMC).
  The source says which window a run asks for (:meth:`WindowSource.window`), and each batch's
  checkpoint is a date through which everything has been fetched, so the watermark moves slice by
  slice.
- ``"conditional"``: one conditional GET per URL (feeds). The harvest reads each URL's stored
  validators, and each batch's checkpoint is the fetch results of the URLs it holds, recorded
  with it.

The registry (:data:`SOURCES`) names every source, so the command line's choices, the harvest
loop and the README derive from it; it imports a source's module (and its HTTP and XML
libraries) only when the source is used. Files are sources too: :data:`FILE_FORMATS` names the
formats ``harvester import`` reads (:mod:`harvester.sources.importers`).

Adding a source (e.g. Europe PMC): write ``harvester/sources/<name>.py`` with a class that
fulfils :class:`WindowSource` or :class:`ConditionalSource` and whose HTTP goes through
:class:`harvester.sources.fetch.Fetcher`, then add one :class:`SourceInfo` line to
:data:`SOURCES`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from harvester.config.settings import Settings, Topic
    from harvester.core.models import Hit

__all__ = [
    "FILE_FORMATS",
    "SOURCES",
    "Batch",
    "ConditionalSource",
    "FileFormat",
    "Source",
    "SourceInfo",
    "WindowSource",
    "open_source",
    "source_names",
]


@dataclass
class Batch:
    """Hits to store in one transaction, and what may be recorded with them: a date through
    which the window is complete (window sources), or the fetch results of the URLs whose hits
    these are (conditional sources)."""

    hits: list[Hit]
    checkpoint: Any = None


class Source(Protocol):
    """What every network source offers the harvest."""

    name: str
    #: ``"window"`` or ``"conditional"``: the kind of state the source keeps between runs.
    state: Literal["window", "conditional"]

    def uses(self, topic: Topic) -> bool:
        """Whether ``topic`` asks anything of this source."""
        ...

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (every retry included)."""
        ...

    def close(self) -> None: ...


class WindowSource(Source, Protocol):
    """A source searched by date window, with a watermark per query."""

    def state_key(self, topic: Topic) -> str:
        """The watermark's key: a changed query starts a window of its own."""
        ...

    def window(
        self,
        mark: dt.datetime | None,
        *,
        since: dt.date | None,
        until: dt.date | None,
        today: dt.date,
    ) -> tuple[dt.date, dt.date]:
        """The window of a run, from the watermark ``mark`` (None: never run) or a backfill."""
        ...

    def last_complete_day(self, now: dt.datetime) -> dt.date:
        """The newest day the source will add nothing more to: the watermark stops there."""
        ...

    def fetch(self, topic: Topic, start: dt.date, end: dt.date) -> Iterator[Batch]:
        """Every record for ``topic`` in [start, end], batch by batch; a batch's checkpoint is a
        date through which the window is complete (or None). May raise
        :class:`~harvester.core.errors.SourceError` after some batches: what was yielded stays valid."""
        ...


class ConditionalSource(Source, Protocol):
    """A source of URLs fetched with conditional GETs, each URL's validators kept between runs."""

    def urls(self, topic: Topic) -> list[tuple[str, str]]:
        """The (url, name) pairs of ``topic`` to fetch."""
        ...

    def fetch(
        self,
        topic: Topic,
        validators: dict[str, tuple[str | None, str | None]],
        now: dt.datetime,
    ) -> Iterator[Batch]:
        """Fetch the topic's URLs (``validators``: ETag and Last-Modified by URL); each batch's
        checkpoint is the list of per-URL results whose hits it holds. Never raises for one URL."""
        ...


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A registered source: its name, a line for the docs, and where its class lives."""

    name: str
    summary: str
    #: ``"module:Class"``; the class is built with the settings: ``Class(settings)``.
    target: str
    #: Whether ``--since``/``--until`` apply.
    windowed: bool

    def load(self) -> Callable[[Settings], Source]:
        module, _, name = self.target.partition(":")
        factory: Callable[[Settings], Source] = getattr(importlib.import_module(module), name)
        return factory


#: Every network source, in the order a harvest runs them.
SOURCES: dict[str, SourceInfo] = {
    info.name: info
    for info in (
        SourceInfo(
            "pubmed",
            "PubMed through NCBI E-utilities: the topic's query, by entrez-date window",
            "harvester.sources.pubmed:PubMedSource",
            windowed=True,
        ),
        SourceInfo(
            "europepmc",
            "Europe PMC REST search: the topic's Europe PMC query, by index-date window "
            "(preprints and journals outside MEDLINE too)",
            "harvester.sources.europepmc:EuropePMCSource",
            windowed=True,
        ),
        SourceInfo(
            "feeds",
            "RSS, Atom and JSON feeds: the topic's feeds, by conditional GET, phrase rules applied",
            "harvester.sources.feeds:FeedsSource",
            windowed=False,
        ),
    )
}


def source_names() -> Sequence[str]:
    return tuple(SOURCES)


def open_source(name: str, settings: Settings) -> Source:
    """The source registered as ``name``, built with ``settings``."""
    from harvester.core.errors import HarvesterError

    info = SOURCES.get(name)
    if info is None:
        raise HarvesterError(f"unknown source {name!r} (sources: {', '.join(SOURCES)})")
    return info.load()(settings)


@dataclass(frozen=True, slots=True)
class FileFormat:
    """A file format ``harvester import`` reads: its name, extensions and a line for the docs."""

    name: str
    label: str
    extensions: tuple[str, ...]
    summary: str


#: Every import format, by name (the readers are in :mod:`harvester.sources.importers`).
FILE_FORMATS: dict[str, FileFormat] = {
    fmt.name: fmt
    for fmt in (
        FileFormat("ris", "RIS", (".ris",), "RIS from reference managers and databases"),
        FileFormat("csljson", "CSL-JSON", (".json",), "CSL-JSON, e.g. from Zotero"),
        FileFormat("pubmed-xml", "PubMed XML", (".xml",), "PubMed XML (efetch or PubMed export)"),
        FileFormat("medline", "MEDLINE", (".nbib", ".medline"), "MEDLINE .nbib from PubMed"),
    )
}
