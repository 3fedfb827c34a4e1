"""The steps that make the model and judge it: Preprocess (the data contract and the splits),
Train, and Evaluate (the gate's metric, and the champion's on the same test split)."""

from __future__ import annotations

from typing import Any

from sagemaker.core.shapes import MetricDefinition, Tag
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, SourceCode
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.train import ModelTrainer

from .. import config, contract, jobcode
from ..steps import train as train_script
from .jobs import PROCESSING, Build, job_step, output_uri, processing_input
from .staging import CODE_PREFIX, Stager

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
# The channel of the scripts with which the SDK starts train.py in the training container.
SDK_DRIVERS_CHANNEL = "sm_drivers"

DATA_DIR = f"{PROCESSING}/input/data"
SCHEMA_DIR = f"{PROCESSING}/input/schema"
SPLITS_DIR = f"{PROCESSING}/output"
SPLITS = ("train", "validation", "test")
MANIFEST_DIR = f"{SPLITS_DIR}/{contract.MANIFEST_DIR}"
# Preprocess's validated rows, with the Feature Store (pipeline/feature_store.py).
VALIDATED_DIR = f"{PROCESSING}/validated"
MODEL_DIR = f"{PROCESSING}/model"
TEST_DIR = f"{PROCESSING}/test"
EVALUATION_DIR = f"{PROCESSING}/evaluation"

# What the model package and the quality gate read from the steps' JSON files.
DATA_MANIFEST = PropertyFile(
    name="DataManifest", output_name="manifest", path=contract.MANIFEST_FILE
)
EVALUATION_REPORT = PropertyFile(
    name="EvaluationReport", output_name="evaluation", path="evaluation.json"
)


def preprocess_step(build: Build) -> ProcessingStep:
    """The data contract enforced on InputDataUrl, the splits (with the Feature Store: the
    validated rows, which Snapshot splits), and the data's manifest."""
    outputs = [build.output("Preprocess", s, f"{SPLITS_DIR}/{s}") for s in SPLITS]
    arguments: list[str] = []
    if config.FEATURE_STORE:
        outputs = [build.output("Preprocess", "validated", VALIDATED_DIR)]
        arguments = ["--validated-dir", VALIDATED_DIR]
    return ProcessingStep(
        **job_step("Preprocess"),
        step_args=build.script_job(
            "Preprocess",
            "preprocess.py",
            inputs=[
                processing_input("data", build.parameters.input_data_url, DATA_DIR),
                processing_input("schema", build.stage.file(config.SCHEMA), SCHEMA_DIR),
            ],
            outputs=[*outputs, build.output("Preprocess", "manifest", MANIFEST_DIR)],
            arguments=[
                *("--input-dir", DATA_DIR, "--schema", SCHEMA_DIR, "--output-dir", SPLITS_DIR),
                *("--input-data-url", build.parameters.input_data_url),
                *("--min-rows", str(config.MIN_ROWS)),
                *("--min-class-count", str(config.MIN_CLASS_COUNT)),
                *arguments,
            ],
        ),
        property_files=[DATA_MANIFEST],
    )


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


def train_step(build: Build, preprocess: ProcessingStep) -> TrainingStep:
    """train.py on the train and validation splits, with the hyperparameters of a local run."""
    trainer = ModelTrainer(
        training_image=build.parameters.steps_image_uri,
        # The SDK's driver runs `python3 <entry_script>` in the code folder.
        source_code=SourceCode(
            source_dir=build.job_code("train.py"), entry_script=jobcode.entry_script("train.py")
        ),
        environment={"PYTHONPATH": jobcode.TRAINING_CODE_DIR},
        compute=Compute(
            instance_type=build.parameters.training_instance_type,
            instance_count=1,
            volume_kms_key_id=build.kms_key_id,
        ),
        hyperparameters=HYPERPARAMETERS,
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{build.bucket}/{config.PIPELINE_NAME}/models",
            kms_key_id=build.kms_key_id,
        ),
        # Where the SDK uploads its driver scripts before the step moves them (see
        # ContentAddressedTrainingStep).
        input_s3_key_prefix=f"{CODE_PREFIX}/sdk-upload",
        base_job_name=f"{config.PROJECT_SLUG}-train",
        role=build.role_arn,
        sagemaker_session=build.session,
        tags=[Tag(key=tag["Key"], value=tag["Value"]) for tag in build.tags],
    ).with_metric_definitions(METRIC_DEFINITIONS)
    return ContentAddressedTrainingStep(
        stager=build.stage,
        **job_step("Train"),
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name=split,
                    data_source=output_uri(preprocess, split),
                    content_type="text/csv",
                )
                for split in ("train", "validation")
            ]
        ),
    )


def model_artifacts(train: TrainingStep) -> object:
    """The S3 URI of the trained model, model.tar.gz."""
    return train.properties.ModelArtifacts.S3ModelArtifacts


def evaluate_step(build: Build, preprocess: ProcessingStep, train: TrainingStep) -> ProcessingStep:
    """evaluate.py: the model and the champion on the test split (evaluation.json, the gate's
    numbers)."""
    return ProcessingStep(
        # Never from cache: it also reads the registry, whose approved champion is no input of
        # the step's cache key; a cached verdict would register the same model again.
        **job_step("Evaluate", cached=False),
        step_args=build.script_job(
            "Evaluate",
            "evaluate.py",
            inputs=[
                processing_input("model", model_artifacts(train), MODEL_DIR),
                processing_input("test", output_uri(preprocess, "test"), TEST_DIR),
            ],
            outputs=[build.output("Evaluate", "evaluation", EVALUATION_DIR)],
            arguments=[
                *("--model-dir", MODEL_DIR, "--test-dir", TEST_DIR),
                *("--output-dir", EVALUATION_DIR, "--problem-type", config.PROBLEM_TYPE),
                # The champion: the group's latest Approved model, scored on the same test split.
                *("--model-package-group", config.MODEL_PACKAGE_GROUP, "--region", build.region),
                *("--champion-margin", str(config.QUALITY_GATE.champion_margin)),
            ],
        ),
        property_files=[EVALUATION_REPORT],
    )
