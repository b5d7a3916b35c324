"""Look an item up by what a reviewer pastes: a PMID, a DOI or a web address.

:func:`lookup` recognises the identifier and fetches every citation field it can:

- a PMID (``12345678``, ``PMID: 12345678``, a pubmed.ncbi.nlm.nih.gov address): PubMed's record
  through E-utilities ``efetch`` (:class:`harvester.sources.pubmed.EutilsClient`: its parser, its
  rate limit, ``tool``/``email``/``api_key``, its retries);
- a DOI (``10.1136/bmj.n71``, ``doi:...``, a doi.org address): Crossref's ``/works/{doi}``
  (:class:`harvester.sources.crossref.CrossrefClient`, polite pool with ``[crossref] mailto``);
- any other http(s) address: a news item with the address, and, when the page answers with
  HTML, its title (``og:title``, else ``<title>``), description (``og:description``, else the
  ``description`` meta tag), site name (``og:site_name``) and publication time
  (``article:published_time``). A page that cannot be reached still gives the news item.

The answer, :class:`LookedUp`, carries the fields as a :class:`~harvester.core.models.Hit` (ready
for the ingest, so it goes through the same dedupe as a harvested record) and as a plain mapping
for a form (:meth:`LookedUp.fields`), and says whether the record was found and, if not, why.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from lxml import etree
from lxml import html as lxml_html

from harvester import __version__
from harvester.config.settings import Settings
from harvester.core.errors import FetchError, HarvesterError
from harvester.core.models import NO_TITLE, Hit, WorkKind
from harvester.core.normalise import normalise_doi, normalise_pmid
from harvester.core.text import plain_text
from harvester.sources.fetch import Fetcher, Policy, Reply

__all__ = ["LookedUp", "UnknownIdentifier", "classify", "lookup"]

Kind = Literal["pmid", "doi", "url"]
#: The most of a page read for its metadata (the head is near the start).
PAGE_BYTES = 2 * 1024 * 1024
_PUBMED_PAGE = re.compile(
    r"^https?://(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/"
    r"(\d{1,9})/?(?:[?#].*)?$",
    re.I,
)
_DOI_PAGE = re.compile(r"^https?://(?:dx\.)?doi\.org/", re.I)
_PMID_TEXT = re.compile(r"^(?:pmid\s*:?\s*)?(\d{1,9})$", re.I)


class UnknownIdentifier(HarvesterError):
    """What was typed is not a PMID, a DOI or a web address."""


@dataclass(frozen=True)
class LookedUp:
    """What a look-up found: every citation field (``hit``), whether the record was found, and
    if not, why (``message``, in words for the reviewer)."""

    identifier: str
    kind: Kind
    value: str
    hit: Hit
    found: bool
    message: str | None = None

    def fields(self) -> dict[str, Any]:
        """The citation fields as plain values, for a form the reviewer checks and corrects."""
        hit = self.hit
        return {
            "kind": hit.kind.value,
            "title": "" if hit.title == NO_TITLE else hit.title,
            "authors": [a.display for a in hit.authors],
            "journal": hit.journal,
            "journal_iso": hit.journal_iso,
            "volume": hit.volume,
            "issue": hit.issue,
            "pages": hit.pages or hit.elocation,
            "year": hit.year,
            "date": hit.pub_date.iso() if hit.pub_date else None,
            "published_at": hit.published_at.isoformat() if hit.published_at else None,
            "doi": hit.doi,
            "pmid": hit.pmid,
            "pmcid": hit.pmcid,
            "url": hit.url,
            "abstract": hit.abstract_text,
            "summary": plain_text(hit.summary_html) or None,
            "source_name": hit.source_name,
            "publication_types": list(hit.publication_types),
            "language": hit.language,
        }


def classify(identifier: str) -> tuple[Kind, str]:
    """(kind, normalised value) of what a reviewer typed; :class:`UnknownIdentifier` if none."""
    text = identifier.strip()
    page = _PUBMED_PAGE.match(text)
    if page:
        return "pmid", page.group(1).lstrip("0")
    number = _PMID_TEXT.match(text)
    if number and normalise_pmid(number.group(1)):
        return "pmid", str(normalise_pmid(number.group(1)))
    if _DOI_PAGE.match(text) or text.casefold().startswith(("10.", "doi:", "doi ")):
        doi = normalise_doi(text)
        if doi:
            return "doi", doi
    if re.match(r"^https?://[^/\s]+", text, re.I) and " " not in text:
        return "url", text
    raise UnknownIdentifier(
        f"{identifier.strip()[:100]!r} is not a PMID, a DOI or a web address",
        hint="paste e.g. 38123456, 10.1136/bmj.n71 or https://...",
    )


def lookup(
    identifier: str,
    settings: Settings,
    *,
    allow_private_hosts: bool = False,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] | None = None,
) -> LookedUp:
    """Every citation field of ``identifier`` (a PMID, a DOI or a web address).

    A record PubMed or Crossref does not have is ``found=False`` with the identifier filled in;
    a failing service raises :class:`~harvester.core.errors.FetchError` naming it. A web address
    is looked at only when its host is a public one unless ``allow_private_hosts`` (the command
    line, run by the operator on their own machine), so the web form cannot be used to probe the
    server's own network.
    """
    kind, value = classify(identifier)
    extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    if kind == "pmid":
        from harvester.sources.pubmed import EutilsClient

        with EutilsClient(settings.pubmed, session=session, **extra) as eutils:
            hits = [h for batch in eutils.efetch_ids([value]) for h in batch if not h.deleted]
        if hits:
            return LookedUp(identifier, kind, value, hits[0], True)
        empty = Hit(source="pubmed", source_id=value, title=NO_TITLE, pmid=value)
        return LookedUp(identifier, kind, value, empty, False, f"PubMed has no record {value}")
    if kind == "doi":
        from harvester.sources.crossref import CrossrefClient

        with CrossrefClient(settings.crossref, session=session, **extra) as crossref:
            hit = crossref.hit(value)
        if hit is not None:
            return LookedUp(identifier, kind, value, hit, True)
        empty = Hit(
            source="crossref",
            source_id=value,
            title=NO_TITLE,
            doi=value,
            url=f"https://doi.org/{value}",
        )
        return LookedUp(
            identifier, kind, value, empty, False, f"Crossref has no record of DOI {value}"
        )
    return _page(identifier, value, settings, allow_private_hosts, session, extra)


def _page(
    identifier: str,
    url: str,
    settings: Settings,
    allow_private: bool,
    session: requests.Session | None,
    extra: dict[str, Any],
) -> LookedUp:
    bare = Hit(source="web", source_id=url, title=NO_TITLE, kind=WorkKind.NEWS, url=url)
    host = urlsplit(url).hostname or ""
    if not allow_private and _private(host):
        return LookedUp(identifier, "url", url, bare, False, f"{host} is not a public address")
    feeds = settings.feeds
    own = session is None
    http = session or requests.Session()
    http.headers["User-Agent"] = feeds.user_agent or f"harvester/{__version__}"
    fetcher = Fetcher(
        Policy.of(
            feeds,
            max_retry_after=60.0,
            follow_redirects=True,
            max_bytes=PAGE_BYTES,
            total_timeout=feeds.total_timeout,
        ),
        http,
        label="page request",
        **extra,
    )
    try:
        reply = fetcher.fetch(url, lambda reply: reply, headers={"Accept": "text/html,*/*;q=0.5"})
    except FetchError as exc:
        return LookedUp(identifier, "url", url, bare, False, f"the page could not be read: {exc}")
    finally:
        if own:
            http.close()
    meta = page_metadata(reply)
    if meta is None:
        return LookedUp(identifier, "url", url, bare, False, "the address is not a web page")
    title, description, site, published = meta
    hit = Hit(
        source="web",
        source_id=url,
        title=title or NO_TITLE,
        kind=WorkKind.NEWS,
        url=url,
        summary_html=html.escape(description) if description else None,
        source_name=site or host.removeprefix("www."),
        published_at=published,
    )
    return LookedUp(
        identifier, "url", url, hit, bool(title), None if title else "the page has no title"
    )


def page_metadata(reply: Reply) -> tuple[str, str | None, str | None, dt.datetime | None] | None:
    """(title, description, site name, published) from an HTML page's head, or None when the
    answer is not HTML."""
    content_type = reply.headers.get("Content-Type", "").lower()
    if content_type and "html" not in content_type:
        return None
    if not reply.body.strip():
        return None
    try:
        document = lxml_html.document_fromstring(reply.body)
    except (ValueError, etree.ParserError):
        return None
    metas: dict[str, str] = {}
    for element in document.iter("meta"):
        name = (element.get("property") or element.get("name") or "").strip().lower()
        content = element.get("content")
        if name and content and name not in metas:
            metas[name] = content
    title_element = document.find(".//title")
    title = plain_text(
        metas.get("og:title")
        or metas.get("twitter:title")
        or (title_element.text_content() if title_element is not None else "")
    )
    description = plain_text(
        metas.get("og:description") or metas.get("description") or metas.get("twitter:description")
    )
    site = plain_text(metas.get("og:site_name")) or None
    published = _when(metas.get("article:published_time") or metas.get("date"))
    return title, description or None, site, published


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _private(host: str) -> bool:
    """Whether ``host`` is (or resolves to) a loopback, private, link-local or reserved address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # the fetch says the host was not found
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
        ):
            return True
    return False
