"""``harvester user roles|enable|reset``: what each person may do, from the command line."""

from __future__ import annotations

import datetime as dt

import click

from harvester.cli.base import App, pass_app
from harvester.core.errors import NotFoundError


def _account(session: object, email: str) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from harvester.store.tables import User
    from harvester.store.users import normalise_email

    assert isinstance(session, Session)
    found = session.scalar(select(User.id).where(User.email == normalise_email(email)))
    if found is None:
        raise NotFoundError(f"no account for {email}")
    return int(found)


@click.command("roles")
@click.argument("email")
@click.option("--reviewer", "reviewer", multiple=True, metavar="TOPIC", help="May review TOPIC.")
@click.option("--editor", "editor", multiple=True, metavar="TOPIC", help="May also change TOPIC.")
@click.option("--none", "none", multiple=True, metavar="TOPIC", help="No access to TOPIC.")
@pass_app
def user_roles(
    app: App, email: str, reviewer: tuple[str, ...], editor: tuple[str, ...], none: tuple[str, ...]
) -> None:
    """Set what a person may do per topic (repeat the options); without options, show it."""
    from harvester.store import people

    for slug in (*reviewer, *editor, *none):
        app.check_topic(slug)
    changes: dict[str, str | None] = dict.fromkeys(none)
    changes.update(dict.fromkeys(reviewer, "reviewer"))
    changes.update(dict.fromkeys(editor, "editor"))
    with app.database().write() as session:
        account = _account(session, email)
        if changes:
            people.set_roles(session, account, changes)
        roles = people.roles_of(session, account)
    shown = ", ".join(f"{role} of {topic}" for topic, role in sorted(roles.items()))
    click.echo(f"{email}: {shown or 'no topics'}")


@click.command("enable")
@click.argument("email")
@pass_app
def user_enable(app: App, email: str) -> None:
    """Enable a disabled account again."""
    from harvester.store import people

    with app.database().write() as session:
        people.enable_user(session, _account(session, email))
    click.echo(f"enabled {email}")


@click.command("reset")
@click.argument("email")
@pass_app
def user_reset(app: App, email: str) -> None:
    """Print a one-time link (valid for a day) where the person chooses a new password."""
    from harvester.store import people

    with app.database().write() as session:
        token = people.issue_reset_link(
            session, _account(session, email), now=dt.datetime.now(dt.UTC)
        )
    base = app.settings.web.base_url or f"http://{app.settings.web.host}:{app.settings.web.port}"
    click.echo(f"{base.rstrip('/')}/reset/{token}")
