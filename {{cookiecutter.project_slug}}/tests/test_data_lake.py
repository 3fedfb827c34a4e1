"""The data lake (infra/data-lake.yaml, in its own account): its bucket and key, and every grant
across the account boundary decided as AWS would (policies.evaluate: the caller's identity policy
and the bucket's, key's or event bus's policy, each in its own account): the tooling account's
pipeline reads the data prefix and nothing more, and the bucket's new objects reach the tooling
account's retraining trigger."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import resources
from policies import PARTITION, REGION, Request, Role, Stack, evaluate, project_stacks

from {{ cookiecutter.package_name }} import config

LAKE = config.DATA_LAKE_ACCOUNT_ID
TOOLING = config.AWS_ACCOUNT_ID
BUCKET = f"arn:{PARTITION}:s3:::{config.DATA_BUCKET}"
DATA = f"{BUCKET}/{config.DATA_PREFIX}0123abcd/data.csv"
TOOLING_BUS = f"arn:{PARTITION}:events:{REGION}:{TOOLING}:event-bus/default"
VIA_S3 = {
    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
    "kms:EncryptionContext:aws:s3:arn": [BUCKET, DATA],
}


@pytest.fixture(scope="module")
def lake() -> Stack:
    return project_stacks().stack("data-lake.yaml", LAKE)


@pytest.fixture(scope="module")
def execution() -> Role:
    stacks = project_stacks()
    return stacks.role(stacks.stack("base.yaml", TOOLING).attribute("ExecutionRole", "Arn"))


@pytest.fixture(scope="module")
def starter() -> Role:
    return project_stacks().function_role("triggers.yaml", "Starter")


def allowed(role: Role, action: str, resource: str, **context: Any) -> bool:
    """Whether AWS allows the role the request, with the context keys every request carries."""
    given = {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account}
    given["aws:SecureTransport"] = "true"
    return evaluate(Request(role, action, resource, {**given, **context})).allowed


def anyone_of(account: str, name: str) -> Role:
    """A role of the account whose own policy allows everything: only the resource's policy can
    refuse it."""
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return Role(f"arn:{PARTITION}:iam::{account}:role/{name}", f"a role {name}", (everything,))


def test_the_data_lake_is_another_account_than_every_other_of_the_project():
    assert LAKE not in {TOOLING, *config.STAGE_ACCOUNTS.values()}
    # The base bucket's name, in the lake's account.
    assert config.DEFAULT_BUCKET.replace(TOOLING, LAKE) == config.DATA_BUCKET


def test_the_raw_data_bucket_is_private_versioned_logged_and_under_a_rotated_key(lake, execution):
    bucket = lake.resolve(lake.body["Resources"]["DataBucket"]["Properties"])
    assert bucket["BucketName"] == config.DATA_BUCKET
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": lake.attribute("Key", "Arn")}
    assert lake.resolve(lake.body["Resources"]["Key"]["Properties"])["EnableKeyRotation"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == lake.attribute(
        "AccessLogsBucket", None
    )
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    # Plain HTTP is refused to everyone, the pipeline's role included.
    request = Request(execution, "s3:GetObject", DATA, {"aws:SecureTransport": "false"})
    assert evaluate(request).reasons == ["infra/data-lake.yaml DataBucketPolicy TlsOnly denies it"]


def test_the_pipeline_reads_the_data_prefix_and_decrypts_it_through_s3(execution):
    prefix = {"s3:prefix": f"{config.DATA_PREFIX}0123abcd/"}
    assert allowed(execution, "s3:ListBucket", BUCKET, **prefix)
    assert allowed(execution, "s3:ListBucketVersions", BUCKET, **prefix)
    assert allowed(execution, "s3:GetObject", DATA)
    assert allowed(execution, "s3:GetObjectVersion", DATA)
    key = project_stacks().bucket_key(config.DATA_BUCKET)
    assert key is not None and key.split(":")[4] == LAKE
    assert allowed(execution, "kms:Decrypt", key, **VIA_S3)


def test_the_pipeline_may_do_nothing_more_in_the_data_lake(execution):
    key = project_stacks().bucket_key(config.DATA_BUCKET)
    elsewhere = f"{BUCKET}/other-project/data.csv"
    refused = [
        ("s3:PutObject", DATA, {}),
        ("s3:DeleteObject", DATA, {}),
        ("s3:GetObject", elsewhere, {}),
        ("s3:ListBucket", BUCKET, {"s3:prefix": "other-project/"}),
        ("s3:ListBucket", BUCKET, {}),
        ("s3:PutBucketPolicy", BUCKET, {}),
        # The key: through S3 only, and to decrypt only.
        ("kms:Decrypt", key, {}),
        ("kms:GenerateDataKey", key, VIA_S3),
        ("kms:Encrypt", key, VIA_S3),
    ]
    assert [r for r in refused if allowed(execution, r[0], r[1], **r[2])] == []
    # Not even with an identity policy that allows everything: the lake's policies refuse.
    everything = Role(execution.arn, execution.where, anyone_of(TOOLING, "x").documents)
    assert [r for r in refused if allowed(everything, r[0], r[1], **r[2])] == []


def test_no_other_role_of_the_tooling_account_reads_the_data(starter):
    """The trigger lists the prefix (the newest data set, on a schedule) and reads nothing;
    any other role of the tooling account, whatever its own policy, gets nothing."""
    prefix = {"s3:prefix": config.DATA_PREFIX}
    assert allowed(starter, "s3:ListBucket", BUCKET, **prefix)
    assert not allowed(starter, "s3:GetObject", DATA)
    assert not allowed(starter, "s3:ListBucketVersions", BUCKET, **prefix)
    other = anyone_of(TOOLING, f"{config.PROJECT_SLUG}-anything-else")
    key = project_stacks().bucket_key(config.DATA_BUCKET)
    assert not allowed(other, "s3:ListBucket", BUCKET, **prefix)
    assert not allowed(other, "s3:GetObject", DATA)
    assert not allowed(other, "kms:Decrypt", key, **VIA_S3)


def test_new_data_reaches_the_tooling_accounts_trigger(lake):
    stacks = project_stacks()
    triggers = stacks.stack("triggers.yaml", TOOLING)
    (forward,) = (p for _, p in lake.resources("AWS::Events::Rule"))
    forward = lake.resolve(forward)
    new_data = triggers.resolve(resources(triggers.body, "AWS::Events::Rule")["NewData"])
    # The tooling rule matches what the lake's rule sends: its events keep their account.
    assert new_data["EventPattern"] == {**forward["EventPattern"], "account": [LAKE]}
    assert new_data["EventPattern"]["detail"]["bucket"]["name"] == [config.DATA_BUCKET]
    (target,) = forward["Targets"]
    assert target["Arn"] == TOOLING_BUS
    # The forwarder puts the events on the tooling bus: its own policy and the bus's allow it.
    forwarder = stacks.role(target["RoleArn"])
    assert forwarder.account == LAKE
    assert allowed(forwarder, "events:PutEvents", TOOLING_BUS)
    # Only EventBridge of the lake account may act as it.
    trust = lake.resolve(lake.body["Resources"]["ForwarderRole"]["Properties"])
    (statement,) = trust["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": LAKE}}


def test_the_tooling_bus_takes_the_data_lakes_events_from_its_forwarder_only():
    for name in ("anything-else", f"{config.PROJECT_SLUG}-deployment"):
        assert not allowed(anyone_of(LAKE, name), "events:PutEvents", TOOLING_BUS)
    stranger = anyone_of("999999999999", f"{config.PROJECT_SLUG}-data-lake-forwarder")
    assert not allowed(stranger, "events:PutEvents", TOOLING_BUS)


def test_the_writer_policy_lands_data_under_the_prefix_only():
    writer = project_stacks().managed_policy(f"{config.PROJECT_SLUG}-data-lake-writer")
    key = project_stacks().bucket_key(config.DATA_BUCKET)
    assert writer.account == LAKE
    assert allowed(writer, "s3:PutObject", DATA)
    assert allowed(writer, "kms:GenerateDataKey", key, **VIA_S3)
    assert not allowed(writer, "s3:PutObject", f"{BUCKET}/other-project/data.csv")
    assert not allowed(writer, "s3:DeleteObject", DATA)
