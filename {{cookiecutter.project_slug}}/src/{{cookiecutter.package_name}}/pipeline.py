"""The SageMaker pipeline: preprocess, train, evaluate, quality gate, register.

`get_pipeline()` builds the pipeline with the SageMaker Python SDK v3; the CLI prints its
definition, creates or updates it in AWS, or starts an execution:

    python -m {{ cookiecutter.package_name }}.pipeline definition
    python -m {{ cookiecutter.package_name }}.pipeline upsert
    python -m {{ cookiecutter.package_name }}.pipeline start --parameter ModelApprovalStatus=Approved

The step scripts in `steps/` are the same ones `local.py` runs on a laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import config

# SDK 3.27 creates a boto3 client while it is imported, which fails without a region; this
# project lives in one region, so that is the default (an explicit AWS_DEFAULT_REGION wins).
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
    ConditionGreaterThanOrEqualTo,
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
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

# The SageMaker built-in XGBoost framework container, the same version as the local xgboost
# pin, so a model trained in the cloud loads locally and vice versa. Its Python environment
# also has pandas, scikit-learn and matplotlib, so the processing steps run in it too: one
# image for every step, no image of our own to build and scan.
XGBOOST_FRAMEWORK_VERSION = "3.2-0"

# Container paths of the processing steps (the defaults of the step scripts' arguments).
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

# XGBoost hyperparameters passed to steps/train.py as `--name value` (names verbatim).
HYPERPARAMETERS: dict[str, str | int | float] = {
    "problem-type": config.PROBLEM_TYPE,
    "num-round": 300,
    "max-depth": 4,
    "eta": 0.1,
    "subsample": 0.8,
    "min-child-weight": 1,
    "early-stopping-rounds": 20,
    "seed": 42,
}

# What the registered model serves: the XGBoost container's CSV interface (features only).
CONTENT_TYPES = ["text/csv"]
INFERENCE_INSTANCES = ["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]


def _s3_uri(bucket: str, *parts: str) -> str:
    return "/".join([f"s3://{bucket}", config.PROJECT_SLUG, *parts])


def _execution_output(bucket: str, step: str, output: str) -> Join:
    """A per-execution S3 prefix, so that no execution overwrites another's artefacts."""
    return Join(
        on="/",
        values=[
            _s3_uri(bucket, "executions"),
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            step,
            output,
        ],
    )


def _input(name: str, source: object, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _output(name: str, local_path: str, bucket: str, step: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=_execution_output(bucket, step, name),
            local_path=local_path,
            s3_upload_mode="EndOfJob",
        ),
    )


def default_session(bucket: str = config.DEFAULT_BUCKET) -> PipelineSession:
    """A session in the project's region whose default bucket is `bucket`."""
    return PipelineSession(
        boto_session=boto3.Session(region_name=config.AWS_REGION), default_bucket=bucket
    )


def get_pipeline(
    role_arn: str = config.EXECUTION_ROLE_ARN,
    bucket: str = config.DEFAULT_BUCKET,
    session: PipelineSession | None = None,
    kms_key_id: str | None = None,
) -> Pipeline:
    """Build the training pipeline.

    Args:
        role_arn: execution role of the jobs the pipeline runs.
        bucket: S3 bucket for step code, intermediate data and models.
        session: a `PipelineSession`; by default one in config.AWS_REGION using `bucket`.
        kms_key_id: KMS key for job volumes and outputs; None uses the account defaults.
    """
    session = session or default_session(bucket)
    region = session.boto_region_name

    input_data_url = ParameterString(
        name="InputDataUrl", default_value=_s3_uri(bucket, "input-data", "")
    )
    processing_instance_type = ParameterString(
        name="ProcessingInstanceType", default_value="ml.m5.large"
    )
    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value="ml.m5.xlarge"
    )
    model_approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )
    quality_threshold = ParameterFloat(
        name="QualityThreshold", default_value=config.QUALITY_GATE.threshold
    )

    training_image = image_uris.retrieve(
        framework="xgboost",
        region=region,
        version=XGBOOST_FRAMEWORK_VERSION,
        image_scope="training",
    )
    inference_image = image_uris.retrieve(
        framework="xgboost",
        region=region,
        version=XGBOOST_FRAMEWORK_VERSION,
        image_scope="inference",
    )

    def processor(step: str) -> ScriptProcessor:
        return ScriptProcessor(
            role=role_arn,
            image_uri=training_image,
            command=["python3"],
            instance_type=processing_instance_type,
            instance_count=processing_instance_count,
            volume_kms_key=kms_key_id,
            output_kms_key=kms_key_id,
            base_job_name=f"{config.PROJECT_SLUG}-{step.lower()}",
            sagemaker_session=session,
        )

    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor("Preprocess").run(
            code=str(config.STEPS_DIR / "preprocess.py"),
            inputs=[
                _input("data", input_data_url, DATA_DIR),
                # A local file: the SDK uploads it under the bucket when it builds the definition.
                _input("schema", str(config.SCHEMA), SCHEMA_DIR),
            ],
            outputs=[
                _output(split, f"{SPLITS_DIR}/{split}", bucket, "Preprocess") for split in SPLITS
            ],
            arguments=[
                "--input-dir",
                DATA_DIR,
                "--schema",
                SCHEMA_DIR,
                "--output-dir",
                SPLITS_DIR,
            ],
        ),
    )
    split_uri = {
        split: preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri
        for split in SPLITS
    }

    trainer = ModelTrainer(
        training_image=training_image,
        source_code=SourceCode(source_dir=str(config.STEPS_DIR), entry_script="train.py"),
        compute=Compute(
            instance_type=training_instance_type, instance_count=1, volume_kms_key_id=kms_key_id
        ),
        hyperparameters=HYPERPARAMETERS,
        output_data_config=OutputDataConfig(
            s3_output_path=_s3_uri(bucket, "models"), kms_key_id=kms_key_id
        ),
        base_job_name=f"{config.PROJECT_SLUG}-train",
        role=role_arn,
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="Train",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=split, data_source=split_uri[split], content_type="text/csv")
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
                _input("test", split_uri["test"], TEST_DIR),
            ],
            outputs=[_output("evaluation", EVALUATION_DIR, bucket, "Evaluate")],
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
    evaluation_uri = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(
            content_type="application/json",
            s3_uri=Join(on="/", values=[evaluation_uri, "evaluation.json"]),
        )
    )
    drift_check_baselines = None
    steps: list = [preprocess, train, evaluate]

    if config.DATA_QUALITY_BASELINE:
        baseline = ProcessingStep(
            name="Baseline",
            step_args=processor("Baseline").run(
                code=str(config.STEPS_DIR / "baseline.py"),
                inputs=[_input("train", split_uri["train"], BASELINE_INPUT_DIR)],
                outputs=[_output("baseline", BASELINE_DIR, bucket, "Baseline")],
                arguments=["--input-dir", BASELINE_INPUT_DIR, "--output-dir", BASELINE_DIR],
            ),
        )
        steps.append(baseline)
        baseline_uri = baseline.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri
        statistics = MetricsSource(
            content_type="application/json",
            s3_uri=Join(on="/", values=[baseline_uri, "statistics.json"]),
        )
        constraints = MetricsSource(
            content_type="application/json",
            s3_uri=Join(on="/", values=[baseline_uri, "constraints.json"]),
        )
        model_metrics.model_data_statistics = statistics
        model_metrics.model_data_constraints = constraints
        # Model Monitor's data-quality check of this model compares against these baselines.
        drift_check_baselines = DriftCheckBaselines(
            model_data_statistics=statistics, model_data_constraints=constraints
        )

    model = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=inference_image,
        role_arn=role_arn,
        sagemaker_session=session,
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
            description=f"{config.PROJECT_NAME}: XGBoost {config.PROBLEM_TYPE} model",
        ),
    )

    gate = config.QUALITY_GATE
    metric = JsonGet(step_name=evaluate.name, property_file=evaluation_report, json_path=gate.json_path)
    condition_type = (
        ConditionGreaterThanOrEqualTo if gate.higher_is_better else ConditionLessThanOrEqualTo
    )
    failed = FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on=" ",
            values=[
                f"Quality gate failed: {gate.metric} =",
                metric,
                "but it must be",
                ">=" if gate.higher_is_better else "<=",
                quality_threshold,
            ],
        ),
    )
    check_quality = ConditionStep(
        name="CheckQuality",
        conditions=[condition_type(left=metric, right=quality_threshold)],
        if_steps=[register],
        else_steps=[failed],
    )
    steps.append(check_quality)

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


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.pipeline", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "command",
        choices=["definition", "upsert", "start"],
        help="definition: print the JSON; upsert: create or update the pipeline in AWS; "
        "start: start an execution and print its ARN",
    )
    parser.add_argument("--role-arn", default=config.EXECUTION_ROLE_ARN)
    parser.add_argument("--bucket", default=config.DEFAULT_BUCKET)
    parser.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="start only: override a pipeline parameter (repeatable)",
    )
    args = parser.parse_args(argv)

    pipeline = get_pipeline(role_arn=args.role_arn, bucket=args.bucket)
    if args.command == "definition":
        print(json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=True))
    elif args.command == "upsert":
        response = pipeline.upsert(
            role_arn=args.role_arn, description=f"{config.PROJECT_NAME} training pipeline"
        )
        print(response["PipelineArn"])
    else:
        execution = pipeline.start(parameters=dict(args.parameter) or None)
        print(execution.arn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
