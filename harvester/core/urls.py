"""Canonical URLs: one spelling per page, so the same story linked twice is one identity.

:func:`canonical_url` is pure and idempotent (``canonical_url(canonical_url(u)) ==
canonical_url(u)``). It

- trims whitespace, lower-cases the scheme and the host (not the path: paths are case-sensitive),
  spells an internationalised host in ASCII (punycode), drops a trailing dot on the host, drops
  the default port (80 for http, 443 for https) and spells an empty http(s) path as ``/``;
- drops the fragment, unless it is a route of a single-page site (``#!/story/1``, ``#/story/1``):
  there the fragment is what tells one story from another;
- removes tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid`` ... see
  :data:`TRACKING_PARAMS`) and keeps every other parameter exactly as written and in its order:
  parameters are never decoded, re-encoded or sorted, because servers may care;
- resolves redirect links of Google (Google Alerts and Google search results:
  ``https://www.google.com/url?...&url=TARGET``; Google News: ``https://news.google.com/news/url?
  ...&url=TARGET``) to the target when the target is an http(s) URL in the link itself. Links that need a network round trip to resolve (``news.google.com/rss/
  articles/...``) stay as they are.

Anything that is not an http(s) URL is returned trimmed and otherwise unchanged.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "identifies_record",
    "is_http_url",
]

TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "ns_", "_hs", "oly_")
"""Parameter name prefixes that only ever carry campaign tracking."""

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "vero_id",
        "ncid",
        "ocid",
        "cmpid",
        "cmp",
        "ito",
        "xtor",
        "sr_share",
        "ref_src",
    }
)
"""Parameter names (compared case-insensitively) that only ever carry click or campaign tracking."""

_GOOGLE_HOST = re.compile(
    r"^(?:www\.|news\.)?google\.(?:com|[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$"
)
_REDIRECT_PATHS = ("/url", "/news/url")
_REDIRECT_KEYS = ("url", "q")


def is_http_url(url: str | None) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The canonical spelling of ``url``; see the module docstring for what changes."""
    clean = _clean(url.strip())
    # Each unwrap yields a strictly shorter URL (a part of the query), so this ends; and it ends
    # only on a URL that is no redirect, which is what makes the function idempotent.
    while (target := _redirect_target(clean)) is not None:
        clean = _clean(target)
    return clean


def _clean(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return url
    netloc = _netloc(parts.netloc, scheme)
    path = parts.path or "/"
    query = _strip_tracking(parts.query)
    fragment = parts.fragment if parts.fragment.startswith(("!/", "/")) else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def _netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end != -1:
            host, port = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    host = host.lower().rstrip(".")
    if not host.isascii():
        # Not a valid IDN (an empty or over-long label): kept as written.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if (scheme, port) in (("http", "80"), ("https", "443"), (scheme, "")):
        port = ""
    return f"{userinfo}{at}{host}{':' + port if port else ''}"


def _strip_tracking(query: str) -> str:
    if not query:
        return ""
    kept = []
    for part in query.split("&"):
        if not part:
            continue
        name = unquote(part.partition("=")[0]).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(part)
    return "&".join(kept)


def _redirect_target(url: str) -> str | None:
    """The http(s) target of a Google redirect link, or None when ``url`` is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.path not in _REDIRECT_PATHS or not _GOOGLE_HOST.match(host):
        return None
    values: dict[str, str] = {}
    for part in parts.query.split("&"):
        name, _, value = part.partition("=")
        values.setdefault(unquote(name).lower(), unquote(value))
    for key in _REDIRECT_KEYS:
        target = values.get(key, "").strip()
        if is_http_url(target):
            return target
    return None


# Query parameters that make a page a list of search results.
_SEARCH_PARAMS = frozenset({"q", "query", "term", "search", "searchterm", "keywords", "s", "text"})
# Last path segments of a site's or journal's home page.
_HOME_PAGES = frozenset({"home", "index", "default", "homepage", "about", "journal"})
# Path segments of search and listing pages.
_SEARCH_SEGMENTS = frozenset({"search", "results", "searchresults", "advanced-search"})


def identifies_record(url: str) -> bool:
    """Whether a (canonical) http(s) URL can name one article or story, so that two records
    linking to it are one: not a site's or a resolver's root ("https://doi.org/",
    "https://www.ncbi.nlm.nih.gov/pubmed/": a path of at most one segment with nothing after it),
    not a journal's or a section's home page (a single plain word such as "/jbjsjournal", or a
    path ending in "home" or "index"), not a search page (a search path or a search
    parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    segments = [s for s in parts.path.split("/") if s]
    names = {unquote(p.partition("=")[0]).strip().lower() for p in parts.query.split("&") if p}
    if names & _SEARCH_PARAMS or any(s.lower() in _SEARCH_SEGMENTS for s in segments):
        return False
    if parts.query or parts.fragment:
        return True
    if not segments or segments[-1].lower().partition(".")[0] in _HOME_PAGES:
        return False
    # One plain word under the host is a journal's or section's page ("/jbjsjournal",
    # "/health/"); a story's slug has digits or joined words ("/what-is-social-prescribing").
    return not (len(segments) == 1 and segments[0].isalpha())
