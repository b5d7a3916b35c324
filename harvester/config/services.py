"""Settings sections of the services harvester asks besides PubMed and feeds: Europe PMC,
Crossref, and the harvest-health thresholds; and a topic's Europe PMC query."""

from __future__ import annotations

from pydantic import Field, field_validator

from harvester.config.base import Section, check_http_url

__all__ = [
    "CrossrefSettings",
    "EuropePMCQuery",
    "EuropePMCSettings",
    "HealthSettings",
    "RetractionSettings",
]


class EuropePMCSettings(Section):
    base_url: str = "https://www.ebi.ac.uk/europepmc/webservices/rest/"
    email: str | None = None
    page_size: int = Field(default=1000, ge=1, le=1000)
    requests_per_second: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)
    overlap_days: int = Field(default=3, ge=0)
    initial_days: int = Field(default=30, ge=1)
    max_slice: int = Field(default=10_000, ge=1)

    @field_validator("base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return check_http_url(value).rstrip("/") + "/"


class CrossrefSettings(Section):
    base_url: str = "https://api.crossref.org/"
    mailto: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return check_http_url(value).rstrip("/") + "/"


class EuropePMCQuery(Section):
    query: str = Field(min_length=1)
    enabled: bool = True


class HealthSettings(Section):
    """When a harvest raises a problem (see ``harvester.core.health``)."""

    empty_runs: int = Field(default=5, ge=1)
    change_factor: float = Field(default=10.0, gt=1)
    min_count: int = Field(default=20, ge=1)
    history: int = Field(default=10, ge=3)
    failures: int = Field(default=3, ge=1)
    churn_ratio: float = Field(default=0.5, gt=0, le=1)
    churn_min: int = Field(default=5, ge=1)


class RetractionSettings(Section):
    """The weekly re-check of accepted and published works (``harvester.usecases.retraction``)."""

    schedule: str | None = "0 5 * * SUN"

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if not value:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"a cron expression such as '0 5 * * SUN' ({exc})") from None
        return value
