"""Preprocess: check the raw data against its schema, then split it into train, validation and test.

Reads every CSV file (with a header row) in --input-dir, checks it against the data contract in
--schema (required and undeclared columns, type, min, max, allowed values, missing values; a
target with two classes for classification) and writes train/train.csv, validation/validation.csv
and test/test.csv under --output-dir, with the target as the first column, encoded as 1 for the
schema's positive class and 0 for the other. Category columns stay text: train.py encodes them
from the train split and saves the encoding in the model. Each split folder also gets the schema
(schema.json), so that the steps downstream know which columns are categories. Classification
splits are stratified on the target, so that every split has the class balance of the whole
data set.

A broken rule fails the step with one line a rule, naming the column and the rule, e.g.
`column 'mean_radius' breaks rule 'min >= 0': 3 of 569 rows, first at row 17 (value -1.0)`.
Rows are numbered from 1 after the header, counting on across files in name order.

Self-contained (SageMaker uploads it as a lone script): stdlib, numpy, pandas, scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

PROBLEM_TYPES = ("binary_classification", "regression")
# "category": text labels (or codes) with no order; train.py gives XGBoost their categories.
COLUMN_TYPES = ("number", "integer", "category")
SCHEMA_KEYS = frozenset(
    {
        "dataset",
        "description",
        "source",
        "data",
        "problem_type",
        "target",
        "positive_class",
        "drop_rows_with_missing_target",
        "columns",
    }
)
COLUMN_KEYS = frozenset(
    {"name", "type", "description", "min", "max", "allowed_values", "max_missing_fraction"}
)
SPLITS = ("train", "validation", "test")
BINARY_CLASSES = (0.0, 1.0)
SCHEMA_FILE = "schema.json"


class SchemaError(ValueError):
    """The schema file itself is malformed."""


class DataValidationError(ValueError):
    """The data does not meet the schema; the message has one line for each broken rule."""


@dataclass(frozen=True)
class Column:
    """One declared column: the rules its values must meet."""

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    allowed_values: tuple[float, ...] | tuple[str, ...] | None = None
    max_missing_fraction: float = 0.0


@dataclass(frozen=True)
class Schema:
    """The data contract: the target and every column, in the order the splits are written."""

    target: str
    columns: tuple[Column, ...]
    problem_type: str | None = None
    source: str = "the schema"
    # The target label that becomes 1 (binary classification); None for a 0/1 target.
    positive_class: str | None = None
    # Drop rows whose target is missing (and say how many) instead of refusing the data.
    drop_rows_with_missing_target: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[str]:
        return [name for name in self.names if name != self.target]

    @property
    def categories(self) -> list[str]:
        """The feature columns of type category."""
        return [c.name for c in self.columns if c.type == "category" and c.name != self.target]

    def column(self, name: str) -> Column:
        return self.columns[self.names.index(name)]

    @property
    def labels(self) -> tuple[str, str] | None:
        """(negative, positive) labels of a text binary target; None for a 0/1 target."""
        target = self.column(self.target)
        if self.positive_class is None or target.allowed_values is None:
            return None
        negative = next(str(v) for v in target.allowed_values if v != self.positive_class)
        return negative, self.positive_class


def _schema_file(path: Path) -> Path:
    """The schema JSON: the path itself, or the one JSON file in a folder (a processing input)."""
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if len(candidates) != 1:
            found = len(candidates)
            raise SchemaError(f"expected exactly one JSON schema in {path}, found {found}")
        return candidates[0]
    if not path.is_file():
        raise SchemaError(f"schema {path} does not exist")
    return path


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{what} must be a number, got {value!r}")
    return value


def _parse_column(raw: Any, source: str) -> Column:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise SchemaError(f"{source}: every column must be an object with a 'name', got {raw!r}")
    name = raw["name"]
    where = f"{source}: column '{name}'"
    unknown = sorted(set(raw) - COLUMN_KEYS)
    if unknown:
        raise SchemaError(f"{where} has unknown keys {unknown}; allowed: {sorted(COLUMN_KEYS)}")
    kind = raw.get("type")
    if kind not in COLUMN_TYPES:
        raise SchemaError(
            f"{where}: type must be one of {list(COLUMN_TYPES)}, got {kind!r} "
            '(text labels are "category")'
        )
    if kind == "category" and ("min" in raw or "max" in raw):
        raise SchemaError(f"{where}: a category has no min or max; list allowed_values instead")
    low = _number(raw["min"], f"{where}: min") if "min" in raw else None
    high = _number(raw["max"], f"{where}: max") if "max" in raw else None
    if low is not None and high is not None and low > high:
        raise SchemaError(f"{where}: min {low} is greater than max {high}")
    allowed = raw.get("allowed_values")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise SchemaError(f"{where}: allowed_values must be a non-empty list")
        if kind == "category":
            if not all(isinstance(value, str) and value.strip() for value in allowed):
                raise SchemaError(f"{where}: allowed_values of a category must be non-empty text")
            allowed = tuple(value.strip() for value in allowed)
        else:
            allowed = tuple(_number(value, f"{where}: allowed value") for value in allowed)
    missing = _number(raw.get("max_missing_fraction", 0), f"{where}: max_missing_fraction")
    if not 0 <= missing <= 1:
        raise SchemaError(f"{where}: max_missing_fraction must be between 0 and 1")
    return Column(name, raw["type"], low, high, allowed, missing)


def parse_schema(raw: Any, source: str = "the schema") -> Schema:
    """Build a Schema from its JSON form, rejecting anything the rules cannot enforce."""
    if not isinstance(raw, dict):
        raise SchemaError(f"{source}: the schema must be a JSON object")
    unknown = sorted(set(raw) - SCHEMA_KEYS)
    if unknown:
        raise SchemaError(f"{source} has unknown keys {unknown}; allowed: {sorted(SCHEMA_KEYS)}")
    if not isinstance(raw.get("columns"), list) or not raw["columns"]:
        raise SchemaError(f"{source}: 'columns' must be a non-empty list")
    columns = [_parse_column(column, source) for column in raw["columns"]]
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SchemaError(f"{source}: columns declared twice: {duplicates}")
    target = raw.get("target")
    if target not in names:
        raise SchemaError(f"{source}: the target {target!r} is not a declared column")
    if len(columns) < 2:
        raise SchemaError(f"{source}: declare at least one feature besides the target")
    problem_type = raw.get("problem_type")
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise SchemaError(f"{source}: problem_type must be one of {list(PROBLEM_TYPES)}")
    drop = raw.get("drop_rows_with_missing_target", False)
    if not isinstance(drop, bool):
        raise SchemaError(f"{source}: drop_rows_with_missing_target must be true or false")
    label = columns[names.index(target)]
    # A model cannot learn from a row without a label: such rows are refused or dropped.
    if label.max_missing_fraction:
        raise SchemaError(
            f"{source}: the target '{target}' cannot allow missing values; set "
            '"drop_rows_with_missing_target": true to drop such rows instead'
        )
    positive = _positive_class(raw, label, problem_type, source)
    # The target goes first: the convention every later step relies on.
    ordered = [label] + [c for c in columns if c.name != target]
    return Schema(target, tuple(ordered), problem_type, source, positive, drop, raw)


def _positive_class(raw: dict, label: Column, problem_type: str | None, source: str) -> str | None:
    """The label that becomes 1: required for a category target of binary classification."""
    positive = raw.get("positive_class")
    if label.type != "category":
        if positive is not None:
            raise SchemaError(
                f"{source}: positive_class applies to a category target only; "
                f"'{label.name}' is {label.type} (1 is the positive class)"
            )
        return None
    if problem_type == "regression":
        raise SchemaError(
            f"{source}: a regression target must be a number; '{label.name}' is a category"
        )
    labels = label.allowed_values or ()
    if len(labels) != 2 or positive not in labels:
        raise SchemaError(
            f"{source}: the category target '{label.name}' needs allowed_values with exactly two "
            f"labels and a positive_class among them, got {list(labels)} and {positive!r}"
        )
    return positive


def load_schema(path: str | Path) -> Schema:
    """Read the schema from a JSON file, or from a folder that holds exactly one."""
    schema_file = _schema_file(Path(path))
    try:
        raw = json.loads(schema_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SchemaError(f"{schema_file.name} is not valid JSON: {error}") from error
    return parse_schema(raw, schema_file.name)


def read_data(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, or every *.csv in a folder, keeping each value's raw text for the checks."""
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise DataValidationError(f"no CSV files found at {path}")
    frames = []
    for file in files:
        try:
            # Text, not inferred types: the type rule then sees exactly what the file holds.
            frame = pd.read_csv(file, dtype=str, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise DataValidationError(f"{file.name} is empty: expected a header row") from None
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataValidationError(
                f"{file.name} has other columns than {files[0].name}: every file needs one header"
            )
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    if data.empty:
        names = ", ".join(file.name for file in files)
        raise DataValidationError(f"{names}: a header but no data rows")
    return data


def _fmt(value: float) -> str:
    """A schema bound as written in the JSON (0, not 0.0)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _broken(column: str, rule: str, mask: pd.Series, shown: pd.Series, remedy: str = "") -> str:
    """One message line: which column, which rule, how many rows, where the first one is, and
    what to do about it."""
    positions = np.flatnonzero(mask.to_numpy())
    first = positions[0]
    value = shown.iloc[first]
    # The row's number in the data (from 1), also when rows before it were dropped.
    row = mask.index[first] + 1 if pd.api.types.is_integer_dtype(mask.index) else first + 1
    # numpy scalars print as np.float64(...); show the plain Python value instead.
    text = "missing" if pd.isna(value) else repr(value.item() if hasattr(value, "item") else value)
    return (
        f"column '{column}' breaks rule '{rule}': {len(positions)} of {len(mask)} rows, "
        f"first at row {row} (value {text})" + (f"; {remedy}" if remedy else "")
    )


def _check_column(
    raw: pd.Series, column: Column, source: str, is_target: bool = False
) -> tuple[pd.Series, list[str]]:
    """The column typed (numbers, or stripped text for a category), and a message for each
    rule the raw values break."""
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
        # Shown as the file has it: text such as 'abc' is the usual culprit.
        remedy = f'fix the values, or declare the column "type": "category" in {source}'
        problems.append(_broken(column.name, f"type {column.type}", wrong_type, raw, remedy))
    present = ~missing & ~wrong_type
    # Each value rule: its name in messages, which values break it, and the remedy.
    value_rules = []
    if column.min is not None:
        remedy = f'fix the values, or lower "min" in {source}'
        value_rules.append((f"min >= {_fmt(column.min)}", values < column.min, remedy))
    if column.max is not None:
        remedy = f'fix the values, or raise "max" in {source}'
        value_rules.append((f"max <= {_fmt(column.max)}", values > column.max, remedy))
    if column.allowed_values is not None:
        shown = [v if column.type == "category" else _fmt(v) for v in column.allowed_values]
        remedy = f'fix the values, or add them to "allowed_values" in {source}'
        breaks = ~values.isin(column.allowed_values)
        value_rules.append((f"allowed values [{', '.join(shown)}]", breaks, remedy))
    for rule, breaks, remedy in value_rules:
        if (present & breaks).any():
            problems.append(_broken(column.name, rule, present & breaks, values, remedy))
    if is_target:
        if missing.any():
            remedy = (
                'fill them in, or set "drop_rows_with_missing_target": true in '
                f"{source} to drop those rows"
            )
            problems.append(_broken(column.name, "target not missing", missing, raw, remedy))
    elif missing.mean() > column.max_missing_fraction:
        rule = f"missing fraction <= {_fmt(column.max_missing_fraction)}"
        remedy = f'fill the values in, or raise "max_missing_fraction" in {source}'
        problems.append(_broken(column.name, rule, missing, raw, remedy))
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
        remedy = (
            "map the labels to 0 and 1, or declare the target a category with its two labels "
            "as allowed_values and a positive_class"
        )
        return [_broken(name, "binary target in {0, 1}", not_binary, target, remedy)]
    if labels.nunique() < 2:
        return [
            f"column '{name}' breaks rule 'at least 2 classes': "
            f"all {len(labels)} rows are {_fmt(labels.iloc[0])}; a classifier needs both"
        ]
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
    names = schema.names if with_target else schema.features
    dropped = 0
    if with_target and schema.drop_rows_with_missing_target and schema.target in data.columns:
        keep = data[schema.target].notna()
        dropped = int((~keep).sum())
        # The index keeps each row's number in the file, so messages still point at it.
        data = data[keep]
    problems = [
        f"column '{name}' breaks rule 'required': it is declared in {schema.source} "
        "but absent from the data; add it to the data or remove it from the schema"
        for name in names
        if name not in data.columns
    ]
    problems += [
        f"column '{name}' breaks rule 'declared': it is in the data but not in {schema.source}; "
        "declare it in the schema or remove it from the data"
        for name in data.columns
        if name not in schema.names
    ]
    typed = {}
    for column in schema.columns:
        if column.name in data.columns and column.name in names:
            is_target = column.name == schema.target
            if not with_target:
                # The share of missing values is a rule for a data set; one row to score may
                # lack a value, which the model handles.
                column = replace(column, max_missing_fraction=1.0)
            typed[column.name], column_problems = _check_column(
                data[column.name], column, schema.source, is_target
            )
            problems += column_problems
    if schema.target in typed:
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


def split(
    frame: pd.DataFrame,
    target: str,
    problem_type: str,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> dict[str, pd.DataFrame]:
    """Split rows into train, validation and test; stratified on the target for classification."""
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1) or (
        validation_fraction + test_fraction >= 1
    ):
        raise ValueError("validation and test fractions must be in (0, 1) and sum to less than 1")
    stratify = problem_type == "binary_classification"
    try:
        rest, test = train_test_split(
            frame,
            test_size=test_fraction,
            random_state=seed,
            stratify=frame[target] if stratify else None,
        )
        train, validation = train_test_split(
            rest,
            # The fraction of the whole data set, taken from what is left after the test split.
            test_size=validation_fraction / (1 - test_fraction),
            random_state=seed,
            stratify=rest[target] if stratify else None,
        )
    except ValueError as error:
        raise DataValidationError(
            f"cannot split {len(frame)} rows into train, validation and test: {error}"
        ) from error
    parts = {"train": train, "validation": validation, "test": test}
    return {name: part.reset_index(drop=True) for name, part in parts.items()}


def write_splits(
    splits: dict[str, pd.DataFrame], output_dir: str | Path, schema: Schema | None = None
) -> dict[str, Path]:
    """Write <output_dir>/<split>/<split>.csv with a header row, and the schema beside it (so
    that train, evaluate and explain know the category columns); one folder per pipeline output."""
    paths = {}
    for name, frame in splits.items():
        path = Path(output_dir) / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        if schema is not None:
            (path.parent / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n")
        paths[name] = path
    return paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument(
        "--schema",
        type=Path,
        default=Path("/opt/ml/processing/input/schema"),
        help="the schema JSON file, or a folder holding exactly one",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument(
        "--problem-type",
        "--problem_type",
        choices=PROBLEM_TYPES,
        help="defaults to the schema's problem_type",
    )
    parser.add_argument("--validation-fraction", "--validation_fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", "--test_fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        schema = load_schema(args.schema)
        problem_type = args.problem_type or schema.problem_type
        if problem_type is None:
            raise SchemaError(f"{schema.source} has no problem_type; pass --problem-type")
        frame = validate(read_data(args.input_dir), schema, problem_type)
        splits = split(
            frame,
            schema.target,
            problem_type,
            args.validation_fraction,
            args.test_fraction,
            args.seed,
        )
    except (SchemaError, DataValidationError) as error:
        print(f"preprocess failed: {error}", file=sys.stderr)
        return 1
    paths = write_splits(splits, args.output_dir, schema)
    sizes = ", ".join(f"{name} {len(part)}" for name, part in splits.items())
    print(f"preprocess: {len(frame)} rows valid against {schema.source}; {sizes} rows")
    if frame.attrs["dropped_rows"]:
        print(f"preprocess: dropped {frame.attrs['dropped_rows']} rows without a target")
    print(f"preprocess: wrote {', '.join(str(path) for path in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
