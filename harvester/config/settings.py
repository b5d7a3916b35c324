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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from harvester.config.errors import ENV_PREFIX, config_error, env_error, find_line, read_toml
from harvester.core.errors import ConfigError

DEFAULT_CONFIG_FILE = "harvester.toml"
DEFAULT_QUERIES_DIR = "queries"


def _check_http_url(value: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise ValueError(f"an http(s) URL, got {value!r}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


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


class EuropePMCSettings(_Section):
    base_url: str = "https://www.ebi.ac.uk/europepmc/webservices/rest/"

    @field_validator("base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return _check_http_url(value).rstrip("/") + "/"


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

    secrets: ClassVar[tuple[str, ...]] = ("secret_key",)


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


# --------------------------------------------------------------------------------------- topics


class TopicMeta(_Section):
    slug: str | None = None
    name: str | None = None
    description: str | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            raise ValueError("a slug of lower-case letters, digits and hyphens")
        return value


class PubMedQuery(_Section):
    query: str = Field(min_length=1)
    enabled: bool = True


class MatchRules(_Section):
    phrases: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("phrases", "exclude")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value):
            raise ValueError("non-empty phrases")
        return [p.strip() for p in value]


class FeedConfig(_Section):
    name: str = Field(min_length=1)
    url: str
    all: bool = False
    phrases: list[str] | None = None
    exclude: list[str] | None = None
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)


def cron_trigger(expression: str, timezone: str | None = None) -> Any:
    """An APScheduler CronTrigger from five cron fields (minute hour day month weekday), or six
    with seconds first (short intervals for trials and tests)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=weekday,
            timezone=timezone,
        )
    return CronTrigger.from_crontab(expression, timezone=timezone)


class ScheduleConfig(_Section):
    harvest: str | None = "0 6 * * *"
    digest: str | None = "0 8 * * MON"

    @field_validator("harvest", "digest")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            cron_trigger(value)
        except ValueError as exc:
            raise ValueError(f"a cron expression such as '0 6 * * *' ({exc})") from None
        return value


class DigestConfig(_Section):
    recipients: list[str] = Field(default_factory=list)
    subject: str | None = None
    send_empty: bool = True  # a week with nothing new: a short "nothing new" digest, or none

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"e-mail addresses, got {address!r}")
        return value


class BulletinResource(_Section):
    label: str
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)


_WORK_KINDS = ("article", "news", "other")


class BulletinSection(_Section):
    """A section of the bulletin and the kinds of work it takes unless a reviewer moves them."""

    title: str = Field(min_length=1)
    kinds: list[str] = Field(default_factory=lambda: list(_WORK_KINDS))

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in _WORK_KINDS:
                raise ValueError(f"kinds among {', '.join(_WORK_KINDS)}, got {kind!r}")
        return value


class BulletinConfig(_Section):
    title: str | None = None
    subtitle: str | None = None
    footer: str | None = None
    contact: str | None = None
    style: str = "house"
    sections: list[BulletinSection] = Field(
        default_factory=lambda: [BulletinSection(title="NEW EVIDENCE")], min_length=1
    )
    resources_heading: str = "Additional Resources"
    resources: list[BulletinResource] = Field(default_factory=list)

    @field_validator("style")
    @classmethod
    def _style(cls, value: str) -> str:
        styles = ("house", "vancouver", "apa", "harvard")
        if value not in styles:
            raise ValueError(f"one of {', '.join(styles)}, got {value!r}")
        return value

    @field_validator("sections", mode="before")
    @classmethod
    def _section_names(cls, value: Any) -> Any:
        """A section may be given by its title alone: ``sections = ["NEW EVIDENCE"]``."""
        if isinstance(value, list):
            return [{"title": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _unique_sections(self) -> BulletinConfig:
        titles = [s.title for s in self.sections]
        if len(set(titles)) != len(titles):
            raise ValueError("section titles must be unique")
        return self


class ReviewConfig(_Section):
    """The review queue: the reasons a reviewer picks from when rejecting."""

    reasons: list[str] = Field(
        default_factory=lambda: ["Off topic", "Duplicate", "Not evidence", "Out of date"]
    )


class Topic(_Section):
    """One topic file: what to search, which news to keep, when, and for whom."""

    topic: TopicMeta = Field(default_factory=TopicMeta)
    pubmed: PubMedQuery | None = None
    match: MatchRules = Field(default_factory=MatchRules)
    feeds: list[FeedConfig] = Field(default_factory=list)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    bulletin: BulletinConfig = Field(default_factory=BulletinConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)

    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_feeds(self) -> Topic:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.url in seen:
                raise ValueError(f"feed url listed twice: {feed.url}")
            seen.add(feed.url)
            if not feed.all and not self.feed_rules(feed).phrases:
                raise ValueError(
                    f"feed {feed.name!r} would keep nothing: give [match] phrases, "
                    "phrases on the feed, or all = true"
                )
        return self

    @property
    def slug(self) -> str:
        assert self.topic.slug is not None  # set by load_topic
        return self.topic.slug

    @property
    def name(self) -> str:
        return self.topic.name or self.slug

    def feed_rules(self, feed: FeedConfig) -> MatchRules:
        """The phrase rules one feed's entries must pass (the feed's own, else the topic's)."""
        return MatchRules(
            phrases=feed.phrases if feed.phrases is not None else self.match.phrases,
            exclude=feed.exclude if feed.exclude is not None else self.match.exclude,
        )


def load_topic(path: str | os.PathLike[str]) -> Topic:
    file = Path(path)
    text, data = read_toml(file)
    try:
        topic = Topic.model_validate(data)
    except ValidationError as exc:
        raise config_error(file, text, exc) from None
    if topic.topic.slug is None:
        stem = file.stem.lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", stem):
            raise ConfigError(
                f"{file}: the file name {file.name!r} is not a usable topic slug; "
                'set [topic] slug = "..." (lower-case letters, digits, hyphens)'
            )
        topic.topic.slug = stem
    topic.path = file
    return topic


def load_topics(folder: str | os.PathLike[str]) -> list[Topic]:
    """Every ``*.toml`` topic in ``folder``, sorted by slug; slugs must be unique."""
    directory = Path(folder)
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: topic folder not found",
            hint="run `harvester init` or set HARVESTER_QUERIES",
        )
    topics: list[Topic] = []
    by_slug: dict[str, Path] = {}
    for file in sorted(directory.glob("*.toml")):
        topic = load_topic(file)
        if topic.slug in by_slug:
            raise ConfigError(
                f"{file}: topic slug {topic.slug!r} is already used by {by_slug[topic.slug]}"
            )
        by_slug[topic.slug] = file
        topics.append(topic)
    return sorted(topics, key=lambda t: t.slug)


def select_topics(topics: Sequence[Topic], slug: str | None) -> list[Topic]:
    if slug is None:
        return list(topics)
    chosen = [t for t in topics if t.slug == slug]
    if not chosen:
        known = ", ".join(t.slug for t in topics) or "none"
        raise ConfigError(f"unknown topic {slug!r} (topics: {known})")
    return chosen
