"""Crossref's REST API: one work by DOI (``/works/{doi}``), as a :class:`Hit`.

Crossref asks clients to join its "polite pool": say who they are with a ``mailto`` parameter and
a User-Agent naming the tool and a contact address; harvester does both when ``[crossref] mailto``
is set (and sends a User-Agent naming itself always). Requests go through the one fetch helper
(:mod:`harvester.sources.fetch`): timeouts, 429 and 5xx retried with back-off honouring
``Retry-After``, an unknown host failing at once. A DOI Crossref does not know answers 404 with a
plain-text body: that is "not found" (None), not an error.

Besides the citation, a work carries Crossref's update metadata: ``update-to`` on a notice
(retraction, correction, expression of concern) names the work it updates, and ``updated-by`` on
a work names the notices about it (Crossref adds the Retraction Watch database's retractions
there). Both become :class:`~harvester.core.models.Relation` s in PubMed's words
("RetractionIn", "ErratumFor", ...), so the store links notice and work, and the retraction watch
reads them.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from harvester import __version__
from harvester.config.settings import CrossrefSettings
from harvester.core.errors import FetchError, ParseError
from harvester.core.models import (
    NO_TITLE,
    AbstractSection,
    Author,
    DatePrecision,
    Hit,
    PubDate,
    Relation,
    WorkKind,
)
from harvester.core.normalise import normalise_doi
from harvester.core.text import plain_text
from harvester.sources.fetch import Fetcher, Policy, Reply, Retry

__all__ = ["CrossrefClient", "parse_work", "update_relations"]

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0
#: Crossref's update types, as PubMed names the two directions (notice -> work, work -> notice).
UPDATE_TYPES = {
    "retraction": ("RetractionOf", "RetractionIn"),
    "removal": ("RetractionOf", "RetractionIn"),
    "withdrawal": ("RetractionOf", "RetractionIn"),
    "correction": ("ErratumFor", "ErratumIn"),
    "erratum": ("ErratumFor", "ErratumIn"),
    "corrigendum": ("ErratumFor", "ErratumIn"),
    "expression_of_concern": ("ExpressionOfConcernFor", "ExpressionOfConcernIn"),
    "expression-of-concern": ("ExpressionOfConcernFor", "ExpressionOfConcernIn"),
}
_ARTICLE_TYPES = frozenset(
    {"journal-article", "proceedings-article", "posted-content", "review-article", "report"}
)
#: Crossref's work types in the words PubMed and reference managers use.
_TYPE_NAMES = {
    "journal-article": "Journal Article",
    "proceedings-article": "Conference Paper",
    "book-chapter": "Book Chapter",
    "posted-content": "Preprint",
    "report": "Report",
    "dataset": "Dataset",
}
_JATS_TITLE = re.compile(r"<jats:title[^>]*>(.*?)</jats:title>", re.IGNORECASE | re.DOTALL)
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")


class CrossrefClient:
    """Fetches works from Crossref; ``sleep`` exists for tests."""

    def __init__(
        self,
        settings: CrossrefSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        self._session = session or requests.Session()
        if self._own_session:
            contact = f"; mailto:{settings.mailto}" if settings.mailto else ""
            self._session.headers["User-Agent"] = (
                f"harvester/{__version__} (https://pypi.org/project/harvester/{contact})"
            )
        self._fetcher = Fetcher(
            Policy.of(
                settings,
                max_retry_after=MAX_RETRY_AFTER,
                retry_unfinished=True,
                follow_redirects=True,
                ok_statuses=(404,),
                host_hint="no network, or a wrong [crossref] base_url?",
            ),
            self._session,
            sleep=sleep,
            logger=log,
            label="Crossref request",
        )

    @property
    def requests_made(self) -> int:
        return self._fetcher.requests_made

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> CrossrefClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def work(self, doi: str) -> dict[str, Any] | None:
        """Crossref's ``message`` for ``doi``, or None when Crossref has no such DOI."""
        url = self.settings.base_url + "works/" + quote(doi, safe="/:;()")
        params = {"mailto": self.settings.mailto} if self.settings.mailto else None

        def accept(reply: Reply) -> dict[str, Any] | None:
            if reply.status == 404:
                return None
            try:
                data = json.loads(reply.body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise Retry(f"answer is not JSON ({exc})") from None
            message = data.get("message") if isinstance(data, dict) else None
            if data.get("status") != "ok" or not isinstance(message, dict):
                raise FetchError(f"{url}: Crossref answered {str(data)[:200]}", url=url)
            return message

        return self._fetcher.fetch(url, accept, params=params, shown=url)

    def hit(self, doi: str) -> Hit | None:
        message = self.work(doi)
        return None if message is None else parse_work(message)


def parse_work(message: Mapping[str, Any], *, source: str = "crossref") -> Hit:
    """A Crossref work (the ``message`` of ``/works/{doi}``) as a hit."""
    doi = normalise_doi(_first(message.get("DOI")))
    if doi is None:
        raise ParseError("Crossref work without a DOI")
    kind_name = _first(message.get("type")) or ""
    subtype = _first(message.get("subtype")) or ""
    types = [_TYPE_NAMES.get(kind_name, kind_name)] if kind_name else []
    if kind_name == "posted-content" and subtype not in ("preprint", ""):
        types = [subtype]
    title = plain_text(_first(message.get("title")))
    subtitle = plain_text(_first(message.get("subtitle")))
    if title and subtitle and not title.endswith(subtitle):
        title = f"{title}: {subtitle}"
    container = plain_text(_first(message.get("container-title"))) or None
    institution = _first(_dict(message.get("institution")).get("name"))
    return Hit(
        source=source,
        source_id=doi,
        title=title or NO_TITLE,
        kind=WorkKind.ARTICLE if kind_name in _ARTICLE_TYPES or not kind_name else WorkKind.OTHER,
        authors=list(_authors(message.get("author"))),
        journal=container or (institution if types == ["Preprint"] else None),
        journal_iso=plain_text(_first(message.get("short-container-title"))) or None,
        volume=_first(message.get("volume")),
        issue=_first(message.get("issue")),
        pages=_first(message.get("page")),
        elocation=_first(message.get("article-number")),
        pub_date=_date(message),
        doi=doi,
        url=f"https://doi.org/{doi}",
        abstract=_abstract(_first(message.get("abstract"))),
        source_name=_first(message.get("publisher")),
        publication_types=types,
        language=_first(message.get("language")),
        keywords=[plain_text(s) for s in _list(message.get("subject")) if isinstance(s, str)],
        relations=list(update_relations(message)),
        raw=json.dumps(message, ensure_ascii=False, sort_keys=True).encode("utf-8"),
    )


def update_relations(message: Mapping[str, Any]) -> Iterator[Relation]:
    """``update-to`` (this is a notice about another work) and ``updated-by`` (notices about
    this work) as relations; ``relation`` entries naming a preprint's published version
    (``is-preprint-of``) too."""
    for key, direction in (("update-to", 0), ("updated-by", 1)):
        for item in _list(message.get(key)):
            entry = _dict(item)
            kinds = UPDATE_TYPES.get((_first(entry.get("type")) or "").casefold())
            doi = normalise_doi(_first(entry.get("DOI")))
            if kinds is None or doi is None:
                continue
            label = _first(entry.get("label")) or _first(entry.get("type")) or ""
            origin = _first(entry.get("source"))
            ref = f"{label}: doi:{doi}" + (f" ({origin})" if origin else "")
            yield Relation(type=kinds[direction], ref=ref, doi=doi)
    for item in _list(_dict(message.get("relation")).get("is-preprint-of")):
        entry = _dict(item)
        if (_first(entry.get("id-type")) or "").lower() == "doi":
            doi = normalise_doi(_first(entry.get("id")))
            if doi:
                yield Relation(type="PreprintOf", ref=f"doi:{doi}", doi=doi)


def _authors(value: Any) -> Iterator[Author]:
    for item in _list(value):
        entry = _dict(item)
        orcid_match = _ORCID.search(_first(entry.get("ORCID")) or "")
        orcid = orcid_match.group(1) if orcid_match else None
        family = _first(entry.get("family"))
        if family:
            given = _first(entry.get("given"))
            initials = "".join(p[0] for p in re.split(r"[\s.\-]+", given or "") if p) or None
            yield Author(
                family=family,
                given=given,
                initials=initials,
                suffix=_first(entry.get("suffix")),
                orcid=orcid,
            )
        elif _first(entry.get("name")):
            yield Author(collective=_first(entry.get("name")))


def _date(message: Mapping[str, Any]) -> PubDate | None:
    """The issue's date (print), else the online one, else ``issued``; parts may be missing
    (``[[null]]`` is no date at all)."""
    for key in ("published-print", "published-online", "issued", "published", "posted"):
        parts = _dict(message.get(key)).get("date-parts")
        first = _list(parts)[0] if _list(parts) else None
        values = [p for p in _list(first) if isinstance(p, int)]
        if not values or not 1000 < values[0] < 3000:
            continue
        year, month, day = (values + [0, 0])[:3]
        if month and day and 1 <= month <= 12 and 1 <= day <= 31:
            return PubDate(year, month, day, DatePrecision.DAY)
        if month and 1 <= month <= 12:
            return PubDate(year, month, None, DatePrecision.MONTH)
        return PubDate(year)
    return None


def _abstract(jats: str | None) -> list[AbstractSection]:
    """A JATS abstract: ``<jats:sec>`` parts with their titles as labels; a lone "Abstract"
    heading is dropped."""
    if not jats:
        return []
    pieces = _JATS_TITLE.split(jats)
    sections = []
    lead = plain_text(pieces[0])
    if lead:
        sections.append(AbstractSection(lead))
    for label, body in zip(pieces[1::2], pieces[2::2], strict=False):
        text = plain_text(body)
        if not text:
            continue
        name = plain_text(label).rstrip(":")
        sections.append(AbstractSection(text, None if name.casefold() == "abstract" else name))
    return sections


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _dict(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
