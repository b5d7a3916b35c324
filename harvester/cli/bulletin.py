"""``harvester bulletin ...``: draft, publish, list and re-render bulletins (registered on the
main command group by :mod:`harvester.cli.main`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harvester.render.formats import BINARY_FORMATS, FORMATS

if TYPE_CHECKING:
    from harvester.cli.base import App

DATE = click.DateTime(formats=["%Y-%m-%d"])
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), required=True, help="Output format."
)
OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output, text formats only).",
)


@click.group()
def bulletin() -> None:
    """Draft, publish and list evidence bulletins."""


def _write(data: bytes, fmt: str, output: Path | None) -> None:
    if output is None:
        if fmt in BINARY_FORMATS:
            raise click.UsageError(f"{fmt} output needs -o FILE")
        sys.stdout.write(data.decode("utf-8"))
        return
    from harvester.cli.base import output_file

    with output_file(output, None) as out:
        out.write(data)


@bulletin.command("draft")
@click.option("--topic", "topic_slug", required=True, help="The topic (slug).")
@click.option(
    "--period",
    help='The period printed under the title, e.g. "October–November 2024" (kept with the '
    'draft; "" goes back to the default: the span of the entries\' publication dates).',
)
@click.option(
    "--from",
    "start",
    type=DATE,
    help="Only items accepted on or after this day (a filter on the acceptance date).",
)
@click.option(
    "--to",
    "end",
    type=DATE,
    help="Only items accepted on or before this day (a filter on the acceptance date).",
)
@FORMAT
@OUTPUT
@click.pass_obj
def draft_command(
    app: App,
    topic_slug: str,
    period: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Draft the topic's next bulletin and write it as FORMAT.

    The draft holds every accepted item not yet published (refreshed each time); its period is
    set with --period, else the span of the entries' publication dates."""
    from harvester.config.settings import select_topics
    from harvester.render.formats import render
    from harvester.usecases.bulletin.workflow import draft

    topic = select_topics(app.topics.all(), topic_slug)[0]
    result = draft(
        app.database(),
        topic,
        start=start.date() if start else None,
        end=end.date() if end else None,
        period=period,
        now=dt.datetime.now(dt.UTC),
    )
    doc = result.doc
    _write(render(doc, fmt), fmt, output)
    click.echo(
        f"draft bulletin {result.bulletin_id} of {topic.slug}: {len(doc.items)} entries, "
        f"{doc.period or 'no period'}",
        err=True,
    )
    if result.left_out:
        click.echo(
            f"{result.left_out} accepted items left out: accepted outside --from/--to",
            err=True,
        )


@bulletin.command("publish")
@click.option("--topic", "topic_slug", required=True, help="The topic (slug).")
@click.option(
    "--yes", is_flag=True, help="Publish without asking (needed when not run on a terminal)."
)
@click.pass_obj
def publish_command(app: App, topic_slug: str, yes: bool) -> None:
    """Publish the topic's draft: its entries are marked published and leave the queue. This
    cannot be undone, so on a terminal it asks first; elsewhere it needs --yes."""
    from harvester.config.settings import select_topics
    from harvester.core.errors import BulletinError
    from harvester.usecases.bulletin.workflow import draft_doc, publish

    topic = select_topics(app.topics.all(), topic_slug)[0]
    database = app.database()
    bulletin_id, doc = draft_doc(database, topic)
    if doc.items and not yes:
        if not sys.stdin.isatty():
            raise BulletinError(
                "publishing cannot be undone, and there is no terminal to ask on",
                hint="add --yes to publish",
            )
        entries = len(doc.items)
        click.confirm(
            f"Publish draft bulletin {bulletin_id} of {topic.name} ({entries} "
            f"entr{'ies' if entries != 1 else 'y'}, {doc.period or 'no period'})? "
            "Its entries leave the queue; this cannot be undone",
            abort=True,
        )
    view = publish(database, topic, now=dt.datetime.now(dt.UTC))
    click.echo(f"published bulletin {view.id} of {view.topic}: {view.entries} entries")


@bulletin.command("list")
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.pass_obj
def list_command(app: App, topic_slug: str | None) -> None:
    """List bulletins, newest first."""
    from harvester.core.bulletin import period_label
    from harvester.usecases.bulletin.workflow import list_bulletins

    views = list_bulletins(app.database(), topic_slug)
    for view in views:
        when = view.published_at.date().isoformat() if view.published_at else "-"
        period = (
            view.settings.get("period_text")
            or period_label(view.period_from, view.period_to)
            or "-"
        )
        click.echo(
            f"{view.id:>5}  {view.topic}  {view.status:<9}  {when:<10}  {view.entries:>3} entries  "
            f"{period}"
        )
    if not views:
        click.echo("no bulletins")


@bulletin.command("render")
@click.option("--id", "bulletin_id", type=int, required=True, help="A published bulletin's id.")
@FORMAT
@OUTPUT
@click.pass_obj
def render_command(app: App, bulletin_id: int, fmt: str, output: Path | None) -> None:
    """Render a published bulletin again, exactly as it was published."""
    from harvester.render.formats import render
    from harvester.usecases.bulletin.workflow import published_doc

    _write(render(published_doc(app.database(), bulletin_id), fmt), fmt, output)
