"""The data contract as Spark expressions: preprocess.py's checks, messages and split on rows
spread over a cluster, for the Spark job (steps/preprocess_spark.py).

Every rule and its one-line message come from rules.py and schema.py, the split's rule from
sampling.py; this module only evaluates them on Spark columns, so that only counts reach the
driver. It imports pyspark and the standard library (with the contract's standard-library
modules), never pandas: the container's own pandas and numpy are not the lock's.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import rules, sampling
from .rules import DataValidationError
from .schema import Column, Schema

# The rows' own columns: the row's number in the data (from 1), its split key, its split.
ROW, KEY, PART = "_row", "_key", "_part"
INFINITY = float("inf")
# Java's parseDouble, which Spark's cast uses, takes a type suffix ("1d", "2f"); pandas does not.
JAVA_SUFFIX = r"[dDfF]\s*$"
# (?U): \d and \s as Python's str patterns read them (Unicode), not Java's ASCII defaults.
STRIP = r"(?U)^\s+|\s+$"
# A split of 2**16 key ranges: where a stratum's cut falls, one range's keys reach the driver.
RANGE_BITS = 16


def col(name: str) -> SparkColumn:
    """A column by its name as the file has it (dots and spaces are no struct access)."""
    return F.col("`" + name.replace("`", "``") + "`")


def full(pattern: str) -> str:
    """A Python pattern as a Java one that must match the whole text (re.fullmatch)."""
    return f"(?U)^(?:{pattern})$"


def _typed(raw: SparkColumn, column: Column) -> tuple[SparkColumn, SparkColumn]:
    """The column's values as validate types them (stripped text, or a double), and whether a
    present value is of the wrong type (validate.check_column's rules)."""
    if column.type == "category":
        return F.regexp_replace(raw, STRIP, ""), F.lit(False)
    number = raw.cast("double")
    not_finite = F.coalesce(F.isnan(number) | (F.abs(number) == INFINITY), F.lit(False))
    wrong = number.isNull() | not_finite | raw.rlike(JAVA_SUFFIX)
    if column.type == "integer":
        wrong = wrong | F.coalesce(number != F.floor(number), F.lit(False))
    return number, F.coalesce(raw.isNotNull() & wrong, F.lit(False))


def _breaks(column: Column, rule: rules.Rule, value: SparkColumn) -> SparkColumn:
    if rule.kind == "min":
        return value < F.lit(float(column.min))
    if rule.kind == "max":
        return value > F.lit(float(column.max))
    allowed = [str(v) if column.type == "category" else float(v) for v in column.allowed_values]
    return ~value.isin(allowed)


class Checks:
    """Every rule of every column as aggregate expressions, evaluated in one pass over the rows:
    for each check, how many rows break it and the first of them."""

    def __init__(self) -> None:
        self.expressions: list[SparkColumn] = []

    def add(self, breaks: SparkColumn) -> int:
        index = len(self.expressions) // 2
        hit = F.coalesce(breaks, F.lit(False))
        self.expressions += [
            F.sum(F.when(hit, 1).otherwise(0)).alias(f"count{index}"),
            F.min(F.when(hit, F.col(ROW))).alias(f"first{index}"),
        ]
        return index


def _column_checks(
    schema: Schema, columns: list[str], checks: Checks
) -> tuple[dict[str, SparkColumn], list[tuple[str, rules.Rule, int, SparkColumn]], dict[str, int]]:
    """Each present column's typed value, and its rules' checks added to `checks`: (column,
    rule, index of its check, the value shown: raw text or the typed value), in validate's
    order, and for number columns the check of wrong values that are no formatted number."""
    typed: dict[str, SparkColumn] = {}
    # (column, rule, index of its check, the value shown: raw text or the typed value)
    found: list[tuple[str, rules.Rule, int, SparkColumn]] = []
    formatted: dict[str, int] = {}
    names = schema.model_columns
    checked = [c for c in schema.columns if c.name in columns and c.name in names]
    for column in checked:
        raw = col(column.name)
        value, wrong = _typed(raw, column)
        typed[column.name] = value
        present = raw.isNotNull() & ~wrong
        if column.type != "category":
            text = F.regexp_replace(raw, STRIP, "")
            plain = text.rlike(full(rules.PLAIN_NUMBER.pattern))
            looks = ~plain & text.rlike(full(rules.FORMATTED_NUMBER.pattern))
            formatted[column.name] = checks.add(wrong & ~looks)
            found.append(
                (column.name, rules.type_rule(column, schema.source), checks.add(wrong), raw)
            )
        for rule in rules.value_rules(column, schema.source):
            found.append(
                (column.name, rule, checks.add(present & _breaks(column, rule, value)), value)
            )
        if column.name == schema.target:
            rule = rules.target_missing_rule(schema.source)
        else:
            rule = rules.missing_rule(column, schema.source)
        found.append((column.name, rule, checks.add(raw.isNull()), F.lit(None)))
    return typed, found, formatted


def validate(
    rows: DataFrame, schema: Schema, problem_type: str, before: int
) -> tuple[DataFrame, int, int]:
    """frames.validate on the `before` rows read_rows read: the rows typed, target first
    (encoded) with their number, how many there are, and how many were dropped without a
    target. Raises DataValidationError with validate's lines, in its order."""
    names = schema.model_columns
    columns = [name for name in rows.columns if name != ROW]
    if schema.drop_rows_with_missing_target and schema.target in columns:
        rows = rows.filter(col(schema.target).isNotNull())
    total = rows.count() if schema.drop_rows_with_missing_target else before
    problems: list[Any] = [rules.required(n, schema.source) for n in names if n not in columns]
    problems += [rules.declared(n, schema.source) for n in columns if n not in schema.names]
    checks = Checks()
    typed, found, formatted = _column_checks(schema, columns, checks)
    target = schema.target if schema.target in typed else None
    binary = problem_type == "binary_classification" and target is not None
    binary = binary and schema.column(schema.target).type != "category"
    if binary:
        value = typed[schema.target]
        not_binary = checks.add(value.isNotNull() & ~value.isin(0.0, 1.0))
    counted = rows.agg(
        *checks.expressions,
        *(
            [
                F.count(typed[target]).alias("labels"),
                F.min(typed[target]).alias("low"),
                F.max(typed[target]).alias("high"),
            ]
            if binary
            else []
        ),
    ).first()
    counts = counted.asDict() if counted else {}
    # Which breaks are reported (in validate's order), and the first row of each.
    lines: list[tuple[str, rules.Rule, int, int, SparkColumn]] = []
    target_broken = False
    for name, rule, index, shown in found:
        count, first = counts[f"count{index}"], counts[f"first{index}"]
        if rule.kind == "missing":
            if not total or count / total <= schema.column(name).max_missing_fraction:
                continue
        elif not count:
            continue
        if rule.kind == "type" and not counts[f"count{formatted[name]}"]:
            rule = rules.formatted_rule(schema.column(name))
        lines.append((name, rule, count, first, shown))
        target_broken = target_broken or name == schema.target
    if binary and not target_broken:
        count, first = counts[f"count{not_binary}"], counts[f"first{not_binary}"]
        if count:
            lines.append((schema.target, rules.BINARY_TARGET, count, first, typed[schema.target]))
    shown = _values_at(rows, [(first, value) for _, _, _, first, value in lines])
    for (name, rule, count, first, _), value in zip(lines, shown, strict=True):
        problems.append(rule.line(name, count, total, first, value))
    reported = {rule.name for _, rule, *_ in lines}
    two = binary and not target_broken and rules.BINARY_TARGET.name not in reported
    if two and counts["labels"] and counts["low"] == counts["high"]:
        problems.append(rules.two_classes(schema.target, counts["labels"], counts["low"]))
    if problems:
        raise DataValidationError("\n".join(problems))
    encoded = {name: typed[name] for name in names}
    kind = schema.column(schema.target).type
    if schema.labels is not None:
        encoded[schema.target] = (typed[schema.target] == schema.positive_class).cast("long")
    elif kind == "integer":
        encoded[schema.target] = typed[schema.target].cast("long")
    for name in schema.features:
        if schema.column(name).type == "integer":
            encoded[name] = typed[name].cast("long")
    # The columns a Feature Store record needs beside them, as the data has them.
    carried = [col(name) for name in schema.record_columns if name in columns]
    frame = rows.select(
        *[value.alias(name) for name, value in encoded.items()], *carried, F.col(ROW)
    )
    return frame, total, before - total


def _values_at(rows: DataFrame, wanted: list[tuple[int, SparkColumn]]) -> list[Any]:
    """The value each (row number, column expression) shows, fetched in one pass."""
    if not wanted:
        return []
    numbers = sorted({row for row, _ in wanted})
    picked = rows.filter(F.col(ROW).isin(numbers)).select(
        F.col(ROW), *[value.alias(f"v{index}") for index, (_, value) in enumerate(wanted)]
    )
    by_row = {record[ROW]: record for record in picked.collect()}
    return [by_row[row][f"v{index}"] for index, (row, _) in enumerate(wanted)]


def check_rows(
    frame: DataFrame,
    schema: Schema,
    problem_type: str,
    rows: int,
    min_rows: int | None = None,
    min_class_count: int | None = None,
) -> dict[float, int]:
    """validate.check_rows on Spark rows; returns the rows of each stratum (each class of a
    classification target, one stratum 0 for regression), which the split shares out."""
    if min_rows is not None and rows < min_rows:
        raise DataValidationError(rules.enough_rows(min_rows, rows))
    target = F.col(schema.target)
    if problem_type == "binary_classification":
        classes = frame.groupBy(target.cast("double").alias("class")).count().collect()
        strata = {record["class"]: record["count"] for record in classes}
        problems = [
            rules.class_count(schema.target, min_class_count, label, count, rows)
            for label, count in sorted(strata.items())
            if min_class_count is not None and count < min_class_count
        ]
    else:
        low, high = frame.agg(F.min(target), F.max(target)).first()
        problems = [rules.target_varies(schema.target, rows, low)] if rows and low == high else []
        strata = {0.0: rows}
    if problems:
        raise DataValidationError("\n".join(problems))
    return strata


def key_expression(seed: int) -> SparkColumn:
    """sampling.row_key as a Spark expression on the row's number (longs wrap as the rule's
    64-bit words do)."""

    def mix(z: SparkColumn, shift: int, multiplier: int) -> SparkColumn:
        return (z.bitwiseXOR(F.shiftrightunsigned(z, shift))) * F.lit(sampling.signed(multiplier))

    start = sampling.signed((sampling.seed_base(seed) + sampling.GAMMA) & sampling.MASK)
    z = F.col(ROW) + F.lit(start)
    z = mix(mix(z, 30, sampling.MIX1), 27, sampling.MIX2)
    return F.shiftrightunsigned(z.bitwiseXOR(F.shiftrightunsigned(z, 31)), 1)


def split(
    frame: DataFrame,
    schema: Schema,
    problem_type: str,
    strata: dict[float, int],
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> DataFrame:
    """The rows with their split (PART: the index in sampling.SPLITS), by sampling's rule.

    A stratum's first rows in key order go to test, then to validation. Where each cut falls is
    found without sorting the rows: the rows are counted by key range, and only the keys of the
    range that holds a cut (a 2**-16th of the stratum) reach the driver to place it exactly."""
    rows = sum(strata.values())
    counts = sampling.split_counts(strata, validation_fraction, test_fraction)
    problem = sampling.refusal(rows, strata, counts)
    if problem:
        raise DataValidationError(problem)
    classes = problem_type == "binary_classification"
    stratum = F.col(schema.target).cast("double") if classes else F.lit(0.0)
    keyed = frame.withColumn(KEY, key_expression(seed)).withColumn("_stratum", stratum)
    keyed = keyed.withColumn("_range", F.shiftright(F.col(KEY), 63 - RANGE_BITS)).persist()
    histogram: dict[float, dict[int, int]] = {}
    for record in keyed.groupBy("_stratum", "_range").count().collect():
        histogram.setdefault(record["_stratum"], {})[record["_range"]] = record["count"]
    # Each cut: the (key, row) of the last row before it, in its stratum's key order.
    wanted: dict[tuple[float, int], int] = {}
    for name, (test, validation) in counts.items():
        for cut in (test, test + validation):
            before = 0
            for number in sorted(histogram[name]):
                if before + histogram[name][number] >= cut:
                    wanted[(name, cut)] = number
                    break
                before += histogram[name][number]
    needed = {(name, number) for (name, _), number in wanted.items()}
    condition = F.lit(False)
    for name, number in needed:
        condition = condition | ((F.col("_stratum") == name) & (F.col("_range") == number))
    keys: dict[tuple[float, int], list[tuple[int, int]]] = {}
    for record in keyed.filter(condition).select("_stratum", "_range", KEY, ROW).collect():
        keys.setdefault((record["_stratum"], record["_range"]), []).append(
            (record[KEY], record[ROW])
        )
    cuts: dict[tuple[float, int], tuple[int, int]] = {}
    for (name, cut), number in wanted.items():
        below = sum(count for n, count in histogram[name].items() if n < number)
        cuts[(name, cut)] = sorted(keys[(name, number)])[cut - below - 1]

    def within(name: float, cut: int) -> SparkColumn:
        key, row = cuts[(name, cut)]
        return (F.col(KEY) < key) | ((F.col(KEY) == key) & (F.col(ROW) <= row))

    part = F.lit(0)
    for name, (test, validation) in counts.items():
        here = F.col("_stratum") == name
        part = (
            F.when(here & within(name, test), 2)
            .when(here & within(name, test + validation), 1)
            .otherwise(part)
        )
    return keyed.withColumn(PART, part)
