"""Ranking a topic's queue: train its model from its decisions and write every candidate's score.

- :func:`rank_topic` retrains the topic's model (when it has :data:`~harvester.core.ranking.MIN_ACCEPTED`
  accepted and :data:`~harvester.core.ranking.MIN_REJECTED` rejected works; published ones count
  as accepted) and scores the topic's candidates; a topic with fewer decisions gets the
  cold-start score of its phrases. ``harvester rank``, a harvest and an import call it. A new
  scorer (a new model, other phrases) scores the whole queue; the same scorer only what is new
  or changed since it scored (:func:`rescore`).
- :func:`after_decision` retrains once :data:`RETRAIN_EVERY` decisions were made since the last
  model (or as soon as the topic has enough decisions for a first one);
  :func:`after_decision_in_background` does it in a thread, so a reviewer's decision never waits
  for a retrain.

Scores only order the queue: nothing here changes a candidate's status.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harvester.config.settings import Topic
from harvester.core.ranking import (
    MIN_ACCEPTED,
    MIN_REJECTED,
    ColdStart,
    Evaluation,
    RankingModel,
    RankText,
    Scored,
    train,
)
from harvester.store import ranking as store
from harvester.store.db import Database

__all__ = [
    "RETRAIN_EVERY",
    "RankOutcome",
    "after_decision",
    "after_decision_in_background",
    "cold_start",
    "rank_topic",
    "wait_for_background",
]

log = logging.getLogger(__name__)

#: Decisions after which a topic's model is trained again.
RETRAIN_EVERY = 10


@dataclass(frozen=True, slots=True)
class RankOutcome:
    """What one ranking of a topic did."""

    topic: str
    accepted: int
    rejected: int
    scored: int
    #: False when only the new candidates and those whose work changed were scored
    whole: bool = True
    version: int | None = None  # the new model's version; None: cold-start scores
    evaluation: Evaluation | None = None

    def line(self) -> str:
        if self.version is None:
            need = []
            if self.accepted < MIN_ACCEPTED:
                need.append(f"{MIN_ACCEPTED - self.accepted} more accepted")
            if self.rejected < MIN_REJECTED:
                need.append(f"{MIN_REJECTED - self.rejected} more rejected")
            scored = self._scored()
            if self.scored:
                scored += " by the topic's phrases, publication types and sources"
            return (
                f"{self.topic}: {scored}; a learned model needs {' and '.join(need)} "
                f"(has {self.accepted} accepted, {self.rejected} rejected)"
            )
        text = (
            f"{self.topic}: model version {self.version} trained on {self.accepted} accepted and "
            f"{self.rejected} rejected; {self._scored()}"
        )
        if self.evaluation is not None:
            text += f"; {self.evaluation.text()}"
        return text

    def _scored(self) -> str:
        if self.whole:
            return f"{self.scored} candidates scored"
        if self.scored == 0:
            return "no new or changed candidates to score"
        return f"{self.scored} new or changed candidates scored"


def cold_start(topic: Topic) -> ColdStart:
    """The cold-start scorer of ``topic``: its phrases and its feeds' phrases."""
    include = list(topic.match.phrases)
    exclude = list(topic.match.exclude)
    for feed in topic.feeds:
        include += [p for p in feed.phrases or [] if p not in include]
        exclude += [p for p in feed.exclude or [] if p not in exclude]
    return ColdStart.of(include, exclude)


def _enough(accepted: int, rejected: int) -> bool:
    return accepted >= MIN_ACCEPTED and rejected >= MIN_REJECTED


def _retrain(db: Database, slug: str, *, now: dt.datetime, trigger: str) -> RankOutcome | None:
    """Train and store a new model of ``slug`` when it has enough decisions; else None."""
    with db.read() as session:
        accepted, rejected = store.label_counts(session, slug)
        if not _enough(accepted, rejected):
            return None
        data = store.training_set(session, slug)
        seen = store.decision_count(session, slug)
    model = train([item for item, _ in data], [label for _, label in data])
    with db.write() as session:
        version = store.save_model(
            session,
            slug,
            model_json=model.to_json(),
            accepted=model.accepted,
            rejected=model.rejected,
            evaluation=model.evaluation,
            decisions_seen=seen,
            trigger=trigger,
            now=now,
        )
    log.info("topic %s: ranking model version %d trained (%s)", slug, version, trigger)
    return RankOutcome(
        topic=slug,
        accepted=model.accepted,
        rejected=model.rejected,
        scored=0,
        version=version,
        evaluation=model.evaluation,
    )


def _scorer(
    db: Database, slug: str, cold: ColdStart | None
) -> tuple[RankingModel | ColdStart, str] | None:
    """The topic's latest model, else ``cold``, with its fingerprint; None when neither."""
    with db.read() as session:
        stored = store.latest_model_json(session, slug)
    model = RankingModel.from_json(stored) if stored else None
    if model is not None and stored is not None:
        return model, RankingModel.fingerprint_of(stored)
    return (cold, cold.fingerprint()) if cold is not None else None


def _score(scorer: RankingModel | ColdStart, items: Sequence[RankText]) -> list[Scored]:
    if isinstance(scorer, RankingModel):
        return scorer.score(items)
    return [scorer.score(item) for item in items]


Scope = Literal["all", "unscored", "changed"]


def rescore(
    db: Database,
    slug: str,
    cold: ColdStart | None,
    *,
    scope: Scope = "changed",
    now: dt.datetime | None = None,
) -> tuple[int, bool]:
    """Write candidates' scores of ``slug`` with its latest model, else with ``cold``; the
    number scored, and whether that was the whole queue.

    ``scope``: every candidate (``"all"``), those without a score (``"unscored"``), or
    (``"changed"``) every candidate when the scorer is not the one that wrote the queue's
    scores, else those without a score or whose work changed since it was scored: a harvest
    or an import into a large queue scores what it brought, not the whole queue again.
    """
    found = _scorer(db, slug, cold)
    if found is None:
        return 0, False
    scorer, fingerprint = found
    now = now or dt.datetime.now(dt.UTC)
    whole = scope == "all"
    with db.read() as session:
        if scope == "changed":
            whole = store.scored_by(session, slug) != fingerprint
            chunks = store.to_score(session, slug, scope="all" if whole else "stale")
        else:
            chunks = store.to_score(session, slug, scope=scope)
    done = 0
    for ids in chunks:
        # one chunk's texts in memory at a time, each read in a short read of its own
        with db.read() as session:
            chunk = store.rank_texts(session, ids)
        scored = _score(scorer, [item for _, item in chunk])
        rows = [
            (cid, round(s.score, 6), [r.to_json() for r in s.reasons])
            for (cid, _), s in zip(chunk, scored, strict=True)
        ]
        with db.write() as session:
            store.write_scores(session, rows, now=now)
        done += len(rows)
    if scope != "unscored":
        with db.write() as session:
            store.set_scored_by(session, slug, fingerprint, now=now)
    return done, whole


def rank_topic(
    db: Database,
    topic: Topic,
    *,
    now: dt.datetime,
    trigger: str = "on demand",
    everything: bool = False,
) -> RankOutcome:
    """Retrain ``topic``'s model when it has enough decisions, and score its candidates: with
    ``everything`` all of them, else those the scorer has not scored as they are now
    (:func:`rescore`)."""
    cold = cold_start(topic)
    trained = _retrain(db, topic.slug, now=now, trigger=trigger)
    scored, whole = rescore(db, topic.slug, cold, scope="all" if everything else "changed", now=now)
    if trained is not None:
        return RankOutcome(
            topic=topic.slug,
            accepted=trained.accepted,
            rejected=trained.rejected,
            scored=scored,
            whole=whole,
            version=trained.version,
            evaluation=trained.evaluation,
        )
    with db.read() as session:
        accepted, rejected = store.label_counts(session, topic.slug)
    return RankOutcome(
        topic=topic.slug, accepted=accepted, rejected=rejected, scored=scored, whole=whole
    )


def rank_quietly(db: Database, topic: Topic, *, now: dt.datetime, trigger: str) -> None:
    """:func:`rank_topic` where ranking must never stop the work that called it (a harvest, an
    import): a failure is logged."""
    try:
        outcome = rank_topic(db, topic, now=now, trigger=trigger)
    except Exception:
        log.exception(
            "topic %s: ranking after %s failed; the queue keeps its scores", topic.slug, trigger
        )
        return
    log.info("%s", outcome.line())


def _due(db: Database, slug: str) -> bool:
    """Whether ``slug`` has :data:`RETRAIN_EVERY` decisions since its last model (or enough
    decisions for its first)."""
    with db.read() as session:
        info = store.model_info(session, slug)
        if info is not None:
            return store.decision_count(session, slug) - info.decisions_seen >= RETRAIN_EVERY
        return _enough(*store.label_counts(session, slug))


def _retrain_and_rescore(db: Database, slug: str, *, now: dt.datetime) -> RankOutcome | None:
    trained = _retrain(db, slug, now=now, trigger="decisions")
    if trained is None:
        return None
    scored, whole = rescore(db, slug, None, now=now)
    return RankOutcome(
        topic=slug,
        accepted=trained.accepted,
        rejected=trained.rejected,
        scored=scored,
        whole=whole,
        version=trained.version,
        evaluation=trained.evaluation,
    )


def after_decision(db: Database, slug: str, *, now: dt.datetime) -> RankOutcome | None:
    """Retrain ``slug`` when :data:`RETRAIN_EVERY` decisions were made since its last model (or
    when it now has enough decisions for its first); None when it was not due."""
    if not _due(db, slug):
        return None
    return _retrain_and_rescore(db, slug, now=now)


_background: dict[str, threading.Thread] = {}
_background_lock = threading.Lock()


def after_decision_in_background(db: Database, slug: str, *, now: dt.datetime) -> bool:
    """:func:`after_decision` without keeping the reviewer waiting: when a retrain is due it
    runs in a thread (one per topic at a time; a decision made meanwhile is counted by the
    next). True when one was started."""
    if not _due(db, slug):
        return False
    with _background_lock:
        running = _background.get(slug)
        if running is not None and running.is_alive():
            return False

        def work() -> None:
            try:
                outcome = _retrain_and_rescore(db, slug, now=now)
            except Exception:
                log.exception(
                    "topic %s: ranking after decisions failed; the queue keeps its scores", slug
                )
                return
            if outcome is not None:
                log.info("%s", outcome.line())

        thread = threading.Thread(target=work, name=f"ranking {slug}", daemon=True)
        _background[slug] = thread
        thread.start()
    return True


def wait_for_background(timeout: float | None = None) -> None:
    """Wait for the retrains started by :func:`after_decision_in_background`."""
    with _background_lock:
        threads = list(_background.values())
    for thread in threads:
        thread.join(timeout)
