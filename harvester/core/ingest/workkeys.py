"""The small rules of the ingest planner that are not dedupe proper.

- a work's stored keys (:func:`work_keys`, :func:`rebuild_needed`): what
  :func:`~harvester.core.dedupe.keys.make_keys` makes of its fields, the title keys of all its
  sightings and its URL identities; rebuilt from those when missing, of an older version, or when
  the work changed kind (a news headline's title key is not an article's);
- the names of the links a source states (PubMed's CommentsCorrections, :func:`relation_name`)
  and the identities they name (:func:`relation_ids`);
- the fingerprint of a record without an exact id (:func:`record_fingerprint`): two records
  whose every bibliographic field is the same are one work, whatever file or feed they came
  from (an export imported again under another name).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from harvester.core.dedupe.keys import Keys, make_keys
from harvester.core.merge import hit_values
from harvester.core.models import Hit, PubDate, Relation, WorkKind
from harvester.core.normalise import day_key, normalise_doi, normalise_pmid

__all__ = [
    "RECORD_IDENTITY",
    "record_fingerprint",
    "relation_ids",
    "relation_name",
    "work_keys",
]

#: The identity kind of a record's fingerprint.
RECORD_IDENTITY = "record"

_RELATION_NAMES = {
    "erratumfor": "erratum-of",
    "erratumin": "erratum-in",
    "retractionof": "retraction-of",
    "retractionin": "retraction-in",
    "expressionofconcernfor": "concern-of",
    "expressionofconcernin": "concern-in",
    "updateof": "update-of",
    "updatein": "update-in",
    "republishedfrom": "republished-from",
    "republishedin": "republished-in",
    "preprintof": "preprint-of",
}


def work_keys(fields: Mapping[str, Any], seen: Iterable[str], urls: Iterable[str]) -> Keys:
    """The dedupe keys of a work with ``fields``, seen under title keys ``seen``, with URL
    identities ``urls``."""
    pub_date = fields.get("pub_date")
    day = day_key(fields.get("published_at"), PubDate.from_dict(pub_date) if pub_date else None)
    return make_keys(
        [fields.get("title_key") or "", *seen],
        doi=fields.get("doi"),
        pmid=fields.get("pmid"),
        pmcid=fields.get("pmcid"),
        urls=list(urls),
        year=fields.get("pub_year"),
        day=day,
        authors=[a.get("family") or a.get("collective") for a in fields.get("authors") or []],
        volume=fields.get("volume"),
        issue=fields.get("issue"),
        pages=fields.get("pages"),
        kind=WorkKind(fields["kind"]),
        journal=fields.get("journal"),
        journal_iso=fields.get("journal_iso"),
        publication_types=fields.get("publication_types") or [],
        title=fields.get("title"),
        abstract=" ".join(str(part.get("text") or "") for part in fields.get("abstract") or []),
    )


def relation_ids(relation: Relation) -> list[tuple[str, str]]:
    """The identities a stated relation names (its PMID, its DOI)."""
    return [
        (kind, value)
        for kind, value in (
            ("pmid", normalise_pmid(relation.pmid)),
            ("doi", normalise_doi(relation.doi)),
        )
        if value
    ]


def relation_name(kind: str) -> str:
    """The link name of a relation type a source states ("ErratumFor" -> "erratum-of")."""
    key = "".join(ch for ch in kind.casefold() if ch.isalnum())
    return _RELATION_NAMES.get(key, key[:32])


def record_fingerprint(hit: Hit, keys: Keys) -> str | None:
    """A digest of everything a record says of its article, for a record without an exact id
    (PMID, DOI, PMCID: those find it already); None for a record with one, or with neither a
    title nor anything else to tell it by."""
    if keys.pmid or keys.doi or keys.pmcid or hit.deleted:
        return None
    values = hit_values(hit, doi=None, pmid=None, pmcid=None)
    content = {k: v for k, v in values.items() if v not in (None, "", [])}
    if not content.get("title") and len(content) < 3:
        return None
    content["kind"] = hit.kind.value
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
