"""The model card (steps/model_card.py): the card of the local run says what the run measured and
meets the model package model card schema (the SageMaker SDK's shapes of it, botocore's limits);
Clarify's SHAP and bias reports and bias.json reach it; approval moves it (deploy/model_card.py),
each request checked against botocore's model of the API (moto keeps no card on a package) and
against the deployer's policy (tests/aws_calls.py). The pipeline's ModelCard step and Register's
ModelCard field are in test_pipeline_definition.py and test_pipeline_registration.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from pipeline_support import SDK_WARNINGS

from {{ cookiecutter.package_name }} import config, lineage
from {{ cookiecutter.package_name }}.contract import MANIFEST_DIR, MANIFEST_FILE
from {{ cookiecutter.package_name }}.deploy import model_card as card_approval
from {{ cookiecutter.package_name }}.steps import evaluate, model_card, train

# CI's deploy job runs the approval in the registry's account: as the deployer, or with an
# operations account as the tooling role it assumes (`operator`, tests/aws_calls.py); the
# schema's test imports the SDK's shapes.
APPROVER = "operator" if config.OPERATIONS_ACCOUNT else "deployer"
pytestmark = [pytest.mark.principal(APPROVER), *SDK_WARNINGS]

PACKAGE_ARN = (
    f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:model-package/"
    f"{config.MODEL_PACKAGE_GROUP}/3"
)


def local_card(output_dir: Path) -> dict[str, Any]:
    return json.loads((output_dir / "model-card" / model_card.CARD_FILE).read_text())


def test_the_local_runs_card_says_what_the_run_measured(local_run):
    output_dir = local_run.output_dir
    content = local_card(output_dir)
    markdown = (output_dir / model_card.MARKDOWN_FILE).read_text()
    evaluation = json.loads((output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text())
    manifest = json.loads((output_dir / "processed" / MANIFEST_DIR / MANIFEST_FILE).read_text())
    section = config.QUALITY_GATE.json_path.split(".")[0]
    measured = {
        name: entry["value"]
        for name, entry in evaluation[section].items()
        if isinstance(entry, dict) and isinstance(entry.get("value"), float)
    }
    detail = content["evaluation_details"][0]
    groups = {group["name"]: group["metric_data"] for group in detail["metric_groups"]}
    assert {m["name"]: m["value"] for m in groups[section]} == measured
    assert config.QUALITY_GATE.metric in measured
    for name, value in measured.items():
        assert f"| {name} | {value:.6g} |" in markdown
    # The data it was trained and evaluated on, by content.
    assert detail["metadata"]["data_sha256"] == manifest["sha256"]
    assert content["additional_information"]["custom_details"]["data_sha256"] == manifest["sha256"]
    assert manifest["sha256"] in markdown
    # Intended use: the project's description, as answered at generation.
    assert content["intended_uses"]["intended_uses"] == config.DESCRIPTION
    assert f"## Intended use\n\n{config.DESCRIPTION}\n" in markdown
    assert content["model_overview"]["model_creator"] == (
        f"{config.AUTHOR_NAME} <{config.AUTHOR_EMAIL}>"
    )
    assert content["additional_information"]["custom_details"]["git_commit"] == (
        lineage.git_state().label
    )
    hyperparameters = content["training_details"]["training_job_details"]["hyper_parameters"]
    assert {h["name"]: h["value"] for h in hyperparameters} == {
        name: str(value) for name, value in train.HYPERPARAMETERS.items()
    }
    shap = [name for name in groups if name.startswith("mean_abs_shap")]
    assert shap == (["mean_abs_shap (tree_shap)"] if config.EXPLAINABILITY_REPORT else [])


def test_the_card_meets_the_model_package_model_card_schema(local_run):
    """The SDK's ModelCardContent (pydantic, from AWS's model card JSON schema) takes the content
    and gives back exactly it: no unknown key, no value it would change. The model package's
    card has no model_package_details, and its model_overview only model_creator and
    model_artifact (DescribeModelPackage's documentation)."""
    from sagemaker.core.shapes.model_card_shapes import ModelCardContent

    content = local_card(local_run.output_dir)
    parsed = ModelCardContent.model_validate(content)
    assert parsed.model_dump(mode="json", exclude_none=True) == content
    assert set(content["model_overview"]) <= {"model_creator", "model_artifact"}
    assert "model_package_details" not in content
    text = json.loads((local_run.output_dir / "model-card" / model_card.REGISTER_FILE).read_text())
    assert json.loads(text["ModelCardContent"]) == content
    # As CreateModelPackage takes it: botocore's model of the request (length, status values).
    model = botocore.session.get_session().get_service_model("sagemaker")
    request = {
        "ModelPackageGroupName": config.MODEL_PACKAGE_GROUP,
        "ModelCard": {**text, "ModelCardStatus": "PendingReview"},
    }
    report = ParamValidator().validate(
        request, model.operation_model("CreateModelPackage").input_shape
    )
    assert not report.has_errors(), report.generate_report()


def run_card(output_dir: Path, target: Path, *extra: str) -> dict[str, Any]:
    facts = target / "facts.json"
    facts.parent.mkdir(parents=True, exist_ok=True)
    facts.write_text(json.dumps(lineage.model_facts(lineage.git_state(), train.HYPERPARAMETERS)))
    argv = [
        *("--facts", str(facts), "--output-dir", str(target)),
        *("--evaluation", str(output_dir / "evaluation")),
        *("--manifest", str(output_dir / "processed" / MANIFEST_DIR)),
        *extra,
    ]
    assert model_card.main(argv) == 0
    return json.loads((target / model_card.CARD_FILE).read_text())


def test_clarify_reports_and_bias_json_reach_the_card(local_run, tmp_path):
    """In AWS the card reads Clarify's analysis.json files (SHAP by KernelSHAP, bias by facet);
    locally explainability.json and bias.json. A report that is not there is no report."""
    clarify = tmp_path / "explainability"
    clarify.mkdir()
    shap = {"mean_radius": 0.25, "worst_area": -0.5}
    (clarify / "analysis.json").write_text(
        json.dumps({"explanations": {"kernel_shap": {"label0": {"global_shap_values": shap}}}})
    )
    clarify_bias = tmp_path / "bias_post_training" / "analysis.json"
    clarify_bias.parent.mkdir()
    metrics = [{"name": "DPPL", "value": 0.125}, {"name": "DI", "value": 0.875}]
    facets = {"sex": [{"value_or_threshold": "1", "metrics": metrics}]}
    clarify_bias.write_text(json.dumps({"post_training_bias_metrics": {"facets": facets}}))
    local_bias = tmp_path / "bias.json"
    local_bias.write_text(
        json.dumps({"facet": "sex", "pre_training": {"CI": 0.25, "DPL": 0.0625}, "other": 1})
    )
    content = run_card(
        local_run.output_dir,
        tmp_path / "card",
        *("--explainability", str(clarify)),
        *("--bias", str(clarify_bias.parent), "--bias", str(local_bias)),
        *("--bias", str(tmp_path / "not-there.json")),
        *("--execution-arn", "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p/execution/e1"),
    )
    detail = content["evaluation_details"][0]
    groups = {
        g["name"]: {m["name"]: m["value"] for m in g["metric_data"]}
        for g in detail["metric_groups"]
    }
    # Largest |value| first.
    assert list(groups["mean_abs_shap (kernel_shap)"].items()) == [
        ("worst_area", -0.5),
        ("mean_radius", 0.25),
    ]
    assert groups["bias pre_training (facet sex)"] == {"CI": 0.25, "DPL": 0.0625}
    assert groups["bias post_training (facet sex)"] == {"DPPL": 0.125, "DI": 0.875}
    details = content["additional_information"]["custom_details"]
    assert (details["shap_method"], details["bias_facet"]) == ("kernel_shap", "sex")
    assert detail["metadata"]["pipeline_execution_arn"].endswith("/execution/e1")
    markdown = (tmp_path / "card" / model_card.MARKDOWN_FILE).read_text()
    assert "### bias post_training (facet sex)" in markdown and "| DPPL | 0.125 |" in markdown
    # Without any report: the evaluation alone.
    bare = run_card(local_run.output_dir, tmp_path / "bare", "--bias", str(tmp_path / "none"))
    names = [g["name"] for g in bare["evaluation_details"][0]["metric_groups"]]
    assert not [name for name in names if name.startswith(("mean_abs_shap", "bias"))]


def test_an_unreadable_input_fails_in_one_line(local_run, tmp_path, capsys):
    argv = [
        *("--facts", str(tmp_path / "facts.json"), "--output-dir", str(tmp_path / "card")),
        *("--evaluation", str(local_run.output_dir / "evaluation")),
        *("--manifest", str(local_run.output_dir / "processed" / MANIFEST_DIR)),
    ]
    assert model_card.main(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("model_card: cannot build the card: ") and error.count("\n") == 1
    assert "facts.json" in error


# --- approval --------------------------------------------------------------------------------


def stubbed_sagemaker() -> tuple[Any, Stubber]:
    # A real client, its requests checked against botocore's model of the API by the Stubber.
    client = boto3.client(
        "sagemaker",
        region_name=config.AWS_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def described(status: str, card: dict[str, str] | None) -> dict[str, Any]:
    package = {
        "ModelPackageName": config.MODEL_PACKAGE_GROUP,
        "ModelPackageArn": PACKAGE_ARN,
        "CreationTime": "2026-12-01T00:00:00Z",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "ModelApprovalStatus": status,
    }
    return {**package, "ModelCard": card} if card else package


CONTENT = json.dumps({"intended_uses": {"intended_uses": config.DESCRIPTION}})


def test_approval_makes_the_packages_card_approved_with_its_content_unchanged():
    client, stubber = stubbed_sagemaker()
    card = {"ModelCardContent": CONTENT, "ModelCardStatus": "PendingReview"}
    stubber.add_response(
        "describe_model_package", described("Approved", card), {"ModelPackageName": PACKAGE_ARN}
    )
    stubber.add_response(
        "update_model_package",
        {"ModelPackageArn": PACKAGE_ARN},
        {
            "ModelPackageArn": PACKAGE_ARN,
            "ModelCard": {"ModelCardContent": CONTENT, "ModelCardStatus": "Approved"},
        },
    )
    with stubber:
        assert card_approval.approve(client, PACKAGE_ARN) == "Approved"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("status", "card", "expected"),
    [
        # Not approved (yet, or any more): the card waits with the package.
        ("PendingManualApproval", {"ModelCardStatus": "PendingReview"}, "PendingReview"),
        ("Rejected", {"ModelCardStatus": "PendingReview"}, "PendingReview"),
        # Already Approved: nothing to do (a second stage's deploy).
        ("Approved", {"ModelCardStatus": "Approved"}, "Approved"),
        # Registered before the project had cards.
        ("Approved", None, None),
    ],
)
def test_the_card_never_runs_ahead_of_the_package(status, card, expected):
    client, stubber = stubbed_sagemaker()
    card = {**card, "ModelCardContent": CONTENT} if card else None
    stubber.add_response(
        "describe_model_package", described(status, card), {"ModelPackageName": PACKAGE_ARN}
    )
    with stubber:  # an UpdateModelPackage would find no response and fail
        assert card_approval.approve(client, PACKAGE_ARN) == expected
