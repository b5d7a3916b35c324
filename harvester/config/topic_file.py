"""Topic files, validated: a :class:`Topic` from a file or from the text of one, with every
error naming the file (or where the text came from), the line and the key, and what was
expected, in one line."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from harvester.config.base import Section as _Section
from harvester.config.base import check_http_url as _check_http_url
from harvester.config.errors import config_error, parse_toml, read_toml
from harvester.config.schedule import EXAMPLES, to_cron
from harvester.config.services import EuropePMCQuery
from harvester.core.errors import ConfigError

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
