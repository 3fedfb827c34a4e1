"""The data- and model-quality baselines: BaselineData writes the training split as the endpoint
receives it; Model Monitor's analyzer profiles it (Baseline) and Evaluate's test predictions
(ModelQualityBaseline) in QualityCheck steps; the model package registers what they found as its
model quality and its drift-check baselines."""

from __future__ import annotations

from sagemaker.core.model_monitor import DatasetFormat
from sagemaker.mlops.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.mlops.workflow.steps import ProcessingStep, Step

from .. import config, model_io
from .jobs import CACHE, PROCESSING, Build, job_step, json_source, output_uri, processing_input
from .registration import Record

BASELINE_INPUT_DIR = f"{PROCESSING}/input/train"
BASELINE_DATA_DIR = f"{PROCESSING}/baseline-data"
# How Model Monitor's model-quality analyzer reads evaluate.py's predictions.csv (a header row):
# the true label, the prediction and, for a classifier, the probability of class 1 and the
# threshold that turned it into the predicted label.
MODEL_QUALITY_ATTRIBUTES: dict[str, dict[str, str]] = {
    "binary_classification": {
        "problem_type": "BinaryClassification",
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
        "probability_attribute": "probability",
        "probability_threshold_attribute": str(model_io.LABEL_THRESHOLD),
    },
    "regression": {
        "problem_type": "Regression",
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
    },
}


def quality_check_steps(
    build: Build, preprocess: ProcessingStep, evaluate: ProcessingStep, record: Record
) -> list[Step]:
    """The three steps, their findings added to what the model package records."""
    baseline_data = baseline_data_step(build, preprocess)
    data_quality = data_quality_step(build, baseline_data)
    model_quality = model_quality_step(build, evaluate)
    # The analyzer's model-quality statistics replace evaluation.json as the package's
    # model quality (same metrics, the format Model Monitor compares with).
    for prefix, check in (("model", model_quality), ("model_data", data_quality)):
        for kind in ("statistics", "constraints"):
            calculated = getattr(check.properties, f"CalculatedBaseline{kind.title()}")
            used = getattr(check.properties, f"BaselineUsedForDriftCheck{kind.title()}")
            record.metrics[f"{prefix}_{kind}"] = json_source(calculated)
            # The new baselines (RegisterNew...Baseline true) or the champion's.
            record.drift[f"{prefix}_{kind}"] = json_source(used)
    return [baseline_data, data_quality, model_quality]


def baseline_data_step(build: Build, preprocess: ProcessingStep) -> ProcessingStep:
    # Model Monitor profiles what the endpoint receives, CSV rows of features without a
    # header (its columns are _c0, _c1, ...): the training split in that form.
    return ProcessingStep(
        **job_step("BaselineData"),
        step_args=build.script_job(
            "BaselineData",
            "baseline.py",
            inputs=[processing_input("train", output_uri(preprocess, "train"), BASELINE_INPUT_DIR)],
            outputs=[build.output("BaselineData", "features", BASELINE_DATA_DIR)],
            arguments=[
                *("--input-dir", BASELINE_INPUT_DIR, "--dataset-dir", BASELINE_DATA_DIR),
            ],
        ),
    )


def data_quality_step(build: Build, baseline_data: ProcessingStep) -> QualityCheckStep:
    return QualityCheckStep(
        name="Baseline",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=output_uri(baseline_data, "features"),
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=build.execution_uri("Baseline", "results"),
        ),
        check_job_config=build.check_job("Baseline"),
        cache_config=CACHE,
        **build.parameters.check_lifecycle("DataQuality"),
    )


def model_quality_step(build: Build, evaluate: ProcessingStep) -> QualityCheckStep:
    return QualityCheckStep(
        name="ModelQualityBaseline",
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=output_uri(evaluate, "predictions"),
            dataset_format=DatasetFormat.csv(header=True),
            output_s3_uri=build.execution_uri("ModelQualityBaseline", "results"),
            **MODEL_QUALITY_ATTRIBUTES[config.PROBLEM_TYPE],
        ),
        check_job_config=build.check_job("ModelQualityBaseline"),
        # Not from cache: its input, Evaluate's predictions, is made anew by every run.
        **build.parameters.check_lifecycle("ModelQuality"),
    )
