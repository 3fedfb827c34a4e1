"""The monitor's reference: Reference runs steps/reference.py on the training split in the steps
image, and the model package records where the reference and the monitor's own code are, so that
each stage's monitoring job (infra/monitoring.yaml) runs the code and image of the pipeline that
made the model, against the data that model was trained on."""

from __future__ import annotations

from sagemaker.mlops.workflow.steps import ProcessingStep

from .. import config
from .jobs import PROCESSING, Build, job_step, output_uri, processing_input
from .registration import Record

REFERENCE_INPUT_DIR = f"{PROCESSING}/input/train"
REFERENCE_DIR = f"{PROCESSING}/reference"
# What the package's CustomerMetadataProperties name (deploy/monitoring.py reads them): the
# reference folder, the monitor job's code (jobcode's folder: python3 <package>/steps/monitor.py).
REFERENCE_KEY = "monitor_reference"
CODE_KEY = "monitor_code"
MONITOR_SCRIPT = "monitor.py"


def reference_step(build: Build, preprocess: ProcessingStep, record: Record) -> ProcessingStep:
    """The reference written from Preprocess's train split (header row, as preprocess writes
    it), recorded with the monitor's code on the model package.

    Nothing here compares with the champion's reference: a run started by drift must register
    the drifted data's reference, not fail against the one it replaces."""
    arguments = ["--train", REFERENCE_INPUT_DIR, "--output", REFERENCE_DIR]
    if config.BIAS_REPORT:
        # The facet's baseline for the monitor's bias drift.
        arguments.append("--bias")
    step = ProcessingStep(
        **job_step("Reference"),
        step_args=build.script_job(
            "Reference",
            "reference.py",
            inputs=[
                processing_input("train", output_uri(preprocess, "train"), REFERENCE_INPUT_DIR)
            ],
            outputs=[build.output("Reference", "reference", REFERENCE_DIR)],
            arguments=arguments,
        ),
    )
    record.metadata[REFERENCE_KEY] = output_uri(step, "reference")
    if config.MODEL_MONITORING:
        # Uploaded now, content-keyed like every step's code; no step of the pipeline runs it.
        record.metadata[CODE_KEY] = build.job_code(MONITOR_SCRIPT)
    return step
