"""Send one topic's weekly digest, at most once per ISO week (shared by the CLI and the scheduler).

Order of work, and why:

1. read what the week brought and compose the message (its Message-ID is stable per week);
2. commit a digest row with status ``sending`` and that Message-ID (:func:`store.digests.claim`);
   a week whose row exists and is not ``failed`` is not sent again;
3. hand the message to SMTP (or write it to the outbox);
4. commit ``sent``/``outbox``, or ``failed`` with the error (the retry job takes it again, up to
   :data:`~harvester.store.digests.MAX_ATTEMPTS` attempts in all), or ``unconfirmed`` when the
   server had the whole message but its answer never came.

A crash between 3 and 4 leaves ``sending``: the message may have left, so, like an
``unconfirmed`` one, it is never re-sent automatically (at most once). A crash between 2 and 3 loses that week's digest, which is the price of the
same rule; the row, its Message-ID and the log say what happened.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from harvester.config.settings import Settings, Topic
from harvester.core.digest import DigestData, Envelope, iso_week, week_start
from harvester.core.errors import ConfigError, MailError, MailUncertain
from harvester.mail.digest import compose, message_id
from harvester.mail.smtp import deliver
from harvester.store import digests as store
from harvester.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    topic: str
    week: str
    status: str  # sent | outbox | empty | already | dry-run | failed | unconfirmed
    items: int
    message_id: str | None = None
    where: str | None = None
    error: str | None = None
    message: EmailMessage | None = None

    def line(self) -> str:
        head = f"{self.topic} digest {self.week}"
        if self.status == "sent":
            return f"{head}: sent to {self.where} ({self.items} new, {self.message_id})"
        if self.status == "outbox":
            return f"{head}: no SMTP host set, written to {self.where} ({self.items} new)"
        if self.status == "empty":
            return f"{head}: nothing new, and the topic sends no empty digest"
        if self.status == "already":
            return f"{head}: {self.error}; not sent again"
        if self.status == "dry-run":
            return f"{head}: dry run, {self.items} new, nothing sent or recorded"
        if self.status == "unconfirmed":
            return f"{head}: {self.error}; not sent again automatically"
        return f"{head}: not sent ({self.error})"


def gather(
    db: Database, settings: Settings, topic: Topic, week: str, *, now: dt.datetime
) -> DigestData:
    """What ``topic``'s digest for ``week`` reports."""
    tz = ZoneInfo(settings.timezone)
    start = week_start(week, tz)
    current = iso_week(now.astimezone(tz).date()) == week
    until = now if current or start > now else start + dt.timedelta(days=7)
    with db.read() as session:
        since = store.previous_digest_time(session, topic=topic.slug, week=week)
        if since is None or since >= until:
            since = until - dt.timedelta(days=7)
        report = store.week_report(session, topic=topic.slug, since=since, until=until)
        feeds, runs, silent = store.problems(
            session, topic=topic.slug, since=until - dt.timedelta(days=7), until=until
        )
        notices = store.notice_lines(session, topic=topic.slug, since=until - dt.timedelta(days=7))
        health = store.health_problems(
            session, topic=topic.slug, since=until - dt.timedelta(days=7)
        )
    return DigestData(
        topic=topic.slug,
        topic_name=topic.name,
        week=week,
        since=since,
        until=until,
        counts=report.counts,
        items=tuple(report.items),
        outcomes=report.outcomes,
        waiting_counts=report.waiting_counts,
        feed_problems=feeds,
        run_problems=runs,
        silent=silent,
        health=health,
        notices=notices,
    )


def envelope_for(settings: Settings, topic: Topic) -> Envelope:
    if not topic.digest.recipients:
        where = topic.path or topic.slug
        raise ConfigError(f"{where}: [digest] recipients is empty; nobody to send the digest to")
    return Envelope(
        sender=settings.smtp.sender,
        recipients=tuple(topic.digest.recipients),
        base_url=settings.web.base_url,
        subject=topic.digest.subject,
        timezone=ZoneInfo(settings.timezone),
    )


def send_digest(
    db: Database,
    settings: Settings,
    topic: Topic,
    *,
    now: dt.datetime,
    week: str | None = None,
    dry_run: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    after_send: Callable[[], None] | None = None,
) -> DigestOutcome:
    """Compose and send (or outbox) ``topic``'s digest for ``week`` (default: this week).

    ``after_send`` runs between handing the message over and recording it (tests inject a crash
    there). A failed send is recorded and raised as MailError.
    """
    tz = ZoneInfo(settings.timezone)
    week = week or iso_week(now.astimezone(tz).date())
    envelope = envelope_for(settings, topic)
    data = gather(db, settings, topic, week, now=now)
    message = compose(data, envelope, now=now)
    mid = message_id(topic.slug, week, envelope.sender)
    if dry_run:
        return DigestOutcome(topic.slug, week, "dry-run", data.total, mid, message=message)
    # An empty week the topic does not mail is recorded as such, so it is decided once too.
    skip = data.total == 0 and not topic.digest.send_empty
    with db.write() as session:
        claimed = store.claim(
            session,
            topic=topic.slug,
            week=week,
            message_id=mid,
            recipients=envelope.recipients,
            item_count=data.total,
            now=now,
            status="empty" if skip else "sending",
        )
    if claimed is None:
        return _already(db, topic.slug, week)
    if skip:
        return DigestOutcome(topic.slug, week, "empty", 0, mid)
    try:
        delivery = deliver(
            message,
            settings.smtp,
            outbox=settings.outbox_dir,
            name=f"digest-{topic.slug}-{week}",
            ssl_context=ssl_context,
        )
    except MailUncertain as exc:
        with db.write() as session:
            store.finish(session, claimed.id, status="unconfirmed", now=now, error=str(exc))
        log.info("%s digest %s may have gone out: %s", topic.slug, week, exc)
        return DigestOutcome(topic.slug, week, "unconfirmed", data.total, mid, error=str(exc))
    except MailError as exc:
        with db.write() as session:
            store.finish(session, claimed.id, status="failed", now=now, error=str(exc))
        if claimed.attempts >= store.MAX_ATTEMPTS:
            exc.hint = (
                f"failed {claimed.attempts} times; no longer retried automatically: "
                f"send it with `harvester digest send --topic {topic.slug} --week {week}`"
            )
        else:
            exc.hint = f"attempt {claimed.attempts} of {store.MAX_ATTEMPTS}; tried again later"
        log.info("%s digest %s not sent: %s; %s", topic.slug, week, exc.message, exc.hint)
        raise
    if after_send is not None:
        after_send()
    with db.write() as session:
        store.finish(session, claimed.id, status=delivery.status, now=now)
    return DigestOutcome(topic.slug, week, delivery.status, data.total, mid, delivery.where)


def _already(db: Database, topic: str, week: str) -> DigestOutcome:
    with db.read() as session:
        record = store.get_digest(session, topic=topic, week=week)
    state = describe(record) if record is not None else "no record of it"
    return DigestOutcome(
        topic, week, "already", 0, record.message_id if record else None, error=state
    )


def describe(record: store.DigestRecord) -> str:
    """A digest's state in the words of the people who receive it."""
    if record.status == "sent":
        when = f" on {record.sent_at:%Y-%m-%d %H:%M} UTC" if record.sent_at else ""
        return f"already sent{when}"
    if record.status == "outbox":
        return "already written to the outbox folder"
    if record.status == "empty":
        return "nothing new that week, and the topic sends no empty digest"
    if record.status == "sending":
        return (
            f"sending was interrupted on {record.created_at:%Y-%m-%d %H:%M} UTC: "
            f"it may have gone out (Message-ID {record.message_id})"
        )
    if record.status == "unconfirmed":
        return (
            f"the mail server never confirmed it: it may have gone out "
            f"(Message-ID {record.message_id}); check with a recipient"
        )
    if record.status == "failed":
        left = store.MAX_ATTEMPTS - record.attempts
        retry = (
            f"tried again automatically ({left} attempt{'s' if left != 1 else ''} left)"
            if left > 0
            else "no longer retried automatically"
        )
        return f"not sent after {record.attempts} attempt{'s' if record.attempts != 1 else ''}: {record.error}; {retry}"
    return record.status
