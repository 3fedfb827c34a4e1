"""The model's explanation: Explain runs steps/explain.py (exact TreeSHAP, the project's own code
in the steps image) on the test split and the trained model, and the model package registers its
explainability.json as the model's explainability report (ModelMetrics `Explainability`).

Not Clarify's ClarifyCheck step: SageMaker Clarify is no longer open to new customers (AWS's
"Clarify availability change"), and the same code runs in `make local-run`."""

from __future__ import annotations

from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep

from ..explain import REPORT_FILE
from .jobs import PROCESSING, Build, file_in, job_step, json_source, output_uri, processing_input
from .registration import Record
from .training import model_artifacts

EXPLAIN_MODEL_DIR = f"{PROCESSING}/model"
EXPLAIN_TEST_DIR = f"{PROCESSING}/input/test"
EXPLAIN_DIR = f"{PROCESSING}/explainability"


def explain_step(
    build: Build, splits: ProcessingStep, train: TrainingStep, record: Record
) -> ProcessingStep:
    """The SHAP report of the trained model on the test split, added to what the model package
    records."""
    step = ProcessingStep(
        **job_step("Explain"),
        step_args=build.script_job(
            "Explain",
            "explain.py",
            inputs=[
                processing_input("model", model_artifacts(train), EXPLAIN_MODEL_DIR),
                processing_input("test", output_uri(splits, "test"), EXPLAIN_TEST_DIR),
            ],
            outputs=[build.output("Explain", "explainability", EXPLAIN_DIR)],
            arguments=[
                *("--model-dir", EXPLAIN_MODEL_DIR, "--data-dir", EXPLAIN_TEST_DIR),
                *("--output-dir", EXPLAIN_DIR),
            ],
        ),
    )
    record.metrics["explainability"] = json_source(
        file_in(output_uri(step, "explainability"), REPORT_FILE)
    )
    return step
