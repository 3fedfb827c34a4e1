"""The CI/CD in an operations account of its own: every grant across its border, held on both
sides by the permission checks (tests/policies.py): the identity policy in the calling account
and the trust or bus policy in the other. The operations account's CI roles reach the tooling
account through its operations role alone, its deployer is the one the stage accounts trust, and
the tooling account's approvals reach its event bus and start the deploy there."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from aws_calls import RECORDER
from conftest import APPROVAL_PATTERN
from moto.events.models import EventPattern
from policies import Request, Role, Stack, evaluate, project_stacks

from {{ cookiecutter.package_name }} import arns, config
from {{ cookiecutter.package_name }}.deploy import bootstrap, stacks
from {{ cookiecutter.package_name }}.deploy.stage import Stage

SLUG = config.PROJECT_SLUG
TOOLING = config.AWS_ACCOUNT_ID
OPERATIONS = config.OPERATIONS_ACCOUNT_ID
TOOLING_ROLE = arns.role_arn(TOOLING, config.OPERATIONS_ROLE)
OPERATIONS_BUS = f"arn:{arns.partition()}:events:{config.AWS_REGION}:{OPERATIONS}:event-bus/default"
# The operations account's roles that act in the tooling account, by CI system: the builds that
# push the images and run the pipeline (or the training workflow's role), and the deployer
# (`deploy latest` reads the registry).
CI_ROLES = {
    "codepipeline": (
        ("cicd.yaml", "BuildImagesRole"),
        ("cicd.yaml", "RunPipelineRole"),
        ("deploy-pipeline.yaml", "DeployerRole"),
    ),
    "github_actions": (
        ("github-oidc.yaml", "GitHubActionsRole"),
        ("github-deploy.yaml", "DeployerRole"),
    ),
}[config.CI_SYSTEM]
# A SageMaker approval as EventBridge delivers it in the tooling account.
PACKAGE = f"arn:aws:sagemaker:{config.AWS_REGION}:{TOOLING}:model-package/{SLUG}/3"
APPROVAL_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "SageMaker Model Package State Change",
    "source": "aws.sagemaker",
    "account": TOOLING,
    "time": "2026-12-01T10:00:00Z",
    "region": config.AWS_REGION,
    "resources": [PACKAGE],
    "detail": {
        "ModelPackageGroupName": SLUG,
        "ModelPackageVersion": 3,
        "ModelPackageArn": PACKAGE,
        "ModelApprovalStatus": "Approved",
    },
}


def request(principal: Role, action: str, resource: str, **context: Any) -> Request:
    """A request as AWS sees it from the principal, with the keys EventBridge adds."""
    return Request(
        principal,
        action,
        resource,
        {"aws:PrincipalArn": principal.arn, "aws:PrincipalAccount": principal.account, **context},
    )


def may(principal: Role, action: str, resource: str, **context: Any) -> bool:
    return evaluate(request(principal, action, resource, **context)).allowed


def allowed_everything(arn: str) -> Role:
    """A role whose own policy allows every action: only the other side's policy can stop it."""
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    return Role(arn, "a role allowed everything", ({"Statement": [statement]},))


def stack(template: str, account: str) -> Stack:
    return project_stacks().stack(template, account)


def test_the_ci_stacks_go_to_the_operations_account_and_import_from_its_base():
    plan = {(step.template, step.account) for step in bootstrap.steps()}
    for template, _ in bootstrap.CI_STACKS[config.CI_SYSTEM]:
        assert (f"infra/{template}", OPERATIONS) in plan
        assert f"infra/{template}" not in {t for t, account in plan if account == TOOLING}
        parameters = stack(template, OPERATIONS).parameters
        assert parameters.get("BaseStackName", f"{SLUG}-operations") == f"{SLUG}-operations"
    assert ("infra/operations-account.yaml", OPERATIONS) in plan
    assert ("infra/operations-access.yaml", TOOLING) in plan
    # Every role resolves: each import of an operations stack is an export of that account's.
    roles = project_stacks().roles
    assert {arn for arn in roles if f":{OPERATIONS}:" in arn}


@pytest.mark.parametrize("ci_role", CI_ROLES, ids="/".join)
def test_each_ci_role_that_acts_in_tooling_may_assume_the_operations_role(ci_role):
    role = project_stacks().role_of(*ci_role)
    assert role.account == OPERATIONS
    assert may(role, "sts:AssumeRole", TOOLING_ROLE)
    # Both sides decide: the same role without its own policy is refused.
    assert not may(Role(role.arn, role.where, ()), "sts:AssumeRole", TOOLING_ROLE)


def test_no_other_role_may_assume_the_operations_role():
    stacks_ = project_stacks()
    ci = {stacks_.role_of(*ci_role).arn for ci_role in CI_ROLES}
    others = [arn for arn in stacks_.roles if arn not in ci]
    assert others
    for arn in others:
        assert not may(allowed_everything(arn), "sts:AssumeRole", TOOLING_ROLE), arn
    # Nor a role of another account by a CI role's name.
    for account in {TOOLING, *config.STAGE_ACCOUNTS.values()}:
        impostor = allowed_everything(arns.role_arn(account, f"{SLUG}-deployer"))
        assert not may(impostor, "sts:AssumeRole", TOOLING_ROLE)


def test_the_operations_role_does_what_the_ci_steps_do_in_tooling_and_no_more():
    role = project_stacks().role(TOOLING_ROLE)
    group = f"arn:{arns.partition()}:sagemaker:{config.AWS_REGION}:{TOOLING}"
    pipeline = f"{group}:pipeline/{config.PIPELINE_NAME.lower()}"
    repository = f"arn:{arns.partition()}:ecr:{config.AWS_REGION}:{TOOLING}:repository"
    for action, resource in [
        ("sagemaker:StartPipelineExecution", pipeline),
        ("sagemaker:DescribeModelPackage", f"{group}:model-package/{SLUG}/1"),
        ("sagemaker:ListModelPackages", "*"),
        ("ecr:PutImage", f"{repository}/{config.STEPS_IMAGE_REPOSITORY}"),
    ]:
        assert may(role, action, resource), action
    # Approving a package's model card (deploy/model_card.py) only where the project has one.
    update = ("sagemaker:UpdateModelPackage", f"{group}:model-package/{SLUG}/1")
    assert may(role, *update) == config.MODEL_CARD
    for action, resource in [
        ("sagemaker:UpdateModelPackage", f"{group}:model-package/another-project/1"),
        ("sts:AssumeRole", Stage.load(config.STAGES[-1]).deployment_role_arn),
        ("ecr:PutImage", f"{repository}/another-project"),
    ]:
        assert not may(role, action, resource), action


def test_the_stage_accounts_trust_the_operations_deployer_only():
    deployer = project_stacks().role_of(CI_ROLES[-1][0], "DeployerRole")
    assert deployer.arn == arns.role_arn(OPERATIONS, f"{SLUG}-deployer")
    impostor = allowed_everything(arns.role_arn(TOOLING, f"{SLUG}-deployer"))
    for stage in config.STAGES:
        deployment = Stage.load(stage).deployment_role_arn
        assert may(deployer, "sts:AssumeRole", deployment), stage
        assert not may(Role(deployer.arn, deployer.where, ()), "sts:AssumeRole", deployment)
        assert not may(impostor, "sts:AssumeRole", deployment), stage


def forwarding() -> tuple[dict[str, Any], dict[str, Any]]:
    """The tooling account's rule that forwards the approvals, and its target, resolved."""
    access = stack("operations-access.yaml", TOOLING)
    rule = access.body["Resources"]["ForwardApprovals"]["Properties"]
    (target,) = access.resolve(rule["Targets"])
    return rule, target


def test_the_approvals_reach_the_operations_bus_as_the_forwarder_only():
    _, target = forwarding()
    assert target["Arn"] == OPERATIONS_BUS
    forwarder = project_stacks().role(target["RoleArn"])
    assert forwarder.account == TOOLING
    approval = {
        "events:source": "aws.sagemaker",
        "events:detail-type": "SageMaker Model Package State Change",
    }
    assert may(forwarder, "events:PutEvents", OPERATIONS_BUS, **approval)
    # The bus's policy decides too: another event, or another role of the tooling account
    # (however much its own policy allows), is refused.
    other = {**approval, "events:source": "aws.s3"}
    assert not may(forwarder, "events:PutEvents", OPERATIONS_BUS, **other)
    execution = allowed_everything(arns.EXECUTION_ROLE_ARN)
    assert not may(execution, "events:PutEvents", OPERATIONS_BUS, **approval)
    # And the forwarder's own policy: without it, the bus's grant is not enough.
    assert not may(Role(forwarder.arn, forwarder.where, ()), "events:PutEvents", OPERATIONS_BUS)


def test_an_approval_in_tooling_starts_the_deploy_in_operations():
    """The event SageMaker emits matches the tooling account's forwarding rule and, forwarded
    unchanged, the deploy rule of the operations account (matched as moto's EventBridge matches
    the events put on a bus);
    another group's approval or a rejection matches neither."""
    rule, _ = forwarding()
    # The CI system's second stack deploys on approval (bootstrap.CI_STACKS).
    deploy_stack = stack(bootstrap.CI_STACKS[config.CI_SYSTEM][1][0], OPERATIONS)
    deploy_rule = deploy_stack.body["Resources"]["ModelApproved"]["Properties"]
    assert deploy_rule["EventPattern"] == APPROVAL_PATTERN
    rejected = json.loads(json.dumps(APPROVAL_EVENT))
    rejected["detail"]["ModelApprovalStatus"] = "Rejected"
    elsewhere = {**APPROVAL_EVENT, "account": OPERATIONS}
    for pattern in (rule["EventPattern"], deploy_rule["EventPattern"]):

        def matches(event: dict[str, Any], pattern: dict[str, Any] = pattern) -> bool:
            return EventPattern.load(json.dumps(pattern)).matches_event(event)

        assert matches(APPROVAL_EVENT)
        assert not matches(rejected)
    assert not matches(elsewhere)


@pytest.mark.principal("deployer")
def test_the_deploy_helper_reads_the_registry_as_the_operations_role(aws):
    """`deploy latest` as the operations account's deployer: it assumes the tooling account's
    operations role (held by the checks: the deployer's policy, the role's trust) and lists the
    registry as that role."""
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=config.MODEL_PACKAGE_GROUP)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=config.MODEL_PACKAGE_GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "serve"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    assert stacks.latest_approved(stacks.tooling_session()) == arn
    made = [(call.operation, call.principal.arn) for call in RECORDER.calls if call.principal]
    deployer = arns.role_arn(OPERATIONS, f"{SLUG}-deployer")
    assert ("AssumeRole", deployer) in made
    assert ("ListModelPackages", TOOLING_ROLE) in made
    assert not [op for op, who in made if op.endswith("ModelPackages") and who == deployer]


def test_the_training_ci_acts_in_tooling_as_the_operations_role():
    """Each CI step that pushes the images or runs the pipeline names the tooling account's
    operations role, and runs as a role allowed to assume it."""
    if config.CI_SYSTEM == "codepipeline":
        cicd = stack("cicd.yaml", OPERATIONS)
        projects = {
            logical: cicd.resolve(properties)
            for logical, properties in cicd.resources("AWS::CodeBuild::Project")
        }
        for logical in ("BuildImagesProject", "RunPipelineProject"):
            project = projects[logical]
            listed = project["Environment"]["EnvironmentVariables"]
            variables = {v["Name"]: v["Value"] for v in listed}
            assert variables["TOOLING_ROLE_ARN"] == TOOLING_ROLE
            service_role = project_stacks().role(project["ServiceRole"])
            assert may(service_role, "sts:AssumeRole", TOOLING_ROLE), logical
        for buildspec in ("build-images.yml", "run-pipeline.yml"):
            text = (config.PROJECT_DIR / "buildspecs" / buildspec).read_text(encoding="utf-8")
            assert 'aws configure set role_arn "$TOOLING_ROLE_ARN" --profile tooling' in text
            assert "export AWS_PROFILE=tooling" in text
        return
    workflow = yaml.safe_load(
        (config.PROJECT_DIR / ".github" / "workflows" / "train.yml").read_text(encoding="utf-8")
    )
    assert workflow["env"]["TOOLING_ROLE_ARN"] == TOOLING_ROLE
    github = project_stacks().role(workflow["env"]["AWS_ROLE_ARN"])
    assert may(github, "sts:AssumeRole", TOOLING_ROLE)
    chained = [
        step
        for step in workflow["jobs"]["train"]["steps"]
        if step.get("with", {}).get("role-chaining")
    ]
    assert [step["with"]["role-to-assume"] for step in chained] == [
        "${" + "{ env.TOOLING_ROLE_ARN }}"
    ]
