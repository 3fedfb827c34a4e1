"""Rows against the schema, as a DataFrame: every rule of rules.py checked on every column at
once, the data returned typed (numbers, or stripped text for a category), target first.

Rows are numbered from 1 after the header, counting on across files in name order (read_data
keeps that index), also when rows without a target were dropped before.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from . import rules
from .rules import DataValidationError
from .schema import Column, Schema

BINARY_CLASSES = (0.0, 1.0)


def _line(column: str, rule: rules.Rule, mask: pd.Series, shown: pd.Series) -> str:
    """The rule's message for the rows in mask, showing the first one's value from `shown`."""
    positions = np.flatnonzero(mask.to_numpy())
    first = positions[0]
    value = shown.iloc[first]
    # The row's number in the data (from 1), also when rows before it were dropped.
    row = mask.index[first] + 1 if pd.api.types.is_integer_dtype(mask.index) else first + 1
    return rule.line(column, len(positions), len(mask), row, None if pd.isna(value) else value)


def check_column(
    raw: pd.Series, column: Column, source: str, is_target: bool = False, scoring: bool = False
) -> tuple[pd.Series, list[str]]:
    """The column typed (numbers, or stripped text for a category), and a message for each
    rule the raw values break (validate, and the monitor on captured requests). scoring: the
    values are rows for a trained model, whose schema the remedies do not change."""
    problems = []
    missing = raw.isna()
    if column.type == "category":
        values = raw.astype("string").str.strip().astype(object).where(~missing, None)
        wrong_type = pd.Series(False, index=raw.index)
    else:
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        wrong_type = ~missing & ~np.isfinite(values)
        if column.type == "integer":
            wrong_type |= ~missing & (values != values.round())
    if wrong_type.any():
        # Shown as the file has it: text such as 'abc' is the usual culprit, or "1,234".
        if raw[wrong_type].map(rules.formatted_number).all():
            rule = rules.formatted_rule(column)
        else:
            rule = rules.type_rule(column, source, scoring)
        problems.append(_line(column.name, rule, wrong_type, raw))
    present = ~missing & ~wrong_type
    for rule in rules.value_rules(column, source):
        if rule.kind == "min":
            breaks = values < column.min
        elif rule.kind == "max":
            breaks = values > column.max
        else:
            breaks = ~values.isin(column.allowed_values)
        if (present & breaks).any():
            problems.append(_line(column.name, rule, present & breaks, values))
    if is_target:
        if missing.any():
            problems.append(_line(column.name, rules.target_missing_rule(source), missing, raw))
    elif missing.mean() > column.max_missing_fraction:
        problems.append(_line(column.name, rules.missing_rule(column, source), missing, raw))
    return values, problems


def _check_target(target: pd.Series, schema: Schema, problem_type: str) -> list[str]:
    labels = target.dropna()
    name = schema.target
    if problem_type != "binary_classification" or labels.empty:
        return []
    if schema.column(name).type == "category":
        # Its two labels are checked by allowed_values; the schema names the positive one.
        return []
    not_binary = target.notna() & ~target.isin(BINARY_CLASSES)
    if not_binary.any():
        return [_line(name, rules.BINARY_TARGET, not_binary, target)]
    if labels.nunique() < 2:
        return [rules.two_classes(name, len(labels), labels.iloc[0])]
    return []


def encode_target(target: pd.Series, schema: Schema) -> pd.Series:
    """The target as the model learns it: 1 for the positive class, 0 for the other label."""
    if schema.labels is None:
        return target
    return (target == schema.positive_class).astype("Int64").where(target.notna())


def validate(
    data: pd.DataFrame, schema: Schema, problem_type: str, with_target: bool = True
) -> pd.DataFrame:
    """Check raw data against the schema; return it typed, target first, in schema order.

    The target is encoded as the model learns it (see encode_target). Rows without a target are
    dropped when the schema says so (their count is in `frame.attrs["dropped_rows"]`). With
    with_target=False (rows to score) the target is neither required nor returned.

    Raises DataValidationError with one line for every broken rule, so that one run shows
    everything to fix.
    """
    # The columns the model takes; an id or ignored column may be there, and is left out.
    names = schema.model_columns if with_target else schema.features
    dropped = 0
    if with_target and schema.drop_rows_with_missing_target and schema.target in data.columns:
        keep = data[schema.target].notna()
        dropped = int((~keep).sum())
        # The index keeps each row's number in the file, so messages still point at it.
        data = data[keep]
    scoring = not with_target
    problems = [
        rules.required(name, schema.source, scoring) for name in names if name not in data.columns
    ]
    problems += [
        rules.declared(name, schema.source, scoring)
        for name in data.columns
        if name not in schema.names
    ]
    typed = {}
    target_broken = False
    for column in schema.columns:
        if column.name in data.columns and column.name in names:
            is_target = column.name == schema.target
            if not with_target:
                # The share of missing values is a rule for a data set; one row to score may
                # lack a value, which the model handles.
                column = replace(column, max_missing_fraction=1.0)
            typed[column.name], column_problems = check_column(
                data[column.name], column, schema.source, is_target, scoring
            )
            problems += column_problems
            target_broken = target_broken or (is_target and bool(column_problems))
    # The class rules only say something new about a target whose values meet the schema.
    if schema.target in typed and not target_broken:
        problems += _check_target(typed[schema.target], schema, problem_type)
    if problems:
        raise DataValidationError("\n".join(problems))
    frame = pd.DataFrame(typed, index=data.index)[names]
    for column in schema.columns:
        if column.type == "integer" and column.name in names:
            frame[column.name] = frame[column.name].astype("Int64")
    if with_target:
        frame[schema.target] = encode_target(frame[schema.target], schema)
    frame = frame.reset_index(drop=True)
    frame.attrs["dropped_rows"] = dropped
    return frame


def check_rows(
    frame: pd.DataFrame,
    schema: Schema,
    problem_type: str,
    min_rows: int | None = None,
    min_class_count: int | None = None,
) -> None:
    """Refuse valid data that is too little or too uniform to train on.

    Rules: at least min_rows rows; a regression target that varies; for classification, at least
    min_class_count rows of every class. A minimum left at None is not checked. Raises
    DataValidationError with one line for every broken rule, except that too few rows is reported
    alone: class counts follow from it, and it is the first thing to fix.
    """
    if min_rows is not None and len(frame) < min_rows:
        raise DataValidationError(rules.enough_rows(min_rows, len(frame)))
    problems = []
    labels = frame[schema.target].dropna()
    if problem_type == "regression" and len(labels) and labels.nunique() == 1:
        problems.append(rules.target_varies(schema.target, len(labels), labels.iloc[0]))
    if problem_type == "binary_classification" and min_class_count is not None:
        for label, count in sorted(labels.value_counts().items()):
            if count < min_class_count:
                problems.append(
                    rules.class_count(schema.target, min_class_count, label, count, len(labels))
                )
    if problems:
        raise DataValidationError("\n".join(problems))
