"""Schedules in words: what a person types becomes the cron the scheduler runs, and back."""

from __future__ import annotations

import pytest

from harvester.config.schedule import describe, to_cron
from harvester.config.settings import parse_topic
from harvester.core.errors import ConfigError


@pytest.mark.parametrize(
    ("words", "cron", "said"),
    [
        ("every weekday at 06:00", "0 6 * * MON-FRI", "every weekday at 06:00"),
        ("Mondays at 08:00", "0 8 * * MON", "Mondays at 08:00"),
        ("every Monday at 8am", "0 8 * * MON", "Mondays at 08:00"),
        ("daily at 7.30am", "30 7 * * *", "every day at 07:30"),
        ("every day at 18:15", "15 18 * * *", "every day at 18:15"),
        ("Monday and Thursday at 09:00", "0 9 * * MON,THU", "Mondays and Thursdays at 09:00"),
        (
            "Fri, Wed and Mon at 9pm",
            "0 21 * * MON,WED,FRI",
            "Mondays, Wednesdays and Fridays at 21:00",
        ),
        ("weekends at 10:00", "0 10 * * SAT,SUN", "weekends at 10:00"),
        ("at midnight", "0 0 * * *", "every day at 00:00"),
        ("every hour", "0 * * * *", "every hour"),
        ("0 6 * * *", "0 6 * * *", "every day at 06:00"),
        ("*/15 * * * *", "*/15 * * * *", "*/15 * * * *"),
    ],
)
def test_words_become_cron_and_cron_is_said_in_words(words: str, cron: str, said: str) -> None:
    assert to_cron(words) == cron
    assert describe(cron) == said
    assert to_cron(describe(cron)) == cron or describe(cron) == cron


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("sometimes", "no time of day: add one"),
        ("Tuesdays at 25:00", "'25:00' is not a time of day"),
        ("Caturdays at 10:00", "'caturdays' is not a day of the week"),
        ("every weekday at 13pm", "'13pm' is not a time of day"),
    ],
)
def test_what_is_not_understood_is_named(words: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_cron(words)


def test_a_topic_file_takes_words_and_names_the_line_of_a_bad_one() -> None:
    topic = parse_topic(
        '[schedule]\nharvest = "every weekday at 06:00"\n', "t.toml", default_slug="t"
    )
    assert topic.schedule.harvest == "0 6 * * MON-FRI"
    with pytest.raises(ConfigError, match=r"t.toml line 3: \[schedule\] digest must be a schedule"):
        parse_topic('[schedule]\n\ndigest = "now and then"\n', "t.toml", default_slug="t")
