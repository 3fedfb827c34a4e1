"""The data contract's rules as every refusal names them: one line a broken rule, e.g.
`column 'mean_radius' breaks rule 'min >= 0': 3 of 569 rows, first at row 17 (value -1.0); ...`.

Both ways of checking rows build their lines here, so a rule reads the same wherever it is
broken: frames.py on a DataFrame (preprocess, predict, the monitor, infer_schema) and the server's
numpy path (serve/scoring.py), which checks a request in well under a millisecond. Standard
library only: every server worker imports it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .schema import Column

# A number as spreadsheets and reports print it: a currency sign, thousands separators or a
# decimal comma ("$1,234.50", "1 234", "12,5 €"). Read as text, it would make a category.
FORMATTED_NUMBER = re.compile(
    r"[-+]?\s*[$€£¥₹]?\s*[-+]?(?:\d{1,3}(?:[,'.\s]\d{3})+|\d+)(?:[.,]\d+)?\s*[$€£¥₹%]?"
)
PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# The texts a CSV cell means "missing" by (after its leading spaces): pandas' defaults, written
# out so that both engines (csv_reader.py, and the Spark job of steps/preprocess_spark.py when
# the project has one) read the same cells as missing.
MISSING_TEXT = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


def formatted_number(value: Any) -> bool:
    """Whether a value is a number written for people, not a plain one: "1,234", "$12.50"."""
    text = str(value).strip()
    return not PLAIN_NUMBER.fullmatch(text) and bool(FORMATTED_NUMBER.fullmatch(text))


class DataValidationError(ValueError):
    """The data does not meet the schema; the message has one line for each broken rule."""


@dataclass(frozen=True)
class Rule:
    """One rule of a column, as messages name it, and what to do when values break it."""

    kind: str  # "type", "min", "max", "allowed", "missing" or "target": what the check tests
    name: str  # as the message quotes it, e.g. "min >= 0"
    remedy: str = ""

    def line(self, column: str, count: int, total: int, row: int, value: Any) -> str:
        """The message of `count` of `total` rows breaking the rule, the first at `row` (from 1)
        with `value` (None or NaN: missing)."""
        return (
            f"column '{column}' breaks rule '{self.name}': {count} of {total} rows, "
            f"first at row {row} (value {shown(value)})"
            + (f"; {self.remedy}" if self.remedy else "")
        )


def fmt(value: float) -> str:
    """A schema bound as written in the JSON (0, not 0.0)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def shown(value: Any) -> str:
    """A value as a message shows it: `missing`, or the plain Python value's repr (numpy scalars
    print as np.float64(...) otherwise), cut short past 80 characters (a request's or a file's
    value may be megabytes)."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def type_rule(column: Column, source: str, scoring: bool = False) -> Rule:
    """A value of a number or integer column that is no such number (shown as the file has it:
    text such as 'abc' is the usual culprit). Rows to score cannot change the type: the model
    was trained on numbers."""
    if scoring:
        remedy = f"fix the values: the model was trained on {column.type} values in this column"
    else:
        remedy = f'fix the values, or declare the column "type": "category" in {source}'
    return Rule("type", f"type {column.type}", remedy)


def formatted_rule(column: Column) -> Rule:
    """Numbers of a number column written with separators or currency signs: a category would
    lose their order, so the remedy is the data's formatting, wherever the user is."""
    remedy = 'write the numbers plainly (1234.5, not "1,234.50" or "$1,234.50")'
    return Rule("type", f"type {column.type}", remedy)


def value_rules(column: Column, source: str) -> list[Rule]:
    """The rules on a column's present values that the schema declares, in the order messages
    list them: min, max, allowed values."""
    rules = []
    if column.min is not None:
        remedy = f'fix the values, or lower "min" in {source}'
        rules.append(Rule("min", f"min >= {fmt(column.min)}", remedy))
    if column.max is not None:
        remedy = f'fix the values, or raise "max" in {source}'
        rules.append(Rule("max", f"max <= {fmt(column.max)}", remedy))
    if column.allowed_values is not None:
        category = column.type == "category"
        shown_values = [str(v) if category else fmt(v) for v in column.allowed_values]
        remedy = f'fix the values, or add them to "allowed_values" in {source}'
        rules.append(Rule("allowed", f"allowed values [{', '.join(shown_values)}]", remedy))
    return rules


def missing_rule(column: Column, source: str) -> Rule:
    """More missing values than the column's max_missing_fraction of a data set."""
    remedy = f'fill the values in, or raise "max_missing_fraction" in {source}'
    return Rule("missing", f"missing fraction <= {fmt(column.max_missing_fraction)}", remedy)


def target_missing_rule(source: str) -> Rule:
    remedy = (
        f'fill them in, or set "drop_rows_with_missing_target": true in {source} to drop those rows'
    )
    return Rule("target", "target not missing", remedy)


BINARY_TARGET = Rule(
    "target",
    "binary target in {0, 1}",
    "map the labels to 0 and 1, or declare the target a category with its two labels "
    "as allowed_values and a positive_class",
)


def required(name: str, source: str, scoring: bool = False) -> str:
    """A declared column absent from the data (or from every instance of a request). Rows to
    score must have it: the trained model takes it, whatever the schema says now."""
    if scoring:
        return (
            f"column '{name}' breaks rule 'required': the model was trained with this feature; "
            "add it to the rows to score"
        )
    return (
        f"column '{name}' breaks rule 'required': it is declared in {source} "
        "but absent from the data; add it to the data or remove it from the schema"
    )


def declared(name: str, source: str, scoring: bool = False) -> str:
    """A column of the data that the schema does not declare. In rows to score, declaring it an
    id keeps it beside the predictions without changing what the model takes."""
    if scoring:
        return (
            f"column '{name}' breaks rule 'declared': it is in the rows to score but not in "
            f'{source}; remove it, or declare it "role": "id" there to keep it beside the '
            "predictions"
        )
    return (
        f"column '{name}' breaks rule 'declared': it is in the data but not in {source}; "
        "declare it in the schema or remove it from the data"
    )


def two_classes(name: str, count: int, label: float) -> str:
    return (
        f"column '{name}' breaks rule 'at least 2 classes': "
        f"all {count} rows are {fmt(label)}; a classifier needs both"
    )


def enough_rows(min_rows: int, rows: int) -> str:
    return (
        f"the data breaks rule 'at least {min_rows} rows': it has {rows}; "
        "add rows, or lower --min-rows (MIN_ROWS in config.py)"
    )


def target_varies(name: str, count: int, value: float) -> str:
    return (
        f"column '{name}' breaks rule 'target varies': all {count} rows are "
        f"{fmt(value)}, so a model learns nothing; check that it is the right "
        "column and the export kept its values"
    )


def class_count(name: str, min_count: int, label: float, count: int, total: int) -> str:
    return (
        f"column '{name}' breaks rule 'at least {min_count} rows of "
        f"each class': class {fmt(label)} has {count} of {total} rows; add rows "
        "of that class, or lower --min-class-count (MIN_CLASS_COUNT in config.py)"
    )
