"""Who may do what across the accounts. infra/deployment-account.yaml makes the roles of each
account that runs endpoints; infra/base.yaml's key, bucket, inference image and model package
group let exactly those roles read what the tooling account holds. Nothing in a stage account
trusts anyone but the tooling account's deployer and AWS services acting for that account, and
nothing that data scientists run as in the tooling account may assume the deployer or pass a
role into a stage account: so no data-scientist role can write to staging or production.
(The deployer's own trust is tested with the CI system's deploy stack.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import load_cloudformation, resources
from policies import project_stacks

from {{ cookiecutter.package_name }} import config

SLUG = config.PROJECT_SLUG
TOOLING = config.AWS_ACCOUNT_ID
STAGE_ACCOUNTS = sorted(set(config.STAGE_ACCOUNTS.values()))
# The account the CI/CD runs in, whose deployer deploys: operations, or tooling.
CI_ACCOUNT = config.OPERATIONS_ACCOUNT_ID
DEPLOYER = f"arn:aws:iam::{CI_ACCOUNT}:role/{SLUG}-deployer"
# Role policy statements whose resource is `*`, each because its actions take no other.
WILDCARD_RESOURCE_STATEMENTS = {
    "TakeNoResource",
    "DescribeScalingTargetsAndPolicies",
    # cloudwatch:PutMetricData, limited to the monitor's namespace by a condition.
    "PublishTheViolations",
}
PULL = {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


def in_stage(value: Any) -> Any:
    """value as the stage account's stack resolves it (tests/policies.py)."""
    return project_stacks().stack("deployment-account.yaml", STAGE_ACCOUNTS[0]).resolve(value)


def in_tooling(value: Any) -> Any:
    """value as the tooling account's base stack resolves it (tests/policies.py)."""
    return project_stacks().stack("base.yaml", TOOLING).resolve(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def stage_stack() -> dict[str, Any]:
    return load_cloudformation("deployment-account.yaml")


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return load_cloudformation("base.yaml")


@pytest.fixture(scope="module")
def stage_roles(stage_stack) -> dict[str, dict[str, Any]]:
    """The stage stack's roles by name."""
    return {
        in_stage(role["RoleName"]).removeprefix(f"{SLUG}-"): role
        for role in resources(stage_stack, "AWS::IAM::Role").values()
    }


def trusted(role: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(principal kind, principal, condition) of every statement of a role's trust policy."""
    found = []
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
        for kind, principals in statement["Principal"].items():
            for principal in as_list(in_stage(principals)):
                found.append((kind, principal, in_stage(statement.get("Condition", {}))))
    return found


def test_only_the_ci_accounts_deployer_may_assume_the_deployment_role(stage_roles) -> None:
    assert trusted(stage_roles["deployment"]) == [
        ("AWS", f"arn:aws:iam::{CI_ACCOUNT}:root", {"ArnEquals": {"aws:PrincipalArn": DEPLOYER}})
    ]


def test_every_other_stage_role_is_for_one_service_acting_for_its_own_account(
    stage_roles,
) -> None:
    services = {}
    for name, role in stage_roles.items():
        if name == "deployment":
            continue
        (kind, principal, condition), *others = trusted(role)
        assert not others and kind == "Service", name
        # The confused-deputy guard: the service acting for this account only.
        assert condition == {"StringEquals": {"aws:SourceAccount": STAGE_ACCOUNTS[0]}}
        services[name] = principal
    assert services["cloudformation"] == "cloudformation.amazonaws.com"
    assert services["endpoint"] == "sagemaker.amazonaws.com"
    if config.MODEL_MONITORING:
        assert services["monitor"] == "sagemaker.amazonaws.com"


def test_no_stage_role_has_a_wildcard_action_and_few_have_a_wildcard_resource(
    stage_roles,
) -> None:
    for name, role in stage_roles.items():
        for policy in role["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow", (name, statement)
                for action in as_list(statement["Action"]):
                    assert "*" not in action, (name, statement["Sid"], action)
                if "*" in as_list(statement["Resource"]):
                    assert statement["Sid"] in WILDCARD_RESOURCE_STATEMENTS, (name, statement)


def test_no_tooling_role_that_data_scientists_use_reaches_a_stage_account(base) -> None:
    """The pipeline's execution role and the operator's policy: no sts:AssumeRole at all, and
    iam:PassRole only of the execution role."""
    documents = [
        policy["PolicyDocument"]
        for role in resources(base, "AWS::IAM::Role").values()
        for policy in role["Policies"]
    ] + [policy["PolicyDocument"] for policy in resources(base, "AWS::IAM::ManagedPolicy").values()]
    for document in documents:
        for statement in document["Statement"]:
            actions = as_list(statement["Action"])
            assert not [action for action in actions if action.startswith("sts:")], statement
            if "iam:PassRole" in actions:
                execution_role = f"arn:aws:iam::{TOOLING}:role/{SLUG}-sagemaker-execution"
                assert in_tooling(statement["Resource"]) == execution_role, statement


def grants(base: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The statements of base.yaml's resource policies that name another account."""
    key = resources(base, "AWS::KMS::Key")["Key"]["KeyPolicy"]
    bucket = resources(base, "AWS::S3::BucketPolicy")["BucketPolicy"]["PolicyDocument"]
    repositories = resources(base, "AWS::ECR::Repository")
    group = resources(base, "AWS::SageMaker::ModelPackageGroup")["ModelPackageGroup"]
    documents = {
        "key": key,
        "bucket": bucket,
        "steps image": repositories["StepsRepository"].get("RepositoryPolicyText"),
        "serve image": repositories["ServeRepository"].get("RepositoryPolicyText"),
        "model package group": group.get("ModelPackageGroupPolicy"),
    }
    found = {}
    for name, document in documents.items():
        statements = []
        for statement in (document or {"Statement": []})["Statement"]:
            principal = statement.get("Principal")
            if isinstance(principal, dict) and "AWS" in principal:
                roots = as_list(in_tooling(principal["AWS"]))
                if roots != [f"arn:aws:iam::{TOOLING}:root"]:
                    statements.append(statement)
        found[name] = statements
    return found


def granted_roles(statement: dict[str, Any]) -> set[tuple[str, str]]:
    """(account, role name) of the roles a cross-account statement is limited to."""
    roots = as_list(in_tooling(statement["Principal"]["AWS"]))
    assert sorted(re.fullmatch(r"arn:aws:iam::(\d{12}):root", r).group(1) for r in roots) == (
        STAGE_ACCOUNTS
    ), roots
    arns = as_list(in_tooling(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]))
    return {re.fullmatch(r"arn:aws:iam::(\d{12}):role/(.+)", arn).groups() for arn in arns}


def test_only_deployment_accounts_get_grants_in_the_tooling_account(base) -> None:
    found = grants(base)
    if not config.DEPLOYMENT_ACCOUNTS:
        # One account: its IAM policies decide; no resource policy names anyone else.
        assert found == {name: [] for name in found}
        return
    if config.ARTIFACT_ACCOUNT:
        # The stages read the shared-artifact account's copies (tests/test_artifact_account.py):
        # of the tooling account, the deployment roles read the packages' records only.
        assert {name: len(statements) for name, statements in found.items() if statements} == {
            "model package group": 1
        }
        assert granted_roles(found["model package group"][0]) == {
            (account, f"{SLUG}-deployment") for account in STAGE_ACCOUNTS
        }
        return
    # The steps image leaves the tooling account only for the monitoring jobs, which also list
    # the pipeline's outputs (their code and reference are S3 prefixes).
    monitored = 1 if config.MODEL_MONITORING else 0
    assert len(found["steps image"]) == monitored
    # The group: reading, and making models of its packages (AWS's cross-account example).
    counts = {"model package group": 2, "bucket": 1 + monitored, "key": 1, "serve image": 1}
    assert {name: len(statements) for name, statements in found.items() if statements} == {
        name: count for name, count in {**counts, "steps image": monitored}.items() if count
    }

{%- if cookiecutter.deployment_accounts == "yes" and cookiecutter.artifact_account != "yes" %}


def test_the_stage_accounts_roles_may_read_and_nothing_more(base, stage_roles) -> None:
    """Who can decrypt with the key, read the bucket, pull the image and read the packages:
    exactly the stage accounts' roles that need it, each role one that their stack makes, and
    only reading."""
    found = {name: statements[0] for name, statements in grants(base).items() if statements}
    readers = ["endpoint", "monitor"] if config.MODEL_MONITORING else ["endpoint"]
    expected = {
        "key": (readers, {"kms:Decrypt", "kms:DescribeKey"}),
        "bucket": (readers, {"s3:GetObject"}),
        "serve image": (["endpoint"], PULL),
        "model package group": (
            ["deployment", "cloudformation"],
            {
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:ListModelPackages",
            },
        ),
    }
    if config.MODEL_MONITORING:
        # The monitoring jobs run in the steps image.
        expected["steps image"] = (["monitor"], PULL)
    assert set(found) == set(expected)
    for name, (roles, actions) in expected.items():
        statement = found[name]
        assert statement["Effect"] == "Allow", name
        assert set(as_list(statement["Action"])) == actions, name
        assert granted_roles(statement) == {
            (account, f"{SLUG}-{role}") for account in STAGE_ACCOUNTS for role in roles
        }, name
        assert set(roles) <= set(stage_roles), f"{name}: the stage stack makes no role {roles}"
    # The bucket: the pipeline's outputs (models, the monitor's code and reference) only, never
    # the data; the monitoring jobs list them too, under the same prefix.
    bucket = f"arn:aws:s3:::{config.DEFAULT_BUCKET}"
    assert in_tooling(found["bucket"]["Resource"]) == f"{bucket}/{SLUG}-training/*"
    if config.MODEL_MONITORING:
        listing = grants(base)["bucket"][1]
        assert as_list(listing["Action"]) == ["s3:ListBucket"]
        assert in_tooling(listing["Resource"]) == bucket
        assert listing["Condition"]["StringLike"] == {"s3:prefix": f"{SLUG}-training/*"}
        assert granted_roles(listing) == {
            (account, f"{SLUG}-monitor") for account in STAGE_ACCOUNTS
        }
    # Only the CloudFormation roles make models of the packages (they create the stacks' models).
    make_models = grants(base)["model package group"][1]
    assert as_list(make_models["Action"]) == ["sagemaker:CreateModel"]
    assert in_tooling(make_models["Resource"]).endswith(f":model-package/{SLUG}/*")
    assert granted_roles(make_models) == {
        (account, f"{SLUG}-cloudformation") for account in STAGE_ACCOUNTS
    }


def test_what_the_endpoint_role_reads_is_what_the_tooling_account_grants(base, stage_roles) -> None:
    """Both sides of each cross-account read name the same resource: the role's IAM policy
    in the stage account, the resource policy in the tooling account."""
    statements = {
        statement["Sid"]: statement
        for policy in stage_roles["endpoint"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }
    assert in_stage(statements["ReadTheModelArtifacts"]["Resource"]) == in_tooling(
        grants(base)["bucket"][0]["Resource"]
    )
    assert in_stage(statements["PullTheServeImage"]["Resource"]) == (
        f"arn:aws:ecr:{config.AWS_REGION}:{TOOLING}:repository/{config.SERVE_IMAGE_REPOSITORY}"
    )
    assert in_stage(statements["DecryptTheModelArtifacts"]["Condition"]) == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{SLUG}"}
    }
    alias = resources(base, "AWS::KMS::Alias")["KeyAlias"]["AliasName"]
    assert in_tooling(alias) == f"alias/{SLUG}"


def test_each_read_across_to_the_tooling_account_is_allowed_on_both_sides() -> None:
    """What SageMaker and CloudFormation read of the tooling account as the stage roles (the
    model, the monitor's code and reference, the images, the packages), decided as AWS would
    (policies.evaluate: the role's own policy and the tooling account's key, bucket,
    repository or group policy); the same role without its own policy, and any other role of
    the account, is refused."""
    from policies import PARTITION, REGION, Request, Role, evaluate

    def may(role: Role, action: str, resource: str, **context: Any) -> bool:
        given = {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account}
        given["aws:SecureTransport"] = "true"
        return evaluate(Request(role, action, resource, {**given, **context})).allowed

    stacks = project_stacks()
    bucket = f"arn:{PARTITION}:s3:::{config.DEFAULT_BUCKET}"
    output = f"{bucket}/{config.PIPELINE_NAME}/abc/Train/output/model.tar.gz"
    key = stacks.bucket_key(config.DEFAULT_BUCKET)
    through_s3 = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": output,
        "kms:ResourceAliases": stacks.key_aliases(key),
    }
    repository = f"arn:{PARTITION}:ecr:{REGION}:{TOOLING}:repository/"
    package = f"arn:{PARTITION}:sagemaker:{REGION}:{TOOLING}:model-package/{SLUG}/1"
    reads = {
        "endpoint": [
            ("s3:GetObject", output, {}),
            ("kms:Decrypt", key, through_s3),
            *((action, repository + config.SERVE_IMAGE_REPOSITORY, {}) for action in PULL),
        ],
        "deployment": [("sagemaker:DescribeModelPackage", package, {})],
        "cloudformation": [("sagemaker:CreateModel", package, {})],
    }
    if config.MODEL_MONITORING:
        reads["monitor"] = [
            ("s3:GetObject", output, {}),
            ("s3:ListBucket", bucket, {"s3:prefix": f"{config.PIPELINE_NAME}/abc/"}),
            ("kms:Decrypt", key, through_s3),
            *((action, repository + config.STEPS_IMAGE_REPOSITORY, {}) for action in PULL),
        ]
    everything = ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},)
    for account in STAGE_ACCOUNTS:
        stranger = Role(f"arn:{PARTITION}:iam::{account}:role/{SLUG}-anything", "any", everything)
        for name, requests in reads.items():
            role = stacks.role(f"arn:{PARTITION}:iam::{account}:role/{SLUG}-{name}")
            bare = Role(role.arn, role.where, ())
            for action, resource, context in requests:
                assert may(role, action, resource, **context), (account, name, action)
                assert not may(bare, action, resource, **context), (account, name, action)
                assert not may(stranger, action, resource, **context), (account, name, action)

{%- if cookiecutter.model_monitoring == "yes" %}


def test_what_the_monitoring_jobs_read_is_what_the_tooling_account_grants(
    base, stage_roles
) -> None:
    """The monitor job role's cross-account reads (its image, code and reference) against the
    tooling account's grants."""
    statements = {
        statement["Sid"]: statement
        for policy in stage_roles["monitor"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }
    read, listing = grants(base)["bucket"]
    assert in_stage(statements["ReadTheCodeAndReference"]["Resource"]) == in_tooling(
        read["Resource"]
    )
    assert in_stage(statements["ListTheCodeAndReference"]["Resource"]) == in_tooling(
        listing["Resource"]
    )
    assert in_stage(statements["ListTheCodeAndReference"]["Condition"]) == {
        "StringLike": listing["Condition"]["StringLike"]
    }
    assert in_stage(statements["PullTheStepsImage"]["Resource"]) == (
        f"arn:aws:ecr:{config.AWS_REGION}:{TOOLING}:repository/{config.STEPS_IMAGE_REPOSITORY}"
    )
    assert set(statements["PullTheStepsImage"]["Action"]) == PULL
{%- endif %}
{%- endif %}


def test_the_registry_is_the_group_the_pipeline_registers_in(base) -> None:
    (group,) = resources(base, "AWS::SageMaker::ModelPackageGroup").values()
    assert group["ModelPackageGroupName"] == config.MODEL_PACKAGE_GROUP
    assert base["Resources"]["ModelPackageGroup"]["DeletionPolicy"] == "Retain"
