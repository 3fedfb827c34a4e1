"""The Feature Store: the feature group the schema makes, the records ingestion puts (locally
into files, in AWS through PutRecord), and the point-in-time snapshot training reads.

moto emulates CreateFeatureGroup and DescribeFeatureGroup, not the Feature Store runtime
(sagemaker-featurestore-runtime): PutRecord goes to botocore's Stubber, which holds each request
against the service's model (names, types, lengths) before it answers, and the permission
harness (aws_calls.py) holds the call against the execution role. The offline store's files are
written by the test, as Feature Store writes them.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from {{ cookiecutter.package_name }} import config, contract, offline_store
from {{ cookiecutter.package_name }}.deploy import feature_group
from {{ cookiecutter.package_name }}.steps import ingest

pytestmark = pytest.mark.principal("execution")

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def schema() -> contract.Schema:
    return contract.load_schema(config.SCHEMA)


@pytest.fixture(scope="module")
def group(schema: contract.Schema) -> offline_store.FeatureGroup:
    return offline_store.feature_group(schema, config.PROBLEM_TYPE)


@pytest.fixture(scope="module")
def validated(schema: contract.Schema) -> pd.DataFrame:
    """The configured data set as preprocess validates it."""
    return contract.validate(contract.read_data(config.DATA), schema, config.PROBLEM_TYPE)


@pytest.fixture(scope="module")
def rows(validated: pd.DataFrame, group: offline_store.FeatureGroup) -> pd.DataFrame:
    """Its records, as ingested at T0. A data set with an id or event time column keeps its own."""
    carried = dict.fromkeys(offline_store.carried_columns(group), "x")
    frame = validated.assign(**{name: range(len(validated)) for name in carried})
    if group.event_time_column:
        frame[group.event_time_column] = T0.isoformat()
    return offline_store.records(frame.astype({n: str for n in carried}), group, T0.isoformat())


def test_the_feature_group_is_the_schemas_columns_with_a_record_id_and_event_time(
    schema, group, rows
):
    types = dict(group.features)
    assert group.names[: len(schema.model_columns)] == schema.model_columns
    for name in schema.features:
        assert types[name] == offline_store.FEATURE_TYPES[schema.column(name).type]
    assert types[group.record_identifier] == "String"
    assert types[group.event_time] == "Fractional"
    assert rows[group.record_identifier].is_unique
    # The stack deploys exactly these features, under the configured name.
    properties = feature_group.template()["Resources"]["FeatureGroup"]["Properties"]
    assert properties["FeatureDefinitions"] == group.definitions()
    assert properties["FeatureGroupName"] == config.FEATURE_GROUP
    assert properties["RecordIdentifierFeatureName"] == group.record_identifier


def test_identical_rows_stay_two_records_and_ids_do_not_depend_on_the_run(validated, group):
    if group.id_column:
        pytest.skip("the schema names the record identifier")
    twice = pd.concat([validated.head(3), validated.head(1)], ignore_index=True)
    first = offline_store.records(twice, group, T0)[group.record_identifier]
    again = offline_store.records(twice, group, T0 + HOUR)[group.record_identifier]
    assert first.is_unique
    assert list(first) == list(again)


@pytest.mark.parametrize(
    ("name", "refused"),
    [("mean radius", "no Feature Store feature name"), ("write_time", "clashes")],
)
def test_a_column_the_feature_group_cannot_hold_is_refused_in_one_line(schema, name, refused):
    raw = json.loads(json.dumps(schema.raw))
    raw["columns"][1]["name"] = name
    with pytest.raises(contract.SchemaError, match=refused) as error:
        offline_store.feature_group(contract.parse_schema(raw))
    assert "\n" not in str(error.value)


def test_the_snapshot_is_point_in_time_correct(tmp_path: Path, schema, group, rows, validated):
    """Versions after the as-of time are invisible, the latest before it wins (the later write
    of two with one event time), and a record whose latest version is a deletion is left out."""
    ident = group.record_identifier
    # The value each version gives the first feature: a number, or a text for a category.
    first, kind = next((n, k) for n, k in group.features[1:] if n != offline_store.EVENT_TIME)
    marks = (-1.0, -2.0, -3.0) if kind in ("Fractional", "Integral") else ("v1", "v2", "v3")
    store, name = tmp_path / "store", config.FEATURE_GROUP
    offline_store.write_local(store, name, group, rows, written=T0)
    updated, deleted, future = rows.iloc[:5].copy(), rows.iloc[5:8].copy(), rows.iloc[8:10].copy()
    updated[offline_store.EVENT_TIME] = offline_store.seconds(T0 + HOUR)
    updated[first] = marks[0]
    offline_store.write_local(store, name, group, updated, written=T0 + HOUR)
    # The same event time written again later: the later write is the record's value.
    updated[first] = marks[1]
    offline_store.write_local(store, name, group, updated, written=T0 + 2 * HOUR)
    deleted[offline_store.EVENT_TIME] = offline_store.seconds(T0 + HOUR)
    offline_store.write_local(store, name, group, deleted, written=T0 + HOUR, deleted=True)
    future[offline_store.EVENT_TIME] = offline_store.seconds(T0 + 5 * HOUR)
    future[first] = marks[2]
    offline_store.write_local(store, name, group, future, written=T0 + 5 * HOUR)

    held = offline_store.read_store(store, name, group)
    assert len(held) == len(rows) + 5 + 5 + 3 + 2
    now = offline_store.snapshot(held, group, T0 + 2 * HOUR).set_index(ident)
    assert len(now) == len(rows) - 3
    assert set(deleted[ident]).isdisjoint(now.index)
    assert (now.loc[updated[ident], first] == marks[1]).all()
    before = rows.set_index(ident).loc[future[ident], first]
    pd.testing.assert_series_equal(now.loc[future[ident], first], before, check_dtype=False)

    # As of T0: the data set as ingested, typed as validate types it.
    then = offline_store.snapshot(held, group, T0)
    expected = rows.sort_values(ident)[schema.model_columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        offline_store.model_rows(then, schema),
        expected.astype(validated.dtypes.to_dict()),
        check_dtype=False,
    )


def _rows(frame: pd.DataFrame, schema: contract.Schema) -> list[str]:
    """The rows as sorted lines of text, numbers as floats and a missing value as nothing: the
    same rows read from a CSV file or validated in memory."""
    shown = pd.DataFrame(index=range(len(frame)))
    for name in schema.model_columns:
        column = frame[name].reset_index(drop=True)
        if schema.column(name).type == "category" and name != schema.target:
            shown[name] = column.astype(object).where(column.notna(), "")
        else:
            shown[name] = column.astype(float)
    return sorted(shown.to_csv(index=False, header=False).splitlines())


def test_the_local_run_trains_on_the_snapshot_of_the_validated_rows(configured, schema, validated):
    splits = [contract.read_split(configured.splits / name) for name in contract.SPLITS]
    trained = pd.concat([target.to_frame().join(features) for features, target in splits])
    assert _rows(trained, schema) == _rows(validated, schema)


def _feature_group(name: str, group: offline_store.FeatureGroup) -> str:
    """The feature group as infra/feature-store.yaml makes it (moto), its offline store's URI."""
    bucket = config.DEFAULT_BUCKET
    boto3.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.AWS_REGION}
    )
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName=group.record_identifier,
        EventTimeFeatureName=group.event_time,
        FeatureDefinitions=group.definitions(),
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": f"s3://{bucket}/feature-store"}},
        RoleArn=f"arn:aws:iam::{config.AWS_ACCOUNT_ID}:role/{config.PROJECT_SLUG}-feature-store",
    )
    return ingest.offline_store_uri(sagemaker, name)


def test_ingestion_puts_every_row_and_waits_for_the_offline_store(aws, group, rows):
    name = config.FEATURE_GROUP
    uri = _feature_group(name, group)
    runtime = boto3.client("sagemaker-featurestore-runtime")
    sample = rows.iloc[:20]
    with Stubber(runtime) as stub:
        for _ in range(len(sample)):
            stub.add_response("put_record", {})
        assert ingest.put_records(sample, group, name, runtime) == len(sample)
        stub.assert_no_pending_responses()

    clients = (boto3.client("sagemaker"), boto3.client("s3"))
    since = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(TimeoutError, match=f"20 of 20 records put are not in .*{name}"):
        ingest.wait_for_offline_store(sample, group, name, clients, since, 0, poll_seconds=0)
    # Feature Store writes them (the Glue table's columns in lower case).
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    written = offline_store.offline_rows(sample, datetime.now(UTC))
    body = io.BytesIO()
    written.rename(columns=str.lower).to_parquet(body, index=False)
    key = f"{prefix}/year=2026/month=01/day=05/hour=09/x.parquet"
    clients[1].put_object(Bucket=bucket, Key=key, Body=body.getvalue())
    ingest.wait_for_offline_store(sample, group, name, clients, since, 0, poll_seconds=0)


def test_a_put_record_is_refused_by_the_api_model_where_a_value_is_no_text(aws, group, rows):
    """The Stubber holds every request against the service model: a Record of numbers fails."""
    runtime = boto3.client("sagemaker-featurestore-runtime")
    with Stubber(runtime) as stub, pytest.raises(Exception, match="ValueAsString"):
        stub.add_response("put_record", {})
        runtime.put_record(
            FeatureGroupName=config.FEATURE_GROUP,
            Record=[{"FeatureName": group.event_time, "ValueAsString": 1.5}],
        )
    # What ingest sends: text for every value, a missing one left out of the record.
    first = zip(rows.iloc[0], group.features, strict=True)
    sent = [ingest.feature_value(v, kind) for v, (_, kind) in first]
    assert all(isinstance(value, str) for value in sent if value is not None)
    assert sent.count(None) == int(rows.iloc[0].isna().sum())
