"""Schedules in the words a person uses, and the cron expressions the scheduler runs.

``to_cron`` reads "every weekday at 06:00", "Mondays at 08:00", "daily at 7.30am",
"Monday and Thursday at 09:00", "every hour" (or a cron expression, kept as it is) and gives
five cron fields; ``describe`` says a cron expression back in those words where it can.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["cron_trigger", "describe", "to_cron"]

_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_WORDS = {
    **{name.lower(): code for name, code in zip(_DAY_NAMES, _DAYS, strict=True)},
    **{name.lower()[:3]: code for name, code in zip(_DAY_NAMES, _DAYS, strict=True)},
    "tues": "TUE",
    "weds": "WED",
    "thur": "THU",
    "thurs": "THU",
}
_TIME = re.compile(
    r"^(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?$"
)
EXAMPLES = "'every weekday at 06:00', 'Mondays at 08:00', 'daily at 7:30' or '0 6 * * *'"


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


def _looks_like_cron(text: str) -> bool:
    fields = text.split()
    if len(fields) not in (5, 6):
        return False
    numeric = fields[: len(fields) - 3]  # (seconds,) minutes and hours are numbers in cron
    return all(re.fullmatch(r"[\d*/,\-]+", f) for f in numeric) and all(
        re.fullmatch(r"[\d*/,\-A-Za-z?LW#]+", f) for f in fields
    )


def _time(text: str) -> tuple[int, int]:
    words = text.strip().lower().replace(" ", "")
    if words in ("midnight",):
        return 0, 0
    if words in ("noon", "midday"):
        return 12, 0
    match = _TIME.match(words)
    if not match:
        raise ValueError(f"{text.strip()!r} is not a time of day (06:00, 7.30am, 18:15)")
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text.strip()!r} is not a time of day")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{text.strip()!r} is not a time of day")
    return hour, minute


def _days(text: str) -> str:
    words = text.strip().lower()
    words = re.sub(r"^(every|each|on)\s+", "", words)
    if words in ("", "day", "days", "daily", "every day"):
        return "*"
    if words in ("weekday", "weekdays", "working day", "working days", "monday to friday"):
        return "MON-FRI"
    if words in ("weekend", "weekends"):
        return "SAT,SUN"
    codes: list[str] = []
    for part in re.split(r"\s*(?:,|\band\b|&)\s*", words):
        name = part.strip().rstrip("s") if part.strip() not in _DAY_WORDS else part.strip()
        code = _DAY_WORDS.get(name) or _DAY_WORDS.get(part.strip())
        if code is None:
            raise ValueError(f"{part.strip()!r} is not a day of the week")
        if code not in codes:
            codes.append(code)
    return ",".join(sorted(codes, key=_DAYS.index))


def to_cron(text: str) -> str:
    """Five cron fields for a schedule in words (or the cron expression given); ValueError
    saying what was not understood."""
    value = " ".join(text.split())
    if _looks_like_cron(value):
        cron_trigger(value)  # checks it
        return value
    lowered = value.lower()
    if lowered in ("hourly", "every hour"):
        return "0 * * * *"
    match = re.fullmatch(r"(?P<days>.*?)\s*\bat\s+(?P<time>.+)", lowered)
    if match is None:
        raise ValueError("no time of day: add one, as in 'every day at 06:00'")
    hour, minute = _time(match["time"])
    days = match["days"].strip()
    days = re.sub(r"^(daily|every\s+day)$", "", days)
    return f"{minute} {hour} * * {_days(days)}"


def describe(expression: str | None) -> str:
    """A cron expression in words ("every weekday at 06:00"), or the expression itself when
    it is not one of the forms :func:`to_cron` reads."""
    if not expression:
        return "never"
    fields = expression.split()
    if len(fields) != 5:
        return expression
    minute, hour, day, month, weekday = fields
    if expression == "0 * * * *":
        return "every hour"
    if not (minute.isdigit() and hour.isdigit() and day == "*" and month == "*"):
        return expression
    at = f"at {int(hour):02d}:{int(minute):02d}"
    weekday = weekday.upper()
    if weekday == "*":
        return f"every day {at}"
    if weekday == "MON-FRI":
        return f"every weekday {at}"
    if weekday == "SAT,SUN":
        return f"weekends {at}"
    codes = weekday.split(",")
    if all(code in _DAYS for code in codes):
        names = [_DAY_NAMES[_DAYS.index(code)] + "s" for code in codes]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"{listed} {at}"
    return expression
