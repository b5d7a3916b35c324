"""``harvester topic ...``: topics in and out of the database as topic files."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from pathlib import Path

import click

from harvester.cli.base import App, HarvesterGroup, output_file, pass_app
from harvester.core.errors import OutputError


@click.group(cls=HarvesterGroup)
def topic() -> None:
    """Topics: apply topic files to the database, export them, list them, check them."""


@topic.command("apply")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would change; save nothing.")
@pass_app
def topic_apply(app: App, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Create or update topics from topic files (files, or folders of *.toml files).

    Each file is checked as the topic page checks a change; a file with an error is refused
    with its file and line, and the others are still applied. Applying the same files again
    changes nothing.
    """
    from harvester.usecases.topics import apply_files

    results = apply_files(
        app.database(),
        list(paths),
        actor=f"topic file ({getpass.getuser()})",
        now=dt.datetime.now(dt.UTC),
        dry_run=dry_run,
    )
    if not results:
        click.echo("no topic files found", err=True)
    for result in results:
        line = ("would be " if dry_run and result.outcome != "refused" else "") + result.line
        click.echo(line, err=result.outcome == "refused")
    if any(r.outcome == "refused" for r in results):
        sys.exit(1)


@topic.command("export")
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one SLUG.toml per topic into this folder (default: standard output).",
)
@pass_app
def topic_export(app: App, topic_slug: str | None, output: Path | None) -> None:
    """Write topics back out as topic files."""
    from harvester.usecases.topics import export_topics

    stored = export_topics(app.database(), topic_slug)
    if output is None:
        for number, one in enumerate(stored):
            if number:
                click.echo()
            click.echo(one.document.rstrip("\n"))
        return
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {output}: {exc.strerror or exc}") from None
    for one in stored:
        path = output / f"{one.slug}.toml"
        with output_file(path, "utf-8") as out:
            out.write(one.document)
        click.echo(f"wrote {path}", err=True)


@topic.command("list")
@pass_app
def topic_list(app: App) -> None:
    """The topics, with who changed each last and when."""
    from harvester.store.topics import stored_topics

    with app.database().read() as session:
        rows = stored_topics(session)
    if not rows:
        click.echo("no topics yet: add one with `harvester topic apply FILE`", err=True)
    for row in rows:
        when = row.updated_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{row.slug}\tversion {row.version}, changed {when} by {row.updated_by or '?'}")


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
