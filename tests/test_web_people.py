"""People over HTTP: the first admin made through the one-time set-up link (and the page not
existing without it), people added with roles per topic, a reset link that works once, accounts
disabled and enabled; a reviewer of another topic meets 404; roles from the command line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from websupport import ADMIN, REVIEWER, TOPIC, apply_topics, make_settings, seed

from harvester.cli.main import cli
from harvester.store import people
from harvester.store.db import Database
from harvester.web.app import create_app

NOW = dt.datetime.now(dt.UTC)


def _app(tmp_path: Path, db: Database, *, seeded: bool = True) -> TestClient:
    settings = make_settings(tmp_path / "site", db.url)
    if seeded:
        seed(db)
    apply_topics(db, settings)
    return TestClient(create_app(settings, db), base_url="http://127.0.0.1", follow_redirects=False)


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def _login(client: TestClient, account: tuple[str, str]) -> int:
    token = _csrf(client, "/login")
    return client.post(
        "/login", data={"email": account[0], "password": account[1], "csrf": token, "next": "/"}
    ).status_code


def test_the_first_admin_is_made_through_the_one_time_link(tmp_path: Path, db: Database) -> None:
    client = _app(tmp_path, db, seeded=False)
    assert client.get("/setup/not-the-token").status_code == 404
    with db.write() as session:
        token = people.issue_setup_token(session, now=NOW)
    assert token is not None
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200 and "Create the first administrator" in page.text
    csrf = _csrf(client, f"/setup/{token}")
    differ = client.post(
        f"/setup/{token}",
        data={"csrf": csrf, "email": "lib@example.org", "password": "long enough 1", "again": "x"},
    )
    assert differ.status_code == 422 and "The two passwords differ." in differ.text
    made = client.post(
        f"/setup/{token}",
        data={
            "csrf": csrf,
            "email": "lib@example.org",
            "password": "long enough 1",
            "again": "long enough 1",
        },
    )
    assert made.status_code == 303
    assert client.get("/people").status_code == 200  # signed in as the new admin
    assert client.get(f"/setup/{token}").status_code == 404  # used up
    with db.write() as session:
        assert people.issue_setup_token(session, now=NOW) is None  # accounts exist now


def test_an_admin_adds_a_person_with_roles_and_the_link_works_once(
    tmp_path: Path, db: Database
) -> None:
    client = _app(tmp_path, db)
    assert _login(client, ADMIN) == 303
    csrf = _csrf(client, "/people")
    added = client.post(
        "/people", data={"csrf": csrf, "email": "new@example.org", "roles": f"{TOPIC}=editor"}
    )
    assert added.status_code == 200
    link = re.search(r'value="(http://127\.0\.0\.1/reset/[^"]+)"', added.text)
    assert link, added.text
    path = link.group(1).removeprefix("http://127.0.0.1")
    fresh = TestClient(client.app, base_url="http://127.0.0.1", follow_redirects=False)
    assert "For new@example.org" in fresh.get(path).text
    token = _csrf(fresh, path)
    done = fresh.post(
        path, data={"csrf": token, "password": "a new password", "again": "a new password"}
    )
    assert done.status_code == 303
    assert fresh.get(path).status_code == 404
    assert _login(fresh, ("new@example.org", "a new password")) == 303
    settings_page = fresh.get(f"/topics/{TOPIC}/settings")
    assert "Save changes" in settings_page.text  # an editor of the topic
    assert fresh.get("/people").status_code == 403


def test_a_person_without_a_role_in_a_topic_does_not_see_it(tmp_path: Path, db: Database) -> None:
    client = _app(tmp_path, db)
    with db.write() as session:
        from harvester.store.users import find_user, list_users

        reviewer = next(u for u in list_users(session) if u.email == REVIEWER[0])
        people.set_roles(session, reviewer.id, {TOPIC: None})
        assert find_user(session, reviewer.id) is not None
    assert _login(client, REVIEWER) == 303
    assert client.get(f"/topics/{TOPIC}/settings").status_code == 404


def test_disable_enable_and_roles_from_the_admin_page(tmp_path: Path, db: Database) -> None:
    client = _app(tmp_path, db)
    assert _login(client, ADMIN) == 303
    with db.read() as session:
        from harvester.store.users import list_users

        reviewer = next(u for u in list_users(session) if u.email == REVIEWER[0])
        admin = next(u for u in list_users(session) if u.email == ADMIN[0])
    csrf = _csrf(client, "/people")
    off = client.post(f"/people/{reviewer.id}", data={"csrf": csrf, "action": "disable"})
    assert f"Disabled {REVIEWER[0]}" in off.text
    other = TestClient(client.app, base_url="http://127.0.0.1", follow_redirects=False)
    assert _login(other, REVIEWER) == 401
    on = client.post(f"/people/{reviewer.id}", data={"csrf": csrf, "action": "enable"})
    assert f"Enabled {REVIEWER[0]} again" in on.text
    assert _login(other, REVIEWER) == 303
    self_off = client.post(f"/people/{admin.id}", data={"csrf": csrf, "action": "disable"})
    assert self_off.status_code == 422 and "cannot disable your own account" in self_off.text
    roles = client.post(
        f"/people/{reviewer.id}", data={"csrf": csrf, "action": "roles", "roles": f"{TOPIC}=editor"}
    )
    assert roles.status_code == 200
    with db.read() as session:
        assert people.roles_of(session, reviewer.id) == {TOPIC: "editor"}
    assert client.post("/people/99999999999999999999", data={"csrf": csrf}).status_code == 404
    assert other.get("/people").status_code == 403


def test_roles_enable_and_reset_from_the_command_line(workdir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    added = runner.invoke(
        cli,
        ["user", "add", "ann@example.org", "--reviewer", "social-prescribing", "--password-stdin"],
        input="a long password\n",
    )
    assert added.exit_code == 0, added.output
    assert "added ann@example.org: reviewer of social-prescribing" in added.output
    wrong = runner.invoke(cli, ["user", "roles", "ann@example.org", "--editor", "nope"])
    assert wrong.exit_code == 1 and "unknown topic 'nope'" in wrong.output
    changed = runner.invoke(
        cli, ["user", "roles", "ann@example.org", "--editor", "social-prescribing"]
    )
    assert changed.output.strip() == "ann@example.org: editor of social-prescribing"
    link = runner.invoke(cli, ["user", "reset", "ann@example.org"])
    assert link.exit_code == 0 and "/reset/" in link.output
    missing = runner.invoke(cli, ["user", "enable", "bob@example.org"])
    assert missing.exit_code == 1 and "no account for bob@example.org" in missing.output
