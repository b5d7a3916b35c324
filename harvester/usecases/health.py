"""Harvest health after each run: the run and its history go to the core's rules, and the store
opens, keeps or closes the topic's problems (see :mod:`harvester.core.health`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from harvester.config.settings import HealthSettings
from harvester.core.health import Limits, check
from harvester.store import health as store

__all__ = ["check_after_run", "limits"]


def limits(settings: HealthSettings) -> Limits:
    return Limits(
        empty_runs=settings.empty_runs,
        change_factor=settings.change_factor,
        min_count=settings.min_count,
        history=settings.history,
        failures=settings.failures,
        churn_ratio=settings.churn_ratio,
        churn_min=settings.churn_min,
    )


def check_after_run(
    session: Session,
    settings: HealthSettings,
    *,
    topic: str,
    source: str,
    run_id: int | None,
    now: dt.datetime,
) -> tuple[int, int]:
    """Judge ``topic``'s ``source`` after a run (in the run's finishing transaction); (problems
    opened, problems closed)."""
    rules = limits(settings)
    depth = max(rules.history, rules.empty_runs * 4, rules.failures) + 1
    runs = store.history(session, topic=topic, source=source, limit=depth)
    findings, judged = check(source, runs, rules)
    return store.sync(
        session,
        topic=topic,
        source=source,
        findings=findings,
        judged=judged,
        run_id=run_id,
        now=now,
    )
