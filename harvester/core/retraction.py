"""Retraction watch: what a fresh record of a work says about notices on it. Pure.

PubMed (``CommentsCorrections``), Europe PMC (``commentCorrectionList``) and Crossref
(``updated-by``, which carries the Retraction Watch database's notices) each state notices as
relations in PubMed's words (``RetractionIn``, ``ExpressionOfConcernIn``, ``ErratumIn``), and
PubMed and Europe PMC also mark a retracted article with the publication type "Retracted
Publication". :func:`notices` turns a record into the notices it states.
"""

from __future__ import annotations

from dataclasses import dataclass

from harvester.core.models import Hit

__all__ = ["KIND_WORDS", "Notice", "notices"]

#: Relation (case and spaces folded) -> the notice's kind.
_RELATIONS = {
    "retractionin": "retracted",
    "expressionofconcernin": "concern",
    "erratumin": "corrected",
}
_TYPES = {"retracted publication": "retracted"}
#: How each kind is worded for users, most serious first.
KIND_WORDS = {
    "retracted": "Retracted",
    "concern": "Expression of concern",
    "corrected": "Correction published",
}


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # retracted | concern | corrected
    service: str  # PubMed | Europe PMC | Crossref
    ref: str  # what the service says about the notice (citation, DOI)

    @property
    def words(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)

    def line(self) -> str:
        return (
            f"{self.words} ({self.service}: {self.ref})"
            if self.ref
            else f"{self.words} ({self.service})"
        )


def notices(hit: Hit, service: str) -> list[Notice]:
    """The notices ``hit`` (a fresh record of a stored work) states, each once."""
    found: dict[tuple[str, str], Notice] = {}
    for relation in hit.relations:
        kind = _RELATIONS.get("".join(relation.type.split()).casefold())
        if kind is None:
            continue
        ref = relation.ref or (f"doi:{relation.doi}" if relation.doi else "")
        if relation.pmid and f"PMID {relation.pmid}" not in ref:
            ref = f"{ref} (PMID {relation.pmid})".strip()
        found.setdefault((kind, ref), Notice(kind, service, ref))
    for kind_name in hit.publication_types:
        kind = _TYPES.get(kind_name.strip().casefold())
        if kind is not None and not any(k == kind for k, _ in found):
            found[(kind, "")] = Notice(kind, service, "")
    return list(found.values())
