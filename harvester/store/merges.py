"""Work-to-work merges and their undo.

When a bridging record shows two stored works to be one article
(:mod:`harvester.core.ingest.bridge`), :func:`merge_works` makes them one: the older work keeps
its id and takes the other's sightings, identities, blocking keys, links and candidates, and its
fields by source rank (:func:`harvester.core.merge.merge_work_fields`). Where both works have a
candidate in one topic, the kept candidate takes the status that says most
(:func:`harvester.core.ingest.bridge.merged_status`, recorded as a decision), the other's decisions
and bulletin entries move to it and the other candidate is removed. Everything that moved is
recorded in a ``work_merge`` row, so that :func:`undo_merge` puts every row back where it was
(candidates, decisions and bulletin entries included). The merged work's row stays, empty, until
then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from harvester.core.errors import ConflictError, NotFoundError
from harvester.core.ingest.bridge import merged_status
from harvester.core.ingest.snapshot import KeysDoc
from harvester.core.ingest.workkeys import work_keys
from harvester.core.merge import MERGED_FIELDS, merge_work_fields
from harvester.core.models import CandidateStatus, WorkKind
from harvester.core.normalise import title_key
from harvester.store.tables import (
    Base,
    BulletinEntry,
    Candidate,
    Decision,
    Sighting,
    Work,
    WorkIdentity,
    WorkKey,
    WorkLink,
    WorkMergeRecord,
)

__all__ = ["MergeView", "merge_views", "merge_works", "merges_of", "undo_merge"]

_FIELDS = (*MERGED_FIELDS, "title_key")


def _t(model: type[Base]) -> Table:
    found = model.__table__
    assert isinstance(found, Table)
    return found


def _dump(value: Any) -> Any:
    """A value as JSON keeps it (dates tagged, to come back as dates)."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def _load(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        return {k: _load(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_load(v) for v in value]
    return value


def _row(session: Session, model: type[Base], row_id: int) -> dict[str, Any]:
    table = _t(model)
    found = session.execute(select(table).where(table.c.id == row_id)).mappings().one()
    return dict(found)


def _work(session: Session, work_id: int) -> dict[str, Any]:
    c = _t(Work).c
    row = (
        session.execute(
            select(*(getattr(c, n) for n in _FIELDS), c.dedupe_keys, c.updated_at).where(
                c.id == work_id
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no work {work_id}")
    return dict(row)


def _ids(session: Session, model: type[Base], work_id: int) -> list[int]:
    c = _t(model).c
    return list(session.scalars(select(c.id).where(c.work_id == work_id).order_by(c.id)))


def _set_work(session: Session, model: type[Base], ids: list[int], work_id: int) -> None:
    if ids:
        c = _t(model).c
        session.execute(update(_t(model)).where(c.id.in_(ids)).values(work_id=work_id))


def merge_works(
    session: Session, into: int, merged: int, *, reason: str, actor: str, at: dt.datetime
) -> int:
    """Make work ``merged`` part of work ``into`` (see the module docstring); the id of the
    merge record."""
    if into == merged:
        raise ConflictError(f"work {into} cannot be merged with itself")
    kept, other = _work(session, into), _work(session, merged)
    record: dict[str, Any] = {
        "work": {n: kept[n] for n in (*_FIELDS, "dedupe_keys", "updated_at")},
        "merged_keys": other["dedupe_keys"],
    }
    # sightings and identities
    record["sightings"] = _ids(session, Sighting, merged)
    _set_work(session, Sighting, record["sightings"], into)
    record["identities"] = _ids(session, WorkIdentity, merged)
    _set_work(session, WorkIdentity, record["identities"], into)
    # blocking keys: the kept work's own stay, the others move
    k = _t(WorkKey).c
    have = set(session.scalars(select(k.key).where(k.work_id == into)))
    moving: list[tuple[int, str]] = []
    dropped: list[tuple[int, str]] = []
    for key_id, key in session.execute(select(k.id, k.key).where(k.work_id == merged)):
        (dropped if key in have else moving).append((key_id, key))
    session.execute(delete(_t(WorkKey)).where(k.id.in_([i for i, _ in dropped])))
    _set_work(session, WorkKey, [i for i, _ in moving], into)
    record["keys_moved"], record["keys_dropped"] = [i for i, _ in moving], [k for _, k in dropped]
    record["links"] = _move_links(session, into, merged)
    record["candidates"] = _move_candidates(session, into, merged, actor=actor, at=at)
    # the kept work's fields and keys
    changes: dict[str, Any] = merge_work_fields(kept, other)
    fields = {**kept, **changes}
    if changes:
        fields["title_key"] = title_key(
            fields["title"], WorkKind(fields["kind"]), fields["source_name"]
        )
        changes["title_key"] = fields["title_key"]
        changes["updated_at"] = at
    changes["dedupe_keys"] = _rebuilt_keys(session, into, fields).to_document()
    session.execute(update(_t(Work)).where(_t(Work).c.id == into).values(**changes))
    session.execute(update(_t(Work)).where(_t(Work).c.id == merged).values(dedupe_keys=None))
    row = WorkMergeRecord(
        work_id=into,
        merged_id=merged,
        reason=reason[:255],
        actor=actor,
        at=at,
        record=_dump(record),
    )
    session.add(row)
    session.flush()
    return row.id


def _rebuilt_keys(session: Session, work_id: int, fields: dict[str, Any]) -> KeysDoc:
    """The work's keys from its fields, its sightings' titles and its URL identities."""
    kind = WorkKind(fields["kind"])
    s, i = _t(Sighting).c, _t(WorkIdentity).c
    titles = session.scalars(select(s.title).where(s.work_id == work_id).order_by(s.id))
    seen = [key for key in dict.fromkeys(title_key(t, kind) for t in titles if t) if key]
    urls = list(
        session.scalars(select(i.value).where(i.work_id == work_id, i.kind == "url").order_by(i.id))
    )
    return KeysDoc(kind.value, tuple(seen), tuple(urls), work_keys(fields, seen, urls))


def _move_links(session: Session, into: int, merged: int) -> dict[str, Any]:
    c = _t(WorkLink).c
    rows = session.execute(
        select(c.id, c.work_id, c.other_id, c.relation, c.created_at).where(
            (c.work_id == merged) | (c.other_id == merged)
        )
    ).all()
    existing = {
        (a, b, rel)
        for a, b, rel in session.execute(
            select(c.work_id, c.other_id, c.relation).where(
                (c.work_id == into) | (c.other_id == into)
            )
        )
    }
    moved, deleted = [], []
    for link_id, a, b, rel, created in rows:
        pair = (into if a == merged else a, into if b == merged else b, rel)
        if pair[0] == pair[1] or pair in existing:
            deleted.append(
                {"id": link_id, "work_id": a, "other_id": b, "relation": rel, "created_at": created}
            )
            session.execute(delete(_t(WorkLink)).where(c.id == link_id))
            continue
        existing.add(pair)
        moved.append({"id": link_id, "work_id": a, "other_id": b})
        session.execute(
            update(_t(WorkLink)).where(c.id == link_id).values(work_id=pair[0], other_id=pair[1])
        )
    return {"moved": moved, "deleted": deleted}


def _move_candidates(
    session: Session, into: int, merged: int, *, actor: str, at: dt.datetime
) -> list[dict[str, Any]]:
    """Move the merged work's candidates; where both works have one in a topic, fold the
    merged one into the kept one (status, decisions, bulletin entries)."""
    c = _t(Candidate).c
    kept: dict[str, int] = {}
    for topic, candidate_id in session.execute(select(c.topic, c.id).where(c.work_id == into)):
        kept[topic] = candidate_id
    done = []
    for topic, candidate_id in session.execute(
        select(c.topic, c.id).where(c.work_id == merged).order_by(c.id)
    ).all():
        if topic not in kept:
            session.execute(update(_t(Candidate)).where(c.id == candidate_id).values(work_id=into))
            done.append({"moved": candidate_id})
            continue
        done.append(_fold_candidate(session, kept[topic], candidate_id, actor=actor, at=at))
    return done


def _fold_candidate(
    session: Session, kept_id: int, other_id: int, *, actor: str, at: dt.datetime
) -> dict[str, Any]:
    kept, other = _row(session, Candidate, kept_id), _row(session, Candidate, other_id)
    entry: dict[str, Any] = {"kept": kept_id, "removed": other, "kept_before": kept}
    d, b = _t(Decision).c, _t(BulletinEntry).c
    entry["decisions"] = list(
        session.scalars(select(d.id).where(d.candidate_id == other_id).order_by(d.id))
    )
    session.execute(
        update(_t(Decision)).where(d.candidate_id == other_id).values(candidate_id=kept_id)
    )
    holding = set(session.scalars(select(b.bulletin_id).where(b.candidate_id == kept_id)))
    entries = (
        session.execute(select(_t(BulletinEntry)).where(b.candidate_id == other_id))
        .mappings()
        .all()
    )
    entry["entries_moved"], entry["entries_removed"] = [], []
    for row in entries:
        if row["bulletin_id"] in holding:
            entry["entries_removed"].append(dict(row))
            session.execute(delete(_t(BulletinEntry)).where(b.id == row["id"]))
        else:
            entry["entries_moved"].append(row["id"])
            session.execute(
                update(_t(BulletinEntry)).where(b.id == row["id"]).values(candidate_id=kept_id)
            )
    session.execute(delete(_t(Candidate)).where(_t(Candidate).c.id == other_id))
    status = merged_status(CandidateStatus(kept["status"]), CandidateStatus(other["status"]))
    if status.value != kept["status"]:
        values = {
            "status": status.value,
            "decided_by": other["decided_by"],
            "decided_at": other["decided_at"],
            "section": kept["section"] or other["section"],
            "reason": other["reason"] if status is CandidateStatus.REJECTED else kept["reason"],
            "version": kept["version"] + 1,
            "updated_at": at,
        }
        session.execute(update(_t(Candidate)).where(_t(Candidate).c.id == kept_id).values(**values))
        session.execute(
            insert(_t(Decision)).values(
                candidate_id=kept_id,
                actor=actor,
                at=at,
                from_status=kept["status"],
                to_status=status.value,
                note=f"works merged: candidate {other_id} was {other['status']}",
            )
        )
    return entry


@dataclass(frozen=True, slots=True)
class MergeView:
    """A work merge as the command line lists it."""

    id: int
    work_id: int
    merged_id: int
    reason: str
    actor: str
    at: dt.datetime
    undone_at: dt.datetime | None
    title: str


def merge_views(session: Session, work_id: int | None = None, limit: int = 100) -> list[MergeView]:
    """The latest merges (of work ``work_id``, when given), newest first."""
    query = select(WorkMergeRecord, Work.title).join(Work, Work.id == WorkMergeRecord.work_id)
    if work_id is not None:
        query = query.where(
            (WorkMergeRecord.work_id == work_id) | (WorkMergeRecord.merged_id == work_id)
        )
    rows = session.execute(query.order_by(WorkMergeRecord.id.desc()).limit(limit)).all()
    return [
        MergeView(m.id, m.work_id, m.merged_id, m.reason, m.actor, m.at, m.undone_at, title)
        for m, title in rows
    ]


def merges_of(session: Session, work_id: int) -> list[WorkMergeRecord]:
    """The merges a work took part in, newest first."""
    return list(
        session.scalars(
            select(WorkMergeRecord)
            .where((WorkMergeRecord.work_id == work_id) | (WorkMergeRecord.merged_id == work_id))
            .order_by(WorkMergeRecord.id.desc())
        )
    )


def undo_merge(session: Session, merge_id: int, *, actor: str, at: dt.datetime) -> None:
    """Put back every row merge ``merge_id`` moved; a later merge of either work must be undone
    first."""
    merge = session.get(WorkMergeRecord, merge_id)
    if merge is None:
        raise NotFoundError(f"no work merge {merge_id}")
    if merge.undone_at is not None:
        raise ConflictError(f"work merge {merge_id} was undone already")
    later = [
        m.id
        for m in merges_of(session, merge.work_id) + merges_of(session, merge.merged_id)
        if m.id > merge.id and m.undone_at is None
    ]
    if later:
        raise ConflictError(
            f"work merge {merge_id}: undo the later merge {min(later)} of these works first"
        )
    into, merged = merge.work_id, merge.merged_id
    record = _load(merge.record)
    for done in reversed(record["candidates"]):
        _unfold_candidate(session, done, merged, actor=actor, at=at)
    c = _t(WorkLink).c
    for link in record["links"]["moved"]:
        session.execute(
            update(_t(WorkLink))
            .where(c.id == link["id"])
            .values(work_id=link["work_id"], other_id=link["other_id"])
        )
    if record["links"]["deleted"]:
        session.execute(insert(_t(WorkLink)), record["links"]["deleted"])
    _set_work(session, WorkKey, record["keys_moved"], merged)
    if record["keys_dropped"]:
        session.execute(
            insert(_t(WorkKey)), [{"work_id": merged, "key": k} for k in record["keys_dropped"]]
        )
    _set_work(session, WorkIdentity, record["identities"], merged)
    _set_work(session, Sighting, record["sightings"], merged)
    w = _t(Work).c
    session.execute(update(_t(Work)).where(w.id == into).values(**record["work"]))
    session.execute(
        update(_t(Work)).where(w.id == merged).values(dedupe_keys=record["merged_keys"])
    )
    merge.undone_at, merge.undone_by = at, actor
    session.flush()


def _unfold_candidate(
    session: Session, done: dict[str, Any], merged: int, *, actor: str, at: dt.datetime
) -> None:
    c = _t(Candidate).c
    if "moved" in done:
        session.execute(update(_t(Candidate)).where(c.id == done["moved"]).values(work_id=merged))
        return
    kept_id, removed, before = done["kept"], done["removed"], done["kept_before"]
    current = _row(session, Candidate, kept_id)
    session.execute(insert(_t(Candidate)).values(**removed))
    d, b = _t(Decision).c, _t(BulletinEntry).c
    if done["decisions"]:
        session.execute(
            update(_t(Decision))
            .where(d.id.in_(done["decisions"]))
            .values(candidate_id=removed["id"])
        )
    if done["entries_moved"]:
        session.execute(
            update(_t(BulletinEntry))
            .where(b.id.in_(done["entries_moved"]))
            .values(candidate_id=removed["id"])
        )
    if done["entries_removed"]:
        session.execute(insert(_t(BulletinEntry)), done["entries_removed"])
    if current["status"] != before["status"]:
        names = ("status", "decided_by", "decided_at", "section", "reason")
        values = {n: before[n] for n in names}
        values.update(version=current["version"] + 1, updated_at=at)
        session.execute(update(_t(Candidate)).where(c.id == kept_id).values(**values))
        session.execute(
            insert(_t(Decision)).values(
                candidate_id=kept_id,
                actor=actor,
                at=at,
                from_status=current["status"],
                to_status=before["status"],
                note="works merge undone",
            )
        )
