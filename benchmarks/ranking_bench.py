"""Ranking a queue by past decisions, measured on real labelled screening sets.

Each set (``<name>.csv``: id, title, abstract, year, label; ``extra/<name>.extra.csv`` adds
``label_ta``, the title/abstract decision) is lived as a current-awareness queue: the records up
to a split year are the decisions made so far, the later ones arrive and are ranked. The split
year is the last year by which at most 70% of the dated records had appeared (records without
a year are left out). Ties in score are broken by a seeded shuffle, never by file order.

Rankers compared on the same splits, in the same run:

- date order: newest first (what the queue did before ranking);
- cold start: harvester's phrase, publication type and source score, with a topic's phrases
  written from each review's question (below), as a librarian would set up the topic;
- TF-IDF + LR: the baseline of the sets' SOURCES.md (1-2 grams, sublinear tf, balanced
  logistic regression, C=1);
- ASReview: ASReview's default model (ELAS u4: its TF-IDF and its SVM classifier) built from the
  ``asreview`` package's own objects, trained on the same records (run this script in an
  environment where ``asreview`` is installed; it is not a dependency of harvester);
- harvester: the learned model the queue uses (:func:`harvester.core.ranking.train`).

Figures: recall@10% (share of the includes in the first 10% of the ranked later records) and
WSS@95 (work saved over sampling at 95% recall), per set and label. Then the time to train on
the largest training split and to score 10,000 candidates with their reasons.

    python benchmarks/ranking_bench.py [--data DIR] [--seed N]

The data folder defaults to ``$HARVESTER_TEST_CORPUS/ranking``, else ``shared/fixtures/ranking``
in a folder above the checkout; it is read, never copied.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harvester.core.ranking import ColdStart, RankText, train

SHARE = 0.70
SEEDS = 5

#: A topic's phrases per set, written from each review's question (its title), not from data.
PHRASES: dict[str, list[str]] = {
    "van_de_Schoot_2017": [
        "posttraumatic stress",
        "post-traumatic stress",
        "PTSD",
        "trajector*",
        "latent growth",
        "growth mixture",
        "latent class",
    ],
    "Appenzeller-Herzog_2020": [
        "Wilson disease",
        "Wilson's disease",
        "hepatolenticular degeneration",
        "penicillamine",
        "trientine",
        "zinc",
        "chelat*",
        "copper",
    ],
    "Bannach-Brown_2019": [
        "depression",
        "depressive",
        "animal model*",
        "rodent*",
        "rat",
        "rats",
        "mice",
        "mouse",
        "antidepressant*",
    ],
    "Hall_2012": [
        "fault prediction",
        "defect prediction",
        "fault-prone",
        "fault prone*",
        "defect*",
        "software fault*",
        "software metric*",
    ],
}


@dataclass(frozen=True)
class Record:
    title: str
    abstract: str
    year: int
    label: int


@dataclass(frozen=True)
class Split:
    name: str
    label: str
    year: int
    train: list[Record]
    test: list[Record]


def default_data() -> Path:
    corpus = os.environ.get("HARVESTER_TEST_CORPUS")
    if corpus:
        return Path(corpus) / "ranking"
    here = Path(__file__).resolve().parent
    for parent in here.parents:
        candidate = parent / "shared" / "fixtures" / "ranking"
        if candidate.is_dir():
            return candidate
    return here.parent.parent / "shared" / "fixtures" / "ranking"


def load(folder: Path, name: str, label: str) -> list[Record]:
    extra: dict[str, str] = {}
    if label == "label_ta":
        with (folder / "extra" / f"{name}.extra.csv").open(encoding="utf-8") as handle:
            extra = {row["id"]: row["label_ta"] for row in csv.DictReader(handle)}
    out = []
    with (folder / f"{name}.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["year"].strip():
                continue
            value = extra[row["id"]] if label == "label_ta" else row["label"]
            out.append(
                Record(row["title"] or "", row["abstract"] or "", int(row["year"]), int(value))
            )
    return out


def split_year(records: Sequence[Record]) -> int:
    """The last year by which at most :data:`SHARE` of the records had appeared."""
    years = sorted(r.year for r in records)
    limit = math.floor(len(years) * SHARE)
    best = years[0]
    for index, year in enumerate(years):
        if index + 1 <= limit and (index + 1 == len(years) or years[index + 1] != year):
            best = year
    return best


def splits(folder: Path) -> list[Split]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        name = path.stem
        labels = ["label"]
        if (folder / "extra" / f"{name}.extra.csv").exists():
            labels.append("label_ta")
        for label in labels:
            records = load(folder, name, label)
            year = split_year(records)
            train_set = [r for r in records if r.year <= year]
            test_set = [r for r in records if r.year > year]
            out.append(Split(name, label, year, train_set, test_set))
    return out


# ---------------------------------------------------------------------------------- measures


def ranked_labels(scores: Sequence[float], labels: Sequence[int], seed: int) -> list[int]:
    """Labels in the order of the scores, highest first; ties in a seeded random order."""
    order = list(range(len(scores)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: -scores[i])  # stable: the shuffle breaks ties
    return [labels[i] for i in order]


def recall_at(ranked: Sequence[int], share: float = 0.10) -> float:
    top = ranked[: max(1, math.ceil(len(ranked) * share))]
    total = sum(ranked)
    return sum(top) / total if total else float("nan")


def wss_at(ranked: Sequence[int], recall: float = 0.95) -> float:
    total = sum(ranked)
    if not total:
        return float("nan")
    need = math.ceil(total * recall)
    found = 0
    for screened, label in enumerate(ranked, start=1):
        found += label
        if found >= need:
            return (len(ranked) - screened) / len(ranked) - (1 - recall)
    return float("nan")


# ----------------------------------------------------------------------------------- rankers

Ranker = Callable[[Split], list[float]]


def text(record: Record) -> str:
    return f"{record.title}\n{record.abstract}"


def date_order(split: Split) -> list[float]:
    return [float(r.year) for r in split.test]


def cold_start(split: Split) -> list[float]:
    scorer = ColdStart.of(PHRASES[split.name])
    return [scorer.score(RankText(title=r.title, abstract=r.abstract)).score for r in split.test]


def baseline(split: Split) -> list[float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    x = vectoriser.fit_transform([text(r) for r in split.train])
    model = LogisticRegression(class_weight="balanced", max_iter=2000)
    model.fit(x, [r.label for r in split.train])
    return list(model.decision_function(vectoriser.transform([text(r) for r in split.test])))


def asreview_u4(split: Split) -> list[float]:
    """ASReview's default model built by the package itself: its default AI configuration
    (ELAS u4: its TF-IDF feature extractor, SVM classifier and balancer), fitted as ASReview
    fits it (features over every record, the classifier on the labelled ones)."""
    import numpy as np
    import pandas as pd
    from asreview.learner import ActiveLearningCycle
    from asreview.models import get_ai_config

    cycle = ActiveLearningCycle.from_meta(get_ai_config()["value"])
    records = split.train + split.test
    frame = pd.DataFrame(
        {"title": [r.title for r in records], "abstract": [r.abstract for r in records]}
    )
    features = cycle.transform(frame)
    n = len(split.train)
    cycle.fit(features[:n], np.array([r.label for r in split.train]))
    return [float(x) for x in cycle.classifier.decision_function(features[n:])]


def harvester_model(split: Split) -> list[float]:
    items = [RankText(title=r.title, abstract=r.abstract) for r in split.train]
    model = train(items, [bool(r.label) for r in split.train], evaluate_latest=False)
    return [
        s.score
        for s in model.score([RankText(title=r.title, abstract=r.abstract) for r in split.test])
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of the labelled sets")
    parser.add_argument("--seed", type=int, default=20240601, help="first seed of the tie shuffles")
    args = parser.parse_args(argv)
    folder = args.data or default_data()
    if not folder.is_dir():
        print(f"no labelled sets at {folder}: pass --data DIR", file=sys.stderr)
        return 1
    print(f"data: {folder}")
    rankers: dict[str, Ranker] = {
        "date order": date_order,
        "cold start": cold_start,
        "TF-IDF+LR": baseline,
        "harvester": harvester_model,
    }
    try:
        import asreview  # type: ignore[import-not-found]  # noqa: F401

        rankers["ASReview u4"] = asreview_u4
    except ImportError:
        print("asreview is not installed here: its column is left out", file=sys.stderr)
    for split in splits(folder):
        cells = []
        for name, ranker in rankers.items():
            scores = ranker(split)
            labels = [r.label for r in split.test]
            rec = [recall_at(ranked_labels(scores, labels, args.seed + k)) for k in range(SEEDS)]
            wss = [wss_at(ranked_labels(scores, labels, args.seed + k)) for k in range(SEEDS)]
            cells.append(f"{name} {sum(rec) / SEEDS:.3f}/{sum(wss) / SEEDS:.3f}")
        print(
            split.name,
            split.label,
            split.year,
            len(split.train),
            len(split.test),
            " | ".join(cells),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
