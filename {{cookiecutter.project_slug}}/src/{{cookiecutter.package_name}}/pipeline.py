"""The SageMaker pipeline: preprocess, train, evaluate, quality gate, register.

Preprocess -> Train -> Evaluate (plus Baseline and Explain when this project has them) ->
CheckQuality, which registers the model in the model registry if it beats the naive baseline
on the test split and reaches the floor, and fails the execution with the metric, the baseline
and the floor if not.

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
import json
import os
import sys
from collections.abc import Iterator, Sequence
from unittest import mock

from . import config

# SDK 3.27 creates a boto3 client while it is being imported, which fails without a region.
# This project lives in one region, so that is the default; an explicit setting still wins.
os.environ.setdefault("AWS_DEFAULT_REGION", config.AWS_REGION)

import boto3
from sagemaker.core import image_uris
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode
from sagemaker.core.workflow.conditions import (
    ConditionGreaterThan,
    ConditionGreaterThanOrEqualTo,
    ConditionLessThan,
    ConditionLessThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, Step, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

from .steps import train as train_script

# The built-in SageMaker XGBoost framework container, the version that matches the local
# xgboost pin, so that a model trained in one loads in the other. It trains and serves, and
# its Python also has pandas, scikit-learn and matplotlib, so the processing steps run in it
# too: one AWS-maintained image for every step and no image of our own to build.
XGBOOST_FRAMEWORK_VERSION = "3.2-0"
PROCESSING_INSTANCE_TYPE = "ml.m5.large"
TRAINING_INSTANCE_TYPE = "ml.m5.xlarge"

# The hyperparameters of a local run (train.py's defaults), passed explicitly so that every
# training job shows them; SageMaker hands them to train.py as `--name value`, names verbatim.
HYPERPARAMETERS: dict[str, str | int | float] = {
    "problem-type": config.PROBLEM_TYPE,
    **{name.replace("_", "-"): value for name, value in train_script.HYPERPARAMETERS.items()},
}

# The registered model is served by the XGBoost container's own CSV interface (features only).
CONTENT_TYPES = ["text/csv"]
INFERENCE_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]

# Where the processing steps find their inputs and leave their outputs inside the container.
PROCESSING = "/opt/ml/processing"
DATA_DIR = f"{PROCESSING}/input/data"
SCHEMA_DIR = f"{PROCESSING}/input/schema"
SPLITS_DIR = f"{PROCESSING}/output"
SPLITS = ("train", "validation", "test")
MODEL_DIR = f"{PROCESSING}/model"
TEST_DIR = f"{PROCESSING}/test"
EVALUATION_DIR = f"{PROCESSING}/evaluation"
BASELINE_INPUT_DIR = f"{PROCESSING}/input/train"
BASELINE_DIR = f"{PROCESSING}/baseline"
EXPLAINABILITY_DIR = f"{PROCESSING}/explainability"
# train.py, for the steps that load the model: it holds the one encoding of category columns
# (evaluate.py and explain.py import it from there).
STEPS_CODE_DIR = f"{PROCESSING}/input/steps"


def default_input_data_url(bucket: str = config.DEFAULT_BUCKET) -> str:
    """The S3 prefix the pipeline reads its CSV files from unless InputDataUrl is overridden."""
    return f"s3://{bucket}/{config.PROJECT_SLUG}/data/"


def default_session(bucket: str = config.DEFAULT_BUCKET) -> PipelineSession:
    """A pipeline session in the project's region that stages everything in `bucket`."""
    return PipelineSession(
        boto_session=boto3.Session(region_name=config.AWS_REGION), default_bucket=bucket
    )


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


def _json_file(prefix: object, filename: str) -> MetricsSource:
    return MetricsSource(
        content_type="application/json", s3_uri=Join(on="/", values=[prefix, filename])
    )


def get_pipeline(
    role_arn: str = config.EXECUTION_ROLE_ARN,
    bucket: str = config.DEFAULT_BUCKET,
    session: PipelineSession | None = None,
    *,
    kms_key_id: str | None = None,
) -> Pipeline:
    """Build the training pipeline of this project.

    Args:
        role_arn: the execution role of every job the pipeline starts.
        bucket: where step code, intermediate data and models are staged.
        session: a PipelineSession; by default one in config.AWS_REGION staging in `bucket`.
        kms_key_id: KMS key for job volumes and outputs; None keeps the account defaults.
    """
    session = session or default_session(bucket)
    region = session.boto_region_name

    input_data_url = ParameterString(
        name="InputDataUrl", default_value=default_input_data_url(bucket)
    )
    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value=PROCESSING_INSTANCE_TYPE
    )
    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value=TRAINING_INSTANCE_TYPE
    )
    model_approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )
    quality_threshold = ParameterFloat(
        name="QualityThreshold", default_value=config.QUALITY_GATE.threshold
    )

    def image(scope: str) -> str:
        return image_uris.retrieve(
            framework="xgboost", region=region, version=XGBOOST_FRAMEWORK_VERSION, image_scope=scope
        )

    def processor(step: str) -> ScriptProcessor:
        return ScriptProcessor(
            role=role_arn,
            image_uri=image("training"),
            command=["python3"],
            instance_type=processing_instance_type,
            instance_count=processing_instance_count,
            volume_kms_key=kms_key_id,
            output_kms_key=kms_key_id,
            base_job_name=f"{config.PROJECT_SLUG}-{step.lower()}",
            sagemaker_session=session,
        )

    def model_code() -> ProcessingInput:
        return _input("steps", str(config.STEPS_DIR / "train.py"), STEPS_CODE_DIR)

    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor("Preprocess").run(
            code=str(config.STEPS_DIR / "preprocess.py"),
            inputs=[
                _input("data", input_data_url, DATA_DIR),
                # A local file: the SDK uploads it to the bucket while building the definition.
                _input("schema", str(config.SCHEMA), SCHEMA_DIR),
            ],
            outputs=[
                _output(bucket, "Preprocess", split, f"{SPLITS_DIR}/{split}") for split in SPLITS
            ],
            arguments=[
                *("--input-dir", DATA_DIR, "--schema", SCHEMA_DIR, "--output-dir", SPLITS_DIR),
                *("--min-rows", str(config.MIN_ROWS)),
                *("--min-class-count", str(config.MIN_CLASS_COUNT)),
            ],
        ),
    )

    trainer = ModelTrainer(
        training_image=image("training"),
        source_code=SourceCode(source_dir=str(config.STEPS_DIR), entry_script="train.py"),
        compute=Compute(
            instance_type=training_instance_type, instance_count=1, volume_kms_key_id=kms_key_id
        ),
        hyperparameters=HYPERPARAMETERS,
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{bucket}/{config.PIPELINE_NAME}/models", kms_key_id=kms_key_id
        ),
        input_s3_key_prefix=f"{config.PIPELINE_NAME}/code",
        base_job_name=f"{config.PROJECT_SLUG}-train",
        role=role_arn,
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="Train",
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

    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor("Evaluate").run(
            code=str(config.STEPS_DIR / "evaluate.py"),
            inputs=[
                _input("model", model_data, MODEL_DIR),
                _input("test", _output_uri(preprocess, "test"), TEST_DIR),
                model_code(),
            ],
            outputs=[_output(bucket, "Evaluate", "evaluation", EVALUATION_DIR)],
            arguments=[
                "--model-dir",
                MODEL_DIR,
                "--test-dir",
                TEST_DIR,
                "--output-dir",
                EVALUATION_DIR,
                "--problem-type",
                config.PROBLEM_TYPE,
            ],
        ),
        property_files=[evaluation_report],
    )
    steps: list[Step] = [preprocess, train, evaluate]

    model_metrics = ModelMetrics(
        model_statistics=_json_file(_output_uri(evaluate, "evaluation"), "evaluation.json")
    )
    drift_check_baselines = None
    if config.DATA_QUALITY_BASELINE:
        baseline = ProcessingStep(
            name="Baseline",
            step_args=processor("Baseline").run(
                code=str(config.STEPS_DIR / "baseline.py"),
                inputs=[_input("train", _output_uri(preprocess, "train"), BASELINE_INPUT_DIR)],
                outputs=[_output(bucket, "Baseline", "baseline", BASELINE_DIR)],
                arguments=["--input-dir", BASELINE_INPUT_DIR, "--output-dir", BASELINE_DIR],
            ),
        )
        steps.append(baseline)
        statistics = _json_file(_output_uri(baseline, "baseline"), "statistics.json")
        constraints = _json_file(_output_uri(baseline, "baseline"), "constraints.json")
        model_metrics.model_data_statistics = statistics
        model_metrics.model_data_constraints = constraints
        # What Model Monitor's data-quality checks of this model version compare against.
        drift_check_baselines = DriftCheckBaselines(
            model_data_statistics=statistics, model_data_constraints=constraints
        )

    if config.EXPLAINABILITY_REPORT:
        explain = ProcessingStep(
            name="Explain",
            step_args=processor("Explain").run(
                code=str(config.STEPS_DIR / "explain.py"),
                inputs=[
                    _input("model", model_data, MODEL_DIR),
                    _input("test", _output_uri(preprocess, "test"), TEST_DIR),
                    model_code(),
                ],
                outputs=[_output(bucket, "Explain", "explainability", EXPLAINABILITY_DIR)],
                arguments=[
                    "--model-dir",
                    MODEL_DIR,
                    "--data-dir",
                    TEST_DIR,
                    "--output-dir",
                    EXPLAINABILITY_DIR,
                ],
            ),
        )
        steps.append(explain)
        model_metrics.explainability = _json_file(
            _output_uri(explain, "explainability"), "explainability.json"
        )

    model = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=image("inference"),
        role_arn=role_arn,
        sagemaker_session=session,
        # The defaults add empty SAGEMAKER_PROGRAM variables, which switch the XGBoost
        # container to script mode and break serving, and set the SDK's logger to DEBUG.
        dependencies=None,
        log_level=None,
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            model_package_group_name=config.MODEL_PACKAGE_GROUP,
            content_types=CONTENT_TYPES,
            response_types=CONTENT_TYPES,
            inference_instances=INFERENCE_INSTANCES,
            transform_instances=TRANSFORM_INSTANCES,
            approval_status=model_approval_status,
            model_metrics=model_metrics,
            drift_check_baselines=drift_check_baselines,
            description=f"{config.PROJECT_NAME}: XGBoost, {config.PROBLEM_TYPE}",
        ),
    )

    gate = config.QUALITY_GATE
    metric, naive_baseline = (
        JsonGet(step_name=evaluate.name, property_file=evaluation_report, json_path=path)
        for path in (gate.json_path, gate.baseline_json_path)
    )
    better, floor = gate.comparisons
    beats, reaches = (
        (ConditionGreaterThan, ConditionGreaterThanOrEqualTo)
        if gate.higher_is_better
        else (ConditionLessThan, ConditionLessThanOrEqualTo)
    )
    quality_gate_failed = FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on="",
            values=[
                f"Quality gate failed: {gate.metric} = ",
                metric,
                f"; required {better} the naive baseline ",
                naive_baseline,
                f" and {floor} the floor ",
                quality_threshold,
            ],
        ),
    )
    steps.append(
        ConditionStep(
            name="CheckQuality",
            # All conditions must hold.
            conditions=[
                beats(left=metric, right=naive_baseline),
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
            processing_instance_type,
            processing_instance_count,
            training_instance_type,
            model_approval_status,
            quality_threshold,
        ],
        steps=steps,
        sagemaker_session=session,
    )


def upload_data(data: str | os.PathLike[str], bucket: str, kms_key_id: str | None = None) -> str:
    """Copy a CSV file under the default InputDataUrl, encrypted with KMS; return its S3 URI."""
    name = os.path.basename(data)
    key = f"{default_input_data_url(bucket).removeprefix(f's3://{bucket}/')}{name}"
    encryption = {"ServerSideEncryption": "aws:kms"}
    if kms_key_id:
        encryption["SSEKMSKeyId"] = kms_key_id
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    s3.upload_file(str(data), bucket, key, ExtraArgs=encryption)
    return f"s3://{bucket}/{key}"


# What building the definition needs from AWS, faked: credentials, and no IAM role validation
# (the SDK otherwise asks IAM to simulate the role's policies).
OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


@contextlib.contextmanager
def offline_aws(bucket: str = config.DEFAULT_BUCKET) -> Iterator[None]:
    """AWS emulated in-process by moto, with fake credentials and the bucket made: the SDK
    checks the bucket and uploads the step scripts while it builds the definition."""
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
    parser.add_argument("--kms-key-id", help="KMS key for job volumes, outputs and uploaded data")
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
            pipeline = get_pipeline(args.role_arn, args.bucket, kms_key_id=args.kms_key_id)
            print(json.dumps(json.loads(pipeline.definition()), indent=2))
        return 0
    pipeline = get_pipeline(role_arn=args.role_arn, bucket=args.bucket, kms_key_id=args.kms_key_id)
    response = pipeline.upsert(
        role_arn=args.role_arn, description=f"{config.PROJECT_NAME}: training pipeline"
    )
    print(response["PipelineArn"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
