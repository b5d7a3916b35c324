"""Settings (``harvester.toml`` + ``HARVESTER_*`` environment) and topic files, validated.

Settings come from the TOML file named by ``HARVESTER_CONFIG`` (default ``harvester.toml`` in the
working directory, optional) and are overridden key by key by ``HARVESTER_<SECTION>__<KEY>``.
Secrets (the NCBI API key, the SMTP password, the web secret key) are read from the environment
only: a secret written in the file is refused.

Topic files (``queries/*.toml``, or the folder named by ``HARVESTER_QUERIES``) become
:class:`Topic` objects. Every validation error names the file, the line and the key, and what was
expected, in one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from harvester.config.base import Section as _Section
from harvester.config.base import check_http_url as _check_http_url
from harvester.config.errors import (
    ENV_PREFIX,
    config_error,
    env_error,
    find_line,
    read_toml,
)
from harvester.config.services import CrossrefSettings as CrossrefSettings
from harvester.config.services import EuropePMCQuery as EuropePMCQuery
from harvester.config.services import EuropePMCSettings as EuropePMCSettings
from harvester.config.services import HealthSettings as HealthSettings
from harvester.config.services import RetractionSettings as RetractionSettings
from harvester.config.topic_file import BulletinConfig as BulletinConfig
from harvester.config.topic_file import BulletinResource as BulletinResource
from harvester.config.topic_file import BulletinSection as BulletinSection
from harvester.config.topic_file import DigestConfig as DigestConfig
from harvester.config.topic_file import FeedConfig as FeedConfig
from harvester.config.topic_file import MatchRules as MatchRules
from harvester.config.topic_file import PubMedQuery as PubMedQuery
from harvester.config.topic_file import ReviewConfig as ReviewConfig
from harvester.config.topic_file import ScheduleConfig as ScheduleConfig
from harvester.config.topic_file import Topic as Topic
from harvester.config.topic_file import TopicMeta as TopicMeta
from harvester.config.topic_file import load_topic as load_topic
from harvester.config.topic_file import load_topics as load_topics
from harvester.config.topic_file import parse_topic as parse_topic
from harvester.config.topic_file import select_topics as select_topics
from harvester.config.web import check_proxies, check_secret_key
from harvester.core.errors import ConfigError

DEFAULT_CONFIG_FILE = "harvester.toml"
DEFAULT_QUERIES_DIR = "queries"


#: The database backends harvester runs on, and an example URL for each.
DATABASE_EXAMPLES = "sqlite:///harvester.db or postgresql+psycopg://user@host/dbname"
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _hide_password(url: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", url)


def check_database_url(value: str) -> str:
    """A URL SQLAlchemy can parse, for SQLite or PostgreSQL, whose driver is installed."""
    shown = _hide_password(value)
    try:
        parsed = make_url(value)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise ValueError(f"a database URL such as {DATABASE_EXAMPLES}, got {shown!r}") from None
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"a SQLite or PostgreSQL URL ({DATABASE_EXAMPLES}); {backend!r} is not supported, "
            f"got {shown!r}"
        )
    try:
        parsed.get_dialect().import_dbapi()
    except ArgumentError:  # NoSuchModuleError: an unknown "+driver"
        raise ValueError(
            f"a URL with a known driver ({DATABASE_EXAMPLES}), got {shown!r}"
        ) from None
    except ImportError as exc:
        raise ValueError(
            f"a URL whose driver is installed ({DATABASE_EXAMPLES}); {parsed.drivername!r} "
            f"needs the module {exc.name or exc}, which is not installed, got {shown!r}"
        ) from None
    return value


class DatabaseSettings(_Section):
    url: str = "sqlite:///harvester.db"
    echo: bool = False
    busy_timeout_ms: int = Field(default=30_000, ge=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_database_url(value)


class PubMedSettings(_Section):
    base_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    api_key: str | None = None
    email: str | None = None
    tool: str = "harvester"
    batch_size: int = Field(default=200, ge=1, le=10_000)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)
    overlap_days: int = Field(default=3, ge=0)
    initial_days: int = Field(default=30, ge=1)
    max_esearch_ids: int = Field(default=9_999, ge=1)

    secrets: ClassVar[tuple[str, ...]] = ("api_key",)

    @field_validator("base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return _check_http_url(value).rstrip("/") + "/"


class FeedsSettings(_Section):
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    # read_timeout bounds each wait for data; this bounds the whole body, so a server that drips
    # a byte at a time cannot hold a worker (and its host) for hours.
    total_timeout: float = Field(default=120.0, gt=0)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    concurrency: int = Field(default=8, ge=1, le=64)
    max_retries: int = Field(default=2, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)
    failing_after: int = Field(default=3, ge=1)
    user_agent: str | None = None


class SMTPSettings(_Section):
    # No host: digests are written as .eml files to the outbox folder instead of being sent.
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(default=30.0, gt=0)
    sender: str = "harvester@localhost"
    outbox: str = "outbox"

    secrets: ClassVar[tuple[str, ...]] = ("password",)

    @model_validator(mode="after")
    def _one_tls(self) -> SMTPSettings:
        if self.starttls and self.ssl:
            raise ValueError(
                "starttls and ssl exclusive: STARTTLS upgrades a plain connection, ssl is TLS from the start"
            )
        return self


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    secret_key: str | None = None
    base_url: str | None = None
    # reverse proxies whose X-Forwarded-* headers are believed (from no one else)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    secrets: ClassVar[tuple[str, ...]] = ("secret_key",)

    _secret_key = field_validator("secret_key")(check_secret_key)
    _proxies = field_validator("trusted_proxies", mode="before")(check_proxies)


class ServiceSettings(_Section):
    """`harvester serve`: the scheduler's lease, catch-up, retries and shutdown."""

    lease_seconds: float = Field(default=60.0, gt=0)
    misfire_grace_hours: float = Field(default=72.0, gt=0)
    retry_seconds: float = Field(default=900.0, gt=0)
    reload_seconds: float = Field(default=30.0, gt=0)
    stop_timeout: float = Field(default=30.0, gt=0)


class Settings(BaseSettings):
    """Every setting of harvester, grouped by section as in ``harvester.toml``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    pubmed: PubMedSettings = Field(default_factory=PubMedSettings)
    feeds: FeedsSettings = Field(default_factory=FeedsSettings)
    europepmc: EuropePMCSettings = Field(default_factory=EuropePMCSettings)
    crossref: CrossrefSettings = Field(default_factory=CrossrefSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    retractions: RetractionSettings = Field(default_factory=RetractionSettings)
    smtp: SMTPSettings = Field(default_factory=SMTPSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    queries: str = DEFAULT_QUERIES_DIR
    timezone: str = "Europe/London"

    config_file: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - the signature is pydantic-settings'
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file; the file's values arrive as init arguments.
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as 'Europe/London', got {value!r}") from None
        return value

    @property
    def queries_dir(self) -> Path:
        return self._relative(self.queries)

    @property
    def data_dir(self) -> Path:
        """The installation's folder for its own small files (the shared NCBI request budget):
        the SQLite database's folder, else the settings file's, else the working folder."""
        url = self.database.url
        if url.startswith("sqlite:///") and ":memory:" not in url and "mode=memory" not in url:
            return Path(url.removeprefix("sqlite:///").split("?", 1)[0]).parent
        if self.config_file is not None:
            return self.config_file.parent
        return Path.cwd()

    @property
    def outbox_dir(self) -> Path:
        return self._relative(self.smtp.outbox)

    def _relative(self, value: str) -> Path:
        path = Path(value)
        if not path.is_absolute() and self.config_file is not None:
            path = self.config_file.parent / path
        return path


SECTIONS: dict[str, type[_Section]] = {
    "database": DatabaseSettings,
    "pubmed": PubMedSettings,
    "feeds": FeedsSettings,
    "europepmc": EuropePMCSettings,
    "crossref": CrossrefSettings,
    "health": HealthSettings,
    "retractions": RetractionSettings,
    "smtp": SMTPSettings,
    "web": WebSettings,
    "service": ServiceSettings,
}


def settings_path(path: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The settings file to read: ``path``, else ``HARVESTER_CONFIG``, else ``./harvester.toml``;
    and whether it was named (a named file must exist; the default may be absent)."""
    explicit = path is not None or "HARVESTER_CONFIG" in os.environ
    file = Path(
        path if path is not None else os.environ.get("HARVESTER_CONFIG", DEFAULT_CONFIG_FILE)
    )
    return file, explicit


def load_settings(
    path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Read settings from ``path`` (or ``HARVESTER_CONFIG``, or ``./harvester.toml``) and the env.

    A missing default file is not an error (defaults apply); a missing named file is.
    """
    file, explicit = settings_path(path)
    data: dict[str, Any] = {}
    text = ""
    if file.exists():
        text, data = read_toml(file)
        _refuse_secrets(file, text, data)
    elif explicit:
        raise ConfigError(f"{file}: settings file not found", hint="run `harvester init`")
    else:
        file = Path.cwd() / DEFAULT_CONFIG_FILE
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise config_error(file, text, exc, env_prefix=ENV_PREFIX) from None
    except SettingsError as exc:  # an environment variable that should hold JSON does not
        raise env_error(exc) from None
    settings.config_file = file.resolve()
    settings.database.url = _anchor_sqlite(settings.database.url, settings.config_file.parent)
    named = os.environ.get(f"{ENV_PREFIX}QUERIES")
    if named is not None and not settings.queries_dir.is_dir():
        # A folder named on purpose that is not there is a mistake, not an empty set of topics.
        what = "is not a folder" if settings.queries_dir.exists() else "does not exist"
        raise ConfigError(
            f"{ENV_PREFIX}QUERIES={named}: the topic folder {settings.queries_dir} {what}",
            hint="name the folder of topic files, or unset the variable",
        )
    return settings


def _anchor_sqlite(url: str, folder: Path) -> str:
    """A relative SQLite path is taken relative to the settings file's folder, not the cwd."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith("sqlite:////"):
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith((":memory:", "file:")):
        return url
    return f"{prefix}{folder / rest}"


def _refuse_secrets(file: Path, text: str, data: dict[str, Any]) -> None:
    for section, model in SECTIONS.items():
        values = data.get(section)
        if not isinstance(values, dict):
            continue
        for key in getattr(model, "secrets", ()):
            if key in values:
                line = find_line(text, (section, key))
                where = f"{file} line {line}" if line else str(file)
                env_name = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
                raise ConfigError(
                    f"{where}: [{section}] {key} is a secret and is read only from the "
                    f"environment; remove it from the file and set {env_name}"
                )
