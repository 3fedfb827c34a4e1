"""Ingest: put the rows preprocess validated into the feature group, each with its record
identifier and event time (offline_store.py).

In AWS (--feature-group and --region): PutRecord for every row, then wait until the offline
store holds every record put. Feature Store buffers what PutRecord takes and writes it to S3
"within 15 minutes"; the snapshot step reads S3, so the ingestion ends only when its records are
there (or fails after --wait-minutes, in one line).
Locally (--local-store): the same records written as the offline store writes them (Parquet,
partitioned by the event time's hour), which is what `make local-run` trains from.

The event time is the pipeline run's start (--run-start) unless the schema has a column with
"role": "event_time".
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from {{ cookiecutter.package_name }} import offline_store
from {{ cookiecutter.package_name }}.contract import (
    SCHEMA_FILE,
    DataValidationError,
    SchemaError,
    load_schema,
)
from {{ cookiecutter.package_name }}.offline_store import FeatureGroup

# What was put into which feature group: the step's output, for the run's lineage.
RECEIPT_FILE = "ingestion.json"
# PutRecord calls at once: each is one small HTTPS request.
WORKERS = 8
POLL_SECONDS = 30


def read_validated(folder: Path, group: FeatureGroup) -> pd.DataFrame:
    """The validated rows as preprocess wrote them, the text columns (categories, the record
    identifier) read as text."""
    schema = load_schema(folder / SCHEMA_FILE)
    text = {name: str for name, kind in group.features if kind == "String"}
    text.update(dict.fromkeys(offline_store.carried_columns(group), str))
    # validated.csv, or the part files of the Spark job (steps/preprocess_spark.py).
    parts = sorted(folder.glob("*.csv"))
    frame = pd.concat([pd.read_csv(part, dtype=text) for part in parts], ignore_index=True)
    for name in schema.model_columns:
        if schema.column(name).type == "integer" or (name == schema.target and schema.labels):
            frame[name] = frame[name].astype("Int64")
    return frame


def feature_value(value: Any, kind: str) -> str | None:
    """A value as PutRecord takes it (ValueAsString), None for a missing one (left out)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "Integral":
        return str(int(value))
    if kind == "Fractional":
        number = float(value)
        return repr(number) if math.isfinite(number) else None
    return str(value)


def put_records(rows: pd.DataFrame, group: FeatureGroup, name: str, client: Any) -> int:
    """PutRecord for every row; the number of records put."""

    def put(row: tuple[Any, ...]) -> None:
        record = []
        for (feature, kind), value in zip(group.features, row, strict=True):
            text = feature_value(value, kind)
            if text is not None:
                record.append({"FeatureName": feature, "ValueAsString": text})
        client.put_record(FeatureGroupName=name, Record=record)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(put, rows[group.names].itertuples(index=False, name=None)))
    return len(rows)


def offline_store_uri(sagemaker: Any, name: str) -> str:
    """Where the feature group's offline store writes its files (DescribeFeatureGroup)."""
    described = sagemaker.describe_feature_group(FeatureGroupName=name)
    return described["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]


def missing_records(
    rows: pd.DataFrame, group: FeatureGroup, s3: Any, uri: str, since: datetime
) -> int:
    """How many of the rows put the offline store does not hold yet: its files written since
    `since`, read for their (record identifier, event time) pairs."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    wanted = set(zip(rows[group.record_identifier], rows[offline_store.EVENT_TIME], strict=True))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/"))
    for page in pages:
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".parquet") or item["LastModified"] < since:
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found = pd.read_parquet(io.BytesIO(body))
            columns = {column.lower(): column for column in found.columns}
            ids = found[columns[group.record_identifier.lower()]].astype(str)
            times = found[columns[offline_store.EVENT_TIME]].astype(float)
            wanted -= set(zip(ids, times, strict=True))
    return len(wanted)


def wait_for_offline_store(
    rows: pd.DataFrame,
    group: FeatureGroup,
    name: str,
    clients: tuple[Any, Any],
    since: datetime,
    wait_minutes: float,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Return when the offline store holds every row put; TimeoutError after wait_minutes."""
    sagemaker, s3 = clients
    uri = offline_store_uri(sagemaker, name)
    deadline = time.monotonic() + wait_minutes * 60
    while True:
        missing = missing_records(rows, group, s3, uri, since)
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{missing} of {len(rows)} records put are not in the offline store {uri} after "
                f"{wait_minutes} minutes; rerun the pipeline (Feature Store keeps what it took)"
            )
        time.sleep(poll_seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validated-dir", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument("--run-start", required=True, help="the pipeline run's start (ISO 8601)")
    parser.add_argument("--feature-group", required=True, help="the feature group's name")
    parser.add_argument("--local-store", type=Path, help="a local offline store (folder)")
    parser.add_argument("--region", help="AWS: PutRecord in this region")
    parser.add_argument("--wait-minutes", type=float, default=30)
    parser.add_argument(
        "--output-dir", type=Path, help="where to write ingestion.json: what was put, and where"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    try:
        schema = load_schema(args.validated_dir / SCHEMA_FILE)
        group = offline_store.feature_group(schema)
        rows = offline_store.records(
            read_validated(args.validated_dir, group), group, args.run_start
        )
    except (SchemaError, DataValidationError, ValueError) as error:
        print(f"ingest failed: {error}", file=sys.stderr)
        return 1
    receipt = {
        "feature_group": args.feature_group,
        "records": len(rows),
        "record_identifier": group.record_identifier,
        "event_time": args.run_start if group.event_time_column is None else None,
    }
    if args.local_store is not None:
        offline_store.write_local(args.local_store, args.feature_group, group, rows)
        print(f"ingest: {len(rows)} records into {args.local_store}/{args.feature_group}-*")
        write_receipt(args.output_dir, receipt)
        return 0
    # boto3 here: only the pipeline's job talks to AWS, and the steps image has it.
    import boto3

    session = boto3.session.Session(region_name=args.region)
    put_records(rows, group, args.feature_group, session.client("sagemaker-featurestore-runtime"))
    print(f"ingest: {len(rows)} records put into {args.feature_group}; waiting for them offline")
    try:
        clients = (session.client("sagemaker"), session.client("s3"))
        wait_for_offline_store(rows, group, args.feature_group, clients, started, args.wait_minutes)
    except TimeoutError as error:
        print(f"ingest failed: {error}", file=sys.stderr)
        return 1
    print(f"ingest: the offline store holds the {len(rows)} records")
    write_receipt(args.output_dir, receipt)
    return 0


def write_receipt(folder: Path | None, receipt: dict[str, Any]) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(receipt, indent=2) + "\n"
        (folder / RECEIPT_FILE).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
