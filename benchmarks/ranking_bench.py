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

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -e . asreview
    .venv-bench/bin/python benchmarks/ranking_bench.py [--data DIR] [--seed N]

(ASReview gets its own environment: it is not a dependency of harvester. Without it the
ASReview column is left out, saying so.)

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
import time
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
    items = [RankText(title=r.title, abstract=r.abstract, year=r.year) for r in split.train]
    model = train(items, [bool(r.label) for r in split.train], evaluate_latest=False)
    return [
        s.score
        for s in model.score([RankText(title=r.title, abstract=r.abstract) for r in split.test])
    ]


def timings(all_splits: Sequence[Split]) -> None:
    """Time to train harvester's model on the largest training split, and to score 10,000
    candidates (with each one's three reasons)."""
    largest = max(all_splits, key=lambda s: len(s.train))
    items = [RankText(title=r.title, abstract=r.abstract, year=r.year) for r in largest.train]
    labels = [bool(r.label) for r in largest.train]
    started = time.perf_counter()
    model = train(items, labels, evaluate_latest=False)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    train(items, labels, evaluate_latest=True)
    with_evaluation = time.perf_counter() - started
    pool = [RankText(title=r.title, abstract=r.abstract) for r in largest.test]
    queue = [pool[n % len(pool)] for n in range(10_000)]
    started = time.perf_counter()
    stored = model.to_json()
    loaded = type(model).from_json(stored)
    assert loaded is not None
    scored = loaded.score(queue)
    scoring = time.perf_counter() - started
    assert len(scored) == 10_000
    print()
    print(
        f"train on {len(items):,} decisions ({largest.name}): {trained:.2f} s "
        f"({with_evaluation:.2f} s with its held-out evaluation); model stored as "
        f"{len(stored) / 1e6:.1f} MB of JSON ({len(model.terms):,} terms)"
    )
    print(f"load the stored model and score 10,000 candidates with their reasons: {scoring:.2f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of the labelled sets")
    parser.add_argument("--seed", type=int, default=20240601, help="first seed of the tie shuffles")
    args = parser.parse_args(argv)
    folder = args.data or default_data()
    if not folder.is_dir():
        print(f"no labelled sets at {folder}: pass --data DIR", file=sys.stderr)
        return 1
    rankers: dict[str, Ranker] = {
        "date order": date_order,
        "cold start": cold_start,
        "TF-IDF+LR": baseline,
    }
    try:
        import asreview  # type: ignore[import-not-found]

        rankers[f"ASReview {asreview.__version__} u4"] = asreview_u4
    except ImportError:
        print("asreview is not installed here: its column is left out", file=sys.stderr)
    rankers["harvester"] = harvester_model
    all_splits = splits(folder)
    print(f"data: {folder}; ties broken by {SEEDS} seeded shuffles (figures are their mean)")
    print("each cell: recall@10% / WSS@95 on the records after the split year")
    head = f"{'set':<24} {'label':<9} {'split':>5} {'train (inc)':>12} {'later (inc)':>12}"
    print(head + "".join(f" | {name:>18}" for name in rankers))
    wins: list[str] = []
    for split in all_splits:
        labels = [r.label for r in split.test]
        line = (
            f"{split.name:<24} {split.label:<9} {split.year:>5} "
            f"{len(split.train):>6} ({sum(r.label for r in split.train):>3}) "
            f"{len(split.test):>6} ({sum(labels):>3})"
        )
        wss_of: dict[str, float] = {}
        for name, ranker in rankers.items():
            scores = ranker(split)
            runs = [ranked_labels(scores, labels, args.seed + k) for k in range(SEEDS)]
            rec = sum(recall_at(r) for r in runs) / SEEDS
            wss = sum(wss_at(r) for r in runs) / SEEDS
            wss_of[name] = wss
            line += f" | {rec:>8.3f} / {wss:.3f}"
        print(line, flush=True)
        others = [n for n in rankers if n not in ("harvester", "date order", "cold start")]
        beaten = [n for n in others if wss_of["harvester"] > wss_of[n]]
        wins.append(
            f"{split.name} ({split.label}): harvester WSS@95 {wss_of['harvester']:.3f} "
            + ("beats " + ", ".join(beaten) if beaten else "beats neither")
            + (
                "; not " + ", ".join(n for n in others if n not in beaten)
                if len(beaten) < len(others)
                else ""
            )
        )
    print()
    print("\n".join(wins))
    timings(all_splits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
