"""The deploy helper's stacks, offline: the assumed deployment role (moto's STS, credentials
refreshed before they expire) and the change-set logic of a deployment (botocore's Stubber:
moto's CloudFormation needs extras this project does not install)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_calls import acting_as
from botocore.stub import ANY, Stubber
from deploy_support import (
    LIVE_ARN,
    MONITOR_METADATA,
    PACKAGE_ARN,
    REGION,
    assert_accepted,
    described_stack,
    registered_package,
    stub_executed_change_set,
    stubbed_cloudformation,
)
from moto import mock_aws

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import stacks
from {{ cookiecutter.package_name }}.deploy.stage import (
    Stage,
)

# CI runs `latest` as the tooling account's deployer, which assumes the stage's deployment
# role; `deploy` and `smoke-test` run as that role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("deployer")


# --- the deployment role and the change sets ---------------------------------------------


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_assumes_the_stage_accounts_deployment_role(aws, stage_name):
    from moto.sts.models import sts_backends

    stage = Stage.load(stage_name)
    deployment = stacks.deployment_session(stage, stacks.tooling_session())
    credentials = deployment.get_credentials().get_frozen_credentials()
    assert credentials.access_key != "testing"
    assert credentials.token and credentials.token != "testing"
    assumed = sts_backends[stage.account]["global"].assumed_roles
    assert [role.role_arn for role in assumed] == [stage.deployment_role_arn]
    assert assumed[0].session_name == f"{config.PROJECT_SLUG}-deploy-{stage_name}"[:64]


def test_the_deployment_roles_credentials_are_assumed_again_before_they_expire(
    aws, monkeypatch: pytest.MonkeyPatch
):
    """A rollout outlasts the hour of an assumed role's session: the helper's session assumes
    the role again when botocore finds its credentials about to expire (moto's STS gives an
    hour)."""
    import botocore.credentials
    from moto.sts.models import sts_backends

    stage = Stage.load(config.STAGES[-1])
    deployment = stacks.deployment_session(stage, stacks.tooling_session())
    first = deployment.get_credentials().get_frozen_credentials()
    assumed = sts_backends[stage.account]["global"].assumed_roles
    assert len(assumed) == 1
    # Within the hour: the same credentials.
    assert deployment.get_credentials().get_frozen_credentials() == first
    # Fifty-five minutes later, within botocore's refresh margin of the expiry.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=55)
    credentials = deployment.get_credentials()
    assert isinstance(credentials, botocore.credentials.RefreshableCredentials)
    # Its clock (botocore reads the time through the credentials' own fetcher).
    monkeypatch.setattr(credentials, "_time_fetcher", lambda: later)
    renewed = deployment.get_credentials().get_frozen_credentials()
    assert renewed.access_key != first.access_key
    assert [role.role_arn for role in assumed] == [stage.deployment_role_arn] * 2
    # Back to the present: the renewed ones hold for their hour.
    monkeypatch.setattr(credentials, "_time_fetcher", botocore.credentials._local_now)
    assert deployment.get_credentials().get_frozen_credentials() == renewed
    assert len(assumed) == 2


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_keeps_the_session_that_already_is_the_deployment_role(
    stage_name, monkeypatch: pytest.MonkeyPatch
):
    from moto.sts.models import sts_backends

    stage = Stage.load(stage_name)
    # moto names an assumed role as the caller only in its own account: the stage's here.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", stage.account)
    with mock_aws():
        as_role = stacks.deployment_session(stage, stacks.tooling_session())
        identity = as_role.client("sts").get_caller_identity()["Arn"]
        assert identity.startswith(
            f"arn:aws:sts::{stage.account}:assumed-role/{config.PROJECT_SLUG}-deployment/"
        )
        before = len(sts_backends[stage.account]["global"].assumed_roles)
        assert stacks.deployment_session(stage, as_role) is as_role
        assert len(sts_backends[stage.account]["global"].assumed_roles) == before


def update_endpoint_stack(cloudformation: Any, stage: Stage, parameters: dict[str, str]) -> str:
    """The stage's endpoint stack through stacks.create_or_update, polling at once."""
    return stacks.create_or_update(
        cloudformation,
        stage.stack_name,
        "template",
        parameters,
        stage.cloudformation_role_arn,
        stacks.tags(stage),
        poll_seconds=0,
    )


def no_stack_error(stubber: Stubber, stack_name: str) -> None:
    stubber.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {stack_name} does not exist",
        expected_params={"StackName": stack_name},
    )


@pytest.mark.principal("deployment:prod")
def test_deploy_creates_a_missing_stack_through_a_change_set_with_the_service_role():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    parameters = stage.stack_parameters(PACKAGE_ARN)
    no_stack_error(stubber, stage.stack_name)
    stubber.add_response(
        "create_change_set",
        {"Id": "change-set-id", "StackId": "stack-id"},
        {
            "StackName": stage.stack_name,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": "template",
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "RoleARN": stage.cloudformation_role_arn,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": stacks.tags(stage),
        },
    )
    stubber.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"},
        {"StackName": stage.stack_name, "ChangeSetName": ANY},
    )
    stubber.add_response(
        "execute_change_set", {}, {"StackName": stage.stack_name, "ChangeSetName": ANY}
    )
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{**described_stack(PACKAGE_ARN), "StackStatus": "CREATE_COMPLETE"}]},
        {"StackName": stage.stack_name},
    )
    with stubber:
        outcome = update_endpoint_stack(cloudformation, stage, parameters)
    stubber.assert_no_pending_responses()
    assert outcome == "created"
    tags = {tag["Key"]: tag["Value"] for tag in stacks.tags(stage)}
    assert tags == {**config.TAGS, "stage": "prod"}


@pytest.mark.principal("deployment:prod")
def test_deploying_what_is_deployed_is_a_success_with_no_changes():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    stubber.add_response("describe_stacks", {"Stacks": [described_stack(PACKAGE_ARN)]})
    stubber.add_response("create_change_set", {"Id": "change-set-id"})
    reason = (
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set."
    )
    failed = {"Status": "FAILED", "StatusReason": reason}
    stubber.add_response("describe_change_set", failed)
    stubber.add_response("describe_change_set", failed)
    stubber.add_response(
        "delete_change_set", {}, {"StackName": stage.stack_name, "ChangeSetName": ANY}
    )
    with stubber:
        outcome = update_endpoint_stack(cloudformation, stage, stage.stack_parameters(PACKAGE_ARN))
    stubber.assert_no_pending_responses()
    assert outcome == "no changes"


@pytest.mark.principal("deployment:prod")
def test_a_failed_update_reports_the_first_failed_resource_in_one_line():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    stub_executed_change_set(stubber)
    rolled_back = {**described_stack(LIVE_ARN), "StackStatus": "UPDATE_ROLLBACK_COMPLETE"}
    stubber.add_response("describe_stacks", {"Stacks": [rolled_back]})

    def event(number: int, logical: str, kind: str, status: str, reason: str = "") -> dict:
        return {
            "StackId": "stack-id",
            "EventId": str(number),
            "StackName": stage.stack_name,
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "ResourceStatus": status,
            "Timestamp": datetime.datetime(2026, 1, 1, 0, number, tzinfo=datetime.UTC),
            **({"ResourceStatusReason": reason} if reason else {}),
        }

    stack_kind, endpoint_kind = "AWS::CloudFormation::Stack", "AWS::SageMaker::Endpoint"
    newest_first = [
        event(6, stage.stack_name, stack_kind, "UPDATE_ROLLBACK_COMPLETE"),
        event(5, "Alarm", "AWS::CloudWatch::Alarm", "UPDATE_FAILED", "Resource update cancelled"),
        event(4, "Endpoint", endpoint_kind, "UPDATE_FAILED", "Auto-rollback:\n alarm fired"),
        event(3, "Endpoint", endpoint_kind, "UPDATE_IN_PROGRESS"),
        event(2, stage.stack_name, stack_kind, "UPDATE_IN_PROGRESS", "User Initiated"),
        event(1, "Endpoint", endpoint_kind, "CREATE_FAILED", "an older failure"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": newest_first})
    with stubber, pytest.raises(stacks.DeployError) as failure:
        update_endpoint_stack(cloudformation, stage, stage.stack_parameters(PACKAGE_ARN))
    assert str(failure.value) == (
        f"stack {stage.stack_name}: Endpoint ({endpoint_kind}): Auto-rollback: alarm fired"
    )


def stub_create(stubber: Stubber, stage: Stage, stack_name: str, template: Path, parameters):
    """The calls that create a missing stack: its change set, with the service role and tags."""
    no_stack_error(stubber, stack_name)
    stubber.add_response(
        "create_change_set",
        {"Id": "change-set-id"},
        {
            "StackName": stack_name,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": template.read_text(encoding="utf-8"),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "RoleARN": stage.cloudformation_role_arn,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": stacks.tags(stage),
        },
    )
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("execute_change_set", {})
    created = {**described_stack(PACKAGE_ARN), "StackName": stack_name}
    created["StackStatus"] = "CREATE_COMPLETE"
    stubber.add_response("describe_stacks", {"Stacks": [created]})


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_creates_the_stages_stacks_from_the_projects_templates(stage_name: str):
    stage = Stage.load(stage_name)
    cloudformation, stubber = stubbed_cloudformation()
    no_stack_error(stubber, stage.stack_name)
    parameters = stage.stack_parameters(PACKAGE_ARN)
    # The registry's answer for the live package, with what the pipeline records on it.
    package = registered_package(PACKAGE_ARN)
    registry = boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    registry_stubber = Stubber(registry)
    if config.ARTIFACT_ACCOUNT:
        from {{ cookiecutter.package_name }}.deploy import artifacts

        # The stacks take the shared-artifact account's copies of the package.
        copies = artifacts.endpoint_parameters(package)
        assert copies["ModelDataUrl"].startswith(f"s3://{config.ARTIFACT_BUCKET}/")
        assert copies["ImageUri"].startswith(f"{config.ARTIFACT_ACCOUNT_ID}.dkr.ecr.")
        parameters = {**parameters, **copies}
        assert_accepted("endpoint.yaml", parameters)
        registry_stubber.add_response(
            "describe_model_package", package, {"ModelPackageName": PACKAGE_ARN}
        )
    stub_create(stubber, stage, stage.stack_name, stacks.ENDPOINT_TEMPLATE, parameters)
    expected = {stage.stack_name: "created"}
    if config.BATCH_TRANSFORM:
        from {{ cookiecutter.package_name }}.deploy import batch

        copied = parameters if config.ARTIFACT_ACCOUNT else None
        batch_parameters = batch.stack_parameters(
            stage.name, stage.batch_transform, PACKAGE_ARN, copied
        )
        assert_accepted("batch-transform.yaml", batch_parameters)
        template = stacks.BATCH_TEMPLATE
        stub_create(stubber, stage, stage.batch_stack_name, template, batch_parameters)
        expected[stage.batch_stack_name] = "created"
    if config.MODEL_MONITORING:
        from {{ cookiecutter.package_name }}.deploy import monitoring

        registry_stubber.add_response(
            "describe_model_package", package, {"ModelPackageName": PACKAGE_ARN}
        )
        monitoring_parameters = monitoring.stack_parameters(stage, package)
        reference = MONITOR_METADATA["monitor_reference"]
        if config.ARTIFACT_ACCOUNT:
            reference = f"s3://{config.ARTIFACT_BUCKET}/{config.PROJECT_SLUG}/7/reference/"
        assert monitoring_parameters["ReferenceUri"] == reference
        template = monitoring.TEMPLATE
        stub_create(stubber, stage, stage.monitoring_stack_name, template, monitoring_parameters)
        expected[stage.monitoring_stack_name] = "created"
    registry_stubber.activate()
    # CI runs the whole deploy command as the stage account's deployment role.
    with stubber, acting_as(f"deployment:{stage_name}"):
        outcomes = stacks.deploy(
            stage, PACKAGE_ARN, False, cloudformation, poll_seconds=0, sagemaker=registry
        )
    stubber.assert_no_pending_responses()
    registry_stubber.assert_no_pending_responses()
    assert outcomes == expected
