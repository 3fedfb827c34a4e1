"""Preprocess: check the raw data against its schema, then split it into train, validation and test.

Reads every CSV file (with a header row) in --input-dir, checks it against the data contract in
--schema (required and undeclared columns, type, min, max, allowed values, missing values; a
target with two classes for classification) and writes train/train.csv, validation/validation.csv
and test/test.csv under --output-dir, with the target as the first column. Classification splits
are stratified on the target, so that every split has the class balance of the whole data set.

A broken rule fails the step with one line a rule, naming the column and the rule, e.g.
`column 'mean_radius' breaks rule 'min >= 0': 3 of 569 rows, first at row 17 (value -1.0)`.
Rows are numbered from 1 after the header, counting on across files in name order.

Self-contained (SageMaker uploads it as a lone script): stdlib, numpy, pandas, scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

PROBLEM_TYPES = ("binary_classification", "regression")
COLUMN_TYPES = ("number", "integer")
SCHEMA_KEYS = frozenset({"dataset", "description", "source", "problem_type", "target", "columns"})
COLUMN_KEYS = frozenset(
    {"name", "type", "description", "min", "max", "allowed_values", "max_missing_fraction"}
)
SPLITS = ("train", "validation", "test")
BINARY_CLASSES = (0.0, 1.0)


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
    allowed_values: tuple[float, ...] | None = None
    max_missing_fraction: float = 0.0


@dataclass(frozen=True)
class Schema:
    """The data contract: the target and every column, in the order the splits are written."""

    target: str
    columns: tuple[Column, ...]
    problem_type: str | None = None
    source: str = "the schema"

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[str]:
        return [name for name in self.names if name != self.target]


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
    if raw.get("type") not in COLUMN_TYPES:
        raise SchemaError(f"{where}: type must be one of {list(COLUMN_TYPES)}")
    low = _number(raw["min"], f"{where}: min") if "min" in raw else None
    high = _number(raw["max"], f"{where}: max") if "max" in raw else None
    if low is not None and high is not None and low > high:
        raise SchemaError(f"{where}: min {low} is greater than max {high}")
    allowed = raw.get("allowed_values")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise SchemaError(f"{where}: allowed_values must be a non-empty list")
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
    # A model cannot learn from a row without a label.
    if columns[names.index(target)].max_missing_fraction:
        raise SchemaError(f"{source}: the target '{target}' cannot allow missing values")
    # The target goes first: the convention every later step relies on.
    ordered = [columns[names.index(target)]] + [c for c in columns if c.name != target]
    return Schema(target, tuple(ordered), problem_type, source)


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


def _broken(column: str, rule: str, mask: pd.Series, shown: pd.Series) -> str:
    """One message line: which column, which rule, how many rows, where the first one is."""
    positions = np.flatnonzero(mask.to_numpy())
    first = positions[0]
    value = shown.iloc[first]
    # numpy scalars print as np.float64(...); show the plain Python value instead.
    text = "missing" if pd.isna(value) else repr(value.item() if hasattr(value, "item") else value)
    return (
        f"column '{column}' breaks rule '{rule}': {len(positions)} of {len(mask)} rows, "
        f"first at row {first + 1} (value {text})"
    )


def _check_column(raw: pd.Series, column: Column) -> tuple[pd.Series, list[str]]:
    """The column as numbers, and a message for each rule the raw values break."""
    problems = []
    missing = raw.isna()
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    wrong_type = ~missing & ~np.isfinite(values)
    if column.type == "integer":
        wrong_type |= ~missing & (values != values.round())
    if wrong_type.any():
        # Shown as the file has it: text such as 'abc' is the usual culprit.
        problems.append(_broken(column.name, f"type {column.type}", wrong_type, raw))
    present = ~missing & ~wrong_type
    # Each value rule: its name in messages, and which values break it.
    value_rules = []
    if column.min is not None:
        value_rules.append((f"min >= {_fmt(column.min)}", values < column.min))
    if column.max is not None:
        value_rules.append((f"max <= {_fmt(column.max)}", values > column.max))
    if column.allowed_values is not None:
        allowed = ", ".join(_fmt(value) for value in column.allowed_values)
        value_rules.append((f"allowed values [{allowed}]", ~values.isin(column.allowed_values)))
    for rule, breaks in value_rules:
        if (present & breaks).any():
            problems.append(_broken(column.name, rule, present & breaks, values))
    if missing.mean() > column.max_missing_fraction:
        rule = f"missing fraction <= {_fmt(column.max_missing_fraction)}"
        problems.append(_broken(column.name, rule, missing, raw))
    return values, problems


def _check_target(target: pd.Series, name: str, problem_type: str) -> list[str]:
    labels = target.dropna()
    if problem_type != "binary_classification" or labels.empty:
        return []
    not_binary = target.notna() & ~target.isin(BINARY_CLASSES)
    if not_binary.any():
        return [_broken(name, "binary target in {0, 1}", not_binary, target)]
    if labels.nunique() < 2:
        return [
            f"column '{name}' breaks rule 'at least 2 classes': "
            f"all {len(labels)} rows are {_fmt(labels.iloc[0])}"
        ]
    return []


def validate(data: pd.DataFrame, schema: Schema, problem_type: str) -> pd.DataFrame:
    """Check raw data against the schema; return it typed, target first, in schema order.

    Raises DataValidationError with one line for every broken rule, so that one run shows
    everything to fix.
    """
    problems = [
        f"column '{name}' breaks rule 'required': it is declared in {schema.source} "
        "but absent from the data"
        for name in schema.names
        if name not in data.columns
    ]
    problems += [
        f"column '{name}' breaks rule 'declared': it is in the data but not in {schema.source}"
        for name in data.columns
        if name not in schema.names
    ]
    typed = {}
    for column in schema.columns:
        if column.name in data.columns:
            typed[column.name], column_problems = _check_column(data[column.name], column)
            problems += column_problems
    if schema.target in typed:
        problems += _check_target(typed[schema.target], schema.target, problem_type)
    if problems:
        raise DataValidationError("\n".join(problems))
    frame = pd.DataFrame(typed)[schema.names]
    for column in schema.columns:
        if column.type == "integer":
            frame[column.name] = frame[column.name].astype("Int64")
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


def write_splits(splits: dict[str, pd.DataFrame], output_dir: str | Path) -> dict[str, Path]:
    """Write <output_dir>/<split>/<split>.csv with a header row; one folder per pipeline output."""
    paths = {}
    for name, frame in splits.items():
        path = Path(output_dir) / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
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
    paths = write_splits(splits, args.output_dir)
    sizes = ", ".join(f"{name} {len(part)}" for name, part in splits.items())
    print(f"preprocess: {len(frame)} rows valid against {schema.source}; {sizes} rows")
    print(f"preprocess: wrote {', '.join(str(path) for path in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
