"""Which of a hit's fields a work takes: source ranks and the metadata merge rule.

Pure: no database, no I/O. The ingest planner (:mod:`harvester.core.ingest.planner`) hands a
work's current fields and a hit to :func:`merge_fields` and takes the changes it returns; a work
merge (:mod:`harvester.store.merges`) asks :func:`merge_work_fields` the same for two works.

- Each source has a rank (:data:`SOURCE_RANKS`): PubMed (and files exported from it) over
  Europe PMC over other imports over feeds. A hit of a higher rank than the work's metadata so far
  *replaces* every field it has (and the work takes its kind and source); a hit of the same or a
  lower rank only *fills* fields the work lacks.
- An empty value (``None``, ``""``, ``[]``) never replaces anything, and a placeholder title
  (``[no title]``, PubMed's ``[No title available]``) counts as empty: a real title replaces a
  placeholder whatever the ranks, and a placeholder never replaces a real title.
- Only values that differ are changed, so seeing the same record again changes nothing; a change
  recomputes the work's title key (:func:`harvester.core.normalise.title_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harvester.core.models import Hit, WorkKind, is_placeholder_title
from harvester.core.normalise import title_key

__all__ = [
    "DEFAULT_RANK",
    "IMPORT_RANK",
    "MERGED_FIELDS",
    "SOURCE_RANKS",
    "hit_values",
    "merge_fields",
    "merge_work_fields",
    "source_rank",
]

#: How much each source's bibliographic fields are trusted; higher replaces lower.
SOURCE_RANKS = {
    "pubmed": 30,
    "import:pubmed-xml": 30,
    "import:medline": 30,
    "europepmc": 25,
    "import:ris": 20,
    "import:csljson": 20,
    "feeds": 10,
    # a reviewer's correction of a citation: no harvest or import replaces it
    "reviewer": 100,
}
#: The rank of an import format not named in :data:`SOURCE_RANKS`.
IMPORT_RANK = 20
#: The rank of any other source.
DEFAULT_RANK = 10

_SCALAR_FIELDS = (
    "title",
    "journal",
    "journal_iso",
    "volume",
    "issue",
    "pages",
    "elocation",
    "entrez_date",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "summary_html",
    "source_name",
    "language",
)
_LIST_FIELDS = ("authors", "abstract", "publication_types", "mesh", "keywords", "relations")
_DATE_FIELDS = ("pub_date", "pub_year", "published_at", "date_is_fallback")
_SOURCE_FIELDS = ("kind", "metadata_source", "metadata_rank")
#: Every work field a merge may change (besides ``title_key``, recomputed from them).
MERGED_FIELDS = (*_SCALAR_FIELDS, *_LIST_FIELDS, *_DATE_FIELDS, *_SOURCE_FIELDS)


def source_rank(source: str) -> int:
    """The metadata rank of a source name (see :data:`SOURCE_RANKS`)."""
    if source in SOURCE_RANKS:
        return SOURCE_RANKS[source]
    return IMPORT_RANK if source.startswith("import:") else DEFAULT_RANK


def hit_values(hit: Hit, *, doi: str | None, pmid: str | None, pmcid: str | None) -> dict[str, Any]:
    """The values a hit brings, as a work stores them (``doi``, ``pmid``, ``pmcid``
    normalised by the caller)."""
    values: dict[str, Any] = {name: getattr(hit, name) for name in _SCALAR_FIELDS}
    values["doi"], values["pmid"], values["pmcid"] = doi, pmid, pmcid
    values["authors"] = [a.to_dict() for a in hit.authors]
    values["abstract"] = [{"label": s.label, "text": s.text} for s in hit.abstract]
    values["publication_types"] = list(hit.publication_types)
    values["mesh"] = list(hit.mesh)
    values["keywords"] = list(hit.keywords)
    values["relations"] = [
        {"type": r.type, "ref": r.ref, "pmid": r.pmid, "doi": r.doi} for r in hit.relations
    ]
    if hit.pub_date is not None:
        values["pub_date"] = hit.pub_date.to_dict()
        values["pub_year"] = hit.pub_date.year
    if hit.published_at is not None:
        values["published_at"] = hit.published_at
        values["date_is_fallback"] = hit.date_is_fallback
        values.setdefault("pub_year", hit.published_at.year)
    return values


def _empty(value: Any) -> bool:
    return value in (None, "", [])


def merge_fields(
    current: Mapping[str, Any],
    hit: Hit,
    *,
    doi: str | None,
    pmid: str | None,
    pmcid: str | None,
) -> dict[str, Any]:
    """The fields of a work (``current``: its :data:`MERGED_FIELDS`) that ``hit`` changes, with
    their new values, and its new ``title_key`` when anything changes; empty when nothing does.

    A new work is one whose ``metadata_rank`` is below every rank (-1): it takes everything.
    """
    rank = source_rank(hit.source)
    replace = rank > current["metadata_rank"]
    values = hit_values(hit, doi=doi, pmid=pmid, pmcid=pmcid)
    if replace:
        values["kind"] = hit.kind.value
        values["metadata_source"], values["metadata_rank"] = hit.source, rank
    return _changes(current, values, replace=replace)


def merge_work_fields(current: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a work (``current``) that joining another work (``other``, its
    :data:`MERGED_FIELDS`) changes: the same rule as a hit of the other work's rank and source."""
    replace = other["metadata_rank"] > current["metadata_rank"]
    names = (*_SCALAR_FIELDS, *_LIST_FIELDS, "pub_date", "pub_year", "published_at")
    values = {name: other[name] for name in names}
    if other["published_at"] is not None:
        values["date_is_fallback"] = other["date_is_fallback"]
    if replace:
        for name in _SOURCE_FIELDS:
            values[name] = other[name]
    return _changes(current, values, replace=replace)


def _changes(
    current: Mapping[str, Any], values: Mapping[str, Any], *, replace: bool
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if _empty(value):
            continue
        now = current[name]
        if name == "title" and now and is_placeholder_title(now) != is_placeholder_title(value):
            if is_placeholder_title(now):  # a real title replaces a placeholder, whatever the ranks
                changes[name] = value
            continue  # and a placeholder never replaces a real title
        if (replace or _empty(now)) and now != value:
            changes[name] = value
    if changes:
        merged = {**current, **changes}
        changes["title_key"] = title_key(
            merged["title"], WorkKind(merged["kind"]), merged["source_name"]
        )
    return changes
