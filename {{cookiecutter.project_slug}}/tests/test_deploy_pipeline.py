"""The deploy pipeline, infra/deploy-pipeline.yaml: the approval rule that starts it (this group's
approvals only), its stages in config.STAGES' order, the package production gets, the builds'
buildspecs, and a deployer that may assume the stage accounts' deployment roles and nothing
else. (cfn-lint and checkov run on it in the template's own tests.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from conftest import APPROVAL_PATTERN, load_cloudformation, resources, split_assumes

from {{ cookiecutter.package_name }} import arns, config
from {{ cookiecutter.package_name }}.deploy.stage import Stage

SLUG = config.PROJECT_SLUG


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("deploy-pipeline.yaml")


@pytest.fixture(scope="module")
def pipeline(template) -> dict[str, Any]:
    (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
    return pipeline


def logical_name(reference: dict[str, Any]) -> str:
    """The resource a !GetAtt names (`Name.Arn`, as the loader reads the short form)."""
    target = reference["Fn::GetAtt"]
    return target.split(".")[0] if isinstance(target, str) else target[0]


def buildspec(path: str) -> dict[str, Any]:
    return yaml.safe_load((config.PROJECT_DIR / path).read_text(encoding="utf-8"))


def actions(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action after the source, in the order they run."""
    ordered = []
    for stage in pipeline["Stages"][1:]:
        ordered += sorted(stage["Actions"], key=lambda action: action.get("RunOrder", 1))
    return ordered


def variables(action: dict[str, Any]) -> dict[str, str]:
    text = action["Configuration"]["EnvironmentVariables"]
    if isinstance(text, dict):
        # A role ARN in the stack's partition: the region's.
        text = text["Fn::Sub"].replace("${AWS::Partition}", arns.partition())
        assert "${" not in text
    listed = json.loads(text)
    assert {v["type"] for v in listed} == {"PLAINTEXT"}
    return {v["name"]: v["value"] for v in listed}


def variable(action: dict[str, Any], name: str) -> str:
    """How a later action names a variable the action exported."""
    return "#" + "{" + action["Namespace"] + "." + name + "}"


def test_only_this_groups_approvals_start_the_pipeline(template, pipeline):
    (rule,) = resources(template, "AWS::Events::Rule").values()
    assert rule["Name"] == f"{SLUG}-model-approved"
    assert rule["EventPattern"] == APPROVAL_PATTERN
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    arn = "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}"
    assert target["Arn"] == {"Fn::Sub": arn}
    assert pipeline["Name"] == f"{SLUG}-deploy"
    # The rule's role may start that pipeline and do nothing else.
    role = template["Resources"][logical_name(target["RoleArn"])]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "codepipeline:StartPipelineExecution"
    assert statement["Resource"] == {"Fn::Sub": arn}
    # What could not be delivered after the retries is kept.
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = logical_name(target["DeadLetterConfig"]["Arn"])
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"


def test_the_pipeline_starts_on_approval_only(pipeline):
    assert pipeline["PipelineType"] == "V2"
    assert pipeline["ExecutionMode"] in ("QUEUED", "SUPERSEDED")
    (source,) = pipeline["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["DetectChanges"] == "false"


def test_stages_deploy_and_test_in_order_with_approval_before_production(pipeline, template):
    projects = resources(template, "AWS::CodeBuild::Project")
    names = {logical: project["Name"] for logical, project in projects.items()}
    expected = []
    for stage in config.STAGES:
        expected += [(f"{SLUG}-deploy", stage), (f"{SLUG}-smoke-test", stage)]
        if stage != config.STAGES[-1]:
            expected.append(("approval", stage))
    ran = []
    for action in actions(pipeline):
        if action["ActionTypeId"]["Category"] == "Approval":
            assert action["ActionTypeId"]["Provider"] == "Manual"
            ran.append(("approval", ran[-1][1]))
            continue
        assert action["ActionTypeId"]["Provider"] == "CodeBuild"
        project = names[action["Configuration"]["ProjectName"]["Ref"]]
        ran.append((project, variables(action)["STAGE"]))
    assert ran == expected
    assert config.STAGES[-1] == "prod"


def test_each_stage_runs_as_its_accounts_deployment_role(pipeline):
    for action in actions(pipeline):
        if action["ActionTypeId"]["Category"] == "Approval":
            continue
        given = variables(action)
        stage = Stage.load(given["STAGE"])
        assert given["DEPLOYMENT_ROLE_ARN"] == stage.deployment_role_arn


def test_production_deploys_the_package_staging_deployed(pipeline):
    deploys = [a for a in actions(pipeline) if a["ActionTypeId"]["Category"] == "Build"]
    assert [variables(action)["STAGE"] for action in deploys] == config.STAGES
    exported = buildspec("buildspecs/deploy.yml")["env"]["exported-variables"]
    assert exported == ["MODEL_PACKAGE_ARN"]
    first, *later = deploys
    # The first stage takes the newest Approved package.
    assert "MODEL_PACKAGE_ARN" not in variables(first)
    previous = first
    for action in later:
        assert variables(action)["MODEL_PACKAGE_ARN"] == variable(previous, "MODEL_PACKAGE_ARN")
        previous = action
    approvals = [a for a in actions(pipeline) if a["ActionTypeId"]["Category"] == "Approval"]
    assert len(approvals) == len(config.STAGES) - 1
    for approval in approvals:
        message = approval["Configuration"]["CustomData"]
        assert variable(first, "MODEL_PACKAGE_ARN") in message
        assert f"{SLUG}-staging" in message
        assert len(message) <= 500  # CodePipeline's limit


def test_the_builds_run_buildspecs_of_this_repository(template):
    projects = resources(template, "AWS::CodeBuild::Project")
    assert {p["Name"]: p["Source"]["BuildSpec"] for p in projects.values()} == {
        f"{SLUG}-deploy": "buildspecs/deploy.yml",
        f"{SLUG}-smoke-test": "buildspecs/smoke-test.yml",
    }
    for project in projects.values():
        assert buildspec(project["Source"]["BuildSpec"])["version"] == 0.2
        assert project["ServiceRole"] == {"Fn::GetAtt": "DeployerRole.Arn"}
    commands = {
        name: "\n".join(
            command
            for phase in buildspec(f"buildspecs/{name}.yml")["phases"].values()
            for command in phase.get("commands", [])
        )
        for name in ("deploy", "smoke-test")
    }
    module = f"-m {config.__package__}.deploy"
    assert f"{module} latest" in commands["deploy"]
    assert "AWS_PROFILE=deployment" in commands["deploy"]
    assert f"{module} deploy --stage" in commands["deploy"]
    smoke_test = f"AWS_PROFILE=deployment uv run --no-sync python {module} smoke-test"
    assert smoke_test in commands["smoke-test"]
    for text in commands.values():
        assert "credential_source EcsContainer" in text and "$DEPLOYMENT_ROLE_ARN" in text


def test_the_deployer_may_assume_the_stage_deployment_roles_and_nothing_else(template):
    role = resources(template, "AWS::IAM::Role")["DeployerRole"]
    assert role["RoleName"] == f"{SLUG}-deployer"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assume = split_assumes(statements)
    assert assume["Action"] == "sts:AssumeRole" and assume["Effect"] == "Allow"
    # In the stack's partition: the region's, as the deploy helper names the roles.
    assert {
        arn["Fn::Sub"].replace("${AWS::Partition}", arns.partition()) for arn in assume["Resource"]
    } == {Stage.load(stage).deployment_role_arn for stage in config.STAGES}
    assert len(assume["Resource"]) == len(set(config.STAGE_ACCOUNTS.values()))
    # Reading the registry: this group's packages (listing takes no resource).
    described = [s for s in statements if s["Action"] == "sagemaker:DescribeModelPackage"]
    for describe in described:
        assert describe["Resource"]["Fn::Sub"].endswith(
            f":model-package/{config.MODEL_PACKAGE_GROUP}/*"
        )
    assert len(described) == int(not config.OPERATIONS_ACCOUNT)
    actions_granted = set()
    for statement in statements:
        granted = statement["Action"]
        actions_granted |= {granted} if isinstance(granted, str) else set(granted)
    assert not any(action.endswith("*") for action in actions_granted)
    # With the model card: approving the package's card (deploy/model_card.py), as the
    # deployer itself or the tooling account's operations role.
    card = {"sagemaker:UpdateModelPackage"} if config.MODEL_CARD else set()
    card -= {"sagemaker:UpdateModelPackage"} if config.OPERATIONS_ACCOUNT else set()
    assert not {a for a in actions_granted if a.startswith("sagemaker:")} - {
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        *card,
    }
    for action in card:
        (statement,) = [s for s in statements if s["Action"] == action]
        assert statement["Resource"]["Fn::Sub"].endswith(
            f":model-package/{config.MODEL_PACKAGE_GROUP}/*"
        )
