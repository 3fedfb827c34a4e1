"""A request's rows checked against the data contract's rules as contract.validate(...,
with_target=False) checks them, each broken rule named by the contract's own message, and encoded
as model_io.encode does, into the matrix the model takes."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contract import rules
from ..contract.schema import Column, Schema
from .request import RequestError

NUMBER_TYPES = (int, float)


@dataclass(frozen=True)
class Feature:
    """One feature: its column in the schema, the contract's rules of that column, and its
    categories as the model saved them."""

    column: Column
    type_rule: rules.Rule
    value_rules: tuple[rules.Rule, ...]  # min, max, allowed values: those the schema declares
    codes: dict[str, int] | None  # category -> code; None for a number


class RowChecker:
    """The schema's rules for the model's features, in the model's order, and their categories as
    the model saved them."""

    def __init__(
        self, contract: Schema, features: list[str], known: dict[str, list[str]], source: str
    ) -> None:
        self.features = features
        self.specs = [
            Feature(
                column,
                rules.type_rule(column, source, scoring=True),
                tuple(rules.value_rules(column, source)),
                {value: code for code, value in enumerate(known[name])} if name in known else None,
            )
            for name in features
            for column in [contract.column(name)]
        ]
        self.numeric = [j for j, feature in enumerate(self.specs) if feature.codes is None]
        self.category = [j for j, feature in enumerate(self.specs) if feature.codes is not None]
        numeric = [self.specs[j].column for j in self.numeric]
        self.lows = np.array([-np.inf if c.min is None else c.min for c in numeric])
        self.highs = np.array([np.inf if c.max is None else c.max for c in numeric])
        self.integer = np.array([c.type == "integer" for c in numeric], dtype=bool)

    def matrix(self, rows: Sequence[Sequence[Any]], missing: frozenset | None) -> np.ndarray:
        """The rows as the model takes them, after checking them against the schema.

        missing: the values that mean a missing value (NA_TEXT for CSV; None always does).
        Raises RequestError(400) naming the column and the rule for each rule a value breaks.
        """
        if not rows:
            raise RequestError(400, "the request has no rows")
        missing = missing or frozenset()
        matrix = np.empty((len(rows), len(self.features)))
        problems: list[tuple[int, str]] = []
        if self.numeric:
            problems += self._numbers(rows, missing, matrix)
        for j in self.category:
            problems += self._categories(rows, j, missing, matrix)
        if problems:
            # In the columns' order, as contract.validate reports them.
            ordered = sorted(problems, key=lambda problem: problem[0])
            raise RequestError(400, " | ".join(text for _, text in ordered))
        return matrix

    def _numbers(
        self, rows: Sequence[Sequence[Any]], missing: frozenset, out: np.ndarray
    ) -> list[tuple[int, str]]:
        if self.category:
            pick = operator.itemgetter(*self.numeric)
            one = len(self.numeric) == 1  # itemgetter of one index returns the value itself
            raw = [[pick(row)] for row in rows] if one else [pick(row) for row in rows]
        else:
            raw = rows
        try:
            values = np.array(raw, dtype=float)
            # numpy takes what float() takes; pandas refuses separators and non-ASCII digits.
            try:
                text, text_only = "".join(map("".join, raw)), True
            except TypeError:  # JSON numbers among the values
                text = "".join(value for row in raw for value in row if isinstance(value, str))
                text_only = False
            if "_" in text or not text.isascii():
                raise ValueError
            if text_only is False and any(type(v) is bool for row in raw for v in row):
                raise ValueError  # JSON's true and false, which numpy takes for 1 and 0
        except (ValueError, TypeError, OverflowError):
            values = np.array([[_to_float(value) for value in row] for row in raw], dtype=float)
        absent = np.zeros(values.shape, dtype=bool)
        unknown = ~np.isfinite(values)
        for i, k in zip(*np.nonzero(unknown), strict=True):
            value = raw[i][k]
            absent[i, k] = value is None or (isinstance(value, str) and value in missing)
        wrong = unknown & ~absent
        with np.errstate(invalid="ignore"):
            wrong |= ~absent & self.integer & (values != np.round(values))
            present = ~absent & ~wrong
            below = present & (values < self.lows)
            above = present & (values > self.highs)
        outside = np.zeros(values.shape, dtype=bool)
        for k, j in enumerate(self.numeric):
            allowed = self.specs[j].column.allowed_values
            if allowed is not None:
                outside[:, k] = present[:, k] & ~np.isin(values[:, k], allowed)
        values[absent] = np.nan
        out[:, self.numeric] = values
        if not (wrong.any() or below.any() or above.any() or outside.any()):
            return []
        problems = []
        for k, j in enumerate(self.numeric):
            feature = self.specs[j]
            # As sent: text such as 'abc' is the usual culprit of the type rule, or "1,234".
            sent = [row[k] for row in raw]
            type_rule = feature.type_rule
            if all(rules.formatted_number(sent[i]) for i in np.flatnonzero(wrong[:, k])):
                type_rule = rules.formatted_rule(feature.column)
            checks = [(type_rule, wrong[:, k], sent)]
            breaking = {"min": below[:, k], "max": above[:, k], "allowed": outside[:, k]}
            checks += [(rule, breaking[rule.kind], values[:, k]) for rule in feature.value_rules]
            problems += [
                (j, _line(feature.column.name, rule, mask, shown))
                for rule, mask, shown in checks
                if mask.any()
            ]
        return problems

    def _categories(
        self, rows: Sequence[Sequence[Any]], j: int, missing: frozenset, out: np.ndarray
    ) -> list[tuple[int, str]]:
        feature = self.specs[j]
        codes = feature.codes or {}
        texts = [
            None
            if value is None or (isinstance(value, str) and value in missing)
            # astype("string") in model_io.encode: True -> "True", 1.5 -> "1.5".
            else str(value).strip()
            for value in (row[j] for row in rows)
        ]
        out[:, j] = [np.nan if text is None else codes.get(text, np.nan) for text in texts]
        allowed = feature.column.allowed_values
        if allowed is None:
            return []
        outside = np.array([text is not None and text not in allowed for text in texts])
        if not outside.any():
            return []
        (rule,) = (rule for rule in feature.value_rules if rule.kind == "allowed")
        return [(j, _line(feature.column.name, rule, outside, texts))]


def _to_float(value: Any) -> float:
    """A value as pandas.to_numeric reads it: NaN when it is no number (JSON's true and false
    are none; an integer beyond a float's range neither)."""
    if isinstance(value, bool):
        return np.nan
    if isinstance(value, str):
        # Python's float() also takes digit separators and non-ASCII digits; pandas does not.
        if "_" in value or not value.isascii():
            return np.nan
        try:
            return float(value)
        except ValueError:
            return np.nan
    if isinstance(value, NUMBER_TYPES):
        try:
            return float(value)
        except OverflowError:
            return np.nan
    return np.nan


def _line(column: str, rule: rules.Rule, mask: np.ndarray, shown: Sequence[Any]) -> str:
    """The contract's message for the rows in mask, showing the first one's value."""
    positions = np.flatnonzero(mask)
    first = int(positions[0])
    return rule.line(column, len(positions), len(mask), first + 1, shown[first])
