"""Ranking in the store: a topic's decisions as training data, its stored models, and the
scores written on its candidates.

Scores are written with a plain UPDATE of the score columns: the candidate's version (what a
reviewer's decision names) does not change, so a rescore never turns an open card into a
conflict, and no status is ever touched here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from harvester.core.models import CandidateStatus
from harvester.core.ranking import Evaluation, RankText
from harvester.core.text import plain_text
from harvester.store.tables import Candidate, Decision, RankingModelRow, RankingState, Work

#: Statuses that teach the model "accept" and "reject".
ACCEPTED = (CandidateStatus.ACCEPTED.value, CandidateStatus.PUBLISHED.value)
REJECTED = (CandidateStatus.REJECTED.value,)
#: Model versions kept per topic (older rows are deleted when a new one is stored).
KEEP_VERSIONS = 3
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the queue page says of a topic's model (without the model itself)."""

    topic: str
    version: int
    trained_at: dt.datetime
    accepted: int
    rejected: int
    decisions_seen: int
    trigger: str
    evaluation: Evaluation | None


# What ranking reads of a work, in the order _rank_text_of takes them.
_RANK_COLUMNS = (
    Work.title,
    Work.abstract,
    Work.summary_html,
    Work.publication_types,
    Work.metadata_source,
    Work.kind,
    Work.pub_year,
)


def _rank_text_of(row: Sequence[Any]) -> RankText:
    title, abstract, summary_html, types, source, kind, year = row
    text = " ".join(str(part.get("text", "")) for part in abstract or [] if isinstance(part, dict))
    return RankText(
        title=title or "",
        abstract=text,
        summary=plain_text(summary_html) if summary_html else "",
        publication_types=tuple(str(t) for t in types or []),
        source=source or "",
        kind=kind,
        year=year,
    )


def training_set(session: Session, topic: str) -> list[tuple[RankText, bool]]:
    """The topic's accepted (or published) and rejected works, oldest decision first."""
    when = func.coalesce(Candidate.decided_at, Candidate.updated_at)
    rows = session.execute(
        select(Candidate.status, *_RANK_COLUMNS)
        .join(Work, Work.id == Candidate.work_id)
        .where(Candidate.topic == topic, Candidate.status.in_(ACCEPTED + REJECTED))
        .order_by(when, Candidate.id)
    ).all()
    return [(_rank_text_of(row[1:]), row[0] in ACCEPTED) for row in rows]


def label_counts(session: Session, topic: str) -> tuple[int, int]:
    """(accepted or published, rejected) candidates of the topic."""
    rows = session.execute(
        select(Candidate.status, func.count())
        .where(Candidate.topic == topic, Candidate.status.in_(ACCEPTED + REJECTED))
        .group_by(Candidate.status)
    ).all()
    accepted = sum(n for status, n in rows if status in ACCEPTED)
    return accepted, sum(n for status, n in rows if status in REJECTED)


def decision_count(session: Session, topic: str) -> int:
    """Decision rows of the topic's candidates: "every N decisions" counts these."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Decision)
            .join(Candidate, Candidate.id == Decision.candidate_id)
            .where(Candidate.topic == topic)
        )
        or 0
    )


def to_score(
    session: Session, topic: str, *, scope: Literal["all", "unscored", "stale"] = "all"
) -> list[list[int]]:
    """The ids of the topic's candidates to score, in chunks (:func:`rank_texts` reads one):
    all of them (``scope="all"``), those without a score (``"unscored"``), or those without a
    score or whose work changed since it was written (``"stale"``)."""
    where = [Candidate.topic == topic]
    query = select(Candidate.id)
    if scope == "unscored":
        where.append(Candidate.score.is_(None))
    elif scope == "stale":
        query = query.join(Work, Work.id == Candidate.work_id)
        where.append(
            or_(
                Candidate.score.is_(None),
                Candidate.scored_at.is_(None),
                Work.updated_at >= Candidate.scored_at,
            )
        )
    ids = list(session.scalars(query.where(*where).order_by(Candidate.id)))
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


def rank_texts(session: Session, candidate_ids: Sequence[int]) -> list[tuple[int, RankText]]:
    """The candidates (those of ``candidate_ids`` still stored) as ranking reads them."""
    rows = session.execute(
        select(Candidate.id, *_RANK_COLUMNS)
        .join(Work, Work.id == Candidate.work_id)
        .where(Candidate.id.in_(candidate_ids))
        .order_by(Candidate.id)
    ).all()
    return [(row[0], _rank_text_of(row[1:])) for row in rows]


def write_scores(
    session: Session, scores: Sequence[tuple[int, float, list[Any]]], *, now: dt.datetime
) -> None:
    """Set (candidate id, score, reasons), scored at ``now``, without touching status or
    version."""
    if not scores:
        return
    table = cast(Table, Candidate.__table__)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("cid"))
        .values(score=bindparam("s"), score_reasons=bindparam("r"), scored_at=now)
    )
    session.execute(
        stmt, [{"cid": cid, "s": score, "r": reasons} for cid, score, reasons in scores]
    )


def scored_by(session: Session, topic: str) -> str | None:
    """The fingerprint of the scorer that last scored the topic's whole queue."""
    return session.scalar(select(RankingState.scorer).where(RankingState.topic == topic))


def set_scored_by(session: Session, topic: str, scorer: str, *, now: dt.datetime) -> None:
    """Record that ``scorer`` (a fingerprint) has scored the topic's whole queue."""
    row = session.get(RankingState, topic)
    if row is None:
        session.add(RankingState(topic=topic, scorer=scorer, scored_at=now))
    else:
        row.scorer, row.scored_at = scorer, now
    session.flush()


def save_model(
    session: Session,
    topic: str,
    *,
    model_json: str,
    accepted: int,
    rejected: int,
    evaluation: Evaluation | None,
    decisions_seen: int,
    trigger: str,
    now: dt.datetime,
) -> int:
    """Store a newly trained model of ``topic`` as its next version; the version."""
    last = session.scalar(
        select(func.max(RankingModelRow.version)).where(RankingModelRow.topic == topic)
    )
    version = (last or 0) + 1
    session.add(
        RankingModelRow(
            topic=topic,
            version=version,
            trained_at=now,
            accepted=accepted,
            rejected=rejected,
            decisions_seen=decisions_seen,
            trigger=trigger,
            evaluation=evaluation.to_json() if evaluation else None,
            model=model_json,
        )
    )
    session.execute(
        delete(RankingModelRow).where(
            RankingModelRow.topic == topic, RankingModelRow.version <= version - KEEP_VERSIONS
        )
    )
    session.flush()
    return version


def model_info(session: Session, topic: str) -> ModelInfo | None:
    """The topic's latest model's details (not the model), or None when it has none."""
    row = session.execute(
        select(
            RankingModelRow.version,
            RankingModelRow.trained_at,
            RankingModelRow.accepted,
            RankingModelRow.rejected,
            RankingModelRow.decisions_seen,
            RankingModelRow.trigger,
            RankingModelRow.evaluation,
        )
        .where(RankingModelRow.topic == topic)
        .order_by(RankingModelRow.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return ModelInfo(
        topic=topic,
        version=row.version,
        trained_at=row.trained_at,
        accepted=row.accepted,
        rejected=row.rejected,
        decisions_seen=row.decisions_seen,
        trigger=row.trigger,
        evaluation=Evaluation.from_json(row.evaluation),
    )


def latest_model_json(session: Session, topic: str) -> str | None:
    """The topic's latest stored model, as JSON."""
    return session.scalar(
        select(RankingModelRow.model)
        .where(RankingModelRow.topic == topic)
        .order_by(RankingModelRow.version.desc())
        .limit(1)
    )


def score_reasons(session: Session, candidate_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The stored reasons of these candidates' scores."""
    if not candidate_ids:
        return {}
    rows = session.execute(
        select(Candidate.id, Candidate.score_reasons).where(Candidate.id.in_(list(candidate_ids)))
    )
    return {cid: reasons for cid, reasons in rows if reasons}
