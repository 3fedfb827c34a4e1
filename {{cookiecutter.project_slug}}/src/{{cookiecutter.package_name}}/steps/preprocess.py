"""Preprocess: check the raw data against its schema, then split it into train, validation and test.

Reads every CSV file (with a header row) in --input-dir, checks it against the data contract in
--schema (required and undeclared columns, type, min, max, allowed values, missing values; a
target with two classes for classification) and writes train/train.csv, validation/validation.csv
and test/test.csv under --output-dir, with the target as the first column, encoded as 1 for the
schema's positive class and 0 for the other. Category columns stay text: train.py encodes them
from the train split and saves the encoding in the model. Each split folder also gets the schema
(schema.json), so that the steps downstream know which columns are categories. Classification
splits are stratified on the target, so that every split has the class balance of the whole
data set. manifest/data_manifest.json records which data this was: each file's size and SHA-256,
one hash of them all, and the S3 version IDs when --input-data-url names a versioned bucket.
With --validated-dir (a project with the Feature Store), the validated rows go there instead of
the splits, as validated.csv: the ingestion step puts them into the feature group, and the
snapshot step splits what the offline store holds, as this step would.

A broken rule fails the step with one line a rule, naming the column and the rule, e.g.
`column 'mean_radius' breaks rule 'min >= 0': 3 of 569 rows, first at row 17 (value -1.0)`.
Rows are numbered from 1 after the header, counting on across files in name order.

A file it cannot read as UTF-8, comma-separated CSV with one value a column on every row fails
the step first, with one line naming the file, the problem (the encoding, the delimiter found,
an unclosed quote, a ragged row...) and the line: lines are the file's own, the header being
line 1. So does data too small or too uniform to learn from (--min-rows, --min-class-count, a
regression target with one value).

The rules, the CSV reader, the manifest and the split's rule (contract/sampling.py) are the
package's data contract (contract/), which the pipeline ships with this script.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv

from {{ cookiecutter.package_name }}.contract import (
    MANIFEST_DIR,
    MANIFEST_FILE,
    PROBLEM_TYPES,
    SCHEMA_FILE,
    SPLITS,
    DataValidationError,
    Schema,
    SchemaError,
    check_rows,
    data_manifest,
    load_schema,
    read_data,
    sampling,
    validate,
)

# The validated rows, for the Feature Store's ingestion (--validated-dir).
VALIDATED_FILE = "validated.csv"


def split(
    frame: pd.DataFrame,
    target: str,
    problem_type: str,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    rows: np.ndarray | None = None,
) -> dict[str, pd.DataFrame]:
    """Split rows into train, validation and test by the contract's rule (contract/sampling.py):
    each row's key from the seed and its number in the data (`rows`, from 1; by default the
    frame's order), stratified on the target for classification. Each split is in key order."""
    numbers = np.arange(1, len(frame) + 1) if rows is None else np.asarray(rows)
    keys = row_keys(seed, numbers)
    stratify = problem_type == "binary_classification"
    strata = frame[target].to_numpy(dtype=float) if stratify else np.zeros(len(frame))
    labels, sizes = np.unique(strata, return_counts=True)
    sizes_of = {float(label): int(size) for label, size in zip(labels, sizes, strict=True)}
    counts = sampling.split_counts(sizes_of, validation_fraction, test_fraction)
    problem = sampling.refusal(len(frame), sizes_of, counts)
    if problem:
        raise DataValidationError(problem)
    # Rows by stratum, then key (and number: keys of two rows could meet), and each row's rank
    # within its stratum.
    order = np.lexsort((numbers, keys, strata))
    rank = np.empty(len(frame), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank[order] = np.arange(len(frame)) - np.repeat(starts, sizes)
    test_cut = np.array([counts[float(s)][0] for s in labels])[np.searchsorted(labels, strata)]
    validation_cut = (
        test_cut + np.array([counts[float(s)][1] for s in labels])[np.searchsorted(labels, strata)]
    )
    part = np.where(rank < test_cut, 2, np.where(rank < validation_cut, 1, 0))
    by_key = np.argsort(keys, kind="stable")
    return {
        name: frame.iloc[by_key[part[by_key] == index]].reset_index(drop=True)
        for index, name in enumerate(SPLITS)
    }


def row_keys(seed: int, rows: np.ndarray) -> np.ndarray:
    """sampling.row_key of every row number, at once (uint64 arithmetic wraps as the rule's)."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(
            (sampling.seed_base(seed) + sampling.GAMMA) & sampling.MASK
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(sampling.MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(sampling.MIX2)
        return ((z ^ (z >> np.uint64(31))) >> np.uint64(1)).astype(np.int64)


def kept_rows(data: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The numbers (from 1) of the rows validate keeps: all, less those without a target when
    the schema drops them. The split's keys come from these numbers, as the Spark job's do."""
    numbers = np.arange(1, len(data) + 1)
    if schema.drop_rows_with_missing_target and schema.target in data.columns:
        return numbers[data[schema.target].notna().to_numpy()]
    return numbers


def write_rows(frame: pd.DataFrame, path: Path) -> Path:
    """frame as CSV, with a header row, by Arrow's CSV writer: pandas' to_csv formats floats
    one at a time, and took 60% of preprocess on a million rows (bench/spark_bench.py). Arrow
    writes the same numbers (shortest round-trip text) and quotes every text value, so that an
    empty text stays apart from a missing one. pyarrow is in the steps image and in AWS's
    XGBoost image, either of which runs this (tests/test_local.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(frame.columns)
    with path.open("wb") as file:
        file.write(header.getvalue().encode("utf-8"))
        pyarrow.csv.write_csv(
            pa.Table.from_pandas(frame, preserve_index=False),
            file,
            pyarrow.csv.WriteOptions(include_header=False),
        )
    return path


def write_schema(schema: Schema, folder: Path) -> None:
    """The schema beside the rows, as schema.json: the steps after read its columns."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n", encoding="utf-8")


def write_splits(
    splits: dict[str, pd.DataFrame], output_dir: Path, schema: Schema
) -> dict[str, Path]:
    """<output_dir>/<split>/<split>.csv (contract/splits.py reads them), the schema beside each
    (so that train, evaluate and explain know the category columns); a folder a pipeline output."""
    paths = {}
    for name, frame in splits.items():
        paths[name] = write_rows(frame, output_dir / name / f"{name}.csv")
        write_schema(schema, paths[name].parent)
    return paths


def write_validated(frame: pd.DataFrame, raw: pd.DataFrame, schema: Schema, folder: Path) -> Path:
    """<folder>/validated.csv: the validated rows with the columns a record needs beside them
    (the "id" and "event_time" ones, as the data has them), and the schema beside it."""
    carried = schema.record_columns
    kept = raw
    if schema.drop_rows_with_missing_target and schema.target in raw.columns:
        # The rows validate kept, in its order.
        kept = raw[raw[schema.target].notna()]
    rows = frame.copy()
    for name in carried:
        if name in kept.columns:
            rows[name] = kept[name].to_numpy()
    write_schema(schema, folder)
    return write_rows(rows, folder / VALIDATED_FILE)


def s3_versions(url: str) -> dict[str, str]:
    """File name -> S3 version ID of the current version of each object under an S3 prefix, for
    a versioned bucket (empty for an unversioned one). boto3 is imported here: only the pipeline
    passes an S3 URL, and the SageMaker image has boto3."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    versions = {}
    pages = boto3.client("s3").get_paginator("list_object_versions")
    for page in pages.paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if version["IsLatest"] and version["VersionId"] != "null":
                versions[version["Key"].removeprefix(prefix).lstrip("/")] = version["VersionId"]
    return versions


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
        "--validated-dir",
        "--validated_dir",
        type=Path,
        help="write the validated rows there (validated.csv, with the id and event_time columns) "
        "instead of the splits: the Feature Store's ingestion reads them",
    )
    parser.add_argument(
        "--input-data-url",
        "--input_data_url",
        help="the S3 prefix the input came from: the data manifest records its version IDs",
    )
    parser.add_argument(
        "--problem-type",
        "--problem_type",
        choices=PROBLEM_TYPES,
        help="defaults to the schema's problem_type",
    )
    sampling.add_split_arguments(parser)
    return parser.parse_args(argv)


def checked_splits(
    frame: pd.DataFrame,
    schema: Schema,
    problem_type: str,
    args: argparse.Namespace,
    rows: np.ndarray | None = None,
) -> dict[str, pd.DataFrame]:
    """The validated rows split by sampling.add_split_arguments' options (`rows`: their numbers, as
    split takes them), once they are enough to learn from (check_rows: one line for each rule
    they break)."""
    check_rows(frame, schema, problem_type, args.min_rows, args.min_class_count)
    return split(
        frame,
        schema.target,
        problem_type,
        args.validation_fraction,
        args.test_fraction,
        args.seed,
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        schema = load_schema(args.schema)
        problem_type = args.problem_type or schema.problem_type
        if problem_type is None:
            raise SchemaError(f"{schema.source} has no problem_type; pass --problem-type")
        raw = read_data(args.input_dir)
        frame = validate(raw, schema, problem_type)
        splits = {}
        if args.validated_dir is None:
            splits = checked_splits(frame, schema, problem_type, args, kept_rows(raw, schema))
        else:
            check_rows(frame, schema, problem_type, args.min_rows, args.min_class_count)
    except (SchemaError, DataValidationError) as error:
        print(f"preprocess failed: {error}", file=sys.stderr)
        return 1
    if args.validated_dir is None:
        paths = write_splits(splits, args.output_dir, schema)
    else:
        paths = {"validated": write_validated(frame, raw, schema, args.validated_dir)}
    manifest = data_manifest(args.input_dir, args.input_data_url, s3_versions)
    paths["manifest"] = args.output_dir / MANIFEST_DIR / MANIFEST_FILE
    paths["manifest"].parent.mkdir(parents=True, exist_ok=True)
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if "s3_versions_error" in manifest:
        print(f"preprocess: no S3 version IDs recorded: {manifest['s3_versions_error']}")
    sizes = "".join(f"; {name} {len(part)} rows" for name, part in splits.items())
    print(f"preprocess: {len(frame)} rows valid against {schema.source}{sizes}")
    if frame.attrs["dropped_rows"]:
        print(f"preprocess: dropped {frame.attrs['dropped_rows']} rows without a target")
    print(f"preprocess: wrote {', '.join(str(path) for path in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
