"""The model's explanation: Clarify's KernelSHAP (Explain, a ClarifyCheck step) on the test split,
against the model served on a shadow endpoint of Clarify's own (CreateModel); the model package
registers the report, and the explanation the next version's check compares with."""

from __future__ import annotations

import hashlib
import json

from sagemaker.core.clarify import DataConfig, ModelConfig, SHAPConfig
from sagemaker.mlops.workflow.clarify_check_step import (
    ClarifyCheckStep,
    ModelExplainabilityCheckConfig,
)
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.steps import ProcessingStep, Step, TrainingStep

from .. import config
from .jobs import STEP_RETRY, Build, json_source, output_uri
from .registration import Record
from .staging import CODE_PREFIX
from .training import model_artifacts

CLARIFY_ENDPOINT_INSTANCE_TYPE = "ml.m5.large"
# The column of the serving container's CSV answer that holds the model's score, which Clarify
# explains: the first, in the project's server (serve/scoring.py: `score,label` for a classifier,
# the value for a regressor) and in the XGBoost image's (the score alone). Without it Clarify
# takes the answer for one number, which a classifier's two columns are not.
SCORE_COLUMN = 0
SHAP_SAMPLES = 100
# The data set's columns (target first), as the splits have them: Clarify's headers.
SCHEMA = json.loads(config.SCHEMA.read_text(encoding="utf-8"))


def explainability_steps(
    build: Build, train: TrainingStep, evaluate: ProcessingStep, record: Record
) -> list[Step]:
    """The two steps, the explanation added to what the model package records."""
    create_model = create_model_step(build, train)
    explain = explain_step(build, evaluate, create_model)
    # Clarify's analysis.json.
    record.metrics["explainability"] = json_source(explain.properties.CalculatedBaselineConstraints)
    record.drift["explainability_constraints"] = json_source(
        explain.properties.BaselineUsedForDriftCheckConstraints
    )
    return [create_model, explain]


def create_model_step(build: Build, train: TrainingStep) -> ModelStep:
    # Clarify explains a model it serves on a shadow endpoint of its own: the model first.
    return ModelStep(
        name="CreateModel",
        step_args=build.model(model_artifacts(train)).build(),
        retry_policies=[STEP_RETRY],
    )


def explain_step(
    build: Build, evaluate: ProcessingStep, create_model: ModelStep
) -> ClarifyCheckStep:
    # The split's columns: ids and ignored columns never reach it.
    headers = [c["name"] for c in SCHEMA["columns"] if c.get("role", "feature") == "feature"]
    shap = {"num_samples": SHAP_SAMPLES, "agg_method": "mean_abs"}
    # The analysis configuration is uploaded while the pipeline is built, under a key named
    # after what it is made of, so that a running version's configuration never changes.
    made_of = json.dumps([headers, shap, SCORE_COLUMN])
    analysis = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    explain_config = ModelExplainabilityCheckConfig(
        data_config=DataConfig(
            s3_data_input_path=output_uri(evaluate, "explain-data"),
            s3_output_path=build.execution_uri("Explain", "results"),
            s3_analysis_config_output_path=f"s3://{build.bucket}/{CODE_PREFIX}/{analysis}/clarify",
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
        model_scores=SCORE_COLUMN,
        kms_key=build.kms_key_id,
    )
    explain = ClarifyCheckStep(
        name="Explain",
        clarify_check_config=explain_config,
        check_job_config=build.check_job("Explain"),
        **build.parameters.check_lifecycle("Explainability"),
    )
    # The SDK uploads the monitoring configuration under a new timestamped key at every
    # build; under its content's key, the definition (and the package's record) is stable.
    explain_config.monitoring_analysis_config_uri = build.stage.move_object(
        explain_config.monitoring_analysis_config_uri, "analysis_config.json"
    )
    return explain
