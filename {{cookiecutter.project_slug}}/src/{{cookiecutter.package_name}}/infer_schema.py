"""Infer a schema from a CSV file and make it the project's data set.

    python -m {{ cookiecutter.package_name }}.infer_schema --data your.csv --target column
    make schema DATA=your.csv TARGET=column [POSITIVE=label] [DROP=col1,col2] [FACET=column]

Writes schemas/<name>.json (name: the file's stem) and sets config.DATASET to it, the one
setting that points the project at a data set; nothing else needs an edit. From the data
(infer_columns.py reads the columns):
- each column's type: number or integer when every value is a number (a code with a leading
  zero, such as 0042, makes a category), else category;
- ranges with headroom (a tenth of the range on each side; never below 0 for a column
  without negative values), so that new data a little beyond the sample is still accepted;
- the share of missing values allowed (what the file has, plus headroom);
- allowed values of a category with at most MAX_CATEGORIES distinct values;
- the problem type from the target: two distinct values make binary classification, more
  numbers make regression; the positive class of a text target (--positive-class, else a label
  such as "yes" or "true", else the rarer label);
- whether rows without a target are dropped (when the file has any, said on the console);
- with --facet (FACET=), the bias report's sensitive column: its group is a category's rarest
  value, or a number's values above its median; a regression's positive outcome is a target
  above the target's median (positive_threshold). Both said on the console: edit them to the
  group and the outcome that matter.

It looks for what silently ruins a model, and names the column with the fix:
- numbers written for people ("1,234", "$12.50"): refused, the file must hold plain numbers
  (a category would lose their order; the decimal mark of "1,234" is the file's to say);
- a column with a different value in every row (a row number, a key, free text): written with
  "role": "id", left out of the features and passed through by `make predict`;
- a constant column, or one that alone predicts the target almost perfectly (a leak: a value
  known only after the outcome): written with "role": "ignored", left out of the features;
- the columns named by --drop (DROP=): written with "role": "ignored" too.
Each column handled so is said in one line; with no feature left, the schema is refused.

What it cannot infer it refuses with one line that says what to pass. Review the result: bounds
from a sample are a start, not a contract.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
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
from .infer_columns import (
    InferenceError,
    as_numbers,
    infer_column,
    infer_target,
    inspect_columns,
    present_values,
)

DATASET_LINE = re.compile(r"^DATASET = .*$", re.MULTILINE)


def infer_schema(
    data: pd.DataFrame,
    target: str,
    dataset: str,
    data_path: str,
    positive_class: str | None,
    drop: Sequence[str] = (),
    warnings: list[str] | None = None,
    facet: str | None = None,
) -> dict[str, Any]:
    """The schema of the data; the one-line warnings of columns it left out of the features are
    appended to `warnings`. facet: the column to mark as the bias report's facet."""
    if target not in data.columns:
        raise InferenceError(
            f"TARGET={target!r} is not a column of the data; its columns are {list(data.columns)}"
        )
    unknown = [name for name in drop if name not in data.columns]
    if unknown:
        raise InferenceError(
            f"DROP={','.join(unknown)} names no column of the data; its columns are "
            f"{list(data.columns)}"
        )
    if target in drop:
        raise InferenceError(f"DROP names the target '{target}'; pick another TARGET instead")
    label, decided = infer_target(target, data[target], positive_class)
    schema_file = f"{_relative(config.SCHEMA.parent / dataset)}.json"
    roles, found = inspect_columns(data, target, decided, schema_file, drop)
    if warnings is not None:
        warnings.extend(found)
    features = [infer_column(name, data[name]) for name in data.columns if name != target]
    # A column left out keeps its type (deleting its role makes it a feature again) and no
    # rule: its values are never checked.
    features = [
        {"name": c["name"], "type": c["type"], "role": roles[c["name"]]}
        if c["name"] in roles
        else c
        for c in features
    ]
    schema = {
        "dataset": dataset,
        "description": f"Inferred from {Path(data_path).name} by `make schema`: review the "
        "types, bounds and allowed values, and describe each column.",
        "data": data_path,
        "target": target,
        **decided,
        "columns": [label, *features],
    }
    if facet is not None:
        mark_facet(schema, data, facet)
    # The schema must be one that preprocess accepts, and the data must meet it.
    parsed = parse_schema(schema, f"{dataset}.json")
    validate(data, parsed, schema["problem_type"])
    return schema


def mark_facet(schema: dict[str, Any], data: pd.DataFrame, name: str) -> None:
    """Mark the column as the facet, with a group the data has both sides of; a regression's
    positive_threshold too."""
    columns = {column["name"]: column for column in schema["columns"][1:]}
    column = columns.get(name)
    if column is None or "role" in column:
        features = [c for c, entry in columns.items() if "role" not in entry]
        raise InferenceError(
            f"FACET={name!r} is not a feature of the schema; its features: {features}"
        )
    present = present_values(data[name])
    if column["type"] == "category":
        counts = present.value_counts()
        column.update(facet=True, facet_values=[str(counts.index[-1])])
    else:
        column.update(facet=True, facet_threshold=float(as_numbers(present).median()))
    if schema["problem_type"] == "regression":
        target = as_numbers(present_values(data[schema["target"]]))
        schema["positive_threshold"] = float(target.median())


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
    parser.add_argument(
        "--drop",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=[],
        help="columns to leave out of the features, comma-separated (DROP=)",
    )
    parser.add_argument(
        "--facet", help="the bias report's sensitive column (FACET=): its group is inferred"
    )
    parser.add_argument("--schemas-dir", type=Path, default=config.SCHEMA.parent)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = args.name or re.sub(r"\W+", "_", args.data.stem).strip("_").lower() or "dataset"
    try:
        data = read_data(args.data)
        warnings: list[str] = []
        schema = infer_schema(
            data,
            args.target,
            name,
            _relative(args.data),
            args.positive_class,
            args.drop,
            warnings,
            args.facet,
        )
        path = args.schemas_dir / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        point_config_at(name)
    except (InferenceError, SchemaError, DataValidationError) as error:
        print(f"schema failed: {error}", file=sys.stderr)
        return 1
    features = [c for c in schema["columns"][1:] if "role" not in c]
    kinds = pd.Series([c["type"] for c in features]).value_counts().to_dict()
    print(
        f"schema: {path} ({schema['problem_type']}, target '{args.target}', "
        f"{len(data)} rows, features: {kinds}); config.DATASET = {name!r}"
    )
    if schema.get("positive_class") is not None:
        print(f"schema: positive class {schema['positive_class']!r} (change it with POSITIVE=)")
    for warning in warnings:
        print(f"schema: warning: {warning}")
    facet = parse_schema(schema).facet
    if facet is not None:
        print(
            f"schema: bias report facet group {facet.group} (edit facet_values or facet_threshold)"
        )
        if "positive_threshold" in schema:
            threshold = schema["positive_threshold"]
            print(
                f"schema: positive outcome {args.target} > {threshold:g} (edit positive_threshold)"
            )
    elif config.BIAS_REPORT:
        print("schema: the bias report needs a sensitive column: mark one with FACET=column")
    if args.drop:
        print(f"schema: left out as asked (DROP=): {', '.join(args.drop)}")
    missing_target = int(data[args.target].isna().sum())
    if missing_target:
        print(f"schema: {missing_target} rows have no target: preprocess will drop them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
