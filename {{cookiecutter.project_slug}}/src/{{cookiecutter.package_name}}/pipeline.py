"""The SageMaker pipeline: preprocess, train, evaluate, quality gate, register.

Preprocess -> Train -> Evaluate (plus Baseline and Explain when this project has them) ->
CheckQuality, which registers the model in the model registry if it reaches the floor and beats
the champion (the group's latest Approved model, scored by Evaluate on the same test split; the
naive baseline while there is none) by the margin, and fails the execution with the metric, the
champion's value, the margin and the floor if not. Every model package records what made it
(code commit, data hash, image digests, hyperparameters, execution); every job carries the
project's tags, retries AWS's own faults and, but Evaluate, is served from cache when its inputs
are unchanged.

`get_pipeline()` builds it with the SageMaker Python SDK v3 from the same step scripts that
`local.py` runs on a laptop. The command line prints the definition, creates or updates the
pipeline in AWS, uploads the sample data to where the pipeline reads it, or starts an execution:

    python -m {{ cookiecutter.package_name }}.pipeline definition --offline  # no AWS needed
    python -m {{ cookiecutter.package_name }}.pipeline upload-data
    python -m {{ cookiecutter.package_name }}.pipeline upsert
    python -m {{ cookiecutter.package_name }}.pipeline start --parameter QualityThreshold=0.8
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from . import config

# SDK 3.27 creates a boto3 client while it is being imported, which fails without a region.
# This project lives in one region, so that is the default; an explicit setting still wins.
os.environ.setdefault("AWS_DEFAULT_REGION", config.AWS_REGION)

import boto3
from botocore.exceptions import ClientError
from sagemaker.core import image_uris
from sagemaker.core.clarify import DataConfig, ModelConfig, SHAPConfig
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.metadata_properties import MetadataProperties
from sagemaker.core.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.core.model_monitor import DatasetFormat
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    MetricDefinition,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
    Tag,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode
from sagemaker.core.workflow.conditions import (
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
from sagemaker.mlops.workflow.clarify_check_step import (
    ClarifyCheckStep,
    ModelExplainabilityCheckConfig,
)
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, Step, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

from . import lineage
from .steps import preprocess as preprocess_script
from .steps import train as train_script

# Every job runs the project's own images (containers/: the lock's libraries, built by CI) when
# they are given, else the built-in SageMaker XGBoost framework container: the version that
# matches the local xgboost pin, so that a model trained in one loads in the other, and whose
# Python also has pandas, scikit-learn and matplotlib. Either runs by the digest its tag had when
# the pipeline was upserted (StepsImageUri, ServeImageUri), recorded on the model package.
XGBOOST_FRAMEWORK_VERSION = "3.2-0"
SAGEMAKER_SDK_VERSION = importlib.metadata.version("sagemaker")
PROCESSING_INSTANCE_TYPE = "ml.m5.large"
TRAINING_INSTANCE_TYPE = "ml.m5.xlarge"
CLARIFY_ENDPOINT_INSTANCE_TYPE = "ml.m5.large"
SHAP_SAMPLES = 100

# The hyperparameters of a local run (train.py's defaults), passed explicitly so that every
# training job shows them; SageMaker hands them to train.py as `--name value`, names verbatim.
HYPERPARAMETERS: dict[str, str | int | float] = {
    "problem-type": config.PROBLEM_TYPE,
    **{name.replace("_", "-"): value for name, value in train_script.HYPERPARAMETERS.items()},
}
# What the training job shows as metrics, read from the line train.py prints at the end.
METRIC_DEFINITIONS = [
    MetricDefinition(
        name=f"validation:{train_script.EVAL_METRICS[config.PROBLEM_TYPE]}",
        regex=rf"with validation {train_script.EVAL_METRICS[config.PROBLEM_TYPE]} "
        r"([-+0-9.eE]+)",
    ),
    MetricDefinition(name="best_iteration", regex=r"best iteration ([0-9]+)"),
]

# What the project's inference server (serve/) takes and answers; the XGBoost image's own server
# takes CSV only (features only).
CONTENT_TYPES = ["text/csv", "application/json"]
XGBOOST_CONTENT_TYPES = ["text/csv"]
INFERENCE_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]

# A job step whose inputs (code, data, parameters) are those of an earlier successful run is
# served from that run's outputs. Code is uploaded under its content hash and data under a prefix
# named after its content (upload-data), so the same inputs really are the same bytes.
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
# Retry what is AWS's fault, not the step's: throttling, service faults, a job's internal error,
# no capacity for the instance type yet, and the account's job limit reached.
STEP_RETRY = StepRetryPolicy(
    exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
    interval_seconds=10,
    backoff_rate=2.0,
    max_attempts=5,
)
JOB_RETRY = SageMakerJobStepRetryPolicy(
    exception_types=[
        SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
        SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
        SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
    ],
    interval_seconds=60,
    backoff_rate=2.0,
    max_attempts=3,
)

# Where the processing steps find their inputs and leave their outputs inside the container.
PROCESSING = "/opt/ml/processing"
DATA_DIR = f"{PROCESSING}/input/data"
SCHEMA_DIR = f"{PROCESSING}/input/schema"
SPLITS_DIR = f"{PROCESSING}/output"
SPLITS = ("train", "validation", "test")
MANIFEST_DIR = f"{SPLITS_DIR}/{preprocess_script.MANIFEST_DIR}"
MODEL_DIR = f"{PROCESSING}/model"
TEST_DIR = f"{PROCESSING}/test"
EVALUATION_DIR = f"{PROCESSING}/evaluation"
BASELINE_INPUT_DIR = f"{PROCESSING}/input/train"
BASELINE_DATA_DIR = f"{PROCESSING}/baseline-data"
PREDICTIONS_DIR = f"{PROCESSING}/predictions"
EXPLAIN_DATA_DIR = f"{PROCESSING}/explain-data"
# train.py, for the steps that load the model: it holds the one encoding of category columns
# (evaluate.py and explain.py import it from there).
STEPS_CODE_DIR = f"{PROCESSING}/input/steps"
# The data set's columns (target first), as the splits have them: Clarify's headers.
SCHEMA = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
# How Model Monitor's model-quality analyzer reads evaluate.py's predictions.csv (a header row):
# the true label, the prediction and, for a classifier, the probability of class 1 and the
# threshold that turned it into the predicted label.
MODEL_QUALITY_ATTRIBUTES: dict[str, dict[str, str]] = {
    "binary_classification": {
        "problem_type": "BinaryClassification",
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
        "probability_attribute": "probability",
        "probability_threshold_attribute": str(train_script.LABEL_THRESHOLD),
    },
    "regression": {
        "problem_type": "Regression",
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
    },
}
# The registry's names of the baselines each check compares with (DriftCheckBaselines).
CHECK_BASELINES = {
    "DataQuality": "ModelDataQuality",
    "ModelQuality": "ModelQuality",
    "Explainability": "Explainability",
}
# Everything the pipeline uploads itself (step code, schema), under content-addressed keys.
CODE_PREFIX = f"{config.PIPELINE_NAME}/code"
# The channel of the scripts with which the SDK starts train.py in the training container.
SDK_DRIVERS_CHANNEL = "sm_drivers"


class SetupError(RuntimeError):
    """AWS lacks what the pipeline needs (its bucket, its image); the message says what to do."""


def default_input_data_url(
    bucket: str = config.DEFAULT_BUCKET, data: os.PathLike[str] | str = config.DATA
) -> str:
    """The S3 prefix that `upload-data` copies `data` to, named after its content: the pipeline
    reads the configured data set from here unless InputDataUrl is overridden."""
    digest = preprocess_script.data_manifest(data)["sha256"][:16]
    return f"s3://{bucket}/{config.PROJECT_SLUG}/data/{digest}/"


def default_session(bucket: str = config.DEFAULT_BUCKET) -> PipelineSession:
    """A pipeline session in the project's region that stages everything in `bucket`."""
    return PipelineSession(
        boto_session=boto3.Session(region_name=config.AWS_REGION), default_bucket=bucket
    )


def s3_client(session: boto3.Session | None = None) -> Any:
    """The S3 client of every call this module makes (each names the bucket's owner)."""
    return (session or boto3.Session(region_name=config.AWS_REGION)).client("s3")


def encryption(kms_key_id: str | None) -> dict[str, str]:
    """S3 upload arguments: SSE-KMS (the given key, else the account's aws/s3 key), and the
    bucket must belong to this project's account, or S3 refuses the write."""
    arguments = {"ServerSideEncryption": "aws:kms", "ExpectedBucketOwner": config.AWS_ACCOUNT_ID}
    if kms_key_id:
        arguments["SSEKMSKeyId"] = kms_key_id
    return arguments


class Stager:
    """Uploads local files to keys named after their content (CODE_PREFIX/<sha256>/<name>), so
    that a pipeline version's code never changes under it and an unchanged step keeps the same
    arguments, which is what lets SageMaker serve it from cache."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str | None) -> None:
        self.s3, self.bucket, self.kms_key_id = s3, bucket, kms_key_id

    def folder(self, path: os.PathLike[str] | str) -> str:
        """The S3 prefix (ending in /) that holds exactly this file."""
        content = Path(path).read_bytes()
        key = f"{CODE_PREFIX}/{hashlib.sha256(content).hexdigest()[:16]}/{Path(path).name}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=content, **encryption(self.kms_key_id))
        return f"s3://{self.bucket}/{key.rsplit('/', 1)[0]}/"

    def file(self, path: os.PathLike[str] | str) -> str:
        return self.folder(path) + Path(path).name

    def move_object(self, uri: str, name: str) -> str:
        """Move an object of this bucket to CODE_PREFIX/<sha256>/<name>; return its new URI."""
        key = uri.removeprefix(f"s3://{self.bucket}/")
        owner = {"ExpectedBucketOwner": config.AWS_ACCOUNT_ID}
        content = self.s3.get_object(Bucket=self.bucket, Key=key, **owner)["Body"].read()
        target = f"{CODE_PREFIX}/{hashlib.sha256(content).hexdigest()[:16]}/{name}"
        self.s3.put_object(
            Bucket=self.bucket, Key=target, Body=content, **encryption(self.kms_key_id)
        )
        self.s3.delete_object(Bucket=self.bucket, Key=key, **owner)
        return f"s3://{self.bucket}/{target}"

    def move_prefix(self, uri: str, name: str) -> str:
        """Move the objects under an S3 prefix of this bucket to CODE_PREFIX/<sha256>/<name>/,
        the hash over their relative keys and contents; return the new prefix."""
        prefix = uri.removeprefix(f"s3://{self.bucket}/").rstrip("/") + "/"
        owner = {"ExpectedBucketOwner": config.AWS_ACCOUNT_ID}
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, **owner
        )
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        files = {
            key.removeprefix(prefix): self.s3.get_object(Bucket=self.bucket, Key=key, **owner)[
                "Body"
            ].read()
            for key in keys
        }
        digest = hashlib.sha256()
        for relative, content in files.items():
            digest.update(f"{relative}\0{hashlib.sha256(content).hexdigest()}\n".encode())
        target = f"{CODE_PREFIX}/{digest.hexdigest()[:16]}/{name}"
        for relative, content in files.items():
            self.s3.put_object(
                Bucket=self.bucket,
                Key=f"{target}/{relative}",
                Body=content,
                **encryption(self.kms_key_id),
            )
        for key in keys:
            self.s3.delete_object(Bucket=self.bucket, Key=key, **owner)
        return f"s3://{self.bucket}/{target}"


class ContentAddressedTrainingStep(TrainingStep):
    """A TrainingStep whose SDK driver scripts (the sm_drivers channel) sit under a key named
    after their content. The SDK uploads them under a new timestamped job name at every build,
    which would change the step's InputDataConfig, its cache key, at every upsert."""

    def __init__(self, *, stager: Stager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stager = stager

    @property
    def arguments(self) -> Any:
        request = super().arguments
        for channel in request["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            if channel["ChannelName"] == SDK_DRIVERS_CHANNEL and isinstance(source["S3Uri"], str):
                source["S3Uri"] = self._stager.move_prefix(source["S3Uri"], SDK_DRIVERS_CHANNEL)
        return request


def pinned_image(uri: str, session: boto3.Session) -> str:
    """The image by digest (registry/repository@sha256:...): as given, or the one its tag points
    at now in ECR. Jobs run exactly that image, and the model package records it."""
    if "@sha256:" in uri:
        return uri
    registry, _, repository_tag = uri.partition("/")
    repository, _, tag = repository_tag.partition(":")
    try:
        images = session.client("ecr").batch_get_image(
            registryId=registry.split(".")[0],
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
        )["images"]
    except ClientError as error:
        raise SetupError(
            f"cannot read the digest of {uri}: {error}; the caller needs ecr:BatchGetImage on "
            "that repository (see infra/base.yaml, PipelineOperatorPolicy)"
        ) from error
    if not images:
        raise SetupError(f"no image {uri} in ECR")
    return f"{registry}/{repository}@{images[0]['imageId']['imageDigest']}"


def _input(name: str, s3_uri: object, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def _output(bucket: str, step: str, name: str, local_path: str) -> ProcessingOutput:
    # One prefix per execution, so that no run overwrites the artefacts of another.
    s3_uri = Join(
        on="/",
        values=[
            f"s3://{bucket}/{config.PIPELINE_NAME}",
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            step,
            name,
        ],
    )
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=s3_uri, local_path=local_path, s3_upload_mode="EndOfJob"
        ),
    )


def _output_uri(step: ProcessingStep, name: str) -> object:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def _in(prefix: object, filename: str) -> Join:
    return Join(on="/", values=[prefix, filename])


def _json_file(prefix: object, filename: str) -> MetricsSource:
    return MetricsSource(content_type="application/json", s3_uri=_in(prefix, filename))


def champion_baselines(session: boto3.Session) -> set[str]:
    """The checks (keys of CHECK_BASELINES) for which the champion, the group's latest Approved
    model package, has registered a drift-check baseline; empty while nothing is approved (or
    the group does not exist yet: the first registration creates it)."""
    client = session.client("sagemaker")
    try:
        listed = client.list_model_packages(
            ModelPackageGroupName=config.MODEL_PACKAGE_GROUP,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationException" and "does not exist" in details.get(
            "Message", ""
        ):
            return set()
        raise
    if not listed:
        return set()
    package = client.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])
    registered = package.get("DriftCheckBaselines", {})
    return {check for check, name in CHECK_BASELINES.items() if registered.get(name)}


def get_pipeline(
    role_arn: str = config.EXECUTION_ROLE_ARN,
    bucket: str = config.DEFAULT_BUCKET,
    session: PipelineSession | None = None,
    *,
    kms_key_id: str | None = None,
    git: lineage.GitState | None = None,
    steps_image: str | None = None,
    serve_image: str | None = None,
) -> Pipeline:
    """Build the training pipeline of this project.

    Uploads the step code and the schema to the bucket under content-addressed keys, and reads
    the digests of the images from ECR.

    Args:
        role_arn: the execution role of every job the pipeline starts.
        bucket: where step code, intermediate data and models are staged.
        session: a PipelineSession; by default one in config.AWS_REGION staging in `bucket`.
        kms_key_id: KMS key for job volumes, outputs and the uploaded code; None keeps the
            account defaults.
        git: the commit the code comes from, recorded on the jobs and the model package; by
            default the project's checkout.
        steps_image, serve_image: the project's own images (containers/, built by CI from the
            lock), by tag or digest: the defaults of the StepsImageUri and ServeImageUri
            parameters. Without them, the AWS XGBoost image (other library versions than the
            lock's, and CSV-only serving by its own server).
    """
    session = session or default_session(bucket)
    region = session.boto_region_name
    git = git or lineage.git_state()
    tags = lineage.tags(git)
    stage = Stager(s3_client(session.boto_session), bucket, kms_key_id)

    input_data_url = ParameterString(
        name="InputDataUrl", default_value=default_input_data_url(bucket)
    )
    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value=PROCESSING_INSTANCE_TYPE
    )
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value=TRAINING_INSTANCE_TYPE
    )
    model_approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )
    quality_threshold = ParameterFloat(
        name="QualityThreshold", default_value=config.QUALITY_GATE.threshold
    )

    def xgboost_image(scope: str) -> str:
        return image_uris.retrieve(
            framework="xgboost", region=region, version=XGBOOST_FRAMEWORK_VERSION, image_scope=scope
        )

    steps_image_uri = ParameterString(
        name="StepsImageUri",
        default_value=pinned_image(steps_image or xgboost_image("training"), session.boto_session),
    )
    serve_image_uri = ParameterString(
        name="ServeImageUri",
        default_value=pinned_image(serve_image or xgboost_image("inference"), session.boto_session),
    )

    def processor(step: str) -> ScriptProcessor:
        # One instance: every script reads its whole input on one node (nothing is sharded).
        return ScriptProcessor(
            role=role_arn,
            image_uri=steps_image_uri,
            command=["python3"],
            instance_type=processing_instance_type,
            instance_count=1,
            volume_kms_key=kms_key_id,
            output_kms_key=kms_key_id,
            base_job_name=f"{config.PROJECT_SLUG}-{step.lower()}",
            sagemaker_session=session,
            tags=tags,
        )

    def job_step(name: str, cached: bool = True) -> dict[str, Any]:
        return {
            "name": name,
            "cache_config": CACHE if cached else None,
            "retry_policies": [STEP_RETRY, JOB_RETRY],
        }

    def script(name: str) -> str:
        return stage.file(config.STEPS_DIR / name)

    def model_code() -> ProcessingInput:
        return _input("steps", stage.folder(config.STEPS_DIR / "train.py"), STEPS_CODE_DIR)

    data_manifest = PropertyFile(
        name="DataManifest", output_name="manifest", path=preprocess_script.MANIFEST_FILE
    )
    preprocess = ProcessingStep(
        **job_step("Preprocess"),
        step_args=processor("Preprocess").run(
            code=script("preprocess.py"),
            inputs=[
                _input("data", input_data_url, DATA_DIR),
                _input("schema", stage.file(config.SCHEMA), SCHEMA_DIR),
            ],
            outputs=[
                *(_output(bucket, "Preprocess", s, f"{SPLITS_DIR}/{s}") for s in SPLITS),
                _output(bucket, "Preprocess", "manifest", MANIFEST_DIR),
            ],
            arguments=[
                *("--input-dir", DATA_DIR, "--schema", SCHEMA_DIR, "--output-dir", SPLITS_DIR),
                *("--input-data-url", input_data_url),
                *("--min-rows", str(config.MIN_ROWS)),
                *("--min-class-count", str(config.MIN_CLASS_COUNT)),
            ],
        ),
        property_files=[data_manifest],
    )

    train_code = stage.folder(config.STEPS_DIR / "train.py")
    trainer = ModelTrainer(
        training_image=steps_image_uri,
        source_code=SourceCode(source_dir=train_code, entry_script="train.py"),
        compute=Compute(
            instance_type=training_instance_type, instance_count=1, volume_kms_key_id=kms_key_id
        ),
        hyperparameters=HYPERPARAMETERS,
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{bucket}/{config.PIPELINE_NAME}/models", kms_key_id=kms_key_id
        ),
        # Where the SDK uploads its driver scripts before the step moves them (see
        # ContentAddressedTrainingStep).
        input_s3_key_prefix=f"{CODE_PREFIX}/sdk-upload",
        base_job_name=f"{config.PROJECT_SLUG}-train",
        role=role_arn,
        sagemaker_session=session,
        tags=[Tag(key=tag["Key"], value=tag["Value"]) for tag in tags],
    ).with_metric_definitions(METRIC_DEFINITIONS)
    train = ContentAddressedTrainingStep(
        stager=stage,
        **job_step("Train"),
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name=split,
                    data_source=_output_uri(preprocess, split),
                    content_type="text/csv",
                )
                for split in ("train", "validation")
            ]
        ),
    )
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    gate = config.QUALITY_GATE
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    # For the check steps: the test split's predictions beside its labels (Model Monitor's
    # model-quality analyzer), and the test split without its header row (Clarify).
    evaluate_outputs, evaluate_arguments = [], []
    if config.DATA_QUALITY_BASELINE:
        evaluate_outputs.append(_output(bucket, "Evaluate", "predictions", PREDICTIONS_DIR))
        evaluate_arguments.extend(["--predictions-dir", PREDICTIONS_DIR])
    if config.EXPLAINABILITY_REPORT:
        evaluate_outputs.append(_output(bucket, "Evaluate", "explain-data", EXPLAIN_DATA_DIR))
        evaluate_arguments.extend(["--explain-data-dir", EXPLAIN_DATA_DIR])
    evaluate = ProcessingStep(
        # Never from cache: it also reads the registry, whose approved champion is no input of
        # the step's cache key; a cached verdict would register the same model again.
        **job_step("Evaluate", cached=False),
        step_args=processor("Evaluate").run(
            code=script("evaluate.py"),
            inputs=[
                _input("model", model_data, MODEL_DIR),
                _input("test", _output_uri(preprocess, "test"), TEST_DIR),
                model_code(),
            ],
            outputs=[
                _output(bucket, "Evaluate", "evaluation", EVALUATION_DIR),
                *evaluate_outputs,
            ],
            arguments=[
                *("--model-dir", MODEL_DIR, "--test-dir", TEST_DIR),
                *("--output-dir", EVALUATION_DIR, "--problem-type", config.PROBLEM_TYPE),
                *evaluate_arguments,
                # The champion: the group's latest Approved model, scored on the same test split.
                *("--model-package-group", config.MODEL_PACKAGE_GROUP, "--region", region),
                *("--champion-margin", str(gate.champion_margin)),
            ],
        ),
        property_files=[evaluation_report],
    )
    steps: list[Step] = [preprocess, train, evaluate]

    # What the package records: its quality, its data, its explanation (ModelMetrics), and what
    # Model Monitor's checks of this model version compare against (DriftCheckBaselines).
    metrics: dict[str, MetricsSource] = {
        "model_statistics": _json_file(_output_uri(evaluate, "evaluation"), "evaluation.json")
    }
    drift: dict[str, MetricsSource | FileSource] = {}
    check_parameters: list[Any] = []
    baselines = champion_baselines(session.boto_session)

    def check_job(name: str) -> CheckJobConfig:
        return CheckJobConfig(
            role=role_arn,
            instance_count=1,
            instance_type=processing_instance_type,
            volume_kms_key=kms_key_id,
            output_kms_key=kms_key_id,
            base_job_name=f"{config.PROJECT_SLUG}-{name.lower()}",
            sagemaker_session=session,
            tags=tags,
        )

    def lifecycle(check: str) -> dict[str, Any]:
        """skip_check and register_new_baseline of one check, as pipeline parameters.

        A check compares what this run calculates with the champion's registered drift-check
        baseline of its kind (the check step fetches it from the group's latest Approved
        package), so it can only run once such a baseline exists: Skip<check>Check defaults to
        true while the champion has none (the first run, when nothing is approved yet) and to
        false after, as read from the registry when the pipeline is built (upsert, at every
        push). RegisterNew<check>Baseline defaults to true: the package's drift-check baselines
        describe the data and predictions of this model, which is what its monitors must
        compare with; false keeps the champion's (and needs one).
        """
        skip = ParameterBoolean(name=f"Skip{check}Check", default_value=check not in baselines)
        register_new = ParameterBoolean(name=f"RegisterNew{check}Baseline", default_value=True)
        check_parameters.extend([skip, register_new])
        return {
            "skip_check": skip,
            "register_new_baseline": register_new,
            "model_package_group_name": config.MODEL_PACKAGE_GROUP,
            # A violation fails the execution: nothing drifted is registered unnoticed.
            "fail_on_violation": True,
        }

    def results(step: str) -> Join:
        return Join(
            on="/",
            values=[
                f"s3://{bucket}/{config.PIPELINE_NAME}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                "results",
            ],
        )

    def json_source(uri: object) -> MetricsSource:
        return MetricsSource(content_type="application/json", s3_uri=uri)

    if config.DATA_QUALITY_BASELINE:
        # Model Monitor profiles what the endpoint receives, CSV rows of features without a
        # header (its columns are _c0, _c1, ...): the training split in that form.
        baseline_data = ProcessingStep(
            **job_step("BaselineData"),
            step_args=processor("BaselineData").run(
                code=script("baseline.py"),
                inputs=[_input("train", _output_uri(preprocess, "train"), BASELINE_INPUT_DIR)],
                outputs=[_output(bucket, "BaselineData", "features", BASELINE_DATA_DIR)],
                arguments=[
                    *("--input-dir", BASELINE_INPUT_DIR, "--dataset-dir", BASELINE_DATA_DIR),
                ],
            ),
        )
        data_quality = QualityCheckStep(
            name="Baseline",
            quality_check_config=DataQualityCheckConfig(
                baseline_dataset=_output_uri(baseline_data, "features"),
                dataset_format=DatasetFormat.csv(header=False),
                output_s3_uri=results("Baseline"),
            ),
            check_job_config=check_job("Baseline"),
            cache_config=CACHE,
            **lifecycle("DataQuality"),
        )
        model_quality = QualityCheckStep(
            name="ModelQualityBaseline",
            quality_check_config=ModelQualityCheckConfig(
                baseline_dataset=_output_uri(evaluate, "predictions"),
                dataset_format=DatasetFormat.csv(header=True),
                output_s3_uri=results("ModelQualityBaseline"),
                **MODEL_QUALITY_ATTRIBUTES[config.PROBLEM_TYPE],
            ),
            check_job_config=check_job("ModelQualityBaseline"),
            # Not from cache: its input, Evaluate's predictions, is made anew by every run.
            **lifecycle("ModelQuality"),
        )
        steps.extend([baseline_data, data_quality, model_quality])
        # The analyzer's model-quality statistics replace evaluation.json as the package's
        # model quality (same metrics, the format Model Monitor compares with).
        for prefix, check in (("model", model_quality), ("model_data", data_quality)):
            for kind in ("statistics", "constraints"):
                calculated = getattr(check.properties, f"CalculatedBaseline{kind.title()}")
                used = getattr(check.properties, f"BaselineUsedForDriftCheck{kind.title()}")
                metrics[f"{prefix}_{kind}"] = json_source(calculated)
                # The new baselines (RegisterNew...Baseline true) or the champion's.
                drift[f"{prefix}_{kind}"] = json_source(used)

    if config.EXPLAINABILITY_REPORT:
        # Clarify explains a model it serves on a shadow endpoint of its own: the model first.
        create_model = ModelStep(
            name="CreateModel",
            step_args=ModelBuilder(
                s3_model_data_url=model_data,
                image_uri=serve_image_uri,
                role_arn=role_arn,
                sagemaker_session=session,
                dependencies=None,
                log_level=None,
            ).build(),
            retry_policies=[STEP_RETRY],
        )
        headers = [column["name"] for column in SCHEMA["columns"]]
        shap = {"num_samples": SHAP_SAMPLES, "agg_method": "mean_abs"}
        # The analysis configuration is uploaded while the pipeline is built, under a key named
        # after what it is made of, so that a running version's configuration never changes.
        analysis = hashlib.sha256(json.dumps([headers, shap]).encode()).hexdigest()[:16]
        explain_config = ModelExplainabilityCheckConfig(
            data_config=DataConfig(
                s3_data_input_path=_output_uri(evaluate, "explain-data"),
                s3_output_path=results("Explain"),
                s3_analysis_config_output_path=f"s3://{bucket}/{CODE_PREFIX}/{analysis}/clarify",
                label=SCHEMA["target"],
                headers=headers,
                dataset_type="text/csv",
            ),
            # The shadow endpoint Clarify starts and deletes; it takes and answers CSV.
            model_config=ModelConfig(
                model_name=create_model.properties.ModelName,
                instance_type=CLARIFY_ENDPOINT_INSTANCE_TYPE,
                instance_count=1,
                content_type="text/csv",
                accept_type="text/csv",
            ),
            # KernelSHAP: per feature, the mean |SHAP value| over the test split, estimated on
            # this many samples a row against a baseline Clarify computes from the data.
            explainability_config=SHAPConfig(**shap),
            kms_key=kms_key_id,
        )
        explain = ClarifyCheckStep(
            name="Explain",
            clarify_check_config=explain_config,
            check_job_config=check_job("Explain"),
            **lifecycle("Explainability"),
        )
        steps.extend([create_model, explain])
        # The SDK uploads the monitoring configuration under a new timestamped key at every
        # build; under its content's key, the definition (and the package's record) is stable.
        explain_config.monitoring_analysis_config_uri = stage.move_object(
            explain_config.monitoring_analysis_config_uri, "analysis_config.json"
        )
        # Clarify's analysis.json.
        metrics["explainability"] = json_source(explain.properties.CalculatedBaselineConstraints)
        drift["explainability_constraints"] = json_source(
            explain.properties.BaselineUsedForDriftCheckConstraints
        )
        # The analysis configuration a model-explainability monitor of this version reuses.
        drift["explainability_config_file"] = FileSource(
            content_type="application/json", s3_uri=explain_config.monitoring_analysis_config_uri
        )

    model = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=serve_image_uri,
        role_arn=role_arn,
        sagemaker_session=session,
        # The defaults add empty SAGEMAKER_PROGRAM variables, which switch the XGBoost
        # container to script mode and break serving, and set the SDK's logger to DEBUG.
        dependencies=None,
        log_level=None,
    )
    manifest_uri = _in(_output_uri(preprocess, "manifest"), preprocess_script.MANIFEST_FILE)
    registration = model.register(
        model_package_group_name=config.MODEL_PACKAGE_GROUP,
        content_types=CONTENT_TYPES if serve_image else XGBOOST_CONTENT_TYPES,
        response_types=CONTENT_TYPES if serve_image else XGBOOST_CONTENT_TYPES,
        inference_instances=INFERENCE_INSTANCES,
        transform_instances=TRANSFORM_INSTANCES,
        approval_status=model_approval_status,
        model_metrics=ModelMetrics(**metrics),
        drift_check_baselines=DriftCheckBaselines(**drift) if drift else None,
        description=f"{config.PROJECT_NAME}: XGBoost, {config.PROBLEM_TYPE}",
        metadata_properties=MetadataProperties(
            commit_id=git.commit, generated_by=ExecutionVariables.PIPELINE_EXECUTION_ARN
        ),
        # What made this model, readable with one `aws sagemaker describe-model-package`.
        customer_metadata_properties={
            "git_commit": git.commit,
            "git_dirty": str(git.dirty).lower(),
            "data_sha256": JsonGet(
                step_name=preprocess.name, property_file=data_manifest, json_path="sha256"
            ),
            "data_manifest": manifest_uri,
            "input_data_url": input_data_url,
            "steps_image": steps_image_uri,
            "serve_image": serve_image_uri,
            "hyperparameters": lineage.hyperparameters_text(HYPERPARAMETERS),
            "training_job": train.properties.TrainingJobName,
            "pipeline_execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
            "sagemaker_sdk": SAGEMAKER_SDK_VERSION,
        },
    )
    # register() has no tags argument; CreateModelPackage takes them in the request.
    registration.create_model_package_request["Tags"] = tags
    register = ModelStep(name="Register", step_args=registration, retry_policies=[STEP_RETRY])

    metric, champion, required = (
        JsonGet(step_name=evaluate.name, property_file=evaluation_report, json_path=path)
        for path in (gate.json_path, gate.champion_json_path, gate.required_json_path)
    )
    to_champion, to_floor = gate.comparisons
    reaches = ConditionGreaterThanOrEqualTo if gate.higher_is_better else ConditionLessThanOrEqualTo
    quality_gate_failed = FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on="",
            values=[
                f"Quality gate failed: {gate.metric} = ",
                metric,
                f"; required {to_champion} the champion's ",
                champion,
                f" with margin {gate.champion_margin} (",
                required,
                f") and {to_floor} the floor ",
                quality_threshold,
            ],
        ),
    )
    steps.append(
        ConditionStep(
            name="CheckQuality",
            # All conditions must hold.
            conditions=[
                reaches(left=metric, right=required),
                reaches(left=metric, right=quality_threshold),
            ],
            if_steps=[register],
            else_steps=[quality_gate_failed],
        )
    )

    return Pipeline(
        name=config.PIPELINE_NAME,
        parameters=[
            input_data_url,
            steps_image_uri,
            serve_image_uri,
            processing_instance_type,
            training_instance_type,
            model_approval_status,
            quality_threshold,
            *check_parameters,
        ],
        steps=steps,
        sagemaker_session=session,
    )


def check_bucket(s3: Any, bucket: str) -> None:
    """Refuse a bucket that does not exist or that another account owns (a look-alike bucket
    would otherwise receive the data)."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=config.AWS_ACCOUNT_ID)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket"):
            location = (
                ""
                if config.AWS_REGION == "us-east-1"
                else f" --create-bucket-configuration LocationConstraint={config.AWS_REGION}"
            )
            raise SetupError(
                f"bucket {bucket} does not exist: create it with `aws s3api create-bucket "
                f"--bucket {bucket} --region {config.AWS_REGION}{location}`, or pass --bucket"
            ) from error
        if code in ("403", "AccessDenied"):
            raise SetupError(
                f"bucket {bucket} is not owned by account {config.AWS_ACCOUNT_ID}, or these "
                "credentials may not read it: pass --bucket with a bucket of that account"
            ) from error
        raise


def upload_data(
    data: str | os.PathLike[str], bucket: str, kms_key_id: str | None = None, s3: Any = None
) -> str:
    """Copy a CSV file to the InputDataUrl named after its content, encrypted with KMS, into a
    bucket of this project's account; return the object's S3 URI."""
    s3 = s3 or s3_client()
    check_bucket(s3, bucket)
    prefix = default_input_data_url(bucket, data)
    key = prefix.removeprefix(f"s3://{bucket}/") + Path(data).name
    s3.upload_file(str(data), bucket, key, ExtraArgs=encryption(kms_key_id))
    return f"{prefix}{Path(data).name}"


# What building the definition needs from AWS, faked: credentials, and no IAM role validation
# (the SDK otherwise asks IAM to simulate the role's policies, which moto cannot).
OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    # moto's account is the project's, so that every ExpectedBucketOwner holds.
    "MOTO_ACCOUNT_ID": config.AWS_ACCOUNT_ID,
}
# A stand-in for the XGBoost image in moto's ECR (moto ignores the registry ID): its digest.
OFFLINE_IMAGE_MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
)


@contextlib.contextmanager
def offline_aws(bucket: str = config.DEFAULT_BUCKET) -> Iterator[None]:
    """AWS emulated in-process by moto, with fake credentials, the bucket made and the XGBoost
    image in ECR: what building the definition reads and writes."""
    # A development dependency: only the offline definition and the tests need it.
    from moto import mock_aws

    environment = {**OFFLINE_ENVIRONMENT, "AWS_DEFAULT_REGION": config.AWS_REGION}
    with mock.patch.dict(os.environ, environment), mock_aws():
        os.environ.pop("AWS_PROFILE", None)
        location = (
            {}
            if config.AWS_REGION == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": config.AWS_REGION}}
        )
        boto3.client("s3", region_name=config.AWS_REGION).create_bucket(Bucket=bucket, **location)
        ecr = boto3.client("ecr", region_name=config.AWS_REGION)
        image = image_uris.retrieve(
            framework="xgboost", region=config.AWS_REGION, version=XGBOOST_FRAMEWORK_VERSION
        )
        repository, _, tag = image.partition("/")[2].partition(":")
        # Already there when offline_aws is nested in another (moto shares its state).
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
            ecr.put_image(
                repositoryName=repository, imageManifest=OFFLINE_IMAGE_MANIFEST, imageTag=tag
            )
        yield


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not (sep and name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.pipeline",
        description="Print, create or update, or start the SageMaker pipeline.",
    )
    parser.add_argument(
        "command",
        choices=["definition", "upsert", "upload-data", "start"],
        help="definition: print the JSON; upsert: create or update the pipeline in AWS; "
        "upload-data: copy --data to the default InputDataUrl; "
        "start: start an execution and print its ARN",
    )
    parser.add_argument("--role-arn", default=config.EXECUTION_ROLE_ARN)
    parser.add_argument("--bucket", default=config.DEFAULT_BUCKET)
    parser.add_argument(
        "--kms-key-id",
        default=config.KMS_KEY_ID,
        help="KMS key for job volumes, outputs and uploaded code and data (default: the base "
        "stack's key, by its alias)",
    )
    for image in ("steps", "serve"):
        parser.add_argument(
            f"--{image}-image",
            help=f"with definition and upsert: the project's {image} image (containers/{image}), "
            "by tag or digest; default: the AWS XGBoost image",
        )
    parser.add_argument(
        "--data", default=config.DATA, help="with upload-data: the CSV file to upload"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="with definition: build it with AWS emulated in-process (moto) and fake "
        "credentials, as the tests do; no account needed",
    )
    parser.add_argument(
        "--no-validate-role",
        action="store_true",
        help="skip the SDK's check of the role's permissions while it builds the pipeline "
        "(SAGEMAKER_VALIDATE_ROLE=false): for callers without iam:SimulatePrincipalPolicy",
    )
    parser.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with start: override a pipeline parameter (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.parameter and args.command != "start":
        parser.error("--parameter only applies to start")
    if args.offline and args.command != "definition":
        parser.error("--offline only applies to definition")
    if args.no_validate_role:
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

    try:
        return _run(args)
    except SetupError as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1


def _build_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "kms_key_id": args.kms_key_id,
        "steps_image": args.steps_image,
        "serve_image": args.serve_image,
    }


def _run(args: argparse.Namespace) -> int:
    if args.command == "upload-data":
        print(upload_data(args.data, args.bucket, args.kms_key_id))
        return 0
    if args.command == "start":
        # Starting needs only the name of the pipeline that upsert stored in AWS.
        execution = Pipeline(
            name=config.PIPELINE_NAME, sagemaker_session=default_session(args.bucket)
        ).start(parameters=dict(args.parameter) or None)
        print(execution.arn)
        return 0

    if args.command == "definition":
        with offline_aws(args.bucket) if args.offline else contextlib.nullcontext():
            pipeline = get_pipeline(args.role_arn, args.bucket, **_build_options(args))
            print(json.dumps(json.loads(pipeline.definition()), indent=2))
        return 0
    git = lineage.git_state()
    check_bucket(s3_client(), args.bucket)
    pipeline = get_pipeline(args.role_arn, args.bucket, git=git, **_build_options(args))
    response = pipeline.upsert(
        role_arn=args.role_arn,
        description=f"{config.PROJECT_NAME}: training pipeline",
        tags=lineage.tags(git),
    )
    print(response["PipelineArn"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
