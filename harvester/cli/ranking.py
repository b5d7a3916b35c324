"""``harvester rank``: retrain a topic's ranking model and rescore its queue."""

from __future__ import annotations

import datetime as dt

import click

from harvester.cli.base import App, pass_app
from harvester.config.settings import select_topics


@click.command()
@click.option("--topic", "topic_slug", help="Only this topic (slug); default every topic.")
@pass_app
def rank(app: App, topic_slug: str | None) -> None:
    """Retrain the topic's ranking model from its decisions and rescore its queue.

    A topic with 20 accepted (or published) and 20 rejected items gets a model learned from
    them; one with fewer is scored by its phrases, publication types and sources. Scores only
    order the queue: no status changes.
    """
    from harvester.usecases.ranking import rank_topic

    topics = select_topics(app.topics.all(), topic_slug)
    database = app.database()
    for topic in topics:
        outcome = rank_topic(
            database, topic, now=dt.datetime.now(dt.UTC), trigger="on demand", everything=True
        )
        click.echo(outcome.line())
