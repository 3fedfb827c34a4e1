"""The end of the SageMaker pipeline (pipeline/registration.py): the quality gate against the
champion and the floor, and the model package Register creates: the model, its metrics and
baselines, the monitor's reference, and what made it, as the registry stores it."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import boto3
import pytest
from pipeline_support import (
    MODEL_ARTIFACTS,
    SDK_WARNINGS,
    output_of,
    outputs_by_name,
    s3_object,
)

from {{ cookiecutter.package_name }} import config, contract

# The pipeline is built, upserted and started by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]

GATE = config.QUALITY_GATE


def evaluation_value(path: str) -> dict[str, Any]:
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
            "Path": path,
        }
    }


METRIC = evaluation_value(GATE.json_path)
CHAMPION = evaluation_value(GATE.champion_json_path)
REQUIRED = evaluation_value(GATE.required_json_path)
THRESHOLD = {"Get": "Parameters.QualityThreshold"}


def json_file_in(prefix: dict[str, str], filename: str) -> dict[str, Any]:
    return {
        "ContentType": "application/json",
        "S3Uri": {"Std:Join": {"On": "/", "Values": [prefix, filename]}},
    }


def test_quality_gate_needs_the_champion_beaten_by_the_margin_and_the_floor_reached(
    definition, steps
):
    """evaluate.py writes champion.required: the latest approved model's metric on the same test
    split plus the margin (the naive baseline's when no model is approved yet)."""
    champion, floor = definition["Steps"][-1]["Arguments"]["Conditions"]
    expected = "GreaterThanOrEqualTo" if GATE.higher_is_better else "LessThanOrEqualTo"
    assert champion["Type"] == floor["Type"] == expected
    assert champion["LeftValue"] == floor["LeftValue"] == METRIC
    assert champion["RightValue"] == REQUIRED
    assert floor["RightValue"] == THRESHOLD
    evaluate = steps["Evaluate"]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    assert "evaluation" in outputs_by_name(evaluate)
    arguments = evaluate["Arguments"]["AppSpecification"]["ContainerArguments"]
    option = dict(zip(arguments[::2], arguments[1::2], strict=True))
    assert option["--model-package-group"] == config.MODEL_PACKAGE_GROUP
    assert option["--region"] == config.AWS_REGION
    assert float(option["--champion-margin"]) == GATE.champion_margin


def test_failed_gate_reports_the_metric_the_champion_the_margin_and_the_floor(steps):
    message = steps["QualityGateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert [part for part in message if not isinstance(part, str)] == [
        METRIC,
        CHAMPION,
        REQUIRED,
        THRESHOLD,
    ]
    text = "".join(part for part in message if isinstance(part, str))
    assert GATE.metric in text
    assert "champion" in text
    assert f"margin {GATE.champion_margin}" in text
    assert "floor" in text


def test_register_adds_the_trained_model_to_the_group(steps):
    arguments = steps["Register"]["Arguments"]
    assert arguments["ModelPackageGroupName"] == config.MODEL_PACKAGE_GROUP
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    (container,) = arguments["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == MODEL_ARTIFACTS
    # Any SAGEMAKER_PROGRAM, even empty, switches the XGBoost container to script mode.
    assert "SAGEMAKER_PROGRAM" not in container.get("Environment", {})
    assert arguments["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]


def test_register_attaches_the_reports(steps):
    """ModelMetrics: evaluation.json as the model's quality{% if cookiecutter.explainability_report == "yes" %}, and explainability.json
    (the Explain step's) as its explanation{% endif %}.
    No DriftCheckBaselines: no step checks against the champion's. Nothing is shaped for Model
    Monitor: the monitor's reference is in CustomerMetadataProperties."""
    arguments = steps["Register"]["Arguments"]
    metrics = arguments["ModelMetrics"]
    assert metrics["ModelQuality"] == {
        "Statistics": json_file_in(output_of("Evaluate", "evaluation"), "evaluation.json")
    }
    assert "ModelDataQuality" not in metrics
    if config.BIAS_REPORT:
        # steps/bias.py's reports, in the structure of Clarify's analysis.json.
        reports = output_of("Bias", "bias")
        assert metrics["Bias"] == {
            "PreTrainingReport": json_file_in(reports, "pre_training_bias.json"),
            "PostTrainingReport": json_file_in(reports, "post_training_bias.json"),
        }
    else:
        assert not metrics.get("Bias")
    if config.EXPLAINABILITY_REPORT:
        # steps/explain.py's report, in the structure of Clarify's analysis.json.
        assert metrics["Explainability"] == {
            "Report": json_file_in(output_of("Explain", "explainability"), "explainability.json")
        }
    else:
        assert not metrics.get("Explainability")
    assert "DriftCheckBaselines" not in arguments


def resolve(node: Any, values: dict[str, str]) -> Any:
    """A piece of the definition as SageMaker resolves it in an execution, with the step
    properties and execution variables taken from `values` (references the test does not give
    resolve to a made-up S3 location)."""
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("Get"), str):
        made_up = re.sub(r"[^A-Za-z0-9]+", "-", node["Get"]).strip("-")
        return values.get(node["Get"], f"s3://{config.DEFAULT_BUCKET}/execution/{made_up}")
    if "Std:Join" in node:
        join = node["Std:Join"]
        return join["On"].join(str(resolve(part, values)) for part in join["Values"])
    if "Std:JsonGet" in node:
        json_get = node["Std:JsonGet"]
        return values[f"{json_get['PropertyFile']['Get']}.{json_get['Path']}"]
    return {key: resolve(value, values) for key, value in node.items()}


def allowed_metadata_text(shape: str) -> tuple[set[str], int]:
    """The punctuation and length that botocore's SageMaker model allows in a metadata value or
    tag; besides them, letters, numbers and spaces (\\p{L}, \\p{N}, \\p{Z})."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker").shape_for(shape)
    pattern = model.metadata["pattern"]
    classes = re.search(r"\[(.*)\]", pattern).group(1)
    assert classes.startswith(r"\p{L}\p{Z}\p{N}"), pattern
    marks = re.sub(r"\\(.)", r"\1", classes.removeprefix(r"\p{L}\p{Z}\p{N}"))
    return set(marks), model.metadata["max"]


def fits(text: str, marks: set[str], limit: int) -> bool:
    import unicodedata

    return 0 < len(text) <= limit and all(
        char.isalnum() or char in marks or unicodedata.category(char).startswith("Z")
        for char in text
    )


def test_model_package_records_what_made_the_model(definition, steps):
    """Register's request, resolved as in an execution, creates a model package in moto's
    registry; describe-model-package then shows its lineage, every value in the characters and
    length the API accepts."""
    execution = (
        f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:pipeline/"
        f"{config.PIPELINE_NAME}/execution/abcdef123456"
    )
    data_sha256 = contract.data_manifest(config.DATA)["sha256"]
    values = {
        **{f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]},
        "Execution.PipelineExecutionArn": execution,
        "Steps.Train.TrainingJobName": "pipelines-abcdef123456-Train-x1y2z3",
        output_of("Preprocess", "manifest")["Get"]: (
            f"s3://{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}/abcdef123456/Preprocess/manifest"
        ),
        "Steps.Preprocess.PropertyFiles.DataManifest.sha256": data_sha256,
    }
    card = json.dumps({"intended_uses": {"intended_uses": config.DESCRIPTION}})
    if config.MODEL_CARD:
        # The package's own card: the content the ModelCard step wrote (test_model_card.py).
        values["Steps.ModelCard.PropertyFiles.ModelCard.ModelCardContent"] = card
    request = resolve(steps["Register"]["Arguments"], values)
    if config.MODEL_CARD:
        assert request["ModelCard"] == {
            "ModelCardContent": card,
            "ModelCardStatus": "PendingReview",
        }
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    with contextlib.suppress(sagemaker.exceptions.ClientError):  # unless an earlier test made it
        sagemaker.create_model_package_group(ModelPackageGroupName=config.MODEL_PACKAGE_GROUP)
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    recorded = described["CustomerMetadataProperties"]
    print(json.dumps(recorded, indent=2))  # what `aws sagemaker describe-model-package` shows

    from {{ cookiecutter.package_name }} import lineage
    from {{ cookiecutter.package_name }}.pipeline.training import HYPERPARAMETERS

    git = lineage.git_state()
    assert recorded["git_commit"] == git.commit
    assert recorded["git_dirty"] == str(git.dirty).lower()
    assert recorded["data_sha256"] == data_sha256
    assert recorded["data_manifest"].endswith("/data_manifest.json")
    assert recorded["input_data_url"] == values["Parameters.InputDataUrl"]
    assert recorded["pipeline_execution_arn"] == execution
    assert recorded["training_job"] == values["Steps.Train.TrainingJobName"]
    assert "@sha256:" in recorded["steps_image"] and "@sha256:" in recorded["serve_image"]
    pairs = dict(item.split("=", 1) for item in recorded["hyperparameters"].split(" "))
    assert pairs == {name: str(value) for name, value in HYPERPARAMETERS.items()}
    assert described["MetadataProperties"]["GeneratedBy"] == execution
    if config.DATA_QUALITY_BASELINE:
        # What the monitoring stack runs on (deploy/monitoring.py reads them): the reference
        # this execution's Reference step wrote, and the monitor's code as this build uploaded it.
        assert recorded["monitor_reference"] == resolve(output_of("Reference", "reference"), values)
        if config.MODEL_MONITORING:
            from {{ cookiecutter.package_name }} import jobcode

            for name, path in jobcode.files("monitor.py").items():
                assert s3_object(recorded["monitor_code"] + name) == path.read_bytes(), name
    marks, limit = allowed_metadata_text("CustomerMetadataValue")
    for key, value in recorded.items():
        assert fits(key, marks, 128) and fits(value, marks, limit), (key, value)
    tag_marks, tag_limit = allowed_metadata_text("TagValue")
    for tag in request["Tags"]:
        assert fits(tag["Key"], tag_marks, 128) and fits(tag["Value"], tag_marks, tag_limit), tag
