"""What the columns of a CSV file are, for `make schema` (infer_schema.py): each column's kind
(number, integer or category), bounds and allowed values; the target's problem type and positive
class; and the columns that are no feature (an ID, a constant, a leak) or that the file must fix
(numbers written for people)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .contract.rules import formatted_number

MAX_CATEGORIES = 50
HEADROOM = 0.1
# Labels that name the positive class of a binary target, in the order they are looked for.
POSITIVE_WORDS = ("1", "yes", "y", "true", "t", "positive", "pos")
# A feature that alone ranks the target this well (AUC, or |rank correlation| for regression)
# is a leak rather than a signal; fewer rows than MIN_ROWS_TO_JUDGE say too little to tell.
LEAK_SCORE = 0.99
MIN_ROWS_TO_JUDGE = 20
# A category is judged as a leak only with this many rows per value on average (fewer: its
# in-sample target rates would fit any target).
ROWS_PER_CATEGORY = 10


class InferenceError(ValueError):
    """The schema cannot be inferred; the message says what to pass."""


def _round_out(value: float, up: bool) -> float | int:
    """A bound rounded outwards to two significant digits of its magnitude: 0.0734 -> 0.074."""
    if value == 0:
        return 0
    step = 10 ** (math.floor(math.log10(abs(value))) - 1)
    rounded = (math.ceil if up else math.floor)(value / step) * step
    return int(rounded) if step >= 1 else float(f"{rounded:.12g}")


def as_numbers(values: pd.Series) -> pd.Series | None:
    """The present values as floats, or None when any of them is not a finite number, or when
    one is a code with a leading zero (0042: a number would lose the zeros)."""
    if values.str.fullmatch(r"[-+]?0\d+").any():
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return None
    return numbers.astype(float)


def present_values(raw: pd.Series) -> pd.Series:
    """The values present, as stripped text (an empty cell is missing)."""
    text = raw.dropna().astype(str).str.strip()
    return text[text != ""]


def infer_column(name: str, raw: pd.Series) -> dict[str, Any]:
    """The schema entry of one feature column."""
    present = present_values(raw)
    column: dict[str, Any] = {"name": name}
    numbers = as_numbers(present) if not present.empty else None
    if numbers is None:
        column["type"] = "category"
        distinct = sorted(present.unique())
        if distinct and len(distinct) <= MAX_CATEGORIES:
            column["allowed_values"] = distinct
    else:
        integral = bool((numbers == numbers.round()).all())
        column["type"] = "integer" if integral else "number"
        low, high = float(numbers.min()), float(numbers.max())
        margin = HEADROOM * (high - low) or HEADROOM * abs(high) or 1.0
        low_bound = low - margin if low < 0 else max(0.0, low - margin)
        column["min"] = _round_out(low_bound, up=False)
        column["max"] = _round_out(high + margin, up=True)
        if integral:
            column["min"], column["max"] = math.floor(column["min"]), math.ceil(column["max"])
    missing = float(raw.isna().mean())
    column["max_missing_fraction"] = 0 if missing == 0 else min(1.0, math.ceil(missing * 150) / 100)
    return column


def _positive_class(labels: list[str], counts: pd.Series, chosen: str | None, name: str) -> str:
    if chosen is not None:
        if chosen not in labels:
            raise InferenceError(
                f"--positive-class {chosen!r} is not a label of '{name}'; its labels are {labels}"
            )
        return chosen
    for word in POSITIVE_WORDS:
        found = [label for label in labels if label.lower() == word]
        if found:
            return found[0]
    if counts.iloc[0] == counts.iloc[1]:
        raise InferenceError(
            f"the target '{name}' has two equally common labels {labels}: say which one is "
            f"the positive class with POSITIVE=<label> (--positive-class)"
        )
    return str(counts.idxmin())


def infer_target(
    name: str, raw: pd.Series, positive_class: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The target's schema entry and the schema keys it decides (problem type, positive class,
    what to do with rows that lack it)."""
    present = present_values(raw)
    counts = present.value_counts()
    labels = sorted(counts.index)
    numbers = as_numbers(present) if not present.empty else None
    decided: dict[str, Any] = {"drop_rows_with_missing_target": bool(raw.isna().any())}
    if len(labels) < 2:
        raise InferenceError(
            f"the target '{name}' has {len(labels)} distinct value(s): a model needs at least "
            "two; pick another TARGET"
        )
    if len(labels) == 2 and numbers is not None and set(numbers) == {0.0, 1.0}:
        decided["problem_type"] = "binary_classification"
        column = {"name": name, "type": "integer", "allowed_values": [0, 1]}
        return column, decided
    if len(labels) == 2:
        decided["problem_type"] = "binary_classification"
        decided["positive_class"] = _positive_class(labels, counts, positive_class, name)
        return {"name": name, "type": "category", "allowed_values": labels}, decided
    if numbers is None:
        shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        if present.map(formatted_number).mean() > 0.5:
            raise InferenceError(
                f"the target '{name}' holds numbers written with separators or currency signs "
                f"({shown}): write them as plain numbers (1234.5) in the file"
            )
        raise InferenceError(
            f"the target '{name}' has {len(labels)} text labels ({shown}): this project does "
            "binary classification or regression; map them to two labels, or pick another TARGET"
        )
    decided["problem_type"] = "regression"
    column = infer_column(name, raw.dropna())
    column.pop("max_missing_fraction")
    return column, decided


def _is_id(present: pd.Series, numbers: pd.Series | None, rows: int) -> bool:
    """A value in every row, each different: text (a key, free text), or whole numbers that
    count rows (in file order, or all of a range)."""
    if rows < MIN_ROWS_TO_JUDGE or len(present) < rows or present.nunique() < rows:
        return False
    if numbers is None:
        return True
    if not (numbers == numbers.round()).all():
        return False
    ordered = numbers.is_monotonic_increasing or numbers.is_monotonic_decreasing
    return ordered or numbers.max() - numbers.min() + 1 == rows


def _auc(score: pd.Series, positive: pd.Series) -> float:
    """The area under the ROC curve of `score` for the 0/1 labels `positive` (ties half)."""
    ranks = score.rank()
    hits = int(positive.sum())
    misses = len(positive) - hits
    return float((ranks[positive == 1].sum() - hits * (hits + 1) / 2) / (hits * misses))


def _leak_score(
    present: pd.Series, numbers: pd.Series | None, target: pd.Series, problem_type: str
) -> tuple[str, float]:
    """How well the column alone predicts the target, in the sample: ("AUC", a) with a folded
    to >= 0.5, or ("rank correlation", |rho|); ("", 0) when there is too little to judge."""
    y = target.reindex(present.index)
    known = y.notna().to_numpy()
    y = y[known]
    if len(y) < MIN_ROWS_TO_JUDGE or y.nunique() < 2:
        return "", 0.0
    if numbers is not None:
        x = numbers[known]
    elif present.nunique() * ROWS_PER_CATEGORY <= len(present):
        # A category scores its rows by its mean target: how well its values alone sort them.
        x = y.groupby(present[known]).transform("mean")
    else:
        return "", 0.0
    x, y = x.astype(float).reset_index(drop=True), y.astype(float).reset_index(drop=True)
    if problem_type == "binary_classification":
        auc = _auc(x, y)
        return "AUC", max(auc, 1 - auc)
    rho = x.rank().corr(y.rank())
    return "rank correlation", 0.0 if np.isnan(rho) else abs(float(rho))


def _encoded_target(raw: pd.Series, decided: dict[str, Any]) -> pd.Series:
    """The target as numbers (1 for the positive class), NaN where missing."""
    text = raw.astype("string").str.strip()
    if decided.get("positive_class") is not None:
        return (text == decided["positive_class"]).astype(float).where(text.notna())
    return pd.to_numeric(text, errors="coerce")


def _formatted(name: str, present: pd.Series, numbers: pd.Series | None) -> str | None:
    """The refusal of a column of numbers written for people ("1,234", "$12.50"), if it is one."""
    if present.empty or numbers is not None:
        return None
    plain = pd.to_numeric(present, errors="coerce").notna()
    formatted = present[~plain].map(formatted_number)
    if not formatted.all():
        return None
    return (
        f"column '{name}' holds numbers written with separators or currency signs "
        f"(e.g. {present[~plain].iloc[0]!r}): write them as plain numbers (1234.5) in the file, "
        f"or leave the column out with DROP={name}"
    )


def inspect_columns(
    data: pd.DataFrame,
    target: str,
    decided: dict[str, Any],
    schema_file: str,
    drop: Sequence[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """The role of each feature column that is no feature ("id" or "ignored") and the one-line
    warning that says so (schema_file: where the schema is written, as the warning names it);
    raises InferenceError for what the file itself must fix."""
    roles: dict[str, str] = {}
    warnings: list[str] = []
    refusals: list[str] = []
    # Why each column is no feature, for the refusal when none is left.
    reasons: dict[str, str] = {}
    label = _encoded_target(data[target], decided)
    for name in data.columns:
        if name == target:
            continue
        if name in drop:
            roles[name], reasons[name] = "ignored", "DROP="
            continue
        present = present_values(data[name])
        numbers = as_numbers(present) if not present.empty else None
        where = f'its "role" in {schema_file}'
        if present.nunique() <= 1:
            roles[name], reasons[name] = "ignored", "constant"
            value = f"the same value {present.iloc[0]!r} in every row" if len(present) else ""
            warnings.append(
                f"column '{name}' has {value or 'no value in any row'}, so a model learns nothing "
                'from it: written with "role": "ignored" (left out of the features)'
            )
        elif (refusal := _formatted(name, present, numbers)) is not None:
            refusals.append(refusal)
        elif _is_id(present, numbers, len(data)):
            roles[name], reasons[name] = "id", "an ID"
            warnings.append(
                f"column '{name}' has a different value in every row (an ID): written with "
                '"role": "id", left out of the features and passed through by make predict; '
                f"if it is a real feature, delete {where}"
            )
        else:
            measure, score = _leak_score(present, numbers, label, decided["problem_type"])
            if score >= LEAK_SCORE:
                roles[name], reasons[name] = "ignored", f"a leak: {measure} {score:.3f}"
                warnings.append(
                    f"column '{name}' alone predicts '{target}' almost perfectly ({measure} "
                    f"{score:.3f}), as a value known only after the outcome would (a leak): "
                    'written with "role": "ignored"; if it is known when predicting, delete '
                    f"{where}"
                )
    if refusals:
        raise InferenceError("; ".join(refusals))
    if all(name in roles for name in data.columns if name != target):
        left = ", ".join(f"'{name}' ({reason})" for name, reason in reasons.items())
        raise InferenceError(
            f"no feature is left to learn '{target}' from: {left}; add feature columns to the data"
        )
    return roles, warnings
