"""Commands of the service: ``digest send``, ``schedule list`` and ``schedule run JOB``."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from zoneinfo import ZoneInfo

import click

from harvester.cli.base import App, HarvesterGroup, pass_app
from harvester.config.settings import select_topics
from harvester.core.digest import parse_week
from harvester.core.errors import ConfigError


def _week(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_week(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(cls=HarvesterGroup)
def digest() -> None:
    """The weekly digest e-mail of a topic."""


@digest.command("send")
@click.option("--topic", "topic_slug", required=True, help="The topic (slug).")
@click.option("--dry-run", is_flag=True, help="Print the message; send and record nothing.")
@click.option("--week", callback=_week, help="ISO week YYYY-Www (default: this week).")
@pass_app
def digest_send(app: App, topic_slug: str, dry_run: bool, week: str | None) -> None:
    """Compose and send this week's digest (to the outbox folder when no SMTP host is set).

    A week's digest is sent once: a second run says it was already sent."""
    from harvester.usecases.digest_send import send_digest

    topic = select_topics(app.topics.all(), topic_slug)[0]
    outcome = send_digest(
        app.database(),
        app.settings,
        topic,
        now=dt.datetime.now(dt.UTC),
        week=week,
        dry_run=dry_run,
    )
    if outcome.message is not None:
        click.echo(outcome.message.as_string())
    click.echo(outcome.line(), err=dry_run)


@digest.command("status")
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@pass_app
def digest_status(app: App, topic_slug: str | None, limit: int) -> None:
    """Show the latest digests: sent, not sent (and whether they are tried again), or perhaps
    sent (the mail server never confirmed them; they are not sent again automatically)."""
    from harvester.store import digests
    from harvester.usecases.digest_send import describe

    if topic_slug is not None:
        app.check_topic(topic_slug)
    with app.database().read() as session:
        records = digests.recent(session, topic=topic_slug, limit=limit)
    for record in records:
        click.echo(f"{record.topic}  {record.week}  {describe(record)}")
    if not records:
        click.echo("no digest has been sent yet")


@click.group(cls=HarvesterGroup)
def schedule() -> None:
    """The service's scheduled jobs."""


@schedule.command("list")
@pass_app
def schedule_list(app: App) -> None:
    """Show each job with its schedule and next run time."""
    from harvester.service.schedule import stored_jobs, wanted_jobs
    from harvester.store import lease

    settings = app.settings
    database = app.database()
    specs = wanted_jobs(app.topics.all(), settings)
    stored = stored_jobs(database, settings)
    tz = ZoneInfo(settings.timezone)
    now = dt.datetime.now(tz)
    for spec in specs:
        if spec.id in stored:
            when = stored[spec.id]
            next_run = when.astimezone(tz).isoformat(timespec="seconds") if when else "paused"
        else:
            upcoming = spec.trigger().get_next_fire_time(None, now)
            next_run = f"{upcoming.isoformat(timespec='seconds')} (once the service runs)"
        click.echo(f"{spec.id:<32} {spec.name:<36} next {next_run}")
    for job_id in sorted(set(stored) - {spec.id for spec in specs}):
        click.echo(f"{job_id:<32} (no longer in the topic files; removed when the service reloads)")
    with database.read() as session:
        holder = lease.holder(session)
    if holder is None or holder.expires_at < dt.datetime.now(dt.UTC):
        click.echo("scheduler: no service owns it now")
    else:
        click.echo(f"scheduler: owned by {holder.owner}")


@schedule.command("run")
@click.argument("job_id", metavar="JOB")
@pass_app
def schedule_run(app: App, job_id: str) -> None:
    """Run one job now in this process (e.g. harvest:social-prescribing, digest:..., digest-retry)."""
    from harvester.service.schedule import JobContext, install, run_job, wanted_jobs

    settings = app.settings
    known = [spec.id for spec in wanted_jobs(app.topics.all(), settings)]
    if job_id not in known:
        raise ConfigError(f"unknown job {job_id!r} (jobs: {', '.join(known)})")
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    install(JobContext(settings=settings, db=app.database(), owner=owner))
    try:
        status = run_job(job_id)
    finally:
        install(None)
    reason = None
    if status != "ok":
        from harvester.store import lease

        with app.database().read() as session:
            latest = lease.recent_jobs(session, limit=1)
        if latest and latest[0].job_id == job_id and latest[0].error:
            reason = latest[0].error
    click.echo(f"{job_id}: {status}" + (f" ({reason})" if reason else ""))
    if status == "failed":
        sys.exit(1)
