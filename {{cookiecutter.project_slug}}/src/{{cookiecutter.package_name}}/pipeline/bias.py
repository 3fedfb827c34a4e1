"""The bias report: Bias runs steps/bias.py (the project's own code, in the steps image) on the
splits and the trained model, and the model package registers its two reports as the model's
pre- and post-training bias (ModelMetrics `bias_pre_training`, `bias_post_training`, in the
structure of Clarify's analysis.json). The monitor's bias-drift baseline is the Reference
step's (`--bias`: the training labels' proportions, monitor/reference.py).

Not Clarify's ClarifyCheck steps: SageMaker Clarify is no longer open to new customers (AWS's
"Clarify availability change"), and the same code runs in `make local-run` and the monitor."""

from __future__ import annotations

from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep

from .. import config
from ..contract import SchemaError, load_schema, require_facet
from ..steps.bias import POST_TRAINING_FILE, PRE_TRAINING_FILE
from .jobs import PROCESSING, Build, file_in, job_step, json_source, output_uri, processing_input
from .registration import Record
from .staging import SetupError
from .training import model_artifacts

BIAS_MODEL_DIR = f"{PROCESSING}/model"
BIAS_TRAIN_DIR = f"{PROCESSING}/input/train"
BIAS_TEST_DIR = f"{PROCESSING}/input/test"
BIAS_DIR = f"{PROCESSING}/bias"


def check_facet() -> None:
    """Refuse to build a pipeline whose schema marks no facet: its Bias step could only fail."""
    try:
        require_facet(load_schema(config.SCHEMA))
    except SchemaError as error:
        raise SetupError(str(error)) from None


def bias_step(
    build: Build, splits: ProcessingStep, train: TrainingStep, record: Record
) -> ProcessingStep:
    """The bias of the train split's labels and of the model's predictions of the test split,
    its reports added to what the model package records."""
    check_facet()
    step = ProcessingStep(
        **job_step("Bias"),
        step_args=build.script_job(
            "Bias",
            "bias.py",
            inputs=[
                processing_input("model", model_artifacts(train), BIAS_MODEL_DIR),
                processing_input("train", output_uri(splits, "train"), BIAS_TRAIN_DIR),
                processing_input("test", output_uri(splits, "test"), BIAS_TEST_DIR),
            ],
            outputs=[build.output("Bias", "bias", BIAS_DIR)],
            arguments=[
                *("--model-dir", BIAS_MODEL_DIR, "--train-dir", BIAS_TRAIN_DIR),
                *("--test-dir", BIAS_TEST_DIR, "--output-dir", BIAS_DIR),
            ],
        ),
    )
    reports = output_uri(step, "bias")
    record.metrics["bias_pre_training"] = json_source(file_in(reports, PRE_TRAINING_FILE))
    record.metrics["bias_post_training"] = json_source(file_in(reports, POST_TRAINING_FILE))
    return step
