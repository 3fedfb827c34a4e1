"""The model card: ModelCard runs steps/model_card.py in the steps image on what the steps before
it wrote (evaluation.json, the data manifest, the SHAP and bias reports the package records), and
Register puts the card into CreateModelPackage's own ModelCard field.

Why the model package's own card, not a model card of its own (CreateModelCard with
model_package_details): the card is created in the same request as the package, so every
registered package has exactly one card and no package is left without one if a later step
fails; it needs no name of its own, no second resource to delete with the package, and no
further permission for the execution role (CreateModelPackage is already its). Approval then
moves it with one call on the package (deploy/model_card.py). Its key: SageMaker encrypts it with
the package (SecurityConfig), which would make every reader of the package, in every stage
account, a user of the project's key, with permissions AWS does not document; the package is
left under SageMaker's own encryption instead, and the card holds nothing secret (metrics,
hashes, ARNs and the project's description).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import JsonGet
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep

from .. import lineage
from ..steps import model_card, train
from .jobs import PROCESSING, Build, job_step, output_uri, processing_input
from .registration import Record
from .training import model_artifacts

INPUT_DIR = f"{PROCESSING}/input"
CARD_DIR = f"{PROCESSING}/model-card"
# The package's card waits for review with the package (PendingManualApproval); approval makes
# it Approved (deploy/model_card.py).
REGISTERED_STATUS = "PendingReview"
MODEL_CARD = PropertyFile(name="ModelCard", output_name="model-card", path=model_card.REGISTER_FILE)
# The ModelMetrics the card reads, by the SDK's argument names: the SHAP report, and any bias
# report (bias_pre_training, bias_post_training, bias) a check step records.
EXPLAINABILITY = "explainability"
BIAS_PREFIX = "bias"


def model_card_step(
    build: Build,
    git: lineage.GitState,
    preprocess: ProcessingStep,
    train_step: TrainingStep,
    evaluate: ProcessingStep,
    record: Record,
) -> ProcessingStep:
    """The card's step; Register gets its content (record.request). Built after every step
    that adds a report to `record`."""
    with tempfile.TemporaryDirectory() as folder:
        facts = Path(folder) / model_card.FACTS_FILE
        facts.write_text(json.dumps(lineage.model_facts(git, train.HYPERPARAMETERS)))
        facts_uri = build.stage.folder(facts)
    inputs = [
        processing_input("facts", facts_uri, f"{INPUT_DIR}/facts"),
        *(
            processing_input(name, output_uri(step, name), f"{INPUT_DIR}/{name}")
            for step, name in ((evaluate, "evaluation"), (preprocess, "manifest"))
        ),
    ]
    arguments = [
        *("--facts", f"{INPUT_DIR}/facts", "--output-dir", CARD_DIR),
        *("--evaluation", f"{INPUT_DIR}/evaluation", "--manifest", f"{INPUT_DIR}/manifest"),
    ]
    for name, source in sorted(record.metrics.items()):
        if name == EXPLAINABILITY:
            inputs.append(processing_input(name, source.s3_uri, f"{INPUT_DIR}/{name}"))
            arguments += ["--explainability", f"{INPUT_DIR}/{name}"]
        elif name.startswith(BIAS_PREFIX):
            inputs.append(processing_input(name, source.s3_uri, f"{INPUT_DIR}/{name}"))
            arguments += ["--bias", f"{INPUT_DIR}/{name}"]
    parameters = build.parameters
    step = ProcessingStep(
        # Never from cache: its arguments name the execution.
        **job_step("ModelCard", cached=False),
        step_args=build.script_job(
            "ModelCard",
            "model_card.py",
            inputs=inputs,
            outputs=[build.output("ModelCard", "model-card", CARD_DIR)],
            arguments=[
                *arguments,
                *("--execution-arn", ExecutionVariables.PIPELINE_EXECUTION_ARN),
                *("--training-job-arn", train_step.properties.TrainingJobArn),
                *("--model-artifact", model_artifacts(train_step)),
                *("--steps-image", parameters.steps_image_uri),
                *("--serve-image", parameters.serve_image_uri),
                *("--input-data-url", parameters.input_data_url),
            ],
        ),
        property_files=[MODEL_CARD],
    )
    record.request["ModelCard"] = {
        "ModelCardContent": JsonGet(
            step_name=step.name, property_file=MODEL_CARD, json_path="ModelCardContent"
        ),
        "ModelCardStatus": REGISTERED_STATUS,
    }
    return step
