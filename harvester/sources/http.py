"""HTTP helpers shared by the sources: back-off with jitter, Retry-After, and transport failures
described in words (without urllib3's nested reprs)."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import parsedate_to_datetime

import requests


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


def describe_failure(
    exc: requests.RequestException, connect_timeout: float, read_timeout: float
) -> str:
    """What went wrong with a request that got no HTTP answer, in a few words."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {connect_timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {read_timeout:g} s (read timeout)"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid URL"
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return "not an http(s) URL"
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return f"body incomplete or undecodable ({_root_cause(exc)})"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({_root_cause(exc)})"
    return type(exc).__name__


def host_not_found(exc: BaseException) -> bool:
    """Whether a request failed because its host name could not be resolved: no network, or a
    wrong address. Retrying that only makes the user wait, so callers fail at once."""
    return _root_cause(exc) == "host name not found"


def _root_cause(exc: BaseException) -> str:
    names = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(type(current).__name__)
        nested = getattr(current, "reason", None)
        if nested is None and current.args and isinstance(current.args[0], BaseException):
            nested = current.args[0]
        current = nested if isinstance(nested, BaseException) else current.__cause__
    if "NameResolutionError" in names or any("gaierror" in n for n in names):
        return "host name not found"
    if "ConnectionRefusedError" in names:
        return "connection refused"
    if "ConnectionResetError" in names:
        return "connection reset"
    if "RemoteDisconnected" in names:
        return "the server closed the connection without answering"
    return names[-1] if names else type(exc).__name__
