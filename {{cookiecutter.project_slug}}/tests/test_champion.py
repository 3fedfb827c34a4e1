"""The champion lookup (champion.py), the one that evaluate, the pipeline and deploy share: the
group's newest Approved model package, against moto's model registry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from {{ cookiecutter.package_name }} import champion, config

# The lookup of Evaluate, as the SageMaker execution role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("execution")

REGION = config.AWS_REGION
GROUP = "champion-test"
INFERENCE = {
    "Containers": [{"Image": "serve", "ModelDataUrl": "s3://bucket/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A SageMaker client of moto's registry, with fake credentials."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def register(sagemaker, status: str, group: str = GROUP) -> str:
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status, InferenceSpecification=INFERENCE
    )["ModelPackageArn"]
    time.sleep(0.01)  # distinct creation times
    return arn


def test_the_newest_approved_package_of_the_group(sagemaker):
    for group in (GROUP, "another-group"):
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    first = register(sagemaker, "Approved")
    second = register(sagemaker, "Approved")
    register(sagemaker, "Rejected")
    pending = register(sagemaker, "PendingManualApproval")
    register(sagemaker, "Approved", group="another-group")
    assert champion.latest_approved(sagemaker, GROUP) == second
    # Approving an older package again does not make it newer than a newer approved one.
    sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved")
    assert champion.latest_approved(sagemaker, GROUP) == second
    sagemaker.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Approved")
    assert champion.latest_approved(sagemaker, GROUP) == pending


def test_a_group_without_an_approved_package_has_no_champion(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sagemaker, "Rejected")
    register(sagemaker, "PendingManualApproval")
    assert champion.latest_approved(sagemaker, GROUP) is None


def listing(arns: list[str], next_token: str | None = None) -> dict:
    page: dict = {"ModelPackageSummaryList": [summary(arn) for arn in arns]}
    if next_token:
        page["NextToken"] = next_token
    return page


def summary(arn: str) -> dict:
    return {
        "ModelPackageArn": arn,
        "ModelPackageGroupName": GROUP,
        "CreationTime": "2026-01-01T00:00:00Z",
        "ModelPackageStatus": "Completed",
    }


def test_an_empty_page_with_a_token_is_followed(sagemaker):
    """A listing filtered by status may come back empty with a token to the next page."""
    arn = f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{GROUP}/3"
    request = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }
    with Stubber(sagemaker) as stubber:
        stubber.add_response("list_model_packages", listing([], "next"), request)
        stubber.add_response(
            "list_model_packages", listing([arn]), {**request, "NextToken": "next"}
        )
        assert champion.latest_approved(sagemaker, GROUP) == arn
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "message", "missing"),
    [
        ("ValidationException", f"Model Package Group {GROUP} does not exist.", True),
        ("ValidationException", "1 validation error detected", False),
        ("AccessDeniedException", "not authorized", False),
    ],
    ids=["group-does-not-exist", "other-validation-error", "access-denied"],
)
def test_only_a_group_that_does_not_exist_means_no_champion(sagemaker, code, message, missing):
    """Before the first registration the group does not exist (moto lists nothing instead, so
    AWS's error is stubbed); any other error is raised, not taken for "no champion"."""
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error("list_model_packages", code, message)
        if missing:
            assert champion.latest_approved(sagemaker, GROUP) is None
        else:
            with pytest.raises(botocore.exceptions.ClientError, match=code):
                champion.latest_approved(sagemaker, GROUP)
