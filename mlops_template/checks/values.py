"""Checks of the answers that are numbers: days of retention, dollars of budget."""

from __future__ import annotations

import re
from collections.abc import Mapping


def retention_days(value: str, _: Mapping) -> str | None:
    # S3 Object Lock's default retention takes 1 to 36500 days.
    if not re.fullmatch(r"[1-9][0-9]{0,4}", value, re.ASCII) or int(value) > 36500:
        return "must be a whole number of days from 1 to 36500"
    return None


def whole_dollars(value: str, _: Mapping) -> str | None:
    if not re.fullmatch(r"[1-9][0-9]{0,6}", value, re.ASCII):
        return "must be a whole number of US dollars from 1 to 9999999"
    return None
