"""What the steps' jobs share: who runs them, in which image and on which instances, where their
inputs and outputs are, the code they get (job_code: a step script and the package modules it
imports, jobcode.py), their tags, cache and retries (`Build`, one per pipeline built, handed to
every step's builder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagemaker.core.model_metrics import MetricsSource
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep
from sagemaker.serve.model_builder import ModelBuilder

from .. import config, jobcode
from .parameters import Parameters
from .staging import Stager

# A job step whose inputs (code, data, parameters) are those of an earlier successful run is
# served from that run's outputs. Code is uploaded under its content hash and data under a prefix
# named after its content (upload-data), so the same inputs really are the same bytes.
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
# Retry what is AWS's fault, not the step's: throttling, service faults, a job's internal error,
# no capacity for the instance type yet, and the account's job limit reached.
STEP_RETRY = StepRetryPolicy(
    exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
    interval_seconds=10,
    backoff_rate=2.0,
    max_attempts=5,
)
JOB_RETRY = SageMakerJobStepRetryPolicy(
    exception_types=[
        SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
        SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
        SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
    ],
    interval_seconds=60,
    backoff_rate=2.0,
    max_attempts=3,
)

# Where the processing steps find their inputs and leave their outputs inside the container.
PROCESSING = "/opt/ml/processing"


@dataclass
class Build:
    """What the builders of the steps share while one pipeline is built."""

    role_arn: str  # the execution role of every job
    bucket: str  # where code, intermediate data and models are staged
    session: PipelineSession
    kms_key_id: str | None  # job volumes and outputs; None keeps the account defaults
    tags: list[dict[str, str]]  # on every job and the model package (lineage.tags)
    stage: Stager
    parameters: Parameters
    _job_code: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    @property
    def region(self) -> str:
        return self.session.boto_region_name

    def job_code(self, script: str) -> str:
        """The S3 prefix of the code a job of a step script runs: the script and the package
        modules it imports, in the package's layout (jobcode.files), uploaded under their
        content hash. The one place that decides which code a job gets: a processing job's code
        input (script_job) and the training job's source_dir."""
        if script not in self._job_code:
            self._job_code[script] = self.stage.files(jobcode.files(script))
        return self._job_code[script]

    def script_job(self, step: str, script: str, inputs: list[ProcessingInput], **run: Any) -> Any:
        """The arguments of a processing step that runs a step script: its code (job_code) is
        an input, on the job's PYTHONPATH, and the script runs from there."""
        code_dir = jobcode.PROCESSING_CODE_DIR
        # One instance: every script reads its whole input on one node (nothing is sharded).
        processor = Processor(
            role=self.role_arn,
            image_uri=self.parameters.steps_image_uri,
            entrypoint=["python3", f"{code_dir}/{jobcode.entry_script(script)}"],
            env={"PYTHONPATH": code_dir},
            instance_type=self.parameters.processing_instance_type,
            instance_count=1,
            volume_kms_key=self.kms_key_id,
            output_kms_key=self.kms_key_id,
            base_job_name=f"{config.PROJECT_SLUG}-{step.lower()}",
            sagemaker_session=self.session,
            tags=self.tags,
        )
        code = processing_input("code", self.job_code(script), code_dir)
        return processor.run(inputs=[*inputs, code], **run)

    def model(self, model_data: Any) -> ModelBuilder:
        """The trained model as the serve image serves it."""
        return ModelBuilder(
            s3_model_data_url=model_data,
            image_uri=self.parameters.serve_image_uri,
            role_arn=self.role_arn,
            sagemaker_session=self.session,
            # The defaults add empty SAGEMAKER_PROGRAM variables, which switch the XGBoost
            # container to script mode and break serving, and set the SDK's logger to DEBUG.
            dependencies=None,
            log_level=None,
        )

    def execution_uri(self, step: str, name: str) -> Join:
        # One prefix per execution, so that no run overwrites the artefacts of another.
        return Join(
            on="/",
            values=[
                f"s3://{self.bucket}/{config.PIPELINE_NAME}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def output(self, step: str, name: str, local_path: str) -> ProcessingOutput:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=self.execution_uri(step, name),
                local_path=local_path,
                s3_upload_mode="EndOfJob",
            ),
        )


def job_step(name: str, cached: bool = True) -> dict[str, Any]:
    """A job step's name, cache and retries."""
    return {
        "name": name,
        "cache_config": CACHE if cached else None,
        "retry_policies": [STEP_RETRY, JOB_RETRY],
    }


def processing_input(name: str, s3_uri: object, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def output_uri(step: ProcessingStep, name: str) -> object:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def file_in(prefix: object, filename: str) -> Join:
    return Join(on="/", values=[prefix, filename])


def json_source(uri: object) -> MetricsSource:
    return MetricsSource(content_type="application/json", s3_uri=uri)
