"""``harvester merges ...``: list the works that were made one, and undo a merge (registered on
the main command group by :mod:`harvester.cli.main`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from harvester.cli.base import App


@click.group()
def merges() -> None:
    """Works made one because a record showed they are one article; undo a merge."""


@merges.command("list")
@click.option("--work", "work_id", type=int, help="Only merges of this work (its id).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.pass_obj
def list_command(app: App, work_id: int | None, limit: int) -> None:
    """List merges, newest first."""
    from harvester.usecases.merges import list_merges

    views = list_merges(app.database(), work_id, limit)
    for view in views:
        state = f"undone {view.undone_at:%Y-%m-%d}" if view.undone_at else f"{view.at:%Y-%m-%d}"
        click.echo(
            f"{view.id:>5}  work {view.merged_id} joined work {view.work_id}  {state}  "
            f"{view.title[:60]}"
        )
    if not views:
        click.echo("no merges")


@merges.command("undo")
@click.argument("merge_id", type=int)
@click.pass_obj
def undo_command(app: App, merge_id: int) -> None:
    """Undo merge MERGE_ID: both works as they were, with their own records and queue items."""
    from harvester.usecases.merges import undo

    undo(app.database(), merge_id, actor="command line", now=dt.datetime.now(dt.UTC))
    click.echo(f"merge {merge_id} undone")
