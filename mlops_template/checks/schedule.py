"""EventBridge schedule expressions (UTC), field by field as AWS documents them; cfn-lint does not
check them. `rate(value unit)`, `cron(minutes hours day-of-month month day-of-week year)` or none.

Beyond AWS's grammar, a schedule retrains at most once an hour (MIN_INTERVAL_MINUTES: each run is
a pipeline execution with its jobs, and a run started before the last one ended only queues), and
a cron expression must fire on some day from today on (not 30 February, nor only in past years).
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Mapping

MIN_INTERVAL_MINUTES = 60
RATE_RE = re.compile(
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)", re.ASCII
)
MINUTES_PER_UNIT = {"minute": 1, "hour": 60, "day": 1440}
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# Per field: (name, lowest, highest, names allowed instead of numbers, marks allowed alone).
CRON_FIELDS = (
    ("minutes", 0, 59, "", ()),
    ("hours", 0, 23, "", ()),
    ("day-of-month", 1, 31, "", ("?", "L", "LW")),
    ("month", 1, 12, _MONTHS, ()),
    ("day-of-week", 1, 7, _DAYS, ("?", "L")),
    ("year", 1970, 2199, "", ()),
)
# Further on than this, a cron expression that has not fired counts as one that never fires.
_LAST_YEAR = CRON_FIELDS[-1][2]


def _cron_field_problem(text: str, lowest: int, highest: int, names: str, alone: tuple) -> bool:
    """Whether a cron field is out of its rules: *, a value, a range, a list, an increment."""
    if text == "*" or text in alone:
        return False
    value = f"([0-9]+|{names})" if names else "([0-9]+)"
    item = re.compile(rf"(\*|{value}(-{value})?)(/[0-9]+)?|{value}(L|W|#[1-5])?", re.ASCII)
    for part in text.split(","):
        if not item.fullmatch(part):
            return True
        numbers = [int(number) for number in re.findall(r"(?<![/#])\b[0-9]+\b", part)]
        if any(not lowest <= number <= highest for number in numbers):
            return True
    return False


def _number(text: str, names: str) -> int:
    return names.split("|").index(text) + 1 if text.isalpha() else int(text)


def _values(text: str, lowest: int, highest: int, names: str = "") -> set[int]:
    """The values a field of plain items names (*, values, ranges, increments); a range may wrap
    around (FRI-MON)."""
    values: set[int] = set()
    for part in text.split(","):
        spread, _, step = part.partition("/")
        if spread == "*":
            start, end = lowest, highest
        else:
            first, _, last = spread.partition("-")
            start = _number(first, names)
            end = _number(last, names) if last else (highest if step else start)
        span = [*range(start, end + 1)]
        if start > end:
            span = [*range(start, highest + 1), *range(lowest, end + 1)]
        values.update(span[:: int(step) if step else 1])
    return values


def _days_of_month(text: str, year: int, month: int) -> set[int]:
    last = calendar.monthrange(year, month)[1]
    days: set[int] = set()
    for part in text.split(","):
        if part in ("L", "LW"):
            day = last
        elif part.endswith("W"):
            day = int(part[:-1])
        else:
            days |= {day for day in _values(part, 1, 31) if day <= last}
            continue
        if day > last:
            continue
        if part.endswith("W"):  # the weekday nearest to it, within the month
            weekday = calendar.weekday(year, month, day)
            day += {5: -1 if day > 1 else 2, 6: 1 if day < last else -2}.get(weekday, 0)
        days.add(day)
    return days


def _days_of_week(text: str, year: int, month: int) -> set[int]:
    last = calendar.monthrange(year, month)[1]
    # EventBridge numbers the days from 1 (SUN) to 7 (SAT); calendar from 0 (MON) to 6 (SUN).
    weekday = {day: (calendar.weekday(year, month, day) + 1) % 7 + 1 for day in range(1, last + 1)}
    days: set[int] = set()
    for part in text.split(","):
        if part == "L":
            part = "7L"
        if part.endswith("L"):  # the last such day of the month
            wanted = _number(part[:-1], _DAYS)
            days.add(max(day for day, of in weekday.items() if of == wanted))
        elif "#" in part:  # the n-th such day of the month, when the month has one
            wanted, nth = _number(part.split("#")[0], _DAYS), int(part.split("#")[1])
            matching = [day for day, of in weekday.items() if of == wanted]
            days.update(matching[nth - 1 : nth])
        else:
            wanted_days = _values(part, 1, 7, _DAYS)
            days.update(day for day, of in weekday.items() if of in wanted_days)
    return days


def _first_day(fields: list[str], today: datetime.date) -> datetime.date | None:
    """The first day from `today` on that the cron expression's date fields match, or None."""
    months = _values(fields[3], 1, 12, _MONTHS)
    years = _values(fields[5], 1970, _LAST_YEAR)
    for year in sorted(y for y in years if y >= today.year):
        for month in sorted(m for m in months if (year, m) >= (today.year, today.month)):
            if fields[2] == "?":
                days = _days_of_week(fields[4], year, month)
            else:
                days = _days_of_month(fields[2], year, month)
            days = {day for day in days if datetime.date(year, month, day) >= today}
            if days:
                return datetime.date(year, month, min(days))
    return None


def schedule_problem(value: str, today: datetime.date | None = None) -> str | None:
    """What is wrong with `value` as the retraining schedule, or None."""
    if value == "none":
        return None
    rate = RATE_RE.fullmatch(value)
    if rate:
        number, unit = value[5:-1].split(" ")
        if int(number) * MINUTES_PER_UNIT[unit.rstrip("s")] < MIN_INTERVAL_MINUTES:
            return "retrains more often than once an hour; use rate(1 hour) or longer"
        return None
    if not (value.startswith("cron(") and value.endswith(")")):
        return "must be an EventBridge rate(...) or cron(...) expression, or none"
    fields = value[5:-1].split(" ")
    if len(fields) != len(CRON_FIELDS):
        names = " ".join(name for name, *_ in CRON_FIELDS)
        return f"cron() needs {len(CRON_FIELDS)} fields: {names}"
    for text, (name, *bounds) in zip(fields, CRON_FIELDS, strict=True):
        if _cron_field_problem(text, *bounds):
            return f"cron() field {name} {text!r} is not valid"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "cron() needs ? in exactly one of day-of-month and day-of-week"
    if len(_values(fields[0], 0, 59)) > 1:
        return (
            f"cron() field minutes {fields[0]!r} retrains more often than once an hour; "
            "name one minute"
        )
    today = today or datetime.datetime.now(datetime.UTC).date()
    if _first_day(fields, today) is None:
        return f"cron() never fires: no day from today ({today}, UTC) on matches its date fields"
    return None


def schedule_expression(value: str, _: Mapping) -> str | None:
    """schedule_problem as a check of the answer rules."""
    return schedule_problem(value)
