"""A PubMed query tried before it is saved: how many records it finds in the last 30 days and
in a chosen window, and the newest titles, through E-utilities at the usual politeness; and
which of the topic's recent queue items a set of phrases would let in or keep out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from harvester.config.settings import MatchRules, Settings
from harvester.core.models import CandidateView
from harvester.core.phrases import compile_rules
from harvester.core.text import plain_text
from harvester.sources.pubmed import EutilsClient

__all__ = ["PhraseTrial", "QueryTrial", "try_phrases", "try_pubmed_query"]

SHOWN = 20


@dataclass(frozen=True, slots=True)
class QueryTrial:
    query: str
    last_30_days: int
    since: dt.date
    until: dt.date
    in_window: int
    titles: tuple[tuple[str, str, str], ...]  # (title, journal and year, PubMed link)
    warnings: tuple[str, ...]


def try_pubmed_query(
    settings: Settings,
    query: str,
    *,
    today: dt.date,
    since: dt.date | None = None,
    until: dt.date | None = None,
    client: EutilsClient | None = None,
) -> QueryTrial:
    """Run ``query`` through esearch (and one efetch for the newest titles); a
    :class:`~harvester.core.errors.FetchError` names the request that failed."""
    query = query.strip()
    until = until or today
    since = since or until - dt.timedelta(days=365)
    if since > until:
        since, until = until, since
    own = client is None
    eutils = client or EutilsClient(settings.pubmed)
    try:
        recent = eutils.esearch(query, today - dt.timedelta(days=30), today)
        window = eutils.esearch(query, since, until)
        hits = eutils.efetch_history(window, 0, SHOWN) if window.count else []
    finally:
        if own:
            eutils.close()
    titles = tuple(
        (
            hit.title or "(no title)",
            ", ".join(
                part
                for part in (hit.journal, str(hit.pub_date.year) if hit.pub_date else "")
                if part
            ),
            f"https://pubmed.ncbi.nlm.nih.gov/{hit.pmid}/" if hit.pmid else (hit.url or ""),
        )
        for hit in hits
    )
    return QueryTrial(
        query=query,
        last_30_days=recent.count,
        since=since,
        until=until,
        in_window=window.count,
        titles=titles,
        warnings=tuple(dict.fromkeys(recent.warnings + window.warnings)),
    )


@dataclass(frozen=True, slots=True)
class PhraseTrial:
    """Which recent queue items the phrases would let in (with the phrase) and keep out."""

    let_in: tuple[tuple[CandidateView, str], ...]
    kept_out: tuple[CandidateView, ...]


def try_phrases(rules: MatchRules, items: Sequence[CandidateView]) -> PhraseTrial:
    """The phrase rules applied to ``items`` (news items are what phrases decide on; articles
    are shown too, as a guide)."""
    matcher = compile_rules(rules.phrases, rules.exclude)
    let_in: list[tuple[CandidateView, str]] = []
    kept_out: list[CandidateView] = []
    for item in items:
        work = item.work
        abstract = " ".join(section.text for section in work.abstract)
        rule = matcher.match(work.title, plain_text(work.summary_html), abstract)
        if rule is None:
            kept_out.append(item)
        else:
            let_in.append((item, rule))
    return PhraseTrial(tuple(let_in), tuple(kept_out))
