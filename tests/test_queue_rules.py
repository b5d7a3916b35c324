"""The queue's rules, pure: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from harvester.core import queue_rules
from harvester.core.errors import ConflictError, QueueError
from harvester.core.models import CandidateStatus as S
from harvester.core.queue_rules import CandidateState, LastDecision

NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)


def state(status: S = S.NEW, version: int = 1) -> CandidateState:
    return CandidateState(id=7, status=status, version=version)


@pytest.mark.parametrize("to", [S.ACCEPTED, S.REJECTED, S.DEFERRED])
def test_a_reviewer_moves_a_new_candidate(to: S) -> None:
    intent = queue_rules.decide(state(), to, actor="ann@example.org", at=NOW, seen_version=1)
    assert (intent.from_status, intent.to_status, intent.version) == (S.NEW, to, 1)
    assert intent.actor == "ann@example.org" and intent.at == NOW


def test_a_reviewer_may_change_their_mind_but_never_publishes() -> None:
    assert queue_rules.can_move(S.REJECTED, S.ACCEPTED)
    assert queue_rules.can_move(S.DEFERRED, S.NEW)
    assert not queue_rules.can_move(S.ACCEPTED, S.PUBLISHED)
    assert queue_rules.can_move(S.ACCEPTED, S.PUBLISHED, publish=True)
    assert not queue_rules.can_move(S.NEW, S.PUBLISHED, publish=True)
    for to in S:
        assert not queue_rules.can_move(S.PUBLISHED, to)
    with pytest.raises(QueueError, match="cannot move from published"):
        queue_rules.decide(state(S.PUBLISHED), S.REJECTED, actor="a", at=NOW, seen_version=1)
    with pytest.raises(QueueError, match="cannot move from new to new"):
        queue_rules.decide(state(), S.NEW, actor="a", at=NOW, seen_version=1)


def test_a_stale_version_is_a_conflict() -> None:
    with pytest.raises(ConflictError, match="changed while you were looking"):
        queue_rules.decide(state(S.ACCEPTED, 3), S.REJECTED, actor="a", at=NOW, seen_version=2)


def test_section_only_when_accepting_and_from_the_topic_list() -> None:
    intent = queue_rules.decide(
        state(), S.ACCEPTED, actor="a", at=NOW, seen_version=1, section=" News ", sections=("News",)
    )
    assert intent.section == "News"
    with pytest.raises(QueueError, match="unknown bulletin section"):
        queue_rules.decide(
            state(), S.ACCEPTED, actor="a", at=NOW, seen_version=1, section="X", sections=("News",)
        )
    with pytest.raises(QueueError, match="only when accepting"):
        queue_rules.decide(state(), S.REJECTED, actor="a", at=NOW, seen_version=1, section="News")


def test_reason_only_when_rejecting_and_cleared_when_leaving_rejected() -> None:
    intent = queue_rules.decide(
        state(), S.REJECTED, actor="a", at=NOW, seen_version=1, reason="Off topic"
    )
    assert intent.reason == "Off topic" and not intent.clear_reason
    with pytest.raises(QueueError, match="only when rejecting"):
        queue_rules.decide(state(), S.DEFERRED, actor="a", at=NOW, seen_version=1, reason="x")
    back = queue_rules.decide(state(S.REJECTED), S.ACCEPTED, actor="a", at=NOW, seen_version=1)
    assert back.clear_reason
    with pytest.raises(QueueError, match="too long"):
        queue_rules.decide(state(), S.REJECTED, actor="a", at=NOW, seen_version=1, reason="x" * 300)


def test_blank_actor_refused() -> None:
    with pytest.raises(QueueError, match="who made it"):
        queue_rules.decide(state(), S.ACCEPTED, actor=" ", at=NOW, seen_version=1)


def test_undo_goes_back_to_where_the_last_decision_found_it() -> None:
    last = LastDecision(id=4, actor="a", from_status=S.NEW, to_status=S.REJECTED)
    intent = queue_rules.undo(state(S.REJECTED, 2), last, actor="b", at=NOW, seen_version=2)
    assert (intent.from_status, intent.to_status, intent.undo_of) == (S.REJECTED, S.NEW, 4)
    assert intent.clear_reason and intent.note == "undo"


def test_undo_refuses_the_creating_row_a_mismatch_and_a_stale_view() -> None:
    created = LastDecision(id=1, actor="harvester", from_status=None, to_status=S.NEW)
    with pytest.raises(QueueError, match="no decision has been made on this item"):
        queue_rules.undo(state(), created, actor="a", at=NOW, seen_version=1)
    with pytest.raises(QueueError, match="no decision has been made on this item"):
        queue_rules.undo(state(), None, actor="a", at=NOW, seen_version=1)
    other = LastDecision(id=2, actor="a", from_status=S.NEW, to_status=S.ACCEPTED)
    with pytest.raises(QueueError, match="last decision has been replaced since"):
        queue_rules.undo(state(S.REJECTED), other, actor="a", at=NOW, seen_version=1)
    with pytest.raises(ConflictError):
        queue_rules.undo(state(S.ACCEPTED, 5), other, actor="a", at=NOW, seen_version=4)
    published = LastDecision(id=3, actor="bulletin", from_status=S.ACCEPTED, to_status=S.PUBLISHED)
    with pytest.raises(QueueError, match="cannot go back"):
        queue_rules.undo(state(S.PUBLISHED), published, actor="a", at=NOW, seen_version=1)


def test_imports_only_move_forward() -> None:
    assert queue_rules.import_may_move(S.NEW, S.PUBLISHED)
    assert queue_rules.import_may_move(S.DEFERRED, S.ACCEPTED)
    assert queue_rules.import_may_move(S.ACCEPTED, S.PUBLISHED)
    assert not queue_rules.import_may_move(S.REJECTED, S.ACCEPTED)
    assert not queue_rules.import_may_move(S.ACCEPTED, S.REJECTED)
    assert not queue_rules.import_may_move(S.PUBLISHED, S.NEW)
    assert not queue_rules.import_may_move(S.NEW, S.DEFERRED)


def test_edit_text_strips_blank_and_refuses_long() -> None:
    assert queue_rules.edit_text("  a\nb  ", what="summary") == "a\nb"
    assert queue_rules.edit_text("   ", what="note") is None
    with pytest.raises(QueueError, match="too long"):
        queue_rules.edit_text("x" * 5000, what="note")


def test_admit_creates_from_nothing() -> None:
    intent = queue_rules.admit(S.PUBLISHED, actor="import", at=NOW)
    assert (intent.from_status, intent.to_status, intent.actor) == (None, S.PUBLISHED, "import")


@pytest.mark.parametrize(
    ("current", "wanted", "moves"),
    [
        (S.NEW, S.ACCEPTED, True),
        (S.DEFERRED, S.PUBLISHED, True),
        (S.ACCEPTED, S.PUBLISHED, True),
        (S.ACCEPTED, S.REJECTED, False),  # a human decision is never undone by an import
        (S.REJECTED, S.ACCEPTED, False),
        (S.PUBLISHED, S.NEW, False),
        (S.NEW, S.NEW, False),
    ],
)
def test_import_moves_only_forward(current: S, wanted: S, moves: bool) -> None:
    intent = queue_rules.import_move(state(current, 4), wanted, actor="import", at=NOW)
    if not moves:
        assert intent is None
        return
    assert intent is not None
    assert (intent.from_status, intent.to_status, intent.version) == (current, wanted, 4)


def test_publish_only_accepted() -> None:
    intent = queue_rules.publish(state(S.ACCEPTED, 2), actor="editor", at=NOW)
    assert (intent.from_status, intent.to_status, intent.version) == (S.ACCEPTED, S.PUBLISHED, 2)
    for status in (S.NEW, S.REJECTED, S.DEFERRED, S.PUBLISHED):
        with pytest.raises(QueueError):
            queue_rules.publish(state(status), actor="editor", at=NOW)


def test_edit_keeps_the_status_and_checks_the_version() -> None:
    intent = queue_rules.edit(state(S.DEFERRED, 3), "note", actor="a", at=NOW, seen_version=3)
    assert (intent.from_status, intent.to_status, intent.note) == (
        S.DEFERRED,
        S.DEFERRED,
        "edited note",
    )
    with pytest.raises(ConflictError):
        queue_rules.edit(state(S.DEFERRED, 3), "note", actor="a", at=NOW, seen_version=2)
