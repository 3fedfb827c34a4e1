"""The Preprocess step as a PySpark job (steps/preprocess_spark.py) in SageMaker's Spark
processing container, on several instances: for data that outgrows one machine.

The step keeps preprocess.py's name and outputs (the splits with schema.json, or the validated
rows for the Feature Store's Ingest; the manifest), so the steps after it read them unchanged.
The container is AWS's (PySparkProcessor: Spark 3.5 from EMR on Python 3.12, pinned by its
version tag); pyspark in the lock is the same Spark version, and tests/test_preprocess_spark.py
runs the same code in Spark's local mode.

Where the data goes: Spark reads InputDataUrl from S3 itself (every instance reads its share;
nothing is copied to one disk first), writes the splits to the cluster's HDFS, and the driver
copies them to the job's output folders on the primary instance, which SageMaker uploads as it
does every step's outputs (the project key, the execution's prefix). The job so needs no S3
permission beyond what a processing job of this pipeline has: tests/test_pipeline_role.py holds
its own read of InputDataUrl against the role and the data's bucket and key (a data lake's too).
"""

from __future__ import annotations

from sagemaker.core.spark.processing import PySparkProcessor
from sagemaker.mlops.workflow.steps import ProcessingStep

from .. import config, jobcode
from .jobs import PROCESSING, Build, job_step, processing_input
from .training import DATA_MANIFEST, MANIFEST_DIR, SCHEMA_DIR, SPLITS, SPLITS_DIR, VALIDATED_DIR

# SageMaker's Spark processing image: Spark 3.5.6 (EMR 7.12) on Python 3.12. pyspark in
# pyproject.toml is pinned to the same Spark version.
SPARK_VERSION = "3.5"
SPARK_PYTHON = "py312"
SPARK_CONTAINER = "1.3"
# Instances of the cluster (one primary, the rest workers; each runs executors): raise it, or
# the processing instance type, with the data. Training scales apart (README, "Spark at scale").
SPARK_INSTANCES = 2
# The package's modules, on the driver's PYTHONPATH (the container's "code" input is the
# entry script that spark-submit runs).
PACKAGE_DIR = f"{PROCESSING}/input/package"
# Where the splits wait on the cluster before the driver copies them to the output folders.
HDFS_SPLITS = "hdfs:///preprocess/splits"


def preprocess_step(build: Build) -> ProcessingStep:
    """The data contract enforced on InputDataUrl by Spark, the splits (with the Feature Store:
    the validated rows, which Snapshot splits), and the manifest."""
    outputs = [build.output("Preprocess", s, f"{SPLITS_DIR}/{s}") for s in SPLITS]
    arguments: list[str] = []
    if config.FEATURE_STORE:
        outputs = [build.output("Preprocess", "validated", VALIDATED_DIR)]
        arguments = ["--validated-dir", VALIDATED_DIR]
    processor = PySparkProcessor(
        role=build.role_arn,
        framework_version=SPARK_VERSION,
        py_version=SPARK_PYTHON,
        container_version=SPARK_CONTAINER,
        instance_type=build.parameters.processing_instance_type,
        instance_count=SPARK_INSTANCES,
        volume_kms_key=build.kms_key_id,
        output_kms_key=build.kms_key_id,
        env={"PYTHONPATH": PACKAGE_DIR},
        base_job_name=f"{config.PROJECT_SLUG}-preprocess",
        sagemaker_session=build.session,
        tags=build.tags,
    )
    code = build.job_code("preprocess_spark.py")
    return ProcessingStep(
        **job_step("Preprocess"),
        step_args=processor.run(
            # The code's prefix ends in "/" (staging.Stager.files): no second one.
            submit_app=f"{code}{jobcode.entry_script('preprocess_spark.py')}",
            inputs=[
                processing_input("schema", build.stage.file(config.SCHEMA), SCHEMA_DIR),
                processing_input("package", code, PACKAGE_DIR),
            ],
            outputs=[*outputs, build.output("Preprocess", "manifest", MANIFEST_DIR)],
            arguments=[
                *("--input-url", build.parameters.input_data_url),
                *("--schema", SCHEMA_DIR, "--output-dir", SPLITS_DIR),
                *("--data-output-url", HDFS_SPLITS),
                *("--min-rows", str(config.MIN_ROWS)),
                *("--min-class-count", str(config.MIN_CLASS_COUNT)),
                *arguments,
            ],
        ),
        property_files=[DATA_MANIFEST],
    )
