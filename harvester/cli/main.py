"""The command line: each command parses its arguments, calls one domain function and prints.

Every :class:`~harvester.core.errors.HarvesterError` becomes one line on stderr (``error: ...``) and
exit status 1; any other exception, a bug, becomes one line too (``internal error: ...``) and exit
status 2. No traceback reaches the user unless ``--debug`` asks for it.
"""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harvester.cli.add import add
from harvester.cli.base import App, HarvesterGroup, output_error, output_file, pass_app
from harvester.cli.bulletin import bulletin
from harvester.cli.health import health
from harvester.cli.merges import merges
from harvester.cli.people import user_enable, user_reset, user_roles
from harvester.cli.ranking import rank
from harvester.cli.service import digest, schedule
from harvester.cli.topic import topic
from harvester.config.scaffold import write_starter_files
from harvester.config.settings import load_settings, select_topics, settings_path
from harvester.core.errors import HarvesterError
from harvester.core.models import CandidateStatus, RunStatus
from harvester.core.text import source_label
from harvester.service.logging import setup_logging
from harvester.sources import FILE_FORMATS, SOURCES
from harvester.store import migrate
from harvester.store.db import Database, safe_url

if TYPE_CHECKING:
    from harvester.usecases.harvest import RunSummary, WindowError

WINDOWED = ", ".join(info.name for info in SOURCES.values() if info.windowed)

DATE = click.DateTime(formats=["%Y-%m-%d"])
STATUSES = click.Choice([s.value for s in CandidateStatus])


@click.group(cls=HarvesterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: $HARVESTER_CONFIG or ./harvester.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="harvester", prog_name="harvester")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, verbose: int, debug: bool) -> None:  # noqa: ARG001 - --debug is read by HarvesterGroup
    """harvester: harvest PubMed and news feeds into a review queue for current-awareness
    bulletins."""
    setup_logging(verbose)
    app = App(config)
    ctx.obj = app
    ctx.call_on_close(app.close)


cli.add_command(bulletin)
cli.add_command(add)
cli.add_command(health)
cli.add_command(topic)
cli.add_command(merges)

# --------------------------------------------------------------------------------------- init


@cli.command()
@click.option(
    "--directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    help="Where to write harvester.toml and queries/ (default: here).",
)
@pass_app
def init(app: App, directory: Path) -> None:
    """Write a starter harvester.toml and queries/, and create the database."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, written in write_starter_files(directory):
            click.echo(f"{'wrote' if written else 'kept existing'} {path}")
    except OSError as exc:
        raise output_error(Path(exc.filename or directory), exc) from None
    config = app.config or directory / "harvester.toml"
    settings = load_settings(config)
    url = settings.database.url
    migrate.upgrade(url)
    click.echo(f"database ready at {safe_url(url)} (revision {migrate.current(url)})")
    from harvester.usecases.topics import adopt_folder

    database = Database(url)
    try:
        for result in adopt_folder(database, settings.queries_dir, now=dt.datetime.now(dt.UTC)):
            click.echo(result.line, err=result.outcome == "refused")
    finally:
        database.dispose()


# ----------------------------------------------------------------------------------------- db


@cli.group(cls=HarvesterGroup)
def db() -> None:
    """Database schema: upgrade it, or show its revision."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create the database or bring it up to this version's schema."""
    url = app.settings.database.url
    migrate.upgrade(url)
    click.echo(f"{safe_url(url)}: at revision {migrate.current(url)} (head)")


@db.command("current")
@pass_app
def db_current(app: App) -> None:
    """Show the database's schema revision."""
    url = app.settings.database.url
    migrate.check_current(url)
    revision = migrate.current(url)
    head = migrate.head()
    state = "head" if revision == head else f"behind head {head}: run `harvester db upgrade`"
    click.echo(f"{revision} ({state})")


# ------------------------------------------------------------------------------------ harvest


@cli.command()
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.option("--source", type=click.Choice(list(SOURCES)), help="Only this source.")
@click.option("--since", type=DATE, help=f"{WINDOWED}: start of the date window (a backfill).")
@click.option("--until", type=DATE, help=f"{WINDOWED}: end of the date window.")
@pass_app
def harvest(
    app: App,
    topic_slug: str | None,
    source: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> None:
    """Run one harvest now and print a summary per topic and source.

    Exits 1 when a source failed outright (nothing fetched); a partial run exits 0 and says why.
    """
    topics = select_topics(app.topics.all(), topic_slug)
    database = app.database()
    from harvester.store.runs import sweep_interrupted_runs
    from harvester.usecases.harvest import (  # sources' libraries load only when used
        Harvest,
        WindowError,
    )

    with database.write() as session:
        swept = sweep_interrupted_runs(session, now=dt.datetime.now(dt.UTC))
    if swept:
        ids = ", ".join(str(i) for i in swept)
        click.echo(f"marked failed (interrupted): run {ids}, left running by a stopped process")

    progress = _progress_line if sys.stderr.isatty() else None
    with Harvest(database, app.settings, report=_report, progress=progress) as harvester:
        try:
            summaries = harvester.run(
                topics,
                sources=[source] if source else None,
                since=since.date() if since else None,
                until=until.date() if until else None,
            )
        except WindowError as exc:
            raise HarvesterError(_window_flags(exc)) from None
    if harvester.refused:
        raise HarvesterError(
            "; ".join(harvester.refused), hint="wait for it to finish, then try again"
        )
    if not summaries:
        click.echo(
            "nothing to harvest: no topic has a PubMed query, a Europe PMC query or feeds "
            "for that choice"
        )
    failed = [s for s in summaries if s.status is RunStatus.FAILED]
    if failed:
        # each run's line above already gave its reason
        raise HarvesterError(f"{len(failed)} of {len(summaries)} runs failed (see above)")


def _window_flags(exc: WindowError) -> str:
    """A window error in the words of the command line's flags."""
    if exc.backfill:
        return f"--since {exc.since} is after --until {exc.until}"
    return (
        f"--until {exc.until} is before {exc.topic}'s next {exc.source} window, which starts "
        f"at {exc.since}; "
        "give --since as well for a backfill"
    )


harvest.help = (
    inspect.cleandoc(harvest.help or "")
    + "\n\nSources: "
    + "; ".join(f"{info.name} ({info.summary})" for info in SOURCES.values())
)


def _progress_line(summary: RunSummary) -> None:
    """On a terminal: a line that counts up while a long run stores its batches."""
    click.echo(
        f"\r{summary.topic} {summary.source}: {summary.fetched} records…", nl=False, err=True
    )


def _report(line: str) -> None:
    if sys.stderr.isatty():
        click.echo("\r\033[K", nl=False, err=True)  # clear the progress line
    click.echo(line)


# -------------------------------------------------------------------------------------- queue


@cli.command()
@click.option("--topic", "topic_slug", help="Only this topic (slug).")
@click.option("--status", type=STATUSES, help="Only candidates with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@pass_app
def queue(app: App, topic_slug: str | None, status: str | None, limit: int) -> None:
    """List candidates in the review queue with their scores (a topic's highest score first,
    once it is scored; else newest first)."""
    from harvester.store.candidates import candidate_views

    if topic_slug is not None:
        app.check_topic(topic_slug)
    database = app.database()
    with database.read() as session:
        page = candidate_views(
            session,
            topic=topic_slug,
            status=CandidateStatus(status) if status else None,
            limit=limit,
            by_score=topic_slug is not None,
        )
    for candidate in page.items:
        work = candidate.work
        sources = sorted({source_label(s.source) for s in candidate.sightings})
        year = work.year or ""
        score = f"{candidate.score:.2f}" if candidate.score is not None else "-"
        deleted = "  (deleted in PubMed)" if work.deleted_at else ""
        click.echo(
            f"{candidate.id:>6}  {candidate.topic}  {candidate.status:<9} {work.kind:<7} "
            f"{year!s:<4}  {score:>4}  {_one_line(work.title, 90)}  [{', '.join(sources)}]{deleted}"
        )
    if not page.items:
        click.echo("no candidates")


# ------------------------------------------------------------------------------ import/export


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", "topic_slug", help="Add the records to this topic's queue (slug).")
@click.option(
    "--status",
    type=STATUSES,
    default=CandidateStatus.NEW.value,
    show_default=True,
    help="Status of the records in the topic (e.g. published for past bulletins).",
)
@pass_app
def import_(app: App, file: Path, topic_slug: str | None, status: str) -> None:
    """Add the records of FILE, deduplicated against everything already stored. Importing the
    same file again changes nothing. The format is told from the file's first bytes (else its
    extension); the formats are listed below."""
    from harvester.usecases.importing import import_file

    if topic_slug is not None:
        app.check_topic(topic_slug)
    summary = import_file(
        app.database(),
        file,
        topic=topic_slug,
        status=CandidateStatus(status),
        now=dt.datetime.now(dt.UTC),
    )
    click.echo(summary.line())
    if topic_slug is not None:
        # decisions imported (past bulletins, past rejections) teach the topic's ranking
        from harvester.usecases.ranking import rank_topic

        topic = app.topics.get(topic_slug)
        click.echo(
            rank_topic(app.database(), topic, now=dt.datetime.now(dt.UTC), trigger="import").line()
        )


import_.help = (
    inspect.cleandoc(import_.help or "")
    + "\n\nFormats: "
    + "; ".join(
        f"{fmt.name} ({fmt.summary}; {', '.join(fmt.extensions)})" for fmt in FILE_FORMATS.values()
    )
)


@cli.command()
@click.option("--topic", "topic_slug", required=True, help="The topic to export (slug).")
@click.option("--status", type=STATUSES, help="Only candidates with this status.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ris", "csljson", "csv"]),
    required=True,
    help="ris and csljson: one record per work; csv: one row per sighting with its work id.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
@pass_app
def export(app: App, topic_slug: str, status: str | None, fmt: str, output: Path | None) -> None:
    """Export a topic's candidates for a reference manager or a spreadsheet."""
    from harvester.usecases.importing import export_candidates

    app.check_topic(topic_slug)
    database = app.database()
    wanted = CandidateStatus(status) if status else None
    if output is None:
        count = export_candidates(database, topic_slug, wanted, fmt, sys.stdout)
    else:
        # A byte order mark makes Excel read a CSV file as UTF-8 rather than the ANSI code page.
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        with output_file(output, encoding) as out:
            count = export_candidates(database, topic_slug, wanted, fmt, out)
    click.echo(f"exported {count} records", err=True)


# ------------------------------------------------------------------ web: serve, user, token


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [web] port, 8080).")
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Run the service until stopped: the web UI and JSON API, and the scheduler that harvests
    and sends digests on the topics' schedules.

    In a folder with no settings yet it first writes the starter settings and topic and creates
    the database, as ``init`` does.
    """
    from harvester.service.runner import run_service
    from harvester.web.app import create_app

    config, named = settings_path(app.config)
    if not named and not config.exists():
        for path, written in write_starter_files(Path(".")):
            if written:
                click.echo(f"wrote {path}", err=True)
        migrate.upgrade(app.settings.database.url)
    settings = app.settings
    database = app.database()
    from harvester.store.people import issue_setup_token

    with database.write() as session:
        setup = issue_setup_token(session, now=dt.datetime.now(dt.UTC))
    host = host or settings.web.host
    port = port or settings.web.port
    topics = app.topics
    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    if setup is not None:
        base = settings.web.base_url or f"http://{host}:{port}"
        link = f"{base.rstrip('/')}/setup/{setup}"
        click.echo(f"no accounts yet: create the first administrator at {link}", err=True)
    status = run_service(
        settings,
        database,
        host=host,
        port=port,
        app_factory=lambda service: create_app(
            settings, database, topics=topics, health=service.health
        ),
    )
    sys.exit(status)


@cli.group(cls=HarvesterGroup)
def user() -> None:
    """Web UI accounts: add, list, set a password, disable."""


@user.command("add")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May do everything: topics, people, runs.")
@click.option("--reviewer", multiple=True, metavar="TOPIC", help="May review TOPIC (repeat).")
@click.option("--editor", multiple=True, metavar="TOPIC", help="May also change TOPIC (repeat).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_add(
    app: App,
    email: str,
    admin: bool,
    reviewer: tuple[str, ...],
    editor: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Add an account; the password is prompted for (or read with --password-stdin)."""
    from harvester.store.people import set_roles
    from harvester.store.users import add_user

    for slug in (*reviewer, *editor):
        app.check_topic(slug)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with app.database().write() as session:
        view = add_user(session, email, password, admin=admin, now=dt.datetime.now(dt.UTC))
        roles: dict[str, str | None] = dict.fromkeys(reviewer, "reviewer")
        roles.update(dict.fromkeys(editor, "editor"))
        set_roles(session, view.id, roles)
    if view.is_admin:
        click.echo(f"added admin {view.email}")
    elif roles:
        shown = ", ".join(f"{role} of {slug}" for slug, role in sorted(roles.items()))
        click.echo(f"added {view.email}: {shown}")
    else:
        click.echo(
            f"added {view.email} with no topics yet: "
            f"give some with `harvester user roles {view.email} --reviewer TOPIC`"
        )


user.add_command(user_roles)
user.add_command(user_enable)
user.add_command(user_reset)


@user.command("list")
@pass_app
def user_list(app: App) -> None:
    """List the accounts."""
    from harvester.store.users import list_users

    with app.database().read() as session:
        rows = list_users(session)
    for row in rows:
        role = "admin" if row.is_admin else "reviewer"
        click.echo(f"{row.email:<40} {role:<8} {'active' if row.active else 'disabled'}")
    if not rows:
        click.echo("no accounts: add one with `harvester user add EMAIL`")


@user.command("disable")
@click.argument("email")
@pass_app
def user_disable(app: App, email: str) -> None:
    """Disable an account (and its API tokens); its decisions stay."""
    from harvester.store.users import disable_user

    with app.database().write() as session:
        view = disable_user(session, email)
    click.echo(f"disabled {view.email}; its sessions and API tokens no longer work")


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_password(app: App, email: str, password_stdin: bool) -> None:
    """Set a new password for an account; every session it has is signed out."""
    from harvester.store.users import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with app.database().write() as session:
        view = set_password(session, email, password)
    click.echo(f"changed the password of {view.email}; its sessions have ended")


@cli.group(cls=HarvesterGroup)
def token() -> None:
    """API tokens for scripts."""


@token.command("add")
@click.argument("name")
@click.option("--user", "email", required=True, help="The account the token acts as.")
@pass_app
def token_add(app: App, name: str, email: str) -> None:
    """Create an API token NAME; it is printed once (only its hash is stored)."""
    from harvester.store.users import add_token

    with app.database().write() as session:
        value = add_token(session, name, email, now=dt.datetime.now(dt.UTC))
    click.echo(value)


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    # What a command makes is nearly all freed by reference counting; the cycle collector's
    # default pace (a pass every 700 new objects, each full pass over every object alive) spent
    # a tenth of a large import, more the larger the store. Objects alive at start-up (the
    # modules) are set aside from its passes.
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()
    cli(prog_name="harvester")


cli.add_command(digest)
cli.add_command(schedule)
cli.add_command(rank)
