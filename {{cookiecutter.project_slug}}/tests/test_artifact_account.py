"""The shared-artifact account (infra/artifact-account.yaml, deploy/artifacts.py): the deployer's
copies of an approved package, kept under S3 Object Lock, and who may read and write them.

The copy runs against moto as the tooling account's deployer: every call it makes is held by
tests/aws_calls.py against the deployer's policy and, across the account boundary, the artifact
bucket's and key's policies (and the tooling bucket's and key's for the reads). The stage roles'
reads, which SageMaker makes as those roles (no code of this project makes them), are evaluated
as IAM would with tests/policies.py, on both sides: the stage role's policy and the artifact
account's bucket, key and repository policies; and the same reads of the tooling account are
refused, so that production never reads from it.

What moto's Object Lock holds here: the bucket's default retention (mode and days) on every new
version, and a refused deletion of a version under retention unless governance is bypassed. What
it does not: it lets a governance retention be shortened without s3:BypassGovernanceRetention
(S3 refuses), it has no COMPLIANCE semantics beyond that, and ECR replication is not emulated
(the registry policy and the replication rule are checked as templates).
"""

from __future__ import annotations

import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import load_cloudformation, resources
from deploy_support import MONITOR_METADATA, PACKAGE_ARN, SERVE_IMAGE, registered_package
from policies import PARTITION, REGION, Request, Role, evaluate, project_stacks

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import artifacts

# Who publishes: the deployer, or with an operations account the tooling role it assumes there
# (`operator`, tests/aws_calls.py); the artifact account's policies name that one writer.
PUBLISHER, WRITER = (
    ("operator", "operations-ci") if config.OPERATIONS_ACCOUNT else ("deployer", "deployer")
)
pytestmark = pytest.mark.principal(PUBLISHER)

SLUG = config.PROJECT_SLUG
TOOLING = config.AWS_ACCOUNT_ID
VERSION = PACKAGE_ARN.rsplit("/", 1)[1]
PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def source_files(package: dict[str, Any]) -> dict[str, bytes]:
    """The package's files in the tooling bucket, by key: what the pipeline wrote."""
    container = package["InferenceSpecification"]["Containers"][0]
    files = {
        artifacts.split(container["ModelDataUrl"])[1]: b"model",
        artifacts.split(package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"])[1]: b"{}",
    }
    reference = artifacts.split(MONITOR_METADATA["monitor_reference"])[1]
    code = artifacts.split(MONITOR_METADATA["monitor_code"])[1]
    files[f"{reference}/reference.json"] = b"{}"
    files[f"{code}steps/monitor.py"] = b"print()"
    files[f"{code}{config.PROJECT_SLUG}/__init__.py"] = b""
    return files


@pytest.fixture
def buckets(aws) -> Any:
    """moto with the tooling bucket holding a package's files, and the artifact bucket as its
    stack makes it: Object Lock with the default retention of the answers."""
    s3 = boto3.client("s3", region_name=REGION)
    where = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=config.DEFAULT_BUCKET, CreateBucketConfiguration=where)
    for key, body in source_files(registered_package()).items():
        s3.put_object(Bucket=config.DEFAULT_BUCKET, Key=key, Body=body)
    s3.create_bucket(
        Bucket=config.ARTIFACT_BUCKET,
        CreateBucketConfiguration=where,
        ObjectLockEnabledForBucket=True,
    )
    bucket = resources(load_cloudformation("artifact-account.yaml"), "AWS::S3::Bucket")["Bucket"]
    stack = project_stacks().stack("artifact-account.yaml", config.ARTIFACT_ACCOUNT_ID)
    lock = stack.resolve(bucket["ObjectLockConfiguration"])
    rule = lock["Rule"]["DefaultRetention"]
    s3.put_object_lock_configuration(
        Bucket=config.ARTIFACT_BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": rule["Mode"], "Days": int(rule["Days"])}},
        },
    )
    return s3


def test_publish_copies_the_packages_files_under_its_version_once(buckets) -> None:
    package = registered_package()
    copied = artifacts.publish(package, boto3.client("s3", region_name=REGION))
    prefix = f"s3://{config.ARTIFACT_BUCKET}/{SLUG}/{VERSION}"
    assert sorted(copied) == sorted(
        [
            f"{prefix}/model/model.tar.gz",
            f"{prefix}/evaluation/evaluation.json",
            f"{prefix}/reference/reference.json",
            f"{prefix}/monitor-code/steps/monitor.py",
            f"{prefix}/monitor-code/{config.PROJECT_SLUG}/__init__.py",
        ]
    )
    model = artifacts.split(f"{prefix}/model/model.tar.gz")[1]
    assert buckets.get_object(Bucket=config.ARTIFACT_BUCKET, Key=model)["Body"].read() == b"model"
    # The endpoint stack's copy is the one made; a second publish (production, after staging)
    # copies nothing.
    assert artifacts.model_parameters(package)["ModelDataUrl"] == f"{prefix}/model/model.tar.gz"
    assert artifacts.publish(package, boto3.client("s3", region_name=REGION)) == []


def test_a_copy_cannot_be_deleted_before_its_retention_ends(buckets) -> None:
    artifacts.publish(registered_package(), boto3.client("s3", region_name=REGION))
    key = f"{SLUG}/{VERSION}/model/model.tar.gz"
    head = buckets.head_object(Bucket=config.ARTIFACT_BUCKET, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    left = head["ObjectLockRetainUntilDate"] - datetime.datetime.now(datetime.UTC)
    retention = datetime.timedelta(days=config.ARTIFACT_RETENTION_DAYS)
    assert abs(left - retention) < datetime.timedelta(hours=1)
    with pytest.raises(ClientError) as refused:
        buckets.delete_object(Bucket=config.ARTIFACT_BUCKET, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # Governance: only a principal allowed s3:BypassGovernanceRetention, saying so, removes it.
    buckets.delete_object(
        Bucket=config.ARTIFACT_BUCKET,
        Key=key,
        VersionId=head["VersionId"],
        BypassGovernanceRetention=True,
    )


def test_a_package_the_stages_could_not_deploy_from_the_copies_is_refused() -> None:
    other = SERVE_IMAGE.replace(f"{TOOLING}.", "763104351884.", 1)
    package = registered_package()
    package["InferenceSpecification"]["Containers"][0]["Image"] = other
    with pytest.raises(artifacts.NotPublishable, match=r"is not the project's .*/serve image"):
        artifacts.publish(package, None)
    outside = registered_package()
    outside["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] = "s3://elsewhere/e.json"
    with pytest.raises(artifacts.NotPublishable, match=r"its evaluation s3://elsewhere/e\.json"):
        artifacts.publish(outside, None)


# --- who may read and write, on both sides of each account boundary --------------------------


def stage_role(account: str, name: str):
    return project_stacks().role(f"arn:aws:iam::{account}:role/{SLUG}-{name}")


def decision(role, action: str, resource: str, **context: Any):
    stacks = project_stacks()
    base = {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account}
    base["aws:SecureTransport"] = "true"
    if action.startswith("kms:"):
        base |= {
            "kms:ViaService": f"s3.{REGION}.amazonaws.com",
            "kms:CallerAccount": role.account,
            "kms:ResourceAliases": stacks.key_aliases(resource),
        }
    return evaluate(Request(role, action, resource, {**base, **context}))


def artifact_key() -> str:
    return project_stacks().bucket_key(config.ARTIFACT_BUCKET)


READERS = ("endpoint", "monitor") if config.MODEL_MONITORING else ("endpoint",)


@pytest.mark.parametrize("reader", READERS)
def test_the_stage_roles_read_the_copies_and_not_the_tooling_account(reader: str) -> None:
    copy = f"arn:aws:s3:::{config.ARTIFACT_BUCKET}/{SLUG}/{VERSION}/model/model.tar.gz"
    original = f"arn:aws:s3:::{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}/x/model.tar.gz"
    tooling_key = project_stacks().bucket_key(config.DEFAULT_BUCKET)
    repository = "serve" if reader == "endpoint" else "steps"
    for account in sorted(set(config.STAGE_ACCOUNTS.values())):
        role = stage_role(account, reader)
        assert decision(role, "s3:GetObject", copy).allowed, (account, reader)
        assert decision(role, "kms:Decrypt", artifact_key()).allowed, (account, reader)
        replica = f"arn:aws:ecr:{REGION}:{config.ARTIFACT_ACCOUNT_ID}:repository/{SLUG}/"
        replica += repository
        for action in PULL:
            assert decision(role, action, replica).allowed, (account, reader, action)
        # Never the tooling account's bucket, key or images.
        assert not decision(role, "s3:GetObject", original).allowed
        assert not decision(role, "kms:Decrypt", tooling_key).allowed
        image = f"arn:aws:ecr:{REGION}:{TOOLING}:repository/{SLUG}/{repository}"
        assert not decision(role, "ecr:BatchGetImage", image).allowed


def test_only_the_publisher_writes_the_copies() -> None:
    copy = f"arn:aws:s3:::{config.ARTIFACT_BUCKET}/{SLUG}/{VERSION}/model/model.tar.gz"
    deployer = project_stacks().role(f"arn:aws:iam::{TOOLING}:role/{SLUG}-{WRITER}")
    assert decision(deployer, "s3:PutObject", copy).allowed
    assert decision(deployer, "kms:GenerateDataKey", artifact_key()).allowed
    # The pipeline's role, and every stage role, may not.
    writers = [project_stacks().role(f"arn:aws:iam::{TOOLING}:role/{SLUG}-sagemaker-execution")]
    for account in sorted(set(config.STAGE_ACCOUNTS.values())):
        writers += [stage_role(account, name) for name in ("deployment", *READERS)]
    for role in writers:
        assert not decision(role, "s3:PutObject", copy).allowed, role.arn
        assert not decision(role, "kms:GenerateDataKey", artifact_key()).allowed, role.arn


def test_the_tooling_registry_replicates_the_images_to_the_artifact_account() -> None:
    base = load_cloudformation("base.yaml")
    (replication,) = resources(base, "AWS::ECR::ReplicationConfiguration").values()
    (rule,) = replication["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [
        {"Region": {"Ref": "AWS::Region"}, "RegistryId": config.ARTIFACT_ACCOUNT_ID}
    ]
    # The prefix takes both of the project's repositories, which the artifact stack makes.
    filters = rule["RepositoryFilters"]
    (prefix,) = [item["Filter"] for item in filters if item["FilterType"] == "PREFIX_MATCH"]
    artifact_stack = project_stacks().stack("artifact-account.yaml", config.ARTIFACT_ACCOUNT_ID)
    template = load_cloudformation("artifact-account.yaml")
    names = {r["RepositoryName"] for r in resources(template, "AWS::ECR::Repository").values()}
    assert names == {config.SERVE_IMAGE_REPOSITORY, config.STEPS_IMAGE_REPOSITORY}
    assert all(name.startswith(prefix) for name in names)
    (policy,) = resources(template, "AWS::ECR::RegistryPolicy").values()
    (statement,) = artifact_stack.resolve(policy["PolicyText"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{TOOLING}:root"}
    assert statement["Action"] == "ecr:ReplicateImage"
    assert statement["Resource"].endswith(f":{config.ARTIFACT_ACCOUNT_ID}:repository/{SLUG}/*")
    # Both sides, as AWS decides: the tooling registry replicates (ECR acts as the account, for
    # the destinations and repositories its rule names) and the artifact registry's policy lets
    # it, into the project's repositories only; no other account may.
    tooling = project_stacks().stack("base.yaml", TOOLING)
    (rule,) = tooling.resolve(replication["ReplicationConfiguration"])["Rules"]
    (destination,) = rule["Destinations"]
    assert destination == {"Region": REGION, "RegistryId": config.ARTIFACT_ACCOUNT_ID}
    registry = f"arn:{PARTITION}:ecr:{REGION}:{config.ARTIFACT_ACCOUNT_ID}:repository/"

    def registry_allows(account: str, repository: str) -> bool:
        """Whether the artifact registry takes a replica from the account (ECR acts as it)."""
        sent = {"Effect": "Allow", "Action": "ecr:ReplicateImage", "Resource": "*"}
        source = Role(f"arn:{PARTITION}:iam::{account}:root", "its rule", ({"Statement": [sent]},))
        context = {"aws:PrincipalArn": source.arn, "aws:PrincipalAccount": account}
        request = Request(source, "ecr:ReplicateImage", registry + repository, context)
        return evaluate(request).allowed

    for name in sorted(names):
        assert registry_allows(TOOLING, name), name
        assert not registry_allows("999999999999", name), name
    assert not registry_allows(TOOLING, "other-project/serve")


def test_the_bucket_locks_every_version_for_the_answers_retention() -> None:
    stack = project_stacks().stack("artifact-account.yaml", config.ARTIFACT_ACCOUNT_ID)
    template = load_cloudformation("artifact-account.yaml")
    bucket = stack.resolve(resources(template, "AWS::S3::Bucket")["Bucket"])
    assert bucket["BucketName"] == config.ARTIFACT_BUCKET
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "GOVERNANCE", "Days": str(config.ARTIFACT_RETENTION_DAYS)}
    (key,) = resources(template, "AWS::KMS::Key").values()
    assert key["EnableKeyRotation"] is True
