"""``harvester add``: an item found elsewhere, added to a topic's queue by hand with every field
its citation needs (registered on the main command group by :mod:`harvester.cli.main`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from harvester.cli.base import pass_app
from harvester.core.models import CandidateStatus, WorkKind

if TYPE_CHECKING:
    from harvester.cli.base import App

__all__ = ["add"]


@click.command("add")
@click.argument("identifier", required=False, default="")
@click.option("--topic", "topic_slug", required=True, help="The topic (slug).")
@click.option(
    "--status",
    type=click.Choice([s.value for s in CandidateStatus]),
    default=CandidateStatus.NEW.value,
    show_default=True,
    help="The status it enters the queue with.",
)
@click.option("--title", default="", help="The title (required unless found by the identifier).")
@click.option(
    "--author",
    "authors",
    multiple=True,
    help='An author as "Family, Given" (repeat for each; no comma: a group author).',
)
@click.option("--journal", default="", help="The journal's title.")
@click.option("--year", default="", help="The year of publication.")
@click.option("--volume", default="")
@click.option("--issue", default="")
@click.option("--pages", default="", help="Pages (474-9) or article number and pages.")
@click.option("--source", "source_name", default="", help="The news source or byline.")
@click.option("--date", type=click.DateTime(formats=["%Y-%m-%d"]), help="The date published.")
@click.option(
    "--kind",
    type=click.Choice(["article", "news"]),
    help="Article or news (default: an article when it has a journal, DOI or PMID).",
)
@click.option("--summary", default="", help="A summary for the bulletin.")
@pass_app
def add(
    app: App,
    identifier: str,
    topic_slug: str,
    status: str,
    title: str,
    authors: tuple[str, ...],
    journal: str,
    year: str,
    volume: str,
    issue: str,
    pages: str,
    source_name: str,
    date: dt.datetime | None,
    kind: str | None,
    summary: str,
) -> None:
    """Add an item by hand: IDENTIFIER is its DOI, PMID or URL (tracking parameters are taken
    off). It goes through the same dedupe as a harvested record: an item matching a stored work
    (by identifier or title) merges into it."""
    from harvester.core.manual import parse_authors, parse_year
    from harvester.usecases.review import ManualItem, add_item, identifier_lookup

    app.check_topic(topic_slug)
    item = ManualItem(
        title=title,
        identifier=identifier,
        source_name=source_name,
        date=date.date() if date else None,
        summary=summary,
        kind=WorkKind(kind) if kind else None,
        authors=parse_authors(authors),
        journal=journal,
        year=parse_year(year),
        volume=volume,
        issue=issue,
        pages=pages,
    )
    added = add_item(
        app.database(),
        topic_slug,
        item,
        actor="cli",
        now=dt.datetime.now(dt.UTC),
        status=CandidateStatus(status),
        # the operator's own machine: a page on the local network may be looked at too
        lookup=identifier_lookup(app.settings, allow_private_hosts=True) if identifier else None,
    )
    if added.merged:
        click.echo(
            f"candidate {added.candidate_id} ({added.status}): matches a stored work "
            f"({added.reason}); merged into it"
        )
    else:
        click.echo(f"candidate {added.candidate_id} ({added.status}): added")
