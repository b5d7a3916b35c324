"""Back-off arithmetic shared by the sources."""

from __future__ import annotations

import datetime as dt

import pytest

from harvester.sources.fetch import backoff_delay, retry_after_seconds

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 12 ", 12.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def test_backoff_doubles_with_bounded_jitter() -> None:
    for retry in (1, 2, 3):
        delay = backoff_delay(retry, 0.5, retry_after=None, cap=60)
        assert 0.5 * 2 ** (retry - 1) <= delay <= 0.5 * 2 ** (retry - 1) + 0.5


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    assert backoff_delay(1, 0.0, retry_after=20, cap=60) == 20
    assert backoff_delay(1, 0.0, retry_after=600, cap=60) == 60
