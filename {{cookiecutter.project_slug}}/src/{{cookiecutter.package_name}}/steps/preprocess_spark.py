"""Preprocess at scale: preprocess.py's checks and split as a PySpark job, for data that outgrows
one machine.

The same contract, another engine: every rule, its one-line message and the split's rule come
from contract/ (rules.py, schema.py, sampling.py), evaluated as Spark expressions by
contract/spark.py, so the rows stay spread over the cluster and only counts reach the driver;
this script reads the data, writes the outputs and the manifest, and runs the job. On the
same data it keeps the same rows, refuses with the same lines and puts every row in the same
split as preprocess.py (tests/test_preprocess_spark.py checks both engines on the same data).
Its outputs are preprocess.py's: <split>/ with the rows as CSV files (part-*.csv, a header in
each) and schema.json beside them, and manifest/data_manifest.json, so the steps after it read
them unchanged.

It runs in SageMaker's Spark processing container (PySparkProcessor, pipeline/spark.py): Spark
3.5 on Python 3.12 there, pyspark pinned to the same Spark version here. The driver imports
pyspark and the standard library only (the contract's rules, schema, sampling and spark
modules), so the container's own pandas and numpy, which are not the lock's, never run this
project's code.

What it leaves to preprocess.py: the file format checks of contract/csv_reader.py (encoding,
delimiter, quoting), which read every byte in one process; Spark reads each file as UTF-8 CSV
and stops at the first malformed row (FAILFAST). A quoted value may not span lines here
(Spark splits large files between tasks at line breaks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException, CapturedException

from {{ cookiecutter.package_name }}.contract import rules, sampling
from {{ cookiecutter.package_name }}.contract.manifest import (
    MANIFEST_DIR,
    MANIFEST_FILE,
    file_sha256,
    listing_hash,
)
from {{ cookiecutter.package_name }}.contract.rules import DataValidationError
from {{ cookiecutter.package_name }}.contract.schema import (
    PROBLEM_TYPES,
    SCHEMA_FILE,
    Schema,
    SchemaError,
    load_schema,
)
from {{ cookiecutter.package_name }}.contract.spark import (
    KEY,
    PART,
    ROW,
    check_rows,
    col,
    split,
    validate,
)


def session(master: str | None = None, memory: str | None = None) -> SparkSession:
    """The Spark session (the cluster's, in the job; `memory`: the driver's heap in local
    mode); 64-bit arithmetic wraps, as the split's keys need (ANSI mode, Spark 4's default,
    would refuse the overflow)."""
    builder = SparkSession.builder.appName("preprocess")
    if master:
        builder = builder.master(master)
    if memory:
        builder = builder.config("spark.driver.memory", memory)
    spark = builder.getOrCreate()
    spark.conf.set("spark.sql.ansi.enabled", "false")
    return spark


def read_rows(spark: SparkSession, url: str) -> tuple[DataFrame, int]:
    """Every *.csv under url, as text (missing cells as null), with each row's number in the
    data: from 1, counting on across files in name order, as read_data numbers them. The rows
    read are cached once, before they are numbered (numbering them is a broadcast join, cheaper
    to redo than a second cached copy): the checks, the split and the writes read them again."""
    raw = (
        spark.read.option("header", True)
        .option("ignoreLeadingWhiteSpace", True)
        .option("escape", '"')
        .option("mode", "FAILFAST")
        .option("pathGlobFilter", "*.csv")
        .csv(url)
    )
    names = raw.columns
    missing = list(rules.MISSING_TEXT)
    located = raw.select(
        *[F.when(col(name).isin(missing), None).otherwise(col(name)).alias(name) for name in names],
        F.input_file_name().alias("_file"),
        F.expr("input_file_block_start()").alias("_block"),
        F.monotonically_increasing_id().alias("_id"),
    ).persist()
    # A file's block is read in order by one task, so its rows' ids count up from its first one:
    # the row's number is the rows of the blocks before it plus its place in its block.
    blocks = sorted(
        located.groupBy("_file", "_block")
        .agg(F.count("*").alias("rows"), F.min("_id").alias("first"))
        .collect(),
        key=lambda block: (unquote(block["_file"]), block["_block"]),
    )
    offsets, total = [], 0
    for block in blocks:
        offsets.append((block["_file"], block["_block"], total + 1 - block["first"]))
        total += block["rows"]
    starts = spark.createDataFrame(offsets, "_file string, _block long, _offset long")
    rows = located.join(F.broadcast(starts), ["_file", "_block"]).select(
        *[col(name) for name in names], (F.col("_id") + F.col("_offset")).alias(ROW)
    )
    return rows, total


def write_splits(parted: DataFrame, schema: Schema, data_url: str, output_dir: Path) -> None:
    """Each split's rows as CSV under <data_url>/<split>/ (a header in each part, rows in key
    order within a part), copied into <output_dir>/<split>/ when data_url is elsewhere (the
    cluster's HDFS in the job), then schema.json beside them."""
    for index, name in enumerate(sampling.SPLITS):
        rows = parted.filter(F.col(PART) == index)
        url = f"{data_url.rstrip('/')}/{name}"
        (
            rows.sortWithinPartitions(KEY, ROW)
            .select(*[col(column) for column in schema.model_columns])
            .write.mode("overwrite")
            .option("header", True)
            .option("escape", '"')
            .csv(url)
        )
        folder = output_dir / name
        if Path(data_url).resolve() != output_dir.resolve():
            _copy_parts(parted.sparkSession, url, folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n")


def write_validated(frame: DataFrame, schema: Schema, data_url: str, folder: Path) -> None:
    """preprocess.write_validated's rows as CSV parts under <data_url>/validated, copied into
    `folder` when data_url is elsewhere, schema.json beside them: the Feature Store's Ingest
    reads every part."""
    url = f"{data_url.rstrip('/')}/validated"
    carried = [name for name in schema.record_columns if name in frame.columns]
    (
        frame.sortWithinPartitions(ROW)
        .select(*[col(column) for column in [*schema.model_columns, *carried]])
        .write.mode("overwrite")
        .option("header", True)
        .option("escape", '"')
        .csv(url)
    )
    if Path(url).resolve() != folder.resolve():
        _copy_parts(frame.sparkSession, url, folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n")


def _copy_parts(spark: SparkSession, url: str, folder: Path) -> None:
    """The CSV parts under url (any Hadoop file system) into a local folder, by Hadoop's own
    client: the driver's copy of what the executors wrote."""
    hadoop = spark.sparkContext._jvm.org.apache.hadoop.fs  # type: ignore[union-attr]
    source = hadoop.Path(url)
    system = source.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    folder.mkdir(parents=True, exist_ok=True)
    for status in system.listStatus(source):
        part = status.getPath()
        if part.getName().endswith(".csv"):
            # useRawLocalFileSystem: no .crc checksum files beside the copies.
            system.copyToLocalFile(False, part, hadoop.Path(str(folder / part.getName())), True)


def data_manifest(spark: SparkSession, url: str) -> dict[str, Any]:
    """contract/manifest.py's manifest. Files on S3 are hashed where Spark reads them (a file
    holds at most 2 GB there: Spark's binary file reader takes each whole); a local folder (a
    laptop, the tests) is hashed here, streamed."""
    if "://" not in url:
        root = Path(url)
        paths = sorted(root.glob("*.csv")) if root.is_dir() else [root]
        local = [
            {"name": p.name, "bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in paths
        ]
        return {"sha256": listing_hash(local), "files": local}
    files = (
        spark.read.format("binaryFile")
        .option("pathGlobFilter", "*.csv")
        .load(url)
        .select("path", "length", F.sha2(F.col("content"), 256).alias("sha256"))
        .collect()
    )
    entries = sorted(
        (
            {
                "name": unquote(record["path"].rsplit("/", 1)[-1]),
                "bytes": record["length"],
                "sha256": record["sha256"],
            }
            for record in files
        ),
        key=lambda entry: entry["name"],
    )
    manifest: dict[str, Any] = {"sha256": listing_hash(entries), "files": entries}
    if url.startswith("s3://"):
        manifest["source"] = url
    return manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input-url", required=True, help="the CSV files: an S3 prefix in the job, or a folder"
    )
    parser.add_argument(
        "--schema",
        type=Path,
        default=Path("/opt/ml/processing/input/schema"),
        help="the schema JSON file, or a folder holding exactly one",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument(
        "--data-output-url",
        help="where the split rows go (an S3 prefix in the job); default: --output-dir",
    )
    parser.add_argument(
        "--validated-dir",
        type=Path,
        help="write the validated rows there instead of the splits (the Feature Store's Ingest "
        "reads them), as preprocess.py's --validated-dir",
    )
    parser.add_argument("--problem-type", choices=PROBLEM_TYPES)
    sampling.add_split_arguments(parser)
    parser.add_argument("--master", help="e.g. local[2]; default: the cluster spark-submit gives")
    return parser.parse_args(argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict[str, int]:
    """The job on a session: check, split, write; the split sizes."""
    schema = load_schema(args.schema)
    problem_type = args.problem_type or schema.problem_type
    if problem_type is None:
        raise SchemaError(f"{schema.source} has no problem_type; pass --problem-type")
    raw, read = read_rows(spark, args.input_url)
    try:
        frame, rows, dropped = validate(raw, schema, problem_type, read)
        strata = check_rows(frame, schema, problem_type, rows, args.min_rows, args.min_class_count)
        data_url = args.data_output_url or str(args.output_dir)
        if args.validated_dir is not None:
            write_validated(frame, schema, data_url, args.validated_dir)
            sizes = {"validated": rows}
        else:
            sizes = _split_and_write(frame, schema, problem_type, strata, data_url, args)
    finally:
        # What the read and the split cached.
        spark.catalog.clearCache()
    manifest = data_manifest(spark, args.input_url)
    path = args.output_dir / MANIFEST_DIR / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(
        f"preprocess: {rows} rows valid against {schema.source}; "
        + ", ".join(f"{name} {size}" for name, size in sizes.items())
        + " rows"
    )
    if dropped:
        print(f"preprocess: dropped {dropped} rows without a target")
    return sizes


def _split_and_write(
    frame: DataFrame,
    schema: Schema,
    problem_type: str,
    strata: dict[float, int],
    data_url: str,
    args: argparse.Namespace,
) -> dict[str, int]:
    """The split's rows written to <data_url>/<split> (and the output folders); their sizes."""
    parted = split(
        frame,
        schema,
        problem_type,
        strata,
        args.validation_fraction,
        args.test_fraction,
        args.seed,
    )
    write_splits(parted, schema, data_url, args.output_dir)
    counts = sampling.split_counts(strata, args.validation_fraction, args.test_fraction)
    test = sum(part[0] for part in counts.values())
    validation = sum(part[1] for part in counts.values())
    rows = sum(strata.values())
    return {"train": rows - test - validation, "validation": validation, "test": test}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spark = session(args.master)
    try:
        run(spark, args)
    except (SchemaError, DataValidationError) as error:
        print(f"preprocess failed: {error}", file=sys.stderr)
        return 1
    except (AnalysisException, CapturedException) as error:
        # Spark's own refusal (no files, a malformed row): its first line is the one to read.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"preprocess failed: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
