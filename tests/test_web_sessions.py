"""Sessions end on the server; the sign-in throttle cannot be turned against an account holder
or dodged with forged headers; /healthz keeps its details for administrators; a short secret
key is refused. Over HTTP against a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websupport import ADMIN, REVIEWER, TOPIC, apply_topics, live_server, make_settings, seed

from harvester.config.settings import load_settings
from harvester.core.errors import ConfigError
from harvester.store import users
from harvester.store.db import Database
from harvester.web.app import create_app


class Browser(requests.Session):
    """A browser without JavaScript: cookies, no redirects followed, loopback only."""

    def __init__(self, base_url: str, address: str | None = None) -> None:
        super().__init__()
        self.base_url = base_url
        self.trust_env = False
        if address is not None:  # as a proxy in front would say
            self.headers["X-Forwarded-For"] = address

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        kwargs.setdefault("timeout", 30)
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert match, path
        return match.group(1)

    def sign_in(self, account: tuple[str, str], password: str | None = None) -> requests.Response:
        return self.post(
            "/login",
            data={
                "email": account[0],
                "password": password if password is not None else account[1],
                "csrf": self.csrf(),
                "next": "/",
            },
        )

    def signed_in(self) -> bool:
        response = self.get(f"/topics/{TOPIC}")
        if response.status_code == 200:
            return True
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        return False


def _server(tmp_path: Path, db: Database, *, health: bool = False, **web: Any) -> Iterator[str]:
    seed(db)
    settings = make_settings(tmp_path / "site", db.url)
    apply_topics(db, settings)
    for key, value in web.items():
        setattr(settings.web, key, value)
    report = {"status": "ok", "database": "ok", "scheduler": {"holder": "host-1 pid 4242"}}
    extra = {"health": lambda: report} if health else {}
    with live_server(create_app(settings, db, **extra)) as base:
        yield base


@pytest.fixture
def base(tmp_path: Path, db: Database) -> Iterator[str]:
    yield from _server(tmp_path, db)


@pytest.fixture
def with_health(tmp_path: Path, db: Database) -> Iterator[str]:
    """The app as `harvester serve` runs it: with the service's health report."""
    yield from _server(tmp_path, db, health=True)


@pytest.fixture
def behind_proxy(tmp_path: Path, db: Database) -> Iterator[str]:
    yield from _server(tmp_path, db, trusted_proxies=["127.0.0.1"])


def _cookie(browser: Browser) -> str:
    return browser.cookies["harvester_session"]


def _replay(base: str, cookie: str) -> bool:
    """Whether a copy of a session cookie still opens the queue."""
    thief = Browser(base)
    thief.cookies.set("harvester_session", cookie)
    return thief.signed_in()


def test_a_copied_cookie_opens_nothing_after_signing_out(base: str) -> None:
    browser = Browser(base)
    assert browser.sign_in(REVIEWER).status_code == 303
    copied = _cookie(browser)
    assert _replay(base, copied)
    token = browser.csrf(f"/topics/{TOPIC}")
    assert browser.post("/logout", data={"csrf": token}).status_code == 303
    assert not browser.signed_in()
    assert not _replay(base, copied)
    # nor does it let the API in
    thief = Browser(base)
    thief.cookies.set("harvester_session", copied)
    assert thief.get(f"/api/topics/{TOPIC}/candidates").status_code == 401


def test_a_new_password_ends_the_other_sessions(base: str, db: Database) -> None:
    here, elsewhere = Browser(base), Browser(base)
    assert here.sign_in(REVIEWER).status_code == 303
    assert elsewhere.sign_in(REVIEWER).status_code == 303
    elsewhere_cookie = _cookie(elsewhere)
    token = here.csrf("/account/password")
    wrong = here.post(
        "/account/password",
        data={
            "csrf": token,
            "current": "nope",
            "new": "a new password 2",
            "confirm": "a new password 2",
        },
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    changed = here.post(
        "/account/password",
        data={
            "csrf": token,
            "current": REVIEWER[1],
            "new": "a new password 2",
            "confirm": "a new password 2",
        },
    )
    assert changed.status_code == 303
    assert here.signed_in()  # the browser that changed it stays signed in
    assert not elsewhere.signed_in() and not _replay(base, elsewhere_cookie)
    assert Browser(base).sign_in((REVIEWER[0], "a new password 2")).status_code == 303
    # set by an administrator (harvester user password): every session ends
    with db.write() as session:
        users.set_password(session, REVIEWER[0], "a third password 3")
    assert not here.signed_in()


def test_disabling_an_account_ends_its_sessions(base: str, db: Database) -> None:
    browser = Browser(base)
    assert browser.sign_in(REVIEWER).status_code == 303
    copied = _cookie(browser)
    with db.write() as session:
        users.disable_user(session, REVIEWER[0])
    assert not browser.signed_in() and not _replay(base, copied)
    # enabling it again (by hand in the database) would not bring the old session back
    with db.write() as session:
        from harvester.store.tables import User

        row = session.query(User).filter_by(email=REVIEWER[0]).one()
        row.active = True
    assert not _replay(base, copied)


def test_healthz_details_are_for_administrators(with_health: str) -> None:
    base = with_health
    anonymous = Browser(base).get("/healthz")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    reviewer = Browser(base)
    reviewer.sign_in(REVIEWER)
    assert reviewer.get("/healthz").json() == {"status": "ok"}
    admin = Browser(base)
    admin.sign_in(ADMIN)
    assert admin.get("/healthz").json()["scheduler"]["holder"] == "host-1 pid 4242"


def test_forged_forwarded_for_does_not_reset_the_throttle(base: str) -> None:
    """With no [web] trusted_proxies, X-Forwarded-For is the client's own say-so: ignored."""
    for n in range(5):
        attempt = Browser(base, address=f"198.51.100.{n}")
        assert attempt.sign_in(REVIEWER, "wrong password").status_code == 401
    blocked = Browser(base, address="198.51.100.99").sign_in(REVIEWER)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0


def test_guessing_elsewhere_does_not_lock_out_the_account_holder(behind_proxy: str) -> None:
    """Behind a trusted proxy: an attacker at one address fails again and again; the admin at
    their own address signs in at once; the attacker waits longer each time."""
    attacker = Browser(behind_proxy, address="203.0.113.7")
    for _ in range(5):
        assert attacker.sign_in(ADMIN, "guess").status_code == 401
    locked = attacker.sign_in(ADMIN)  # even the right password is refused there for now
    assert locked.status_code == 429
    first_wait = int(locked.headers["retry-after"])
    assert 0 < first_wait <= 31
    # the admin, from their own address, is not affected
    admin = Browser(behind_proxy, address="192.0.2.10")
    assert admin.sign_in(ADMIN).status_code == 303 and admin.signed_in()
    # the proxy's own address in the chain is skipped: a client cannot pose as the admin
    # by putting the admin's address first in the header it sends
    posing = Browser(behind_proxy, address="192.0.2.10, 203.0.113.7")
    assert posing.sign_in(ADMIN).status_code == 429


def test_the_delay_grows_and_is_capped() -> None:
    import datetime as dt

    from harvester.store.users import FailedLogins
    from harvester.web.auth import FREE_TRIES, MAX_DELAY, MAX_PER_ADDRESS, retry_after

    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    waits = [retry_after(FailedLogins(n, now, n), now) for n in range(FREE_TRIES + 8)]
    assert waits[:FREE_TRIES] == [None] * FREE_TRIES
    grown = [w for w in waits[FREE_TRIES:] if w is not None]
    assert grown == sorted(grown) and grown[0] < grown[1] and grown[-1] == MAX_DELAY
    # the pause is counted from the last failure
    later = now + dt.timedelta(hours=1)
    assert retry_after(FailedLogins(FREE_TRIES + 1, now, 1), later) is None
    assert retry_after(FailedLogins(0, None, MAX_PER_ADDRESS), now) is not None


def test_a_short_secret_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "harvester.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("HARVESTER_WEB__SECRET_KEY", "x")
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path / "harvester.toml")
    message = str(error.value)
    assert "HARVESTER_WEB__SECRET_KEY" in message and "secret_key" in message
    assert "at least 32 characters" in message and "'x'" not in message  # never echoed
    monkeypatch.setenv("HARVESTER_WEB__SECRET_KEY", "k" * 32)
    assert load_settings(tmp_path / "harvester.toml").web.secret_key == "k" * 32


def test_trusted_proxies_must_be_addresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "harvester.toml").write_text(
        '[web]\ntrusted_proxies = ["proxy.local"]\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"harvester.toml line 2: \[web\] trusted_proxies"):
        load_settings(tmp_path / "harvester.toml")
    (tmp_path / "harvester.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("HARVESTER_WEB__TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    assert load_settings(tmp_path / "harvester.toml").web.trusted_proxies == [
        "10.0.0.1",
        "192.168.0.0/16",
    ]


def test_harvester_user_password_ends_the_sessions(tmp_path: Path, db: Database) -> None:
    import datetime as dt

    from click.testing import CliRunner

    from harvester.cli.main import cli

    seed(db)
    make_settings(tmp_path / "site", db.url)
    now = dt.datetime.now(dt.UTC)
    with db.write() as session:
        reviewer = users.authenticate(session, *REVIEWER)
        sid = users.start_session(session, reviewer.id, now=now, lifetime=dt.timedelta(hours=1))
    runner = CliRunner(env={"HARVESTER_CONFIG": str(tmp_path / "site" / "harvester.toml")})
    short = runner.invoke(
        cli, ["user", "password", REVIEWER[0], "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "too short" in short.output
    done = runner.invoke(
        cli, ["user", "password", REVIEWER[0], "--password-stdin"], input="brand new password\n"
    )
    assert done.exit_code == 0, done.output
    assert "sessions have ended" in done.output
    with db.read() as session:
        assert users.session_user(session, sid, now=now) is None
        assert users.authenticate(session, REVIEWER[0], "brand new password").email == REVIEWER[0]
