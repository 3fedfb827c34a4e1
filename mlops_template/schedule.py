"""EventBridge schedule expressions (UTC), field by field as AWS documents them; cfn-lint does not
check them. `rate(value unit)`, `cron(minutes hours day-of-month month day-of-week year)` or none.
"""

from __future__ import annotations

import re

RATE_RE = re.compile(
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)", re.ASCII
)
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# Per field: (name, lowest, highest, names allowed instead of numbers, marks allowed alone).
CRON_FIELDS = (
    ("minutes", 0, 59, "", ""),
    ("hours", 0, 23, "", ""),
    ("day-of-month", 1, 31, "", "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L"),
    ("year", 1970, 2199, "", ""),
)


def _cron_field_problem(text: str, lowest: int, highest: int, names: str, alone: str) -> bool:
    """Whether a cron field is out of its rules: *, a value, a range, a list, an increment."""
    if text == "*" or (text in alone):
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


def schedule_problem(value: str) -> str | None:
    """What is wrong with `value` as the retraining schedule, or None."""
    if value == "none" or RATE_RE.fullmatch(value):
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
    return None
