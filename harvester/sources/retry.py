"""Back-off arithmetic shared by the sources: exponential delays with jitter, and Retry-After."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def backoff_delay(retry: int, base: float, *, retry_after: float | None, cap: float) -> float:
    """The wait before retry number ``retry`` (1, 2, ...): ``base`` doubled each time plus up to
    ``base`` of jitter, and at least what the server asked for (``retry_after``, cut to ``cap``)."""
    delay = base * 2.0 ** (retry - 1) + random.uniform(0, base)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
