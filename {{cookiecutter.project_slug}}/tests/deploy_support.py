"""What the deploy helper's tests share: the package ARNs they deploy, a stage's config file
with changes, a stack as describe_stacks returns it, parameters checked against a template and
a stubbed CloudFormation client. (AWS emulated by moto is conftest.py's `aws` fixture.)"""

from __future__ import annotations

import datetime
import json
import math
import re
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from conftest import load_cloudformation

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy.stage import (
    Stage,
)

REGION = config.AWS_REGION
GROUP = config.MODEL_PACKAGE_GROUP
ENDPOINT_PARAMETERS = {
    "Stage",
    "ModelPackageArn",
    "ShadowModelPackageArn",
    "EndpointType",
    "InstanceType",
    "MinInstances",
    "MaxInstances",
    "TargetInvocationsPerInstance",
    "ServerlessMemoryMB",
    "ServerlessMaxConcurrency",
    "RolloutType",
    "RolloutStepPercent",
    "WaitMinutes",
    "Max5xxErrors",
    "MaxModelLatencyMs",
    "RetainVariantProperties",
}
if config.MODEL_MONITORING:
    ENDPOINT_PARAMETERS.add("CaptureSamplingPercentage")
if config.ARTIFACT_ACCOUNT:
    # The shared-artifact account's copies of the live and shadow packages.
    ENDPOINT_PARAMETERS |= {"ModelDataUrl", "ImageUri", "ShadowModelDataUrl", "ShadowImageUri"}
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{GROUP}/7"
LIVE_ARN = f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{GROUP}/6"
# What the pipeline records on a package for its monitor (pipeline/reference.py), as
# CustomerMetadataProperties: the reference, the monitor's code and the steps image it ran.
TRAINING = f"s3://{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}"
MONITOR_METADATA = {
    "monitor_reference": f"{TRAINING}/abcdef123456/Reference/reference",
    "monitor_code": f"{TRAINING}/code/0123456789abcdef/",
    "steps_image": (
        f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{config.STEPS_IMAGE_REPOSITORY}"
        "@sha256:" + "a" * 64
    ),
}


# The inference image the pipeline registers with the package (InferenceSpecification).
SERVE_IMAGE = (
    f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{config.SERVE_IMAGE_REPOSITORY}"
    "@sha256:" + "b" * 64
)


def registered_package(arn: str = PACKAGE_ARN, **metadata: str) -> dict[str, Any]:
    """describe_model_package's answer for a package the pipeline registered."""
    return {
        "ModelPackageName": f"{GROUP}/{arn.rsplit('/', 1)[1]}",
        "ModelPackageArn": arn,
        "CreationTime": datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "CustomerMetadataProperties": {"git_commit": "0" * 40, **MONITOR_METADATA, **metadata},
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": SERVE_IMAGE,
                    "ImageDigest": SERVE_IMAGE.rpartition("@")[2],
                    "ModelDataUrl": f"{TRAINING}/abcdef123456/Train/output/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
        },
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"{TRAINING}/abcdef123456/Evaluate/evaluation/evaluation.json",
                }
            }
        },
    }


def write_config(folder: Path, stage: str, **changes: Any) -> Path:
    """config/<stage>.json copied to folder, with changes: {"rollout.type": "linear", ...}."""
    raw = json.loads((config.CONFIG_DIR / f"{stage}.json").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        (raw[section] if section else raw)[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stage}.json").write_text(json.dumps(raw), encoding="utf-8")
    return folder


def described_stack(package_arn: str) -> dict[str, Any]:
    """A stack as describe_stacks returns it, serving package_arn."""
    return {
        "StackName": Stage.load("prod").stack_name,
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "Parameters": [{"ParameterKey": "ModelPackageArn", "ParameterValue": package_arn}],
        "Outputs": [{"OutputKey": "ModelPackageArn", "OutputValue": package_arn}],
    }


def assert_accepted(template: str, parameters: dict[str, str]) -> None:
    """The values meet the template's own constraints: CloudFormation would take them."""
    declared = load_cloudformation(template)["Parameters"]
    for name, value in parameters.items():
        spec = declared[name]
        if "AllowedValues" in spec:
            assert value in [str(allowed) for allowed in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name
        if spec["Type"] == "Number":
            assert spec.get("MinValue", -math.inf) <= float(value), name
            assert float(value) <= spec.get("MaxValue", math.inf), name


def stubbed_cloudformation() -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudformation",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def stub_executed_change_set(stubber: Stubber) -> None:
    """The live stack, then a change set created, complete and executed: what an update of it
    answers up to the wait for the stack."""
    stubber.add_response("describe_stacks", {"Stacks": [described_stack(LIVE_ARN)]})
    stubber.add_response("create_change_set", {"Id": "change-set-id"})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("execute_change_set", {})
