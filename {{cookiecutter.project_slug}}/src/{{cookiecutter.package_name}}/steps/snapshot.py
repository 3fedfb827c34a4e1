"""Snapshot: the training data as the offline store held it at a point in time, split into train,
validation and test as preprocess splits (same fractions, seed and stratification).

Reads the feature group's records from the offline store's Parquet files (--store-dir: the
offline store's S3 prefix as the processing job's input, or the local store of `make
local-run`), keeps for each record identifier its latest record with an event time at or before
--as-of (the pipeline run's start by default), leaves out identifiers whose latest record is a
deletion (offline_store.snapshot), and writes <split>/<split>.csv with the schema beside each,
as preprocess would have: train, evaluate and the reference read them unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from {{ cookiecutter.package_name }} import offline_store
from {{ cookiecutter.package_name }}.contract import (
    PROBLEM_TYPES,
    DataValidationError,
    SchemaError,
    load_schema,
    sampling,
)
from {{ cookiecutter.package_name }}.steps.preprocess import checked_splits, write_splits

# --as-of's value for the pipeline run's start (--run-start).
RUN_START = "run-start"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--feature-group", required=True, help="the feature group's name")
    parser.add_argument("--schema", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--as-of", default=RUN_START, help=f"a timestamp (ISO 8601), or {RUN_START} (default)"
    )
    parser.add_argument("--run-start", help="the pipeline run's start (ISO 8601)")
    parser.add_argument("--problem-type", choices=PROBLEM_TYPES)
    sampling.add_split_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    as_of = args.run_start if args.as_of == RUN_START else args.as_of
    try:
        if not as_of:
            raise ValueError(f"--as-of {RUN_START} needs --run-start")
        schema = load_schema(args.schema)
        problem_type = args.problem_type or schema.problem_type
        group = offline_store.feature_group(schema, problem_type)
        store = offline_store.read_store(args.store_dir, args.feature_group, group)
        rows = offline_store.snapshot(store, group, as_of)
        frame = offline_store.model_rows(rows, schema)
        splits = checked_splits(frame, schema, problem_type, args)
    except (SchemaError, DataValidationError, ValueError, FileNotFoundError) as error:
        print(f"snapshot failed: {error}", file=sys.stderr)
        return 1
    paths = write_splits(splits, args.output_dir, schema)
    sizes = ", ".join(f"{name} {len(part)}" for name, part in splits.items())
    print(
        f"snapshot: {len(frame)} records of {len(store)} in the offline store as of {as_of}; "
        f"{sizes} rows in {', '.join(str(path.parent) for path in paths.values())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
