"""Infer a schema from a CSV file and make it the project's data set.

    python -m {{ cookiecutter.package_name }}.infer_schema --data your.csv --target column
    make schema DATA=your.csv TARGET=column [POSITIVE=label]

Writes schemas/<name>.json (name: the file's stem) and sets config.DATASET to it, the one
setting that points the project at a data set; nothing else needs an edit. From the data:
- each column's type: number or integer when every value is a number (a code with a leading
  zero, such as 0042, makes a category), else category;
- ranges with headroom (a tenth of the range on each side; never below 0 for a column
  without negative values), so that new data a little beyond the sample is still accepted;
- the share of missing values allowed (what the file has, plus headroom);
- allowed values of a category with at most MAX_CATEGORIES distinct values;
- the problem type from the target: two distinct values make binary classification, more
  numbers make regression; the positive class of a text target (--positive-class, else a label
  such as "yes" or "true", else the rarer label);
- whether rows without a target are dropped (when the file has any, said on the console).

What it cannot infer it refuses with one line that says what to pass. Review the result: bounds
from a sample are a start, not a contract.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from . import config
from .contract import (
    DataValidationError,
    SchemaError,
    parse_schema,
    read_data,
    validate,
)

MAX_CATEGORIES = 50
HEADROOM = 0.1
# Labels that name the positive class of a binary target, in the order they are looked for.
POSITIVE_WORDS = ("1", "yes", "y", "true", "t", "positive", "pos")
DATASET_LINE = re.compile(r"^DATASET = .*$", re.MULTILINE)


class InferenceError(ValueError):
    """The schema cannot be inferred; the message says what to pass."""


def _round_out(value: float, up: bool) -> float | int:
    """A bound rounded outwards to two significant digits of its magnitude: 0.0734 -> 0.074."""
    if value == 0:
        return 0
    step = 10 ** (math.floor(math.log10(abs(value))) - 1)
    rounded = (math.ceil if up else math.floor)(value / step) * step
    return int(rounded) if step >= 1 else float(f"{rounded:.12g}")


def _numbers(values: pd.Series) -> pd.Series | None:
    """The present values as floats, or None when any of them is not a finite number, or when
    one is a code with a leading zero (0042: a number would lose the zeros)."""
    if values.str.fullmatch(r"[-+]?0\d+").any():
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not numbers.map(math.isfinite).all():
        return None
    return numbers.astype(float)


def infer_column(name: str, raw: pd.Series) -> dict[str, Any]:
    """The schema entry of one feature column."""
    present = raw.dropna().astype(str).str.strip()
    present = present[present != ""]
    column: dict[str, Any] = {"name": name}
    numbers = _numbers(present) if not present.empty else None
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
    present = raw.dropna().astype(str).str.strip()
    present = present[present != ""]
    counts = present.value_counts()
    labels = sorted(counts.index)
    numbers = _numbers(present) if not present.empty else None
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
        raise InferenceError(
            f"the target '{name}' has {len(labels)} text labels ({shown}): this project does "
            "binary classification or regression; map them to two labels, or pick another TARGET"
        )
    decided["problem_type"] = "regression"
    column = infer_column(name, raw.dropna())
    column.pop("max_missing_fraction")
    return column, decided


def infer_schema(
    data: pd.DataFrame, target: str, dataset: str, data_path: str, positive_class: str | None
) -> dict[str, Any]:
    if target not in data.columns:
        raise InferenceError(
            f"TARGET={target!r} is not a column of the data; its columns are {list(data.columns)}"
        )
    label, decided = infer_target(target, data[target], positive_class)
    features = [infer_column(name, data[name]) for name in data.columns if name != target]
    schema = {
        "dataset": dataset,
        "description": f"Inferred from {Path(data_path).name} by `make schema`: review the "
        "types, bounds and allowed values, and describe each column.",
        "data": data_path,
        "target": target,
        **decided,
        "columns": [label, *features],
    }
    # The schema must be one that preprocess accepts, and the data must meet it.
    parsed = parse_schema(schema, f"{dataset}.json")
    validate(data, parsed, schema["problem_type"])
    return schema


def _relative(path: Path) -> str:
    """The data path as the schema records it: relative to the project when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(config.PROJECT_DIR.resolve()))
    except ValueError:
        return str(resolved)


def point_config_at(dataset: str, config_file: Path = Path(config.__file__)) -> None:
    """Set `DATASET = "<dataset>"` in config.py, the line that selects the data set."""
    text = config_file.read_text(encoding="utf-8")
    if len(DATASET_LINE.findall(text)) != 1:
        raise InferenceError(f"{config_file} needs exactly one line `DATASET = ...` to set")
    config_file.write_text(DATASET_LINE.sub(f"DATASET = {json.dumps(dataset)}", text), "utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the CSV file (header row)")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--positive-class", help="the label of a text binary target that is 1")
    parser.add_argument("--name", help="the schema's name (default: the file's stem)")
    parser.add_argument("--schemas-dir", type=Path, default=config.SCHEMA.parent)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = args.name or re.sub(r"\W+", "_", args.data.stem).strip("_").lower() or "dataset"
    try:
        data = read_data(args.data)
        schema = infer_schema(data, args.target, name, _relative(args.data), args.positive_class)
        path = args.schemas_dir / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        point_config_at(name)
    except (InferenceError, SchemaError, DataValidationError) as error:
        print(f"schema failed: {error}", file=sys.stderr)
        return 1
    kinds = pd.Series([c["type"] for c in schema["columns"][1:]]).value_counts().to_dict()
    print(
        f"schema: {path} ({schema['problem_type']}, target '{args.target}', "
        f"{len(data)} rows, features: {kinds}); config.DATASET = {name!r}"
    )
    if schema.get("positive_class") is not None:
        print(f"schema: positive class {schema['positive_class']!r} (change it with POSITIVE=)")
    missing_target = int(data[args.target].isna().sum())
    if missing_target:
        print(f"schema: {missing_target} rows have no target: preprocess will drop them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
