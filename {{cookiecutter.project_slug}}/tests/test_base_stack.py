"""The base stack, infra/base.yaml, against what uses it: the names the pipeline's defaults give
(bucket, key, repositories, role), the protections of the bucket, key and repositories, and the
execution role against the permissions the SageMaker SDK simulates on it while it builds the
pipeline and the jobs, objects and model packages the pipeline makes. No action is `*`, and a
resource is `*` only where the action takes no other. Requests are decided by the project's policy
evaluator (iam_evaluation.allows); what each pipeline step type needs is test_pipeline_role.py.
(cfn-lint and checkov run on it in the template's own tests.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import load_cloudformation
from iam_evaluation import Request, allows, as_list
from policies import PARTITION, Stack, project_stacks

from {{ cookiecutter.package_name }} import arns, config

# Statements whose resource is `*`, each because its actions cannot be scoped to a resource.
WILDCARD_RESOURCE_STATEMENTS = {"SdkValidatedJobBasics", "FindModelPackages", "LogInToEcr"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("base.yaml")


@pytest.fixture(scope="module")
def base() -> Stack:
    """The base stack as deployed in the tooling account (tests/policies.py)."""
    return project_stacks().stack("base.yaml", config.AWS_ACCOUNT_ID)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A resolved policy's statements, with Action and Resource as lists."""
    return [
        {**s, **{e: as_list(s[e]) for e in ("Action", "Resource") if e in s}}
        for s in as_list(document["Statement"])
    ]


@pytest.fixture(scope="module")
def role_statements(base: Stack) -> list[dict[str, Any]]:
    role = project_stacks().role(base.attribute("ExecutionRole", "Arn"))
    return [s for document in role.documents for s in statements(document)]


@pytest.fixture(scope="module")
def operator_statements(base: Stack) -> list[dict[str, Any]]:
    policy = base.body["Resources"]["PipelineOperatorPolicy"]["Properties"]["PolicyDocument"]
    return statements(base.resolve(policy))


@pytest.fixture(scope="module")
def publisher_statements(base: Stack) -> list[dict[str, Any]]:
    policy = base.body["Resources"]["ImagePublisherPolicy"]["Properties"]["PolicyDocument"]
    return statements(base.resolve(policy))


@pytest.fixture(scope="module")
def role_policy(role_statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as the one policy document iam_evaluation decides on."""
    return [{"Statement": role_statements}]


@pytest.fixture(scope="module")
def operator_policy(operator_statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as the one policy document iam_evaluation decides on."""
    return [{"Statement": operator_statements}]


@pytest.fixture(scope="module")
def publisher_policy(publisher_statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as the one policy document iam_evaluation decides on."""
    return [{"Statement": publisher_statements}]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("role_type", ["training", "serving", "pipeline"])
def test_the_role_has_what_the_sdk_checks_while_building_the_pipeline(
    template, role_policy, role_type
):
    """ModelTrainer (training), ModelBuilder (serving) and Pipeline.upsert (pipeline) each
    simulate these actions on the role and refuse to go on if one is denied."""
    from sagemaker.core.helper import iam_role_resolver

    simulated = iam_role_resolver._get_smoke_test_actions(role_type)
    assert [action for action in simulated if not allows(role_policy, Request(action, "*"))] == []
    trusted = template["Resources"]["ExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
    principals = {s["Principal"]["Service"] for s in trusted["Statement"]}
    assert iam_role_resolver._expected_trust_services(role_type) <= principals


def test_no_action_is_a_wildcard_and_few_resources_are(
    role_statements, operator_statements, publisher_statements
):
    policies = [*role_statements, *operator_statements, *publisher_statements]
    for statement in policies:
        assert all(action != "*" and not action.endswith(":*") for action in statement["Action"])
    everything = {s["Sid"] for s in policies if "*" in s["Resource"]}
    assert everything == WILDCARD_RESOURCE_STATEMENTS


def test_the_image_publisher_pushes_to_the_project_repositories_only(base, publisher_policy):
    ecr = base.attribute("StepsRepository", "Arn").removesuffix(f"/{config.STEPS_IMAGE_REPOSITORY}")
    for repository in (config.STEPS_IMAGE_REPOSITORY, config.SERVE_IMAGE_REPOSITORY):
        for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload"):
            assert allows(publisher_policy, Request(action, f"{ecr}/{repository}")), action
    assert not allows(publisher_policy, Request("ecr:PutImage", f"{ecr}/another-project/steps"))
    assert allows(publisher_policy, Request("ecr:GetAuthorizationToken", "*"))


def test_the_role_covers_what_the_pipeline_makes(base, role_statements, role_policy):
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
        "iam:PassRole": arns.EXECUTION_ROLE_ARN,
        "kms:GenerateDataKey": base.attribute("Key", "Arn"),
        "ecr:BatchGetImage": base.attribute("StepsRepository", "Arn"),
    }
    # Jobs are the project's by the project tag that the pipeline puts on every job.
    from {{ cookiecutter.package_name }} import lineage

    (project,) = [t["Value"] for t in lineage.tags(lineage.git_state()) if t["Key"] == "project"]
    # The requests' condition keys: the job's tags, and the service the role is passed to.
    context = {
        "aws:RequestTag/project": project,
        "aws:ResourceTag/project": project,
        "iam:PassedToService": "sagemaker.amazonaws.com",
    }
    denied = {
        action: resource
        for action, resource in needed.items()
        if not allows(role_policy, Request(action, resource, context=context))
    }
    assert denied == {}
    for statement in role_statements:
        if any(action.endswith("Job") for action in statement["Action"]):
            (tagged,) = statement["Condition"]["StringEquals"].values()
            assert tagged == project, statement["Sid"]
    # PassRole only to SageMaker, and only this role.
    (statement,) = [s for s in role_statements if "iam:PassRole" in s["Action"]]
    assert statement["Resource"] == [arns.EXECUTION_ROLE_ARN]
    passed_to = statement["Condition"]["StringEquals"]["iam:PassedToService"]
    assert passed_to == "sagemaker.amazonaws.com"


def test_the_operator_may_upsert_start_and_pin_the_image(operator_policy):
    arn = f"arn:{PARTITION}:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
    pipeline = f"{arn}:pipeline/{config.PIPELINE_NAME}"
    for action in ("sagemaker:CreatePipeline", "sagemaker:UpdatePipeline"):
        assert allows(operator_policy, Request(action, pipeline)), action
    assert allows(operator_policy, Request("sagemaker:StartPipelineExecution", pipeline))
    assert allows(operator_policy, Request("iam:PassRole", arns.EXECUTION_ROLE_ARN))
    assert allows(operator_policy, Request("iam:SimulatePrincipalPolicy", arns.EXECUTION_ROLE_ARN))
    image = f"arn:{PARTITION}:ecr:{config.AWS_REGION}:141502667606:repository/sagemaker-xgboost"
    assert allows(operator_policy, Request("ecr:BatchGetImage", image))
    code = f"arn:{PARTITION}:s3:::{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}/code/abc/x.py"
    assert allows(operator_policy, Request("s3:PutObject", code))


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def test_the_stack_makes_what_the_pipelines_defaults_name(base, template):
    assert base.resolve(resource(template, "Bucket")["BucketName"]) == config.DEFAULT_BUCKET
    alias = resource(template, "KeyAlias")["AliasName"]
    assert arns.KMS_KEY_ID.endswith(f":{alias}")
    assert {
        resource(template, name)["RepositoryName"]
        for name in ("StepsRepository", "ServeRepository")
    } == {config.STEPS_IMAGE_REPOSITORY, config.SERVE_IMAGE_REPOSITORY}
    role_name = resource(template, "ExecutionRole")["RoleName"]
    assert arns.EXECUTION_ROLE_ARN.endswith(f":role/{role_name}")


def denies_plain_http(template: dict[str, Any], policy: str, bucket: str) -> bool:
    statements = resource(template, policy)["PolicyDocument"]["Statement"]
    return any(
        s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s["Action"] == "s3:*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and {str(r) for r in s["Resource"]} >= {str({"Fn::GetAtt": f"{bucket}.Arn"})}
        for s in statements
    )


def test_buckets_are_private_versioned_tls_only_and_the_data_bucket_uses_the_key(template):
    for bucket, policy in (
        ("Bucket", "BucketPolicy"),
        ("AccessLogsBucket", "AccessLogsBucketPolicy"),
    ):
        properties = resource(template, bucket)
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}, bucket
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, bucket
        assert properties["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}
        ]
        assert denies_plain_http(template, policy, bucket), bucket
    data = resource(template, "Bucket")
    (rule,) = data["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": "Key.Arn"},
    }
    assert data["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    assert data["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]


def test_the_key_rotates_and_images_are_immutable_scanned_and_encrypted(base, template):
    assert resource(template, "Key")["EnableKeyRotation"] is True
    for name in ("StepsRepository", "ServeRepository"):
        repository = resource(template, name)
        assert repository["ImageTagMutability"] == "IMMUTABLE"
        assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["EncryptionConfiguration"] == {
            "EncryptionType": "KMS",
            "KmsKey": {"Fn::GetAtt": "Key.Arn"},
        }
        text = base.resolve(repository["LifecyclePolicy"]["LifecyclePolicyText"])
        (rule,) = json.loads(text)["rules"]
        assert rule["selection"]["countNumber"] == template["Parameters"]["ImagesKept"]["Default"]
        assert rule["action"] == {"type": "expire"}
