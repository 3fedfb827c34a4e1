"""The pipeline's parameters: what an execution may override (`start --parameter NAME=VALUE`),
with the defaults this build gives them: where the data is, the images by digest, the instance
types, the approval status and floor of the quality gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession

from .. import config
from .staging import data_bucket, default_input_data_url, pinned_image, xgboost_image

PROCESSING_INSTANCE_TYPE = "ml.m5.large"
TRAINING_INSTANCE_TYPE = "ml.m5.xlarge"


@dataclass(frozen=True)
class Parameters:
    input_data_url: ParameterString
    steps_image_uri: ParameterString
    serve_image_uri: ParameterString
    processing_instance_type: ParameterString
    training_instance_type: ParameterString
    model_approval_status: ParameterString
    quality_threshold: ParameterFloat

    def all(self) -> list[Any]:
        """Every parameter, in the order the definition lists them."""
        return [
            self.input_data_url,
            self.steps_image_uri,
            self.serve_image_uri,
            self.processing_instance_type,
            self.training_instance_type,
            self.model_approval_status,
            self.quality_threshold,
        ]


def pipeline_parameters(
    session: PipelineSession,
    bucket: str,
    steps_image: str | None = None,
    serve_image: str | None = None,
) -> Parameters:
    """The parameters and their defaults: the data as upload-data puts it in `bucket`, the
    given images (else the XGBoost image) by their digests now."""
    region = session.boto_region_name
    return Parameters(
        input_data_url=ParameterString(
            name="InputDataUrl", default_value=default_input_data_url(data_bucket(bucket))
        ),
        steps_image_uri=ParameterString(
            name="StepsImageUri",
            default_value=pinned_image(
                steps_image or xgboost_image(region, "training"), session.boto_session
            ),
        ),
        serve_image_uri=ParameterString(
            name="ServeImageUri",
            default_value=pinned_image(
                serve_image or xgboost_image(region, "inference"), session.boto_session
            ),
        ),
        processing_instance_type=ParameterString(
            name="ProcessingInstanceType", default_value=PROCESSING_INSTANCE_TYPE
        ),
        training_instance_type=ParameterString(
            name="TrainingInstanceType", default_value=TRAINING_INSTANCE_TYPE
        ),
        model_approval_status=ParameterString(
            name="ModelApprovalStatus", default_value="PendingManualApproval"
        ),
        quality_threshold=ParameterFloat(
            name="QualityThreshold", default_value=config.QUALITY_GATE.threshold
        ),
    )
