"""The pipeline's parameters: what an execution may override (`start --parameter NAME=VALUE`),
with the defaults this build gives them: where the data is, the images by digest, the instance
types, the approval status and floor of the quality gate, and the explanation check's lifecycle
as the champion's registered baseline allows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession

from .. import champion, config
from .staging import data_bucket, default_input_data_url, pinned_image, xgboost_image

PROCESSING_INSTANCE_TYPE = "ml.m5.large"
TRAINING_INSTANCE_TYPE = "ml.m5.xlarge"
# The registry's names of the baselines each check compares with (DriftCheckBaselines).
CHECK_BASELINES = {"Explainability": "Explainability"}
# The checks this project's pipeline runs (Clarify's explanation, when it has one).
CHECKS = ["Explainability"] if config.EXPLAINABILITY_REPORT else []


@dataclass(frozen=True)
class Parameters:
    input_data_url: ParameterString
    steps_image_uri: ParameterString
    serve_image_uri: ParameterString
    processing_instance_type: ParameterString
    training_instance_type: ParameterString
    model_approval_status: ParameterString
    quality_threshold: ParameterFloat
    # Check -> its Skip<check>Check and RegisterNew<check>Baseline.
    checks: dict[str, tuple[ParameterBoolean, ParameterBoolean]]

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
            *(parameter for check in CHECKS for parameter in self.checks[check]),
        ]

    def check_lifecycle(self, check: str) -> dict[str, Any]:
        """The arguments of a check step that steer it: its parameters, and the champion it
        compares with (the check step fetches the baseline from the group's latest Approved
        package)."""
        skip, register_new = self.checks[check]
        return {
            "skip_check": skip,
            "register_new_baseline": register_new,
            "model_package_group_name": config.MODEL_PACKAGE_GROUP,
            # A violation fails the execution: nothing drifted is registered unnoticed.
            "fail_on_violation": True,
        }


def pipeline_parameters(
    session: PipelineSession,
    bucket: str,
    steps_image: str | None = None,
    serve_image: str | None = None,
) -> Parameters:
    """The parameters and their defaults: the data as upload-data puts it in `bucket`, the
    given images (else the XGBoost image) by their digests now, and the checks' lifecycle from
    the champion in the registry."""
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
        checks=check_parameters(champion_baselines(session.boto_session)),
    )


def check_parameters(baselines: set[str]) -> dict[str, tuple[ParameterBoolean, ParameterBoolean]]:
    """skip_check and register_new_baseline of each check, as pipeline parameters.

    A check compares what this run calculates with the champion's registered drift-check
    baseline of its kind (the check step fetches it from the group's latest Approved
    package), so it can only run once such a baseline exists: Skip<check>Check defaults to
    true while the champion has none (the first run, when nothing is approved yet) and to
    false after, as read from the registry when the pipeline is built (upsert, at every
    push). RegisterNew<check>Baseline defaults to true: the package's drift-check baselines
    describe the data and predictions of this model, which is what its monitors must
    compare with; false keeps the champion's (and needs one).
    """
    return {
        check: (
            ParameterBoolean(name=f"Skip{check}Check", default_value=check not in baselines),
            ParameterBoolean(name=f"RegisterNew{check}Baseline", default_value=True),
        )
        for check in CHECKS
    }


def champion_baselines(session: boto3.Session) -> set[str]:
    """The checks (keys of CHECK_BASELINES) for which the champion, the group's latest Approved
    model package, has registered a drift-check baseline; empty while nothing is approved (or
    the group does not exist yet: the first registration creates it)."""
    client = session.client("sagemaker")
    arn = champion.latest_approved(client, config.MODEL_PACKAGE_GROUP)
    if arn is None:
        return set()
    package = client.describe_model_package(ModelPackageName=arn)
    registered = package.get("DriftCheckBaselines", {})
    return {check for check, name in CHECK_BASELINES.items() if registered.get(name)}
