"""``harvester topic``: checking a topic against what a past bulletin carried."""

from __future__ import annotations

from pathlib import Path

import click

from harvester.cli.base import App, HarvesterGroup, pass_app


@click.group(cls=HarvesterGroup)
def topic() -> None:
    """Topics: check one against a past bulletin."""


@topic.command("check")
@click.option("--topic", "topic_slug", required=True, help="The topic to check (slug).")
@click.option(
    "--against",
    "file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A past bulletin's items: RIS, CSL-JSON, PubMed XML or MEDLINE.",
)
@pass_app
def topic_check(app: App, topic_slug: str, file: Path) -> None:
    """Say, for each item of a past bulletin, whether the topic's PubMed query, Europe PMC query
    or news phrases would have caught it, and why not."""
    from harvester.usecases.topic_check import check_topic, summary

    chosen = app.topics.get(topic_slug)
    checks = check_topic(chosen, file, app.settings)
    for check in checks:
        for line in check.lines():
            click.echo(line)
    click.echo(summary(checks))
