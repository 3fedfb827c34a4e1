"""The end of the pipeline: CheckQuality, the quality gate, registers the model in the model
registry (Register) with everything that made it, or fails the execution with the numbers that
failed it (QualityGateFailed)."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field

from sagemaker.core.metadata_properties import MetadataProperties
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.workflow.conditions import (
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep

from .. import config, contract, lineage
from .jobs import STEP_RETRY, Build, file_in, json_source, output_uri
from .training import DATA_MANIFEST, EVALUATION_REPORT, HYPERPARAMETERS, model_artifacts

SAGEMAKER_SDK_VERSION = importlib.metadata.version("sagemaker")
# What the project's inference server (serve/) takes and answers; the XGBoost image's own server
# takes CSV only (features only).
CONTENT_TYPES = ["text/csv", "application/json"]
XGBOOST_CONTENT_TYPES = ["text/csv"]
INFERENCE_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCES = ["ml.m5.large", "ml.m5.xlarge"]


@dataclass
class Record:
    """What the package records: its quality and its explanation (ModelMetrics, by the SDK's
    argument names), and where the monitor's reference and code are (CustomerMetadataProperties).
    The explain and reference steps add theirs; `request` holds fields of CreateModelPackage's
    request that register() does not take (the model card's)."""

    metrics: dict[str, MetricsSource] = field(default_factory=dict)
    metadata: dict[str, object] = field(default_factory=dict)
    request: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_evaluation(cls, evaluate: ProcessingStep) -> Record:
        """evaluation.json as the model's quality."""
        evaluation = file_in(output_uri(evaluate, "evaluation"), "evaluation.json")
        return cls(metrics={"model_statistics": json_source(evaluation)})


def register_step(
    build: Build,
    git: lineage.GitState,
    preprocess: ProcessingStep,
    train: TrainingStep,
    record: Record,
    own_serve_image: bool,
) -> ModelStep:
    """The trained model as a package of the group, with its metrics, baselines and monitor
    reference, and what made it (code commit, data hash, image digests, hyperparameters,
    execution)."""
    parameters = build.parameters
    content_types = CONTENT_TYPES if own_serve_image else XGBOOST_CONTENT_TYPES
    manifest_uri = file_in(output_uri(preprocess, "manifest"), contract.MANIFEST_FILE)
    registration = build.model(model_artifacts(train)).register(
        model_package_group_name=config.MODEL_PACKAGE_GROUP,
        content_types=content_types,
        response_types=content_types,
        inference_instances=INFERENCE_INSTANCES,
        transform_instances=TRANSFORM_INSTANCES,
        approval_status=parameters.model_approval_status,
        model_metrics=ModelMetrics(**record.metrics),
        description=f"{config.PROJECT_NAME}: XGBoost, {config.PROBLEM_TYPE}",
        metadata_properties=MetadataProperties(
            commit_id=git.commit, generated_by=ExecutionVariables.PIPELINE_EXECUTION_ARN
        ),
        # What made this model, readable with one `aws sagemaker describe-model-package`.
        customer_metadata_properties={
            "git_commit": git.commit,
            "git_dirty": str(git.dirty).lower(),
            "data_sha256": JsonGet(
                step_name=preprocess.name, property_file=DATA_MANIFEST, json_path="sha256"
            ),
            "data_manifest": manifest_uri,
            "input_data_url": parameters.input_data_url,
            "steps_image": parameters.steps_image_uri,
            "serve_image": parameters.serve_image_uri,
            "hyperparameters": lineage.hyperparameters_text(HYPERPARAMETERS),
            "training_job": train.properties.TrainingJobName,
            "pipeline_execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
            "sagemaker_sdk": SAGEMAKER_SDK_VERSION,
            **record.metadata,
        },
    )
    # register() has no tags argument; CreateModelPackage takes them in the request.
    registration.create_model_package_request["Tags"] = build.tags
    registration.create_model_package_request.update(record.request)
    return ModelStep(name="Register", step_args=registration, retry_policies=[STEP_RETRY])


def quality_gate_step(build: Build, evaluate: ProcessingStep, register: ModelStep) -> ConditionStep:
    """Register if the model reaches the floor (QualityThreshold) and beats the champion by the
    margin (evaluation.json's champion.required), else fail with the numbers."""
    gate = config.QUALITY_GATE
    metric, champion, required = (
        JsonGet(step_name=evaluate.name, property_file=EVALUATION_REPORT, json_path=path)
        for path in (gate.json_path, gate.champion_json_path, gate.required_json_path)
    )
    floor = build.parameters.quality_threshold
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
                floor,
            ],
        ),
    )
    return ConditionStep(
        name="CheckQuality",
        # All conditions must hold.
        conditions=[reaches(left=metric, right=required), reaches(left=metric, right=floor)],
        if_steps=[register],
        else_steps=[quality_gate_failed],
    )
