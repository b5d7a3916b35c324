"""Which stored feed entry a feed entry is: rules for guids and links that identify less than
they seem.

Feeds name an entry by its guid (an Atom id, an RSS guid, else its link) and point it at a link.
Both are less reliable than they look: sites point every entry at one section page, re-issue an
entry under a new guid, reuse one guid for every entry, and edit headlines after publishing. An
entry keeps what it says as a whole:

- **same guid, same link or a headline that agrees**: the same entry (an edited headline, a
  corrected date): seen again;
- **same guid, another link and a headline that does not agree**: another story under a reused
  guid; it is stored under the guid plus a digest of its link (:func:`reused_guid_id`) so that
  both stay;
- **new guid, a stored entry of the same feed with the same link and a headline that agrees**:
  the entry re-published: its sighting takes the new guid;
- **a shared link with a headline that does not agree** (a new guid, or another feed): the link
  is a section page, not the story, and identifies nothing (:func:`url_vetoed`).

Headlines agree when most words of the shorter are in the longer (an edited headline adds or
drops a few words), or when they are spelled nearly alike (a corrected typo).
"""

from __future__ import annotations

import hashlib

from rapidfuzz import fuzz

from harvester.core.dedupe.keys import Keys
from harvester.core.models import FIELD_LIMITS, Hit, WorkKind, safe_id
from harvester.core.normalise import STOPWORDS, compact, normalise_url, title_key

__all__ = [
    "FEED_SOURCE",
    "headlines_agree",
    "re_issued",
    "reused_guid_id",
    "same_guid_story",
    "url_vetoed",
]

#: The source of feed entries.
FEED_SOURCE = "feeds"
#: Share of the shorter headline's words the longer must have.
SHARED_WORDS = 0.8
#: Spelling similarity (0-100) of two headlines told apart only by typos.
SPELLING_RATIO = 90.0


def _words(key: str) -> list[str]:
    return [w for w in key.split() if w not in STOPWORDS] or key.split()


def keys_agree(a: str, b: str) -> bool:
    """Whether two title keys can be one headline (see the module docstring)."""
    if not a or not b:
        return True  # nothing to tell them apart by
    if a == b or fuzz.ratio(compact(a), compact(b)) >= SPELLING_RATIO:
        return True
    wa, wb = _words(a), _words(b)
    short, long = sorted((wa, wb), key=len)
    shared = sum(1 for w in short if w in set(long))
    return shared / len(short) >= SHARED_WORDS


def headlines_agree(a: str | None, b: str | None) -> bool:
    return keys_agree(title_key(a, WorkKind.NEWS), title_key(b, WorkKind.NEWS))


def _same_link(a: str | None, b: str | None) -> bool | None:
    """Whether two links are one page; None when either is missing."""
    if not a or not b:
        return None
    return (normalise_url(a) or a.strip()) == (normalise_url(b) or b.strip())


def same_guid_story(hit: Hit, title: str | None, url: str | None) -> bool:
    """Whether ``hit`` is the stored entry with its guid (``title``, ``url``): unless both its
    link and its headline differ."""
    return _same_link(hit.url, url) is not False or headlines_agree(hit.title, title)


def reused_guid_id(hit: Hit) -> str:
    """The id a story stored under a guid another story already has is kept by: the guid and a
    digest of its link (else its headline)."""
    what = normalise_url(hit.url) or title_key(hit.title, WorkKind.NEWS)
    digest = hashlib.sha256(what.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return safe_id(f"{hit.source_id}#{digest}", FIELD_LIMITS["source_id"])


def re_issued(hit: Hit, title: str | None, url: str | None) -> bool:
    """Whether ``hit`` (under a new guid) re-issues the stored entry of its feed with ``title``
    and ``url``: the same link and a headline that agrees."""
    return bool(hit.url) and hit.url == url and headlines_agree(hit.title, title)


def url_vetoed(hit: Hit, keys: Keys, other: Keys) -> bool:
    """Whether a shared link fails to make a news story the same as another record: their
    headlines do not agree (a section page many stories point at)."""
    if hit.kind is not WorkKind.NEWS and other.kind is not WorkKind.NEWS:
        return False
    if not keys.titles or not other.titles:
        return False
    return not any(keys_agree(a, b) for a in keys.titles for b in other.titles)
