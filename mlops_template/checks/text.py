"""Checks every text answer passes: an answer is data (text, no Jinja), free text one printable
line; and the generic checks of a length, a pattern and a list of values."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from mlops_template.checks import Check

# Jinja's opening marks.
TEMPLATE_SYNTAX = ("{{", "{%", "{#")
# Free text may hold letters, marks, numbers, punctuation, symbols and spaces of any script: the
# characters AWS accepts in descriptions and tags. Not controls, line breaks, invisible formatting
# characters (bidirectional overrides, zero-width joiners), surrogates, private-use or unassigned
# code points.
PRINTABLE_CATEGORIES = ("L", "M", "N", "P", "S", "Zs")


def has_template_syntax(value: object) -> bool:
    return isinstance(value, str) and any(mark in value for mark in TEMPLATE_SYNTAX)


def is_text(value: object, _: Mapping) -> str | None:
    if value is None:
        return "is blank"
    if not isinstance(value, str):
        return "must be text (in a YAML config file, put it in quotes)"
    return None


def no_template_syntax(value: object, _: Mapping) -> str | None:
    if has_template_syntax(value):
        marks = ", ".join(TEMPLATE_SYNTAX)
        return f"contains template syntax ({marks}): answers are data, not Jinja"
    return None


def not_blank(value: str, _: Mapping) -> str | None:
    return "is blank" if not value.strip() else None


def printable_line(value: str, _: Mapping) -> str | None:
    for char in value:
        if not unicodedata.category(char).startswith(PRINTABLE_CATEGORIES) or char in "\x85":
            name = "a line break" if char in "\n\r" else unicodedata.name(char, "a control")
            return f"contains U+{ord(char):04X} ({name}): use printable characters on one line"
    if value != value.strip():
        return "starts or ends with spaces"
    return None


def at_most(limit: int, why: str) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        if len(value) > limit:
            return f"is {len(value)} characters, over the {limit} of {why}"
        return None

    return check


def matches(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if pattern.fullmatch(value) else what

    return check


def one_of(options: list[str]) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if value in options else f"must be one of {', '.join(options)}"

    return check


# What every answer passes first, and every free-text answer.
DATA = (is_text, no_template_syntax)
FREE_TEXT = (*DATA, not_blank, printable_line)
