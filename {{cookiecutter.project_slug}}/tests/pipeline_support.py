"""What the tests of the SageMaker pipeline (test_pipeline_*.py) share: reading the definition
(steps, references, inputs and outputs), the S3 objects it names in moto, the checks this project
has, and the SDK's warnings about itself. Their fixtures (emulated_aws, definition, steps) are in
conftest.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from {{ cookiecutter.package_name }} import config

# Warnings the SDK raises about itself: its own docstrings and import shims while it is being
# imported, and a reminder each time a step is defined with a PipelineSession.
SDK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:invalid escape sequence"),
    pytest.mark.filterwarnings("ignore:Importing from sagemaker:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

PROCESSING_ROOT = "/opt/ml/processing"
# The job's code folder: the step script and the package modules it imports (jobcode.py).
CODE = f"{PROCESSING_ROOT}/input/code"
MODEL_ARTIFACTS = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}


def all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, including those in the branches of condition steps."""
    found: dict[str, dict[str, Any]] = {}

    def visit(level: list[dict[str, Any]]) -> None:
        for step in level:
            found[step["Name"]] = step
            if step["Type"] == "Condition":
                visit(step["Arguments"]["IfSteps"])
                visit(step["Arguments"]["ElseSteps"])

    visit(definition["Steps"])
    return found


def references(node: Any) -> set[str]:
    """Every `{"Get": ...}` inside a piece of the definition, e.g. "Parameters.InputDataUrl"."""
    if isinstance(node, dict):
        found = {node["Get"]} if isinstance(node.get("Get"), str) else set()
        return found.union(*(references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(references(value) for value in node))
    return set()


def output_of(step: str, output: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def inputs_by_path(step: dict[str, Any]) -> dict[str, Any]:
    """Container path -> S3 source of every input of a processing step."""
    return {
        item["S3Input"]["LocalPath"]: item["S3Input"]["S3Uri"]
        for item in step["Arguments"]["ProcessingInputs"]
    }


def outputs_by_name(step: dict[str, Any]) -> dict[str, str]:
    """Output name -> container path of every output of a processing step."""
    return {
        item["OutputName"]: item["S3Output"]["LocalPath"]
        for item in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }


def processing_steps(steps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [step for step in steps.values() if step["Type"] == "Processing"]


def runs_spark(step: dict[str, Any]) -> bool:
    """A step of SageMaker's Spark processing image (pipeline/spark.py), not a step script."""
    image = step["Arguments"]["AppSpecification"]["ImageUri"]
    return "sagemaker-spark-processing" in str(image)


def script_steps(steps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The processing steps that run a step script in the project's (or XGBoost's) image."""
    return [step for step in processing_steps(steps) if not runs_spark(step)]


def expected_tags() -> dict[str, str]:
    from {{ cookiecutter.package_name }} import lineage

    return {**config.TAGS, "git-commit": lineage.git_state().label}


def s3_object(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
