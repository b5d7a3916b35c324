"""Ranking a topic's queue by what its reviewers accept, and saying why.

Two scorers, both pure (no I/O, no clock: the caller hands in the time):

- The **cold-start score**, for a topic with too few decisions to learn from: the topic's own
  phrases (in the title counts more than in the abstract, which counts more than in a news
  summary; an exact phrase more than a wildcard one), the publication type (reviews, trials and
  evaluations up; errata, comments and retraction notices down) and the source (an item a
  reviewer added by hand up).
- The **learned model**, once a topic has :data:`MIN_ACCEPTED` accepted (or published) and
  :data:`MIN_REJECTED` rejected works: TF-IDF over title and abstract (words and word pairs,
  sublinear term frequency) and a logistic regression with balanced class weights, trained on the
  topic's accepted against its rejected works, recent works weighing more (a decision on a work
  published :data:`HALF_LIFE_YEARS` years before the newest weighs half).

Both give a score between 0 and 1 and the three reasons that moved it most (a phrase, a
publication type, a term of the model, each with the direction it pushed). Scores only order the
queue: nothing here changes a status.

A model is stored as plain JSON (:meth:`RankingModel.to_json`): its vocabulary, idf weights,
coefficients and intercept, never as a pickle, so loading a stored model runs no code.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harvester.core.phrases import PhraseRules, compile_rules, fold

__all__ = [
    "MIN_ACCEPTED",
    "MIN_REJECTED",
    "ColdStart",
    "Evaluation",
    "RankText",
    "RankingModel",
    "Reason",
    "Scored",
    "evaluate",
    "train",
]

#: Decisions a topic needs before a model is learned from them.
MIN_ACCEPTED = 20
MIN_REJECTED = 20
#: The stored format; a model in another format is retrained, never misread.
FORMAT = 1


@dataclass(frozen=True, slots=True)
class RankText:
    """What ranking reads of a work."""

    title: str = ""
    abstract: str = ""
    summary: str = ""  # a news item's summary (plain text)
    publication_types: tuple[str, ...] = ()
    source: str = ""  # pubmed, feeds, import:ris, manual, ...
    kind: str = "article"
    year: int | None = None  # publication year: recent decisions weigh more in training

    @property
    def text(self) -> str:
        """Title and abstract (or news summary): what the learned model reads."""
        return f"{self.title}\n{self.abstract or self.summary}"


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing that moved a score: what, and by how much (positive: up)."""

    label: str
    weight: float

    @property
    def text(self) -> str:
        return f"{'+' if self.weight >= 0 else '−'} {self.label}"

    def to_json(self) -> list[Any]:
        return [self.label, round(self.weight, 4)]

    @staticmethod
    def from_json(value: Any) -> Reason | None:
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            try:
                return Reason(value[0], float(value[1]))
            except (TypeError, ValueError):
                return None
        return None


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    reasons: tuple[Reason, ...]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _top(reasons: Sequence[Reason], n: int = 3) -> tuple[Reason, ...]:
    return tuple(sorted(reasons, key=lambda r: -abs(r.weight))[:n])


# ------------------------------------------------------------------------------- cold start

#: Weights of a topic phrase found in each field: (exact phrase, wildcard phrase).
PHRASE_WEIGHTS = {"title": (2.0, 1.5), "abstract": (1.0, 0.75), "summary": (0.75, 0.5)}
EXCLUDED_WEIGHT = -2.0
#: Publication types (PubMed's names, folded) and what they add. A type containing a key counts.
TYPE_WEIGHTS: tuple[tuple[str, float, str], ...] = (
    ("retraction", -2.5, "retraction notice"),
    ("erratum", -2.0, "erratum"),
    ("comment", -1.0, "comment"),
    ("letter", -0.75, "letter"),
    ("editorial", -0.75, "editorial"),
    ("news", -0.25, "news item in a journal"),
    ("systematic review", 1.25, "systematic review"),
    ("meta-analysis", 1.25, "meta-analysis"),
    ("review", 1.0, "review"),
    ("randomized controlled trial", 1.0, "randomised trial"),
    ("clinical trial", 0.75, "trial"),
    ("evaluation stud", 0.75, "evaluation"),
    ("guideline", 0.75, "guideline"),
    ("observational study", 0.25, "observational study"),
)
#: Sources and what they add: an item a reviewer added by hand was chosen by a person.
SOURCE_WEIGHTS = {"manual": (1.0, "added by hand"), "pubmed": (0.25, "found in PubMed")}
#: Where the cold-start score starts (no phrase, no type: a little under the middle).
COLD_BIAS = -1.0


@dataclass(frozen=True, slots=True)
class ColdStart:
    """The cold-start scorer of one topic: its phrases split into exact and wildcard ones."""

    exact: PhraseRules
    wildcard: PhraseRules
    excluded: PhraseRules

    @staticmethod
    def of(phrases: Sequence[str], exclude: Sequence[str] = ()) -> ColdStart:
        exact = [p for p in phrases if "*" not in p]
        wild = [p for p in phrases if "*" in p]
        return ColdStart(
            exact=compile_rules(exact),
            wildcard=compile_rules(wild),
            excluded=compile_rules(list(exclude)),
        )

    def fingerprint(self) -> str:
        """What the scores depend on (the phrases, and the weights of this release), as a
        digest: equal fingerprints score every item the same."""
        rules = [[p for p, _ in r.phrases] for r in (self.exact, self.wildcard, self.excluded)]
        weights = [PHRASE_WEIGHTS, EXCLUDED_WEIGHT, TYPE_WEIGHTS, SOURCE_WEIGHTS, COLD_BIAS]
        document = json.dumps([rules, weights], sort_keys=True)
        return "phrases:" + hashlib.sha256(document.encode()).hexdigest()[:40]

    def score(self, item: RankText) -> Scored:
        reasons: list[Reason] = []
        # each text folded once, for all three rules
        fields = {
            name: fold(text)
            for name, text in (
                ("title", item.title),
                ("abstract", item.abstract),
                ("summary", item.summary),
            )
            if text
        }
        for name, text in fields.items():
            exact_weight, wild_weight = PHRASE_WEIGHTS[name]
            phrase = self.exact.match_folded(text)
            if phrase is not None:
                reasons.append(Reason(f"“{phrase}” in the {name}", exact_weight))
                continue
            phrase = self.wildcard.match_folded(text)
            if phrase is not None:
                reasons.append(Reason(f"“{phrase}” in the {name}", wild_weight))
        excluded = self.excluded.match_folded(*fields.values())
        if excluded is not None:
            reasons.append(Reason(f"excluded phrase “{excluded}”", EXCLUDED_WEIGHT))
        types = " | ".join(t.casefold() for t in item.publication_types)
        seen: set[str] = set()
        for key, weight, label in TYPE_WEIGHTS:
            if key in types and label not in seen:
                # a "systematic review" is also a "review": the stronger one counts, once
                if key == "review" and seen & {"systematic review"}:
                    continue
                seen.add(label)
                reasons.append(Reason(label, weight))
        source = item.source.split(":", 1)[0]
        if source in SOURCE_WEIGHTS:
            weight, label = SOURCE_WEIGHTS[source]
            reasons.append(Reason(label, weight))
        total = COLD_BIAS + sum(r.weight for r in reasons)
        return Scored(score=_sigmoid(total), reasons=_top(reasons))


# --------------------------------------------------------------------------------- learned


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How the model did on the topic's latest decisions, held out from a model trained on the
    earlier ones: how often it placed an accepted work above a rejected one (ROC AUC), and the
    share of accepted works in its top 10% (recall@10%)."""

    held_out: int
    accepted: int
    auc: float | None
    recall_at_10: float | None

    def text(self) -> str:
        if self.auc is None:
            return "not evaluated (too few recent decisions of each kind)"
        return (
            f"tried on the latest {self.held_out} decisions ({self.accepted} accepted) held out "
            f"from its training, it put an accepted item above a rejected one {self.auc:.0%} of "
            f"the time"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "held_out": self.held_out,
            "accepted": self.accepted,
            "auc": self.auc,
            "recall_at_10": self.recall_at_10,
        }

    @staticmethod
    def from_json(value: Any) -> Evaluation | None:
        if not isinstance(value, dict):
            return None
        try:
            return Evaluation(
                held_out=int(value["held_out"]),
                accepted=int(value["accepted"]),
                auc=None if value.get("auc") is None else float(value["auc"]),
                recall_at_10=(
                    None if value.get("recall_at_10") is None else float(value["recall_at_10"])
                ),
            )
        except (KeyError, TypeError, ValueError):
            return None


#: The vectoriser's settings; stored with the model so a stored model scores as it was trained.
VECTORISER: dict[str, Any] = {
    "ngram_range": [1, 2],
    "sublinear_tf": True,
    "min_df": 1,
    "strip_accents": "unicode",
    "lowercase": True,
}
#: Inverse regularisation strength of the logistic regression.
C = 1.0
#: A decision on a work published this many years before the newest one decided weighs half as
#: much in training: what a team accepts drifts, and its recent choices say most about the next.
HALF_LIFE_YEARS = 5.0


@dataclass(frozen=True)
class RankingModel:
    """A learned model as plain values: terms (in column order), their idf, the coefficients
    and the intercept of the logistic regression."""

    terms: tuple[str, ...]
    idf: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    accepted: int
    rejected: int
    vectoriser: dict[str, Any] = field(default_factory=lambda: dict(VECTORISER))
    evaluation: Evaluation | None = None

    # -------------------------------------------------------------------- storing and loading

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "vectoriser": self.vectoriser,
                "terms": list(self.terms),
                "idf": [round(x, 6) for x in self.idf],
                "coef": [round(x, 6) for x in self.coef],
                "intercept": self.intercept,
                "accepted": self.accepted,
                "rejected": self.rejected,
                "evaluation": self.evaluation.to_json() if self.evaluation else None,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @staticmethod
    def fingerprint_of(text: str) -> str:
        """The fingerprint of a model stored as ``text`` (:meth:`to_json`)."""
        return "model:" + hashlib.sha256(text.encode()).hexdigest()[:40]

    @staticmethod
    def from_json(text: str) -> RankingModel | None:
        """The model stored as ``text``; None when it is of another format or damaged (the
        topic is then retrained)."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                return None
            terms = tuple(str(t) for t in data["terms"])
            idf = tuple(float(x) for x in data["idf"])
            coef = tuple(float(x) for x in data["coef"])
            if not len(terms) == len(idf) == len(coef):
                return None
            return RankingModel(
                terms=terms,
                idf=idf,
                coef=coef,
                intercept=float(data["intercept"]),
                accepted=int(data["accepted"]),
                rejected=int(data["rejected"]),
                vectoriser=dict(data["vectoriser"]),
                evaluation=Evaluation.from_json(data.get("evaluation")),
            )
        except (ValueError, TypeError, KeyError):
            return None

    # ---------------------------------------------------------------------------- scoring

    def _vectoriser(self) -> Any:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        options = dict(self.vectoriser)
        options["ngram_range"] = tuple(options.get("ngram_range", (1, 2)))
        vectoriser = TfidfVectorizer(
            vocabulary={term: i for i, term in enumerate(self.terms)}, **options
        )
        vectoriser.idf_ = np.asarray(self.idf, dtype=np.float64)
        return vectoriser

    def score(self, items: Sequence[RankText]) -> list[Scored]:
        """Each item's probability of being accepted, with the three terms that moved it most."""
        if not items:
            return []
        import numpy as np

        matrix = self._vectoriser().transform([item.text for item in items]).tocsr()
        coef = np.asarray(self.coef, dtype=np.float64)
        margins = matrix @ coef + self.intercept
        out = []
        for row in range(matrix.shape[0]):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            columns = matrix.indices[start:end]
            moves = matrix.data[start:end] * coef[columns]
            reasons: list[Reason] = []
            for i in np.argsort(-np.abs(moves)):
                term = self.terms[columns[i]]
                if _telling(term, reasons):
                    reasons.append(Reason(term, float(moves[i])))
                    if len(reasons) == 3:
                        break
            out.append(Scored(score=_sigmoid(float(margins[row])), reasons=tuple(reasons)))
        return out


def _telling(term: str, chosen: Sequence[Reason]) -> bool:
    """Whether ``term`` says something to a reader: not a number or a run of function words,
    and not a word of a pair already shown (nor a pair of a word already shown)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = term.split()
    if all(w.isdigit() or w in ENGLISH_STOP_WORDS for w in words):
        return False
    for reason in chosen:
        shown = reason.label.split()
        if set(words) <= set(shown) or set(shown) <= set(words):
            return False
    return True


def recency_weights(items: Sequence[RankText]) -> list[float]:
    """Each item's training weight: 1 for the newest publication year, halving every
    :data:`HALF_LIFE_YEARS` before it (an item without a year counts as the newest)."""
    years = [item.year for item in items if item.year is not None]
    if not years:
        return [1.0] * len(items)
    newest = max(years)
    return [
        0.5 ** ((newest - item.year) / HALF_LIFE_YEARS) if item.year is not None else 1.0
        for item in items
    ]


def _fit(items: Sequence[RankText], labels: Sequence[bool]) -> RankingModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    options = dict(VECTORISER)
    options["ngram_range"] = tuple(VECTORISER["ngram_range"])
    vectoriser = TfidfVectorizer(**options)
    matrix = vectoriser.fit_transform([item.text for item in items])
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    classifier.fit(
        matrix, [1 if label else 0 for label in labels], sample_weight=recency_weights(items)
    )
    terms = vectoriser.get_feature_names_out()
    return RankingModel(
        terms=tuple(str(t) for t in terms),
        idf=tuple(float(x) for x in vectoriser.idf_),
        coef=tuple(float(x) for x in classifier.coef_[0]),
        intercept=float(classifier.intercept_[0]),
        accepted=sum(1 for label in labels if label),
        rejected=sum(1 for label in labels if not label),
    )


def train(
    items: Sequence[RankText], labels: Sequence[bool], *, evaluate_latest: bool = True
) -> RankingModel:
    """A model trained on ``items`` (oldest decision first) and whether each was accepted.

    With ``evaluate_latest``, the latest quarter of the accepted and of the rejected works is first
    held out from a model trained on the rest, and how that model ranked them is kept as the
    model's evaluation; the model itself is then trained on every decision.
    """
    if not any(labels) or all(labels):
        raise ValueError("a model needs accepted and rejected works")
    evaluation = evaluate(items, labels) if evaluate_latest else None
    model = _fit(items, labels)
    return RankingModel(
        terms=model.terms,
        idf=model.idf,
        coef=model.coef,
        intercept=model.intercept,
        accepted=model.accepted,
        rejected=model.rejected,
        evaluation=evaluation,
    )


def evaluate(items: Sequence[RankText], labels: Sequence[bool]) -> Evaluation:
    """Hold out the latest quarter of the accepted and the latest quarter of the rejected works
    (at least one of each), train on the rest, and measure how the held-out ones are ranked."""
    held: set[int] = set()
    for wanted in (True, False):
        indices = [i for i, label in enumerate(labels) if label is wanted]
        if len(indices) < 2:
            return Evaluation(held_out=0, accepted=0, auc=None, recall_at_10=None)
        held.update(indices[-max(len(indices) // 4, 1) :])
    train_at = [i for i in range(len(items)) if i not in held]
    test_at = sorted(held)
    model = _fit([items[i] for i in train_at], [labels[i] for i in train_at])
    scores = [s.score for s in model.score([items[i] for i in test_at])]
    test_labels = [labels[i] for i in test_at]
    return Evaluation(
        held_out=len(test_at),
        accepted=sum(test_labels),
        auc=roc_auc(scores, test_labels),
        recall_at_10=recall_at(scores, test_labels, 0.10),
    )


# ------------------------------------------------------------------------------ measures


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """How often a positive is scored above a negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        raise ValueError("ROC AUC needs positives and negatives")
    ranked = sorted(scores)
    # mid-ranks, ties averaged
    rank: dict[float, float] = {}
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1] == ranked[i]:
            j += 1
        rank[ranked[i]] = (i + j) / 2 + 1
        i = j + 1
    total = sum(rank[s] for s in pos)
    return (total - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def recall_at(scores: Sequence[float], labels: Sequence[bool], share: float) -> float:
    """The share of positives among the top ``share`` of items by score (ties: first listed)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    top = order[: max(1, math.ceil(len(order) * share))]
    positives = sum(1 for y in labels if y)
    return sum(1 for i in top if labels[i]) / positives if positives else 0.0
