"""Preprocess at scale: preprocess.py's checks and split as a PySpark job, for data that outgrows
one machine.

The same contract, another engine: every rule, its one-line message and the split's rule come
from contract/ (rules.py, schema.py, sampling.py); this script only evaluates them as Spark
expressions, so the rows stay spread over the cluster and only counts reach the driver. On the
same data it keeps the same rows, refuses with the same lines and puts every row in the same
split as preprocess.py (tests/test_preprocess_spark.py checks both engines on the same data).
Its outputs are preprocess.py's: <split>/ with the rows as CSV files (part-*.csv, a header in
each) and schema.json beside them, and manifest/data_manifest.json, so the steps after it read
them unchanged.

It runs in SageMaker's Spark processing container (PySparkProcessor, pipeline/spark.py): Spark
3.5 on Python 3.12 there, pyspark pinned to the same Spark version here. The driver imports
pyspark and the standard library only (the contract's rules, schema and sampling modules), so the
container's own pandas and numpy, which are not the lock's, never run this project's code.

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

from pyspark.sql import Column as SparkColumn
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
    Column,
    Schema,
    SchemaError,
    load_schema,
)

# The rows' own columns: the row's number in the data (from 1), its split key, its split.
ROW, KEY, PART = "_row", "_key", "_part"
INFINITY = float("inf")
# Java's parseDouble, which Spark's cast uses, takes a type suffix ("1d", "2f"); pandas does not.
JAVA_SUFFIX = r"[dDfF]\s*$"
# (?U): \d and \s as Python's str patterns read them (Unicode), not Java's ASCII defaults.
STRIP = r"(?U)^\s+|\s+$"
# A split of 2**16 key ranges: where a stratum's cut falls, one range's keys reach the driver.
RANGE_BITS = 16
# The roles of the columns validate keeps beside the model's for the Feature Store's records
# (preprocess.write_validated's).
CARRIED_ROLES = ("id", "event_time")


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


def col(name: str) -> SparkColumn:
    """A column by its name as the file has it (dots and spaces are no struct access)."""
    return F.col("`" + name.replace("`", "``") + "`")


def full(pattern: str) -> str:
    """A Python pattern as a Java one that must match the whole text (re.fullmatch)."""
    return f"(?U)^(?:{pattern})$"


def read_rows(spark: SparkSession, url: str) -> tuple[DataFrame, int]:
    """Every *.csv under url, as text (missing cells as null), with each row's number in the
    data: from 1, counting on across files in name order, as read_data numbers them. The rows
    are cached: the checks, the split and the writes read them again."""
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
    rows = (
        located.join(F.broadcast(starts), ["_file", "_block"])
        .select(*[col(name) for name in names], (F.col("_id") + F.col("_offset")).alias(ROW))
        .persist()
    )
    rows.count()
    located.unpersist()
    return rows, total


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
    typed: dict[str, SparkColumn] = {}
    # (column, rule, index of its check, the value shown: raw text or the typed value)
    found: list[tuple[str, rules.Rule, int, SparkColumn]] = []
    formatted: dict[str, int] = {}
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
    carried = [col(c.name) for c in schema.columns if c.role in CARRIED_ROLES and c.name in columns]
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
    carried = [
        c.name for c in schema.columns if c.role in CARRIED_ROLES and c.name in frame.columns
    ]
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
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-rows", type=int)
    parser.add_argument("--min-class-count", type=int)
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
        raw.unpersist()
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
