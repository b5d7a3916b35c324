"""Retraction watch: works already accepted or published are re-checked against PubMed, Europe
PMC and Crossref, and what they say about retractions, expressions of concern and corrections
is stored against the work (:mod:`harvester.store.notices`), to be shown on its card, in the
digest and on bulletins. The service runs it weekly (the ``retraction-watch`` job).

Each service is asked in batches where it can be (PubMed: ``efetch`` of ``batch_size`` PMIDs;
Europe PMC: one search for up to 100 PMIDs), Crossref once per DOI. One service failing never
stops the others; the report says which failed and why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from harvester.config.settings import Settings
from harvester.core.errors import SourceError
from harvester.core.models import Hit
from harvester.core.retraction import Notice, notices
from harvester.store import notices as store
from harvester.store.db import Database

if TYPE_CHECKING:
    from harvester.sources.crossref import CrossrefClient
    from harvester.sources.europepmc import EuropePMCClient
    from harvester.sources.pubmed import EutilsClient

__all__ = ["WatchReport", "watch"]

log = logging.getLogger(__name__)

#: PMIDs per Europe PMC search.
EUROPEPMC_BATCH = 100


@dataclass
class WatchReport:
    checked: int = 0
    flagged: int = 0  # works with a notice found for the first time
    notices: int = 0  # notices found for the first time
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"retraction watch: {self.checked} works checked, {self.notices} new notices "
            f"on {self.flagged} works"
        )
        return text + (f"; failed: {'; '.join(self.errors)}" if self.errors else "")


def watch(
    db: Database,
    settings: Settings,
    *,
    now: dt.datetime,
    pubmed: EutilsClient | None = None,
    europepmc: EuropePMCClient | None = None,
    crossref: CrossrefClient | None = None,
) -> WatchReport:
    """Re-check every watched work; clients default to ones built from ``settings``."""
    with db.read() as session:
        works = store.watched(session)
    report = WatchReport(checked=len(works))
    found: dict[int, list[Notice]] = {}

    def add(work_id: int, hit: Hit, service: str) -> None:
        found.setdefault(work_id, []).extend(notices(hit, service))

    by_pmid = {w.pmid: w.id for w in works if w.pmid}
    by_doi = {w.doi: w.id for w in works if w.doi}
    asks: list[tuple[str, Callable[[], Iterator[Hit]]]] = [
        ("PubMed", partial(_pubmed, settings, pubmed, sorted(by_pmid))),
        ("Europe PMC", partial(_europepmc, settings, europepmc, sorted(by_pmid))),
        ("Crossref", partial(_crossref, settings, crossref, sorted(by_doi))),
    ]
    for service, run in asks:
        try:
            for hit in run():
                work_id = by_pmid.get(hit.pmid or "") or by_doi.get(hit.doi or "")
                if work_id is not None:
                    add(work_id, hit, service)
        except SourceError as exc:
            log.warning("retraction watch: %s failed: %s", service, exc)
            report.errors.append(f"{service}: {exc}")
    with db.write() as session:
        for work_id, items in found.items():
            added = store.record(session, work_id, items, now)
            report.notices += added
            report.flagged += bool(added)
    return report


def _pubmed(settings: Settings, client: EutilsClient | None, pmids: Sequence[str]) -> Iterator[Hit]:
    if not pmids:
        return
    from harvester.sources.pubmed import EutilsClient

    own = client is None
    eutils = client or EutilsClient(settings.pubmed)
    try:
        for batch in eutils.efetch_ids(list(pmids)):
            yield from batch
    finally:
        if own:
            eutils.close()


def _europepmc(
    settings: Settings, client: EuropePMCClient | None, pmids: Sequence[str]
) -> Iterator[Hit]:
    if not pmids:
        return
    from harvester.sources.europepmc import EuropePMCClient

    own = client is None
    europe = client or EuropePMCClient(settings.europepmc)
    try:
        for start in range(0, len(pmids), EUROPEPMC_BATCH):
            chunk = pmids[start : start + EUROPEPMC_BATCH]
            query = f"({' OR '.join(f'EXT_ID:{p}' for p in chunk)}) AND SRC:MED"
            for page in europe.records(query, origin=None):
                yield from page.hits
    finally:
        if own:
            europe.close()


def _crossref(
    settings: Settings, client: CrossrefClient | None, dois: Sequence[str]
) -> Iterator[Hit]:
    if not dois:
        return
    from harvester.sources.crossref import CrossrefClient

    own = client is None
    crossref = client or CrossrefClient(settings.crossref)
    try:
        for doi in dois:
            hit = crossref.hit(doi)
            if hit is not None:
                yield hit
    finally:
        if own:
            crossref.close()
