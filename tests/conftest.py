"""Shared fixtures: a clean environment, settings in a temp folder, and a migrated database on
SQLite and, when it is reachable, PostgreSQL (``HARVESTER_TEST_POSTGRES``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbsupport import POSTGRES_URL, postgres_skip_reason
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harvester.config.settings import Settings, load_settings
from harvester.store.db import Database
from harvester.store.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures"

_ISOLATED_PREFIXES = ("HARVESTER_",)
_ISOLATED_NAMES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HARVESTER_* or proxy variable of the caller leaks into a test; loopback bypasses proxies."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _ISOLATED_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class _Templates:
    """A migrated template per backend, copied for each test (fast: no migration per test)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_admin_url = make_url(POSTGRES_URL)

    def sqlite_url(self, target: Path) -> str:
        if self.sqlite_template is None:
            self.sqlite_template = self.root / "template.db"
            upgrade(f"sqlite:///{self.sqlite_template}")
        shutil.copyfile(self.sqlite_template, target)
        return f"sqlite:///{target}"

    def _admin(self):  # type: ignore[no-untyped-def]
        return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def pg_url(self) -> str:
        admin = self._admin()
        try:
            with admin.connect() as conn:
                if self.pg_template is None:
                    name = f"harvester_tpl_{uuid.uuid4().hex[:10]}"
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                    upgrade(
                        self.pg_admin_url.set(database=name).render_as_string(hide_password=False)
                    )
                    self.pg_template = name
                db_name = f"harvester_t_{uuid.uuid4().hex[:12]}"
                conn.execute(text(f'CREATE DATABASE "{db_name}" TEMPLATE "{self.pg_template}"'))
        finally:
            admin.dispose()
        return self.pg_admin_url.set(database=db_name).render_as_string(hide_password=False)

    def drop_pg(self, url: str) -> None:
        name = make_url(url).database
        admin = self._admin()
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    def close(self) -> None:
        if self.pg_template is not None:
            admin = self._admin()
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_template}" WITH (FORCE)'))
            finally:
                admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, _templates: _Templates, tmp_path: Path) -> Iterator[str]:
    """A URL of a freshly migrated, empty database: SQLite, then PostgreSQL when reachable."""
    if request.param == "sqlite":
        yield _templates.sqlite_url(tmp_path / "harvester.db")
        return
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    url = _templates.pg_url()
    yield url
    _templates.drop_pg(url)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(_templates: _Templates, tmp_path: Path) -> Iterator[Database]:
    """SQLite only, for tests about SQLite itself."""
    database = Database(_templates.sqlite_url(tmp_path / "harvester.db"))
    yield database
    database.dispose()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, made current."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def settings(workdir: Path, db_url: str) -> Settings:
    """Settings for a project in ``workdir`` on the test database."""
    (workdir / "queries").mkdir(exist_ok=True)
    (workdir / "harvester.toml").write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return load_settings(workdir / "harvester.toml")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite golden files (tests/golden/) from the current output.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its smallest cost: the suite checks hashing, not its strength."""
    from argon2 import PasswordHasher

    from harvester.store import users

    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
