"""The Feature Store's steps: Ingest puts the rows Preprocess validated into the feature group
(infra/feature-store.yaml), and Snapshot reads the offline store back, point-in-time correct, as
the splits Train, Evaluate and the reference read.

How Snapshot reads the offline store: its Parquet files in S3, as a processing input of the
feature group's prefix, read by the project's own code (offline_store.snapshot). Athena would run
the same query as SQL, but it is another service to pay per scan and to grant (Athena, Glue's
catalog, a results bucket), its time-travel query could not run in `make local-run` or in a test,
and a data set that fits a processing instance needs no query engine. A larger one would move to
Athena (or Spark) behind the same snapshot semantics.
"""

from __future__ import annotations

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.mlops.workflow.steps import ProcessingStep

from .. import config
from ..steps import snapshot
from .jobs import PROCESSING, Build, job_step, output_uri, processing_input
from .training import SCHEMA_DIR, SPLITS, SPLITS_DIR

VALIDATED_DIR = f"{PROCESSING}/input/validated"
STORE_DIR = f"{PROCESSING}/input/offline-store"
INGESTION_DIR = f"{PROCESSING}/ingestion"
# The offline store's S3Uri in infra/feature-store.yaml: the project bucket's prefix.
OFFLINE_STORE_PREFIX = "feature-store"
# The snapshot's point in time: a timestamp (ISO 8601) reproduces an earlier training set.
AS_OF = ParameterString(name="FeatureSnapshotAsOf", default_value=snapshot.RUN_START)


def offline_store_prefix(bucket: str, region: str) -> str:
    """The S3 prefix of the feature group's offline store files, every creation of it: Feature
    Store writes under <S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<created>/."""
    return (
        f"s3://{bucket}/{OFFLINE_STORE_PREFIX}/{config.AWS_ACCOUNT_ID}/sagemaker/{region}/"
        f"offline-store/{config.FEATURE_GROUP}-"
    )


def feature_store_steps(build: Build, preprocess: ProcessingStep) -> list[ProcessingStep]:
    """Ingest and Snapshot, after Preprocess (whose `validated` output Ingest reads); Snapshot's
    outputs are named as Preprocess's splits."""
    ingest = ProcessingStep(
        # Never from cache: every run puts its rows with its own event time.
        **job_step("Ingest", cached=False),
        step_args=build.script_job(
            "Ingest",
            "ingest.py",
            inputs=[
                processing_input("validated", output_uri(preprocess, "validated"), VALIDATED_DIR)
            ],
            outputs=[build.output("Ingest", "ingestion", INGESTION_DIR)],
            arguments=[
                *("--validated-dir", VALIDATED_DIR, "--feature-group", config.FEATURE_GROUP),
                *("--output-dir", INGESTION_DIR),
                *("--run-start", ExecutionVariables.START_DATETIME, "--region", build.region),
            ],
        ),
    )
    store = offline_store_prefix(build.bucket, build.region)
    snapshot_step = ProcessingStep(
        # Never from cache: the offline store is no input of the cache key.
        **job_step("Snapshot", cached=False),
        depends_on=[ingest],
        step_args=build.script_job(
            "Snapshot",
            "snapshot.py",
            inputs=[
                processing_input("offline-store", store, STORE_DIR),
                processing_input("schema", build.stage.file(config.SCHEMA), SCHEMA_DIR),
            ],
            outputs=[build.output("Snapshot", s, f"{SPLITS_DIR}/{s}") for s in SPLITS],
            arguments=[
                *("--store-dir", STORE_DIR, "--feature-group", config.FEATURE_GROUP),
                *("--schema", SCHEMA_DIR, "--output-dir", SPLITS_DIR),
                *("--as-of", AS_OF, "--run-start", ExecutionVariables.START_DATETIME),
                *("--min-rows", str(config.MIN_ROWS)),
                *("--min-class-count", str(config.MIN_CLASS_COUNT)),
            ],
        ),
    )
    return [ingest, snapshot_step]
