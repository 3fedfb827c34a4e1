"""The execution role in infra/pipeline-role.yaml against what uses it: the permissions the
SageMaker SDK simulates on it while it builds the pipeline, and the names of the jobs, objects
and model packages the pipeline makes. No action is `*`, and a resource is `*` only where the
action takes no other."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }} import config

TEMPLATE = config.PROJECT_DIR / "infra" / "pipeline-role.yaml"
PARTITION = "aws"
# Statements whose resource is `*`, each because its actions cannot be scoped to a resource.
WILDCARD_RESOURCE_STATEMENTS = {"SdkValidatedJobBasics", "FindModelPackages"}


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Sub, !Ref, ...) read as {"Fn::Sub": ...}."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormationLoader)


def substitute(value: Any, template: dict[str, Any]) -> Any:
    """A resource as it is deployed with the default parameters and a KMS key given."""
    parameters = {name: spec.get("Default", "") for name, spec in template["Parameters"].items()}
    parameters["KmsKeyArn"] = f"arn:aws:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:key/k"
    known = {
        "AWS::Partition": PARTITION,
        "AWS::Region": config.AWS_REGION,
        "AWS::AccountId": config.AWS_ACCOUNT_ID,
        **parameters,
    }
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [substitute(item, template) for item in value]
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, replacement in known.items():
            text = text.replace("${" + name + "}", replacement)
        assert "${" not in text, text
        return text
    if "Ref" in value:
        return known[value["Ref"]]
    if value == {"Fn::GetAtt": "ExecutionRole.Arn"}:
        return config.EXECUTION_ROLE_ARN
    raise AssertionError(f"unexpected intrinsic {value}")


def statements(template: dict[str, Any], policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements, conditional ones (!If HasKmsKey) included."""
    found = []
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            statement = statement["Fn::If"][1]
        resources = substitute(statement["Resource"], template)
        actions = statement["Action"]
        found.append(
            {
                **statement,
                "Action": [actions] if isinstance(actions, str) else actions,
                "Resource": [resources] if isinstance(resources, str) else resources,
            }
        )
    return found


@pytest.fixture(scope="module")
def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = template["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    return statements(template, policy["PolicyDocument"])


@pytest.fixture(scope="module")
def operator_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policy = template["Resources"]["PipelineOperatorPolicy"]["Properties"]["PolicyDocument"]
    return statements(template, policy)


def allows(
    found: list[dict[str, Any]], action: str, resource: str = "*", conditional: bool = False
) -> bool:
    """Whether an Allow statement grants `action` on `resource`. By default only statements
    without a condition count, as IAM's policy simulator evaluates a request that names no
    resource and no context (resource `*`)."""
    return any(
        statement["Effect"] == "Allow"
        and (conditional or "Condition" not in statement)
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in statement["Action"])
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in statement["Resource"])
        for statement in found
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("role_type", ["training", "serving", "pipeline"])
def test_the_role_has_what_the_sdk_checks_while_building_the_pipeline(
    template, role_statements, role_type
):
    """ModelTrainer (training), ModelBuilder (serving) and Pipeline.upsert (pipeline) each
    simulate these actions on the role and refuse to go on if one is denied."""
    from sagemaker.core.helper import iam_role_resolver

    simulated = iam_role_resolver._get_smoke_test_actions(role_type)
    assert [action for action in simulated if not allows(role_statements, action)] == []
    trusted = template["Resources"]["ExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
    principals = {s["Principal"]["Service"] for s in trusted["Statement"]}
    assert iam_role_resolver._expected_trust_services(role_type) <= principals


def test_no_action_is_a_wildcard_and_few_resources_are(role_statements, operator_statements):
    for statement in [*role_statements, *operator_statements]:
        assert all(action != "*" and not action.endswith(":*") for action in statement["Action"])
    everything = {
        s["Sid"] for s in [*role_statements, *operator_statements] if "*" in s["Resource"]
    }
    assert everything == WILDCARD_RESOURCE_STATEMENTS


def test_the_role_covers_what_the_pipeline_makes(role_statements):
    arn = f"arn:{PARTITION}:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
    bucket = f"arn:{PARTITION}:s3:::{config.DEFAULT_BUCKET}"
    needed = {
        # Pipelines names the jobs it starts.
        "sagemaker:CreateProcessingJob": f"{arn}:processing-job/pipelines-a1b2c3-Preprocess-x",
        "sagemaker:CreateTrainingJob": f"{arn}:training-job/pipelines-a1b2c3-Train-x",
        "sagemaker:DescribeTrainingJob": f"{arn}:training-job/pipelines-a1b2c3-Train-x",
        "sagemaker:CreateModelPackage": f"{arn}:model-package/{config.MODEL_PACKAGE_GROUP}/1",
        "sagemaker:DescribeModelPackage": f"{arn}:model-package/{config.MODEL_PACKAGE_GROUP}/1",
        "sagemaker:ListModelPackages": "*",
        "s3:GetObject": f"{bucket}/{config.PROJECT_SLUG}/data/abc/data.csv",
        "s3:PutObject": f"{bucket}/{config.PIPELINE_NAME}/execution-id/Preprocess/train/train.csv",
        "s3:ListBucketVersions": bucket,
        "iam:PassRole": config.EXECUTION_ROLE_ARN,
        "kms:GenerateDataKey": f"arn:aws:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:key/k",
    }
    denied = {
        action: resource
        for action, resource in needed.items()
        if not allows(role_statements, action, resource, conditional=True)
    }
    assert denied == {}
    # Jobs are the project's by the project tag that the pipeline puts on every job.
    from {{ cookiecutter.package_name }} import lineage

    (project,) = [t["Value"] for t in lineage.tags(lineage.git_state()) if t["Key"] == "project"]
    for statement in role_statements:
        if any(action.endswith("Job") for action in statement["Action"]):
            (tagged,) = statement["Condition"]["StringEquals"].values()
            assert tagged == project, statement["Sid"]
    # PassRole only to SageMaker, and only this role.
    (statement,) = [s for s in role_statements if "iam:PassRole" in s["Action"]]
    assert statement["Resource"] == [config.EXECUTION_ROLE_ARN]
    passed_to = statement["Condition"]["StringEquals"]["iam:PassedToService"]
    assert passed_to == "sagemaker.amazonaws.com"


def test_the_operator_may_upsert_start_and_pin_the_image(operator_statements):
    arn = f"arn:{PARTITION}:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
    pipeline = f"{arn}:pipeline/{config.PIPELINE_NAME}"
    for action in ("sagemaker:CreatePipeline", "sagemaker:UpdatePipeline"):
        assert allows(operator_statements, action, pipeline), action
    assert allows(operator_statements, "sagemaker:StartPipelineExecution", pipeline)
    assert allows(operator_statements, "iam:PassRole", config.EXECUTION_ROLE_ARN, conditional=True)
    assert allows(operator_statements, "iam:SimulatePrincipalPolicy", config.EXECUTION_ROLE_ARN)
    image = f"arn:{PARTITION}:ecr:{config.AWS_REGION}:141502667606:repository/sagemaker-xgboost"
    assert allows(operator_statements, "ecr:BatchGetImage", image)
    code = f"arn:{PARTITION}:s3:::{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}/code/abc/x.py"
    assert allows(operator_statements, "s3:PutObject", code)
