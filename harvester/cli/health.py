"""``harvester health``: the open harvest problems, for people and for monitoring."""

from __future__ import annotations

import json
import sys

import click

from harvester.cli.base import App, pass_app
from harvester.store.health import open_problems


@click.command()
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@pass_app
def health(app: App, topic_slug: str | None, as_json: bool) -> None:
    """Open harvest problems: searches that stopped finding records or whose counts jumped,
    service errors, PubMed's record limit, failing, empty or re-issuing feeds. Exits 1 when
    any problem is open (for monitoring), 0 when none is."""
    if topic_slug is not None:
        app.check_topic(topic_slug)
    with app.database().read() as session:
        problems = open_problems(session, topic=topic_slug)
    if as_json:
        click.echo(
            json.dumps(
                {"open": len(problems), "problems": [p.to_json() for p in problems]}, indent=2
            )
        )
    elif not problems:
        click.echo("no open harvest problems")
    else:
        for problem in problems:
            click.echo(f"{problem.topic} {problem.source_label}: {problem.message}")
            click.echo(
                f"  open since {problem.opened_at:%Y-%m-%d %H:%M} UTC, seen in {problem.runs} "
                f"run{'s' if problem.runs != 1 else ''}"
            )
    if problems:
        sys.exit(1)
