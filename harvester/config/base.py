"""What every settings section shares: strict models and URL checks."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["Section", "check_http_url"]


def check_http_url(value: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise ValueError(f"an http(s) URL, got {value!r}")
    return value


class Section(BaseModel):
    """A settings section or topic table: unknown keys are errors, defaults are validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
