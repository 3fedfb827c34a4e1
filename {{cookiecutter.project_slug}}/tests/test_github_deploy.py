"""Deploy on approval with GitHub Actions: the approval rule of infra/github-deploy.yaml (this
group's approvals only) and its repository_dispatch, the deployer role that only the deploy
workflow's environments may assume and that may assume the stage accounts' deployment roles
and nothing else, and .github/workflows/deploy.yml: a job a stage of config.STAGES, production
getting the package staging deployed. (actionlint runs on the workflows in the template's own
tests.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from conftest import (
    APPROVAL_PATTERN,
    help_of,
    load_cloudformation,
    resources,
    split_assumes,
)

from {{ cookiecutter.package_name }} import arns, config
from {{ cookiecutter.package_name }}.deploy.stage import Stage

SLUG = config.PROJECT_SLUG
WORKFLOW = config.PROJECT_DIR / ".github" / "workflows" / "deploy.yml"
# The GitHub environment of each stage.
ENVIRONMENTS = {"staging": "staging", "prod": "production"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("github-deploy.yaml")


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def logical_name(reference: dict[str, Any]) -> str:
    """The resource a !GetAtt names (`Name.Arn`, as the loader reads the short form)."""
    target = reference["Fn::GetAtt"]
    return target.split(".")[0] if isinstance(target, str) else target[0]


def expression(text: str) -> str:
    """A GitHub expression as the workflow writes it."""
    return "$" + "{" + "{ " + text + " }" + "}"


def policy_of(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_only_this_groups_approvals_dispatch_the_deploy_workflow(template, flow):
    (rule,) = resources(template, "AWS::Events::Rule").values()
    assert rule["Name"] == f"{SLUG}-model-approved"
    assert rule["EventPattern"] == APPROVAL_PATTERN
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    destination = logical_name(target["Arn"])
    api = template["Resources"][destination]
    assert api["Type"] == "AWS::Events::ApiDestination"
    assert api["Properties"]["HttpMethod"] == "POST"
    assert api["Properties"]["InvocationEndpoint"] == {
        "Fn::Sub": "https://api.github.com/repos/${GitHubRepository}/dispatches"
    }
    # GitHub's body: the event type the workflow listens to, the approved package's ARN.
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"arn": "$.detail.ModelPackageArn"}
    event = {"detail": {"ModelPackageArn": "arn:aws:sagemaker:r:1:model-package/g/1"}}
    body = transformer["InputTemplate"].replace(
        "<arn>", json.dumps(event["detail"]["ModelPackageArn"])
    )
    payload = json.loads(body)
    assert payload["event_type"] in flow[True]["repository_dispatch"]["types"]
    assert payload["client_payload"] == {"model_package_arn": event["detail"]["ModelPackageArn"]}
    assert "github.event.client_payload.model_package_arn" in WORKFLOW.read_text(encoding="utf-8")
    # The rule's role may call that destination and do nothing else.
    role = template["Resources"][logical_name(target["RoleArn"])]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    (statement,) = policy_of(role)
    assert statement["Action"] == "events:InvokeApiDestination"
    assert statement["Resource"] == {"Fn::GetAtt": f"{destination}.Arn"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = logical_name(target["DeadLetterConfig"]["Arn"])
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"


def test_the_token_is_a_bearer_api_key_never_echoed(template):
    assert template["Parameters"]["GitHubToken"]["NoEcho"] is True
    (connection,) = resources(template, "AWS::Events::Connection").values()
    assert connection["AuthorizationType"] == "API_KEY"
    key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    assert key["ApiKeyName"] == "Authorization"
    assert key["ApiKeyValue"] == {"Fn::Sub": "Bearer ${GitHubToken}"}
    (api,) = resources(template, "AWS::Events::ApiDestination").values()
    assert api["ConnectionArn"] == {"Fn::GetAtt": "GitHubConnection.Arn"}


def test_only_the_deploy_environments_of_the_repository_may_assume_the_deployer(template, flow):
    role = resources(template, "AWS::IAM::Role")["DeployerRole"]
    assert role["RoleName"] == f"{SLUG}-deployer"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider = "oidc-provider/token.actions.githubusercontent.com"
    assert trust["Principal"]["Federated"]["Fn::Sub"].endswith(f":{provider}")
    assert set(trust["Condition"]) == {"StringEquals"}
    claims = trust["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = claims["token.actions.githubusercontent.com:sub"]
    assert subjects == [
        {"Fn::Sub": "repo:${GitHubRepository}:environment:" + ENVIRONMENTS[stage]}
        for stage in config.STAGES
    ]
    # ...which are the environments of the workflow's jobs.
    assert [job["environment"] for job in flow["jobs"].values()] == [
        ENVIRONMENTS[stage] for stage in config.STAGES
    ]
    # The role of the account the CI/CD runs in (operations, or tooling).
    deployer = f"arn:aws:iam::{config.OPERATIONS_ACCOUNT_ID}:role/{SLUG}-deployer"
    assert flow["env"]["AWS_ROLE_ARN"] == deployer


def test_the_deployer_may_assume_the_stage_deployment_roles_and_nothing_else(template):
    statements = policy_of(resources(template, "AWS::IAM::Role")["DeployerRole"])
    assume = split_assumes(statements)
    assert assume["Action"] == "sts:AssumeRole" and assume["Effect"] == "Allow"
    # In the stack's partition: the region's, as the deploy helper names the roles.
    assert {
        arn["Fn::Sub"].replace("${AWS::Partition}", arns.partition()) for arn in assume["Resource"]
    } == {Stage.load(stage).deployment_role_arn for stage in config.STAGES}
    assert len(assume["Resource"]) == len(set(config.STAGE_ACCOUNTS.values()))
    granted = set()
    for statement in statements:
        action = statement["Action"]
        granted |= {action} if isinstance(action, str) else set(action)
    # The registry is read as the deployer itself, or as the tooling account's operations role;
    # so is the package's model card approved (deploy/model_card.py), and with a shared-artifact
    # account `deploy publish`'s copies made (held by tests/test_artifact_account.py).
    reads = {"sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"}
    reads |= {"sagemaker:UpdateModelPackage"} if config.MODEL_CARD else set()
    published = {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "kms:Decrypt"}
    reads |= published | {"kms:GenerateDataKey"} if config.ARTIFACT_ACCOUNT else set()
    assert granted == {"sts:AssumeRole"} | (set() if config.OPERATIONS_ACCOUNT else reads)
    for action in ("sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"):
        for statement in [s for s in statements if s["Action"] == action]:
            assert statement["Resource"]["Fn::Sub"].endswith(
                f":model-package/{config.MODEL_PACKAGE_GROUP}/*"
            )


def test_a_job_a_stage_production_gets_what_staging_deployed(flow):
    assert set(flow[True]) == {"repository_dispatch", "workflow_dispatch"}
    assert flow[True]["repository_dispatch"]["types"] == ["model-approved"]
    assert "model_package_arn" in flow[True]["workflow_dispatch"]["inputs"]
    assert flow["permissions"] == {"contents": "read", "id-token": "write"}
    assert flow["concurrency"]["cancel-in-progress"] is False
    jobs = flow["jobs"]
    assert list(jobs) == config.STAGES
    previous = None
    for stage, job in jobs.items():
        assert job["env"]["STAGE"] == stage
        assert job["env"]["DEPLOYMENT_ROLE_ARN"] == Stage.load(stage).deployment_role_arn
        assert job["outputs"]["model_package_arn"] == expression(
            "steps.deploy.outputs.model_package_arn"
        )
        if previous is None:
            assert "needs" not in job
            assert "client_payload.model_package_arn" in job["env"]["REQUESTED_ARN"]
        else:
            assert job["needs"] == previous
            assert job["env"]["REQUESTED_ARN"] == expression(
                f"needs.{previous}.outputs.model_package_arn"
            )
        previous = stage


def test_each_job_deploys_as_the_deployer_then_smoke_tests_as_the_deployment_role(flow):
    train = yaml.safe_load((WORKFLOW.parent / "train.yml").read_text(encoding="utf-8"))
    pinned = {step["uses"] for step in train["jobs"]["train"]["steps"] if "uses" in step}
    for job in flow["jobs"].values():
        steps = job["steps"]
        uses = [step["uses"] for step in steps if "uses" in step]
        # The same pinned actions as the training workflow.
        assert set(uses) <= pinned, set(uses) - pinned
        credentials = [s for s in steps if s.get("uses", "").startswith("aws-actions/configure")]
        deployer, deployment = credentials
        assert deployer["with"]["role-to-assume"] == expression("env.AWS_ROLE_ARN")
        assert deployment["with"]["role-to-assume"] == expression("env.DEPLOYMENT_ROLE_ARN")
        assert deployment["with"]["role-chaining"] is True
        # The deployment role trusts sts:AssumeRole only, without session tags.
        assert deployment["with"]["role-skip-session-tagging"] is True
        runs = [step.get("run", "") for step in steps]
        (deploy,) = [i for i, step in enumerate(steps) if step.get("id") == "deploy"]
        smoke_test = 'python -m "$PACKAGE.deploy" smoke-test'
        (smoke,) = [i for i, run in enumerate(runs) if smoke_test in run]
        assert steps.index(deployer) < deploy < steps.index(deployment) < smoke
        assert 'deploy --stage "$STAGE" --model-package-arn' in runs[deploy]
        assert "model_package_arn=" in runs[deploy] and "$GITHUB_OUTPUT" in runs[deploy]
    assert flow["env"]["PACKAGE"] == config.__package__


def test_the_workflow_calls_what_exists(flow):
    text = WORKFLOW.read_text(encoding="utf-8")
    buildspecs = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (config.PROJECT_DIR / "buildspecs").glob("*.yml")
    )
    assert set(re.findall(r"uv==([0-9.]+)", text)) == set(re.findall(r"uv==([0-9.]+)", buildspecs))
    called = set(re.findall(r'-m "\$PACKAGE\.deploy"\s+(?:\\\s+)?([a-z-]+)', text))
    assert called == {"latest", "deploy", "smoke-test"} | (
        {"publish"} if config.ARTIFACT_ACCOUNT else set()
    )
    from {{ cookiecutter.package_name }}.deploy.__main__ import main as deploy_main

    for command in called:
        listed = help_of(deploy_main, command)
        if command not in ("latest", "publish"):
            assert "--stage" in listed
    assert "--model-package-arn" in help_of(deploy_main, "deploy")
    groups = re.findall(r"--group ([a-z]+)", text)
    assert groups == ["deploy"] * len(config.STAGES)
    # A package of the workflow's pattern is one of the group's; another group's is not.
    pattern = re.compile(flow["env"]["PACKAGE_ARN_PATTERN"])
    ours = f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:model-package/{SLUG}/3"
    assert pattern.match(ours)
    assert not pattern.match(ours.replace(f"/{SLUG}/", f"/{SLUG}-other/"))
