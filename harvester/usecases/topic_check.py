"""Topic check: would a topic's searches and phrase rules have caught what a past bulletin
carried? For each item of a bulletin file (RIS, CSL-JSON, PubMed XML, MEDLINE: the import
readers), and for each way the topic finds things:

- PubMed (``[pubmed] query``): the item's record is fetched by PMID for its entrez date, and the
  query is searched for that day restricted to the PMID (``(<query>) AND <pmid>[pmid]``, one
  esearch): a count of 1 means the query's results for that day hold it;
- Europe PMC (``[europepmc] query``): the query restricted to the item (``EXT_ID:<pmid> AND
  SRC:MED``, else ``DOI:"<doi>"``);
- news phrases (``[match]``, and each feed's own rules): whether a phrase lets its title or
  abstract in (feeds marked ``all = true`` keep everything they carry, which this cannot know).

Each answer says why not when the item was missed, so a librarian can tune the topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harvester.config.settings import Settings, Topic
from harvester.core.errors import SourceError
from harvester.core.models import Hit
from harvester.core.phrases import compile_rules
from harvester.sources.importers import read_records

if TYPE_CHECKING:
    from harvester.sources.europepmc import EuropePMCClient
    from harvester.sources.pubmed import EutilsClient

__all__ = ["ItemCheck", "Verdict", "check_topic"]


@dataclass(frozen=True, slots=True)
class Verdict:
    way: str  # "PubMed", "Europe PMC", "news phrases"
    caught: bool | None  # None: could not be judged (no PMID, no query, service failed)
    reason: str


@dataclass
class ItemCheck:
    number: int
    title: str
    pmid: str | None
    doi: str | None
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return any(v.caught for v in self.verdicts)

    def lines(self) -> list[str]:
        ids = ", ".join(x for x in (f"PMID {self.pmid}" if self.pmid else "", self.doi or "") if x)
        head = f"{self.number}. {'caught' if self.caught else 'MISSED'}: {self.title}"
        out = [head + (f" ({ids})" if ids else "")]
        for verdict in self.verdicts:
            state = {True: "yes", False: "no", None: "?"}[verdict.caught]
            out.append(f"   {verdict.way}: {state}, {verdict.reason}")
        return out


def check_topic(
    topic: Topic,
    file: Path,
    settings: Settings,
    *,
    pubmed: EutilsClient | None = None,
    europepmc: EuropePMCClient | None = None,
) -> list[ItemCheck]:
    """Every item of the bulletin ``file``, checked against ``topic``."""
    items = list(read_records(file))
    checks = [
        ItemCheck(number, item.title, item.pmid, item.doi) for number, item in enumerate(items, 1)
    ]
    _pubmed(topic, items, checks, settings, pubmed)
    _europepmc(topic, items, checks, settings, europepmc)
    _phrases(topic, items, checks)
    return checks


def summary(checks: Sequence[ItemCheck]) -> str:
    caught = sum(c.caught for c in checks)
    ways: dict[str, int] = {}
    for check in checks:
        for verdict in check.verdicts:
            ways[verdict.way] = ways.get(verdict.way, 0) + bool(verdict.caught)
    by_way = ", ".join(f"{way} {n}" for way, n in ways.items())
    return f"{caught} of {len(checks)} items would have been caught ({by_way})"


def _pubmed(
    topic: Topic,
    items: Sequence[Hit],
    checks: Sequence[ItemCheck],
    settings: Settings,
    client: EutilsClient | None,
) -> None:
    way = "PubMed"
    if topic.pubmed is None or not topic.pubmed.enabled:
        for check in checks:
            check.verdicts.append(Verdict(way, None, "the topic has no PubMed query"))
        return
    from harvester.sources.pubmed import EutilsClient

    own = client is None
    eutils = client or EutilsClient(settings.pubmed)
    try:
        pmids = sorted({item.pmid for item in items if item.pmid})
        records: dict[str, Hit] = {}
        try:
            for batch in eutils.efetch_ids(pmids) if pmids else []:
                records.update({h.pmid: h for h in batch if h.pmid})
        except SourceError as exc:
            for check in checks:
                check.verdicts.append(Verdict(way, None, f"PubMed could not be asked: {exc}"))
            return
        for item, check in zip(items, checks, strict=True):
            check.verdicts.append(_pubmed_one(eutils, topic.pubmed.query, item, records))
    finally:
        if own:
            eutils.close()


def _pubmed_one(eutils: EutilsClient, query: str, item: Hit, records: dict[str, Hit]) -> Verdict:
    way = "PubMed"
    if not item.pmid:
        return Verdict(way, None, "no PMID, so not checked against PubMed")
    record = records.get(item.pmid)
    if record is None:
        return Verdict(way, False, f"PubMed has no record {item.pmid}")
    day: dt.date | None = record.entrez_date
    if day is None:
        return Verdict(way, None, "its PubMed record has no entrez date")
    try:
        found = eutils.esearch(f"({' '.join(query.split())}) AND {item.pmid}[pmid]", day, day)
    except SourceError as exc:
        return Verdict(way, None, f"PubMed could not be asked: {exc}")
    if found.count:
        return Verdict(way, True, f"found by the query on its entrez date {day}")
    return Verdict(
        way,
        False,
        f"not among the query's results for its entrez date {day}: the query does not match it",
    )


def _europepmc(
    topic: Topic,
    items: Sequence[Hit],
    checks: Sequence[ItemCheck],
    settings: Settings,
    client: EuropePMCClient | None,
) -> None:
    way = "Europe PMC"
    if topic.europepmc is None or not topic.europepmc.enabled:
        for check in checks:
            check.verdicts.append(Verdict(way, None, "the topic has no Europe PMC query"))
        return
    from harvester.sources.europepmc import EuropePMCClient

    own = client is None
    europe = client or EuropePMCClient(settings.europepmc)
    query = " ".join(topic.europepmc.query.split())
    try:
        for item, check in zip(items, checks, strict=True):
            if item.pmid:
                target = f"EXT_ID:{item.pmid} AND SRC:MED"
            elif item.doi:
                target = f'DOI:"{item.doi}"'
            else:
                check.verdicts.append(Verdict(way, None, "no PMID or DOI to look it up by"))
                continue
            try:
                page = europe.search(f"({query}) AND ({target})", page_size=1, origin=None)
            except SourceError as exc:
                check.verdicts.append(Verdict(way, None, f"Europe PMC could not be asked: {exc}"))
                continue
            if page.count:
                check.verdicts.append(Verdict(way, True, "found by the query"))
            else:
                check.verdicts.append(
                    Verdict(way, False, "the query does not find it in Europe PMC")
                )
    finally:
        if own:
            europe.close()


def _phrases(topic: Topic, items: Sequence[Hit], checks: Sequence[ItemCheck]) -> None:
    way = "news phrases"
    rules = [("the topic's phrases", compile_rules(topic.match.phrases, topic.match.exclude))]
    for feed in topic.feeds:
        if feed.phrases is not None or feed.exclude is not None:
            own = topic.feed_rules(feed)
            rules.append((f"feed {feed.name}", compile_rules(own.phrases, own.exclude)))
    for item, check in zip(items, checks, strict=True):
        texts = (item.title, item.abstract_text, item.summary_html)
        found = [(name, phrase) for name, r in rules if (phrase := r.match(*texts))]
        if found:
            name, phrase = found[0]
            check.verdicts.append(Verdict(way, True, f"{name}: '{phrase}' matches"))
        elif not any(r.phrases for _, r in rules):
            check.verdicts.append(Verdict(way, None, "the topic has no phrases"))
        else:
            check.verdicts.append(
                Verdict(
                    way, False, "no phrase matches its title or abstract (or an exclusion does)"
                )
            )
