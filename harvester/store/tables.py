"""SQLAlchemy 2 typed models of the data model (see the README's "Data model").

Only ``harvester.store`` modules import this. Times are stored in UTC and come back aware.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from harvester.core.models import FIELD_LIMITS
from harvester.store.base import NAMING as NAMING
from harvester.store.base import Base as Base
from harvester.store.base import CompressedBytes as CompressedBytes
from harvester.store.base import UTCDateTime as UTCDateTime
from harvester.store.base import compress_raw as compress_raw
from harvester.store.base import decompress_raw as decompress_raw
from harvester.store.base import utcnow as utcnow
from harvester.store.tables_people import ApiToken as ApiToken
from harvester.store.tables_people import LoginAttempt as LoginAttempt
from harvester.store.tables_people import OneTimeToken as OneTimeToken
from harvester.store.tables_people import TopicChange as TopicChange
from harvester.store.tables_people import TopicRecord as TopicRecord
from harvester.store.tables_people import TopicRole as TopicRole
from harvester.store.tables_people import User as User
from harvester.store.tables_people import WebSession as WebSession


class Work(Base):
    """One real-world article or news story after dedupe."""

    __tablename__ = "work"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="article")
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column(default=list)
    journal: Mapped[str | None] = mapped_column(Text)
    journal_iso: Mapped[str | None] = mapped_column(Text)
    volume: Mapped[str | None] = mapped_column(Text)
    issue: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[str | None] = mapped_column(Text)
    elocation: Mapped[str | None] = mapped_column(Text)
    pub_year: Mapped[int | None] = mapped_column(Integer, index=True)
    pub_date: Mapped[dict[str, Any] | None] = mapped_column()
    published_at: Mapped[dt.datetime | None] = mapped_column()
    #: When a PubMed deletion notice (``<DeleteCitation>``) named this work; None otherwise.
    deleted_at: Mapped[dt.datetime | None] = mapped_column()
    date_is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    entrez_date: Mapped[dt.date | None] = mapped_column(Date)
    # not indexed: a work is found by its DOI or PMID through WorkIdentity
    doi: Mapped[str | None] = mapped_column(String(FIELD_LIMITS["doi"]))
    pmid: Mapped[str | None] = mapped_column(String(16))
    pmcid: Mapped[str | None] = mapped_column(String(FIELD_LIMITS["pmcid"]))
    url: Mapped[str | None] = mapped_column(Text)
    abstract: Mapped[list[Any]] = mapped_column(default=list)
    summary_html: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(Text)
    publication_types: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(FIELD_LIMITS["language"]))
    mesh: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    relations: Mapped[list[Any]] = mapped_column(default=list)
    # dedupe: the normalised title (a news headline without its site suffix)
    title_key: Mapped[str] = mapped_column(Text, default="")
    # what dedupe compares a hit with: the work's Keys (harvester.core.dedupe.match.Keys.to_json), the title
    # keys of its sightings and its URL identities, kept here so that a lookup reads one column
    # instead of re-normalising every sighting (see harvester.core.ingest.workkeys); null: not yet built
    dedupe_keys: Mapped[dict[str, Any] | None] = mapped_column()
    # which source gave the bibliographic fields, and how much it is trusted (higher wins)
    metadata_source: Mapped[str] = mapped_column(String(64))
    metadata_rank: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # when the bibliographic fields last changed: set by the ingest path, not on every write
    # (a new sighting rewrites dedupe_keys without changing the record)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[WorkIdentity]] = relationship(
        back_populates="work", cascade="all, delete-orphan"
    )
    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="work", cascade="all, delete-orphan", order_by="Sighting.id"
    )
    candidates: Mapped[list[Candidate]] = relationship(back_populates="work")


class WorkIdentity(Base):
    """An exact identity key of a work (doi, pmid, pmcid, url): unique across all works."""

    __tablename__ = "work_identity"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(512))

    work: Mapped[Work] = relationship(back_populates="identities")


class WorkKey(Base):
    """A blocking key of a work (see harvester.core.dedupe.match): a hit is compared only with the works
    that share one of its keys. A work has several (title start, title end, first author + year,
    for each title it was seen under)."""

    __tablename__ = "work_key"
    # the unique (work_id, key) index also serves lookups by work_id alone; the index on key
    # serves a block and, in bytes order on either database, a range of them
    # (harvester.store.ingest_load._blocks). On PostgreSQL migration 0018 builds it with the
    # text_pattern_ops operator class; it is not named here, where naming it would load
    # SQLAlchemy's PostgreSQL dialect at every start of every command, on SQLite too.
    __table_args__ = (UniqueConstraint("work_id", "key"), Index("ix_work_key_key", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(160))


class WorkLink(Base):
    """Two works kept apart but related: preprint and published version, erratum and original."""

    __tablename__ = "work_link"
    __table_args__ = (UniqueConstraint("work_id", "other_id", "relation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkMergeRecord(Base):
    """Two works made one (a bridging record showed them to be one article): ``merged_id`` joined
    ``work_id``. ``record`` says what moved, so the merge can be undone (harvester.store.merges);
    the merged work's row stays, empty of sightings, identities and candidates, until then."""

    __tablename__ = "work_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column()
    undone_by: Mapped[str | None] = mapped_column(String(255))


class Sighting(Base):
    """One source's record of a work: which source, query or feed, and when it was seen."""

    __tablename__ = "sighting"
    __table_args__ = (
        UniqueConstraint("source", "source_id", "origin"),
        # the queue's source filter lists a topic's sources (harvester.store.candidates)
        Index("ix_sighting_topic_source", "topic", "source"),
        # a work's sightings, and a work's sightings by one source (a feed entry re-issued under
        # a new id is looked for among them): with work_id alone SQLite's planner prefers the
        # unique index above on "source = ?", which reads every sighting of that source
        Index("ix_sighting_work_source", "work_id", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    topic: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(FIELD_LIMITS["source_id"]))
    origin: Mapped[str] = mapped_column(String(FIELD_LIMITS["origin"]), default="")
    matched_rule: Mapped[str | None] = mapped_column(String(FIELD_LIMITS["matched_rule"]))
    match_reason: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # the source's own record, compressed (a PubMed record's XML shrinks to about a sixth)
    # (deferred: read, and decompressed, only when asked for, not with every loaded sighting)
    raw: Mapped[bytes | None] = mapped_column(CompressedBytes, deferred=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    work: Mapped[Work] = relationship(back_populates="sightings")


class Candidate(Base):
    """A work in one topic's review queue, with its own status there."""

    __tablename__ = "candidate"
    __table_args__ = (
        UniqueConstraint("topic", "work_id"),
        Index("ix_candidate_topic_status", "topic", "status"),
        # keyset pagination of a topic's queue, newest first, with or without a status filter
        Index("ix_candidate_topic_created", "topic", "created_at", "id"),
        Index("ix_candidate_topic_status_created", "topic", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    section: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    # the reviewer's edited summary, shown in the bulletin instead of the abstract
    summary: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column()
    # what moved the score most: [[label, weight], ...] (harvester.core.ranking.Reason)
    score_reasons: Mapped[list[Any] | None] = mapped_column()
    # when the score was written: a work changed since is scored again (RankingState)
    scored_at: Mapped[dt.datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # why it was rejected (one of the topic's reasons, or free text)
    reason: Mapped[str | None] = mapped_column(String(255))
    # bumped by every ORM update of the row; a decision names the version its reviewer saw
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it

    work: Mapped[Work] = relationship(back_populates="candidates")
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan", order_by="Decision.id"
    )


class RankingModelRow(Base):
    """A topic's learned ranking model: its version, when and on how many decisions it was
    trained, how it did on held-out decisions, and the model itself as JSON (never a pickle)."""

    __tablename__ = "ranking_model"
    __table_args__ = (UniqueConstraint("topic", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[dt.datetime] = mapped_column()
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    # the topic's decision rows when it was trained: "every N decisions" counts from here
    decisions_seen: Mapped[int] = mapped_column(Integer, default=0)
    trigger: Mapped[str] = mapped_column(String(32), default="")
    evaluation: Mapped[dict[str, Any] | None] = mapped_column()
    model: Mapped[str] = mapped_column(Text)


class RankingState(Base):
    """Which scorer wrote a topic's queue scores: a fingerprint of its learned model, or of its
    phrases and the cold-start weights. A ranking by the same scorer scores only the candidates
    without a score and those whose work changed since (``Candidate.scored_at``)."""

    __tablename__ = "ranking_state"

    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    scorer: Mapped[str] = mapped_column(String(128))
    scored_at: Mapped[dt.datetime] = mapped_column()


class Decision(Base):
    """The audit trail: every status change of a candidate."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)

    candidate: Mapped[Candidate] = relationship(back_populates="decisions")


class Run(Base):
    """One harvest of one source for one topic."""

    __tablename__ = "run"
    __table_args__ = (Index("ix_run_topic_source", "topic", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new_works: Mapped[int] = mapped_column(Integer, default=0)
    new_candidates: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[dt.datetime | None] = mapped_column()
    window_end: Mapped[dt.datetime | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class HarvestProblem(Base):
    """A harvest problem of one topic's source (a search, or one feed), open until its cause
    goes away (``harvester.core.health`` says which hold after each run)."""

    __tablename__ = "harvest_problem"
    __table_args__ = (Index("ix_harvest_problem_topic_source", "topic", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    runs: Mapped[int] = mapped_column(Integer, default=1)


class WorkNotice(Base):
    """A notice about a work the retraction watch found: retracted, an expression of concern,
    a correction (``harvester.core.retraction``)."""

    __tablename__ = "work_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Watermark(Base):
    """Where the next incremental run of a topic's source starts."""

    __tablename__ = "watermark"
    __table_args__ = (UniqueConstraint("topic", "source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128), default="")
    value: Mapped[dt.datetime] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FeedState(Base):
    """Per topic and feed: conditional-GET validators, schedule and error state."""

    __tablename__ = "feed_state"
    __table_args__ = (UniqueConstraint("topic", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str | None] = mapped_column(String(255))
    final_url: Mapped[str | None] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_fetched_at: Mapped[dt.datetime | None] = mapped_column()
    last_success_at: Mapped[dt.datetime | None] = mapped_column()
    next_check_at: Mapped[dt.datetime | None] = mapped_column()
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[dt.datetime | None] = mapped_column()


class Bulletin(Base):
    """A drafted or published bulletin of one topic."""

    __tablename__ = "bulletin"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    period_from: Mapped[dt.date | None] = mapped_column(Date)
    period_to: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column()
    # the settings it was rendered with (harvester.core.bulletin.BulletinDoc.settings_dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    entries: Mapped[list[BulletinEntry]] = relationship(
        back_populates="bulletin", cascade="all, delete-orphan", order_by="BulletinEntry.position"
    )


class BulletinEntry(Base):
    """One item of a bulletin, in order within its section."""

    __tablename__ = "bulletin_entry"
    __table_args__ = (UniqueConstraint("bulletin_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletin.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"))
    section: Mapped[str | None] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[str | None] = mapped_column(Text)
    # removed from the draft by a reviewer: kept so that refreshing the draft does not add it back
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    # once published: the entry's frozen citation data (BulletinItem.to_dict), for re-rendering
    data: Mapped[dict[str, Any] | None] = mapped_column()

    bulletin: Mapped[Bulletin] = relationship(back_populates="entries")


class Digest(Base):
    """A weekly digest sent (or held in the outbox) for one topic."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("topic", "iso_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    iso_week: Mapped[str] = mapped_column(String(10))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="outbox")
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()


class SchedulerLease(Base):
    """Which process owns the scheduler of this database, until when (renewed while alive)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()


class JobRun(Base):
    """One execution of a scheduled job (harvest or digest) by a service process."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    owner: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
