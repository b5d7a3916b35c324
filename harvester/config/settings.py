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
    parse_toml,
    read_toml,
)
from harvester.config.schedule import EXAMPLES, to_cron
from harvester.config.services import CrossrefSettings as CrossrefSettings
from harvester.config.services import EuropePMCQuery as EuropePMCQuery
from harvester.config.services import EuropePMCSettings as EuropePMCSettings
from harvester.config.services import HealthSettings as HealthSettings
from harvester.config.services import RetractionSettings as RetractionSettings
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


class ScheduleConfig(_Section):
    harvest: str | None = "0 6 * * *"
    digest: str | None = "0 8 * * MON"

    @field_validator("harvest", "digest")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        """A schedule in words ("every weekday at 06:00") or cron, held as cron."""
        if value is None or value == "":
            return None
        try:
            return to_cron(value)
        except ValueError as exc:
            raise ValueError(f"a schedule such as {EXAMPLES} ({exc})") from None


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
    """An additional resource: its label printed in bold, then a link (``link_text``, default
    the topic's ``resources_link_text``)."""

    label: str
    url: str
    link_text: str | None = None

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
    resources_link_text: str = Field(default="Learn more", min_length=1)
    resources: list[BulletinResource] = Field(default_factory=list)
    #: An image printed above the title (PNG, JPEG or GIF), relative to the topic file.
    logo: str | None = None
    logo_alt: str | None = None
    #: The bulletin's language and country: paper size (A4, or US Letter for en-US and other
    #: Letter countries) and the CSL styles' quotation marks and month names.
    locale: str = "en-GB"

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not re.fullmatch(r"[a-zA-Z]{2,3}(?:[-_][a-zA-Z]{2})?", value.strip()):
            raise ValueError(f'a language and country such as "en-GB", got {value!r}')
        return value.strip().replace("_", "-")

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
    europepmc: EuropePMCQuery | None = None
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
    text, _ = read_toml(file)
    topic = parse_topic(text, str(file), default_slug=file.stem.lower(), slug_from=file.name)
    topic.path = file
    return topic


def parse_topic(
    text: str, origin: str, *, default_slug: str | None = None, slug_from: str | None = None
) -> Topic:
    """A topic from its TOML ``text``, checked by the rules a topic file is checked by; errors
    name ``origin`` (a file, or where the text was typed) and the line."""
    data = parse_toml(text, origin)
    try:
        topic = Topic.model_validate(data)
    except ValidationError as exc:
        raise config_error(Path(origin), text, exc) from None
    if topic.topic.slug is None:
        if default_slug is None or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", default_slug):
            named = f"the file name {slug_from!r}" if slug_from else "it"
            raise ConfigError(
                f"{origin}: {named} is not a usable topic slug; "
                'set [topic] slug = "..." (lower-case letters, digits, hyphens)'
            )
        topic.topic.slug = default_slug
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
