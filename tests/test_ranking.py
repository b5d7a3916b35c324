"""Ranking: the cold-start score, the learned model, scores in the store, retraining, and that
no status ever changes by ranking."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from harvester.config.settings import Topic
from harvester.core.digest import DigestItem, top_items
from harvester.core.models import CandidateStatus
from harvester.core.ranking import (
    ColdStart,
    RankingModel,
    RankText,
    evaluate,
    recall_at,
    recency_weights,
    roc_auc,
    train,
)
from harvester.store.db import Database
from harvester.store.ranking import model_info
from harvester.store.tables import Candidate
from harvester.store.works import ingest_hits
from harvester.usecases import ranking, review
from tests.ranking_support import hits, titles

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
TOPIC = "social-prescribing"


def cold() -> ColdStart:
    return ColdStart.of(["social prescribing", "link worker*"], ["veterinary"])


# ----------------------------------------------------------------------------- cold start


def test_cold_start_title_over_abstract_over_summary() -> None:
    scorer = cold()
    title = scorer.score(RankText(title="Social prescribing in Leeds"))
    abstract = scorer.score(RankText(title="A study", abstract="social prescribing helps"))
    summary = scorer.score(RankText(title="News", summary="Social-prescribing scheme opens"))
    nothing = scorer.score(RankText(title="Kidney stones"))
    assert title.score > abstract.score > summary.score > nothing.score
    assert title.reasons[0].label == "“social prescribing” in the title"
    assert nothing.reasons == ()


def test_cold_start_exact_phrase_over_wildcard_and_exclusions_down() -> None:
    scorer = cold()
    exact = scorer.score(RankText(title="Social prescribing works"))
    wildcard = scorer.score(RankText(title="Link workers help"))
    excluded = scorer.score(RankText(title="Link workers in veterinary practice"))
    assert exact.score > wildcard.score > excluded.score
    assert any("excluded" in r.label and r.weight < 0 for r in excluded.reasons)


def test_cold_start_publication_types_and_source() -> None:
    scorer = cold()
    base = RankText(title="Social prescribing")
    plain = scorer.score(base).score

    def typed(*types: str, source: str = "") -> float:
        item = RankText(title=base.title, publication_types=types, source=source)
        return scorer.score(item).score

    assert typed("Journal Article", "Systematic Review") > typed("Review") > plain
    assert typed("Randomized Controlled Trial") > plain
    assert typed("Evaluation Study") > plain
    assert typed("Published Erratum") < plain
    assert typed("Comment") < plain
    assert typed("Retraction of Publication") < typed("Published Erratum")
    assert typed(source="manual") > typed(source="pubmed") > typed(source="feeds")


# -------------------------------------------------------------------------------- learned


def _training(count: int = 24) -> tuple[list[RankText], list[bool]]:
    items, labels = [], []
    for (ta, aa), (tr, ar) in zip(
        titles("accepted", count), titles("rejected", count), strict=True
    ):
        items += [RankText(title=ta, abstract=aa), RankText(title=tr, abstract=ar)]
        labels += [True, False]
    return items, labels


def test_learned_model_ranks_and_explains_and_round_trips_as_json() -> None:
    items, labels = _training()
    model = train(items, labels)
    assert (model.accepted, model.rejected) == (24, 24)
    assert model.evaluation is not None and model.evaluation.auc == 1.0
    fresh = [
        RankText(title="Link worker programme for isolated carers"),
        RankText(title="Stone-free rate after ureteroscopy"),
    ]
    good, bad = model.score(fresh)
    assert good.score > 0.5 > bad.score
    assert len(good.reasons) == 3 and good.reasons[0].weight > 0
    assert any("link" in r.label or "worker" in r.label for r in good.reasons)
    assert any(r.weight < 0 for r in bad.reasons)
    stored = model.to_json()
    json.loads(stored)  # plain JSON: loading it runs no code
    again = RankingModel.from_json(stored)
    assert again is not None
    assert [round(s.score, 4) for s in again.score(fresh)] == [
        round(s.score, 4) for s in model.score(fresh)
    ]


def test_recent_decisions_weigh_more() -> None:
    items = [RankText(title="a", year=2024), RankText(title="b", year=2019), RankText(title="c")]
    assert recency_weights(items) == [1.0, 0.5, 1.0]
    assert recency_weights([RankText(title="a")]) == [1.0]


def test_damaged_or_foreign_model_is_not_loaded() -> None:
    assert RankingModel.from_json("not json") is None
    assert RankingModel.from_json('{"format": 99}') is None
    assert RankingModel.from_json('{"format": 1, "terms": ["a"], "idf": [], "coef": []}') is None


def test_training_needs_both_kinds() -> None:
    with pytest.raises(ValueError, match="accepted and rejected"):
        train([RankText(title="a"), RankText(title="b")], [True, True])


def test_evaluation_holds_out_the_latest_of_each_kind() -> None:
    items, labels = _training(8)
    evaluation = evaluate(items, labels)
    assert evaluation.held_out == 4 and evaluation.accepted == 2
    assert evaluation.auc == 1.0 and "100%" in evaluation.text()


def test_measures() -> None:
    assert roc_auc([0.9, 0.8, 0.1], [True, False, False]) == 1.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert recall_at([0.9, 0.1, 0.8, 0.2], [True, False, False, True], 0.25) == 0.5


def test_digest_lists_only_waiting_items_highest_score_first() -> None:
    def item(n: int, score: float, waiting: bool = True) -> DigestItem:
        return DigestItem(n, f"t{n}", "article", "pubmed", None, None, None, NOW, score, waiting)

    listed = top_items([item(1, 0.2), item(2, 0.9, waiting=False), item(3, 0.7)])
    assert [i.candidate_id for i in listed] == [3, 1]


# ------------------------------------------------------------------------------ the store


def _topic() -> Topic:
    return Topic.model_validate(
        {
            "topic": {"slug": TOPIC, "name": "Social prescribing"},
            "match": {"phrases": ["social prescri*", "link worker*"]},
        }
    )


def _seed(db: Database, accepted: int, rejected: int, queue: int) -> None:
    with db.write() as session:
        ingest_hits(
            session,
            hits("accepted", accepted),
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.PUBLISHED,
            actor="import",
        )
        ingest_hits(
            session,
            hits("rejected", rejected),
            topic=TOPIC,
            run_id=None,
            now=NOW,
            status=CandidateStatus.REJECTED,
            actor="import",
        )
        new = hits("accepted", queue, start=100) + hits("rejected", queue, start=100)
        ingest_hits(session, new, topic=TOPIC, run_id=None, now=NOW)


def _rows(db: Database) -> list[tuple[int, str, int, float | None]]:
    with db.read() as session:
        return [
            (c.id, c.status, c.version, c.score)
            for c in session.scalars(
                select(Candidate).where(Candidate.topic == TOPIC).order_by(Candidate.id)
            )
        ]


def test_cold_start_scores_a_topic_without_enough_decisions(db: Database) -> None:
    _seed(db, accepted=5, rejected=5, queue=3)
    before = _rows(db)
    outcome = ranking.rank_topic(db, _topic(), now=NOW)
    assert outcome.version is None and outcome.scored == 16
    assert "15 more accepted and 15 more rejected" in outcome.line()
    after = _rows(db)
    # statuses and versions untouched: a rescore never conflicts with an open card
    assert [(i, s, v) for i, s, v, _ in after] == [(i, s, v) for i, s, v, _ in before]
    assert all(score is not None for *_, score in after)
    with db.read() as session:
        assert model_info(session, TOPIC) is None


def test_learned_model_with_enough_decisions_orders_the_queue(db: Database) -> None:
    _seed(db, accepted=20, rejected=20, queue=4)
    before = _rows(db)
    outcome = ranking.rank_topic(db, _topic(), now=NOW)
    assert outcome.version == 1 and (outcome.accepted, outcome.rejected) == (20, 20)
    after = _rows(db)
    assert [(i, s, v) for i, s, v, _ in after] == [(i, s, v) for i, s, v, _ in before]
    with db.read() as session:
        info = model_info(session, TOPIC)
        assert info is not None and info.version == 1 and info.trained_at == NOW
        assert info.evaluation is not None and info.evaluation.auc is not None
        from harvester.store.candidates import CandidateQuery, candidate_page

        page = candidate_page(
            session,
            CandidateQuery(topic=TOPIC, statuses=(CandidateStatus.NEW,), sort="score"),
        )
    titles_in_order = [c.work.title for c in page.items]
    assert all("(acc)" in t for t in titles_in_order[:4])
    assert all("(rej)" in t for t in titles_in_order[4:])
    top = page.items[0]
    assert top.score is not None and top.score > 0.5 and len(top.score_reasons) == 3
    # nothing is ever rejected on the reviewers' behalf
    assert {s for _, s, _, _ in after if _ in {c.id for c in page.items}} <= {"new"}
    # a second ranking is the next version
    assert ranking.rank_topic(db, _topic(), now=NOW + dt.timedelta(days=1)).version == 2


def _scores(db: Database) -> dict[int, tuple[float | None, dt.datetime | None]]:
    with db.read() as session:
        return {
            c.id: (c.score, c.scored_at)
            for c in session.scalars(select(Candidate).where(Candidate.topic == TOPIC))
        }


def test_a_ranking_by_the_same_scorer_scores_only_new_and_changed_candidates(
    db: Database,
) -> None:
    _seed(db, accepted=5, rejected=5, queue=3)
    later = NOW + dt.timedelta(hours=1)
    assert ranking.rank_topic(db, _topic(), now=later).scored == 16
    first = _scores(db)
    # nothing new, nothing changed: nothing to score
    again = ranking.rank_topic(db, _topic(), now=later + dt.timedelta(hours=1))
    assert again.scored == 0 and "no new or changed candidates to score" in again.line()
    assert _scores(db) == first
    # one new record and one that changes a stored work (it now says it is a review)
    changed = replace(hits("accepted", 1, start=100)[0], publication_types=["Review"])
    with db.write() as session:
        result = ingest_hits(
            session,
            [*hits("accepted", 1, start=300), changed],
            topic=TOPIC,
            run_id=None,
            now=later + dt.timedelta(hours=2),
        )
    assert [o.created for o in result.outcomes] == [True, False]
    outcome = ranking.rank_topic(db, _topic(), now=later + dt.timedelta(hours=3))
    assert outcome.scored == 2 and "2 new or changed candidates scored" in outcome.line()
    # another scorer (the topic's phrases changed) scores the whole queue again
    topic = _topic().model_copy(deep=True)
    topic.match.phrases = ["link worker*"]
    outcome = ranking.rank_topic(db, topic, now=later + dt.timedelta(hours=4))
    assert outcome.scored == 17 and "17 candidates scored" in outcome.line()
    # and so does ``harvester rank``, whatever changed
    outcome = ranking.rank_topic(db, topic, now=later + dt.timedelta(hours=5), everything=True)
    assert outcome.scored == 17


def test_a_new_model_scores_the_whole_queue(db: Database) -> None:
    _seed(db, accepted=19, rejected=20, queue=3)
    later = NOW + dt.timedelta(hours=1)
    ranking.rank_topic(db, _topic(), now=later)  # by the phrases: too few decisions
    assert ranking.rank_topic(db, _topic(), now=later).scored == 0
    with db.write() as session:
        ingest_hits(
            session,
            hits("accepted", 1, start=200),
            topic=TOPIC,
            run_id=None,
            now=later,
            status=CandidateStatus.PUBLISHED,
            actor="import",
        )
    outcome = ranking.rank_topic(db, _topic(), now=later + dt.timedelta(hours=1))
    assert outcome.version == 1 and outcome.scored == 46


def test_cold_start_fingerprint_follows_phrases_not_their_compiling() -> None:
    one = ColdStart.of(["social prescri*"], ["kidney"])
    assert one.fingerprint() == ColdStart.of(["social prescri*"], ["kidney"]).fingerprint()
    assert one.fingerprint() != ColdStart.of(["social prescri*"]).fingerprint()
    assert one.fingerprint() != ColdStart.of(["link worker*"], ["kidney"]).fingerprint()


def test_retrained_after_every_n_decisions(db: Database) -> None:
    _seed(db, accepted=20, rejected=19, queue=6)
    ranking.rank_topic(db, _topic(), now=NOW)
    with db.read() as session:
        assert model_info(session, TOPIC) is None
    waiting = [i for i, s, _, _ in _rows(db) if s == "new"]
    versions = {i: v for i, _, v, _ in _rows(db)}
    # the 20th rejection makes a first model at once
    review.decide(
        db,
        waiting[-1],
        CandidateStatus.REJECTED,
        actor="rev",
        seen_version=versions[waiting[-1]],
        now=NOW,
    )
    ranking.wait_for_background()  # the retrain runs beside the reviewer's work
    with db.read() as session:
        info = model_info(session, TOPIC)
    assert info is not None and info.version == 1 and info.trigger == "decisions"
    # then again after RETRAIN_EVERY more decisions (a defer and its undo count too)
    for n in range(ranking.RETRAIN_EVERY):
        cid = waiting[n // 2]
        version = {i: v for i, _, v, _ in _rows(db)}[cid]
        if n % 2 == 0:
            review.decide(
                db, cid, CandidateStatus.DEFERRED, actor="rev", seen_version=version, now=NOW
            )
        else:
            review.undo(db, cid, actor="rev", seen_version=version, now=NOW)
    ranking.wait_for_background()
    with db.read() as session:
        info = model_info(session, TOPIC)
    assert info is not None and info.version == 2


def test_a_large_queue_is_scored_one_chunk_of_texts_at_a_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue's texts are read a chunk at a time, each chunk scored and written before the
    next is read: a queue of any size is scored in the memory of one chunk."""
    from harvester.store import ranking as ranking_store

    _seed(db, accepted=5, rejected=5, queue=3)
    monkeypatch.setattr(ranking_store, "_CHUNK", 5)
    read: list[int] = []
    written: list[int] = []
    rank_texts, write_scores = ranking_store.rank_texts, ranking_store.write_scores

    def reading(session: Any, ids: Sequence[int]) -> list[tuple[int, Any]]:
        assert len(read) == len(written), "a chunk was read before the last one was written"
        read.append(len(ids))
        return rank_texts(session, ids)

    def writing(session: Any, scores: Any, *, now: dt.datetime) -> None:
        written.append(len(scores))
        write_scores(session, scores, now=now)

    monkeypatch.setattr(ranking_store, "rank_texts", reading)
    monkeypatch.setattr(ranking_store, "write_scores", writing)
    assert ranking.rank_topic(db, _topic(), now=NOW).scored == 16
    assert read == written == [5, 5, 5, 1]
    assert all(score is not None for *_, score in _rows(db))
